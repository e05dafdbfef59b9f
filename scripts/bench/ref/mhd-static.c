/* mhd-static.c - the reference for scripts/bench/metrics: a minimal libmicrohttpd responder that
 * serves one file's bytes (a copy of a host's /metrics) at every URL, with the same daemon mode
 * as hangar's endpoint (one internal epoll thread). Prints its port, then serves until killed.
 * Usage: mhd-static FILE */
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char *body;
static size_t body_len;

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *size, void **con_cls)
{
    struct MHD_Response *r;
    enum MHD_Result rc;
    (void)cls, (void)url, (void)method, (void)version, (void)data, (void)size;
    if (*con_cls == NULL) {
        *con_cls = c;
        return MHD_YES;
    }
    r = MHD_create_response_from_buffer(body_len, body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    rc = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return rc;
}

int main(int argc, char **argv)
{
    FILE *f = argc == 2 ? fopen(argv[1], "rb") : NULL;
    struct MHD_Daemon *d;
    const union MHD_DaemonInfo *info;
    sigset_t set;
    int sig;
    if (f == NULL) {
        fprintf(stderr, "usage: mhd-static FILE\n");
        return 2;
    }
    fseek(f, 0, SEEK_END);
    body_len = (size_t)ftell(f);
    rewind(f);
    body = malloc(body_len + 1);
    if (body == NULL || fread(body, 1, body_len, f) != body_len)
        return 1;
    fclose(f);
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    d = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD, 0, NULL, NULL, on_request, NULL,
                         MHD_OPTION_CONNECTION_LIMIT, 1024u, MHD_OPTION_END);
    if (d == NULL)
        return 1;
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    printf("%u\n", (unsigned)info->port);
    fflush(stdout);
    sigwait(&set, &sig);
    MHD_stop_daemon(d);
    free(body);
    return 0;
}
