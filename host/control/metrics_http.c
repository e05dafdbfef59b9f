/* metrics_http.c - control.metrics: /metrics, /healthz and /readyz over HTTP, served by
 * libmicrohttpd on its own polling thread (one thread, epoll; no hand-written HTTP parsing).
 * /metrics reads the instances as the hub's `counters` does (their own locks, under list_mu),
 * on this thread: a scrape never waits for the hub nor calls into an engine, and the hub never
 * waits for a scrape but for list_mu while one reads. /healthz asks the hub itself. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "config.h"
#include "host_priv.h"
#include "metrics.h"

#define CONN_LIMIT 1024       /* connections at once; more wait in the backlog */
#define CONN_TIMEOUT_S 10     /* an idle or stalled client is closed after this */
#define BACKLOG 1024

struct hg__metrics_http {
    hg__host *h;
    struct MHD_Daemon *d;
    unsigned port;
};

static const char prom_type[] = "text/plain; version=0.0.4; charset=utf-8";

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
                             char *body, size_t len)
{
    /* body is malloc'd and taken: freed by libmicrohttpd once sent */
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    enum MHD_Result rc;
    if (r == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status, const char *fmt,
                                  ...) __attribute__((format(printf, 3, 4)));
static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status, const char *fmt, ...)
{
    char *body = NULL;
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vasprintf(&body, fmt, ap);
    va_end(ap);
    if (n < 0)
        return MHD_NO;
    return reply(c, status, "text/plain; charset=utf-8", body, (size_t)n);
}

static enum MHD_Result serve_metrics(hg__metrics_http *m, struct MHD_Connection *c)
{
    char *text = hg__ops_metrics_text(m->h);
    if (text == NULL)
        return reply_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "metrics unavailable: out of "
                          "memory\n");
    return reply(c, MHD_HTTP_OK, prom_type, text, strlen(text));
}

/* Live while the hub answers a command (it never waits for an engine). */
static enum MHD_Result serve_health(hg__metrics_http *m, struct MHD_Connection *c)
{
    char *raw = NULL;
    int rc = hg__host_command(m->h, "help", &raw);
    free(raw);
    if (rc != 0)
        return reply_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "unhealthy: the hub does not answer "
                          "(%s)\n", hg_strerror(rc));
    return reply_text(c, MHD_HTTP_OK, "ok\n");
}

/* Ready once the host has started its engines and until it begins to stop. */
static enum MHD_Result serve_ready(hg__metrics_http *m, struct MHD_Connection *c)
{
    hg__host *h = m->h;
    int started, stopping;
    pthread_mutex_lock(&h->mu);
    started = h->started;
    stopping = h->stopping || h->stopped;
    pthread_mutex_unlock(&h->mu);
    if (stopping)
        return reply_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "not ready: shutting down\n");
    if (!started)
        return reply_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "not ready: starting\n");
    return reply_text(c, MHD_HTTP_OK, "ready\n");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **con_cls)
{
    hg__metrics_http *m = cls;
    (void)version;
    (void)upload_data;
    if (*con_cls == NULL) { /* the headers came; a body (none expected) would follow */
        *con_cls = m;
        return MHD_YES;
    }
    if (*upload_size != 0) {
        *upload_size = 0; /* a body is ignored */
        return MHD_YES;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "%s: use GET\n", method);
    if (strcmp(url, "/metrics") == 0)
        return serve_metrics(m, c);
    if (strcmp(url, "/healthz") == 0)
        return serve_health(m, c);
    if (strcmp(url, "/readyz") == 0)
        return serve_ready(m, c);
    return reply_text(c, MHD_HTTP_NOT_FOUND, "not found: try /metrics, /healthz or /readyz\n");
}

/* libmicrohttpd's own messages go to the host's log. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    hg__metrics_http *m = cls;
    char buf[512];
    size_t n;
    vsnprintf(buf, sizeof buf, fmt, ap);
    n = strlen(buf);
    while (n > 0 && buf[n - 1] == '\n')
        buf[--n] = '\0';
    hg__log(m->h->lg, HG_LOG_DEBUG, "metrics", "libmicrohttpd: %s", buf);
}

/* A listening socket on ss, or -1 with err set (the port taken is named). */
static int listen_on(const char *addr, const struct sockaddr_storage *ss, socklen_t len,
                     char *err, size_t cap, int *rc)
{
    int one = 1, fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        snprintf(err, cap, "control.metrics %s: socket: %s", addr, strerror(errno));
        *rc = HG_EIO;
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (const struct sockaddr *)ss, len) != 0 || listen(fd, BACKLOG) != 0) {
        int e = errno;
        snprintf(err, cap, "control.metrics %s: %s%s", addr, strerror(e),
                 e == EADDRINUSE ? " (another process listens on that port: free it, or choose "
                                   "another port in control.metrics)" : "");
        *rc = e == EADDRINUSE ? HG_EADDRINUSE : HG_EIO;
        close(fd);
        return -1;
    }
    return fd;
}

int hg__metrics_addr_probe(const char *addr, char *err, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int rc = 0, fd;
    if (hg__metrics_parse_addr(addr, &ss, &len) != 0) {
        snprintf(err, cap, "control.metrics '%s' is not HOST:PORT", addr);
        return HG_EINVAL;
    }
    if (hg__sockaddr_port(&ss) == 0)
        return 0;
    fd = listen_on(addr, &ss, len, err, cap, &rc);
    if (fd >= 0)
        close(fd);
    return rc;
}

int hg__metrics_http_open(hg__host *h, const char *addr, hg__metrics_http **out, char *err,
                          size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    hg__metrics_http *m;
    int rc = 0, fd;
    if (hg__metrics_parse_addr(addr, &ss, &len) != 0) {
        snprintf(err, cap, "control.metrics '%s' is not HOST:PORT", addr);
        return HG_EINVAL;
    }
    fd = listen_on(addr, &ss, len, err, cap, &rc);
    if (fd < 0)
        return rc;
    m = calloc(1, sizeof *m);
    if (m == NULL) {
        close(fd);
        return HG_ENOMEM;
    }
    m->h = h;
    len = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &len);
    m->port = hg__sockaddr_port(&ss);
    m->d = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                            on_request, m, MHD_OPTION_LISTEN_SOCKET, fd,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONN_LIMIT,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONN_TIMEOUT_S,
                            MHD_OPTION_EXTERNAL_LOGGER, mhd_log, m, MHD_OPTION_END);
    if (m->d == NULL) {
        snprintf(err, cap, "control.metrics %s: libmicrohttpd did not start", addr);
        close(fd);
        free(m);
        return HG_EIO;
    }
    *out = m;
    return 0;
}

unsigned hg__metrics_http_port(const hg__metrics_http *m)
{
    return m->port;
}

void hg__metrics_http_close(hg__metrics_http *m)
{
    if (m == NULL)
        return;
    MHD_stop_daemon(m->d); /* closes the listener too */
    free(m);
}
