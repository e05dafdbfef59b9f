/* udp.c - the udp connector: `listen` (HOST:PORT) takes datagrams in as events, `send_to`
 * (HOST:PORT or a pipeline's name) sends each action as one datagram; either or both. The bound
 * address is published as `address` in the stream's details. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cn.h"

#define DGRAM_MAX 65536
#define POLL_MS 10

typedef struct udp_stream {
    cn c;
    char name[64], listen[256], send_to[256], bound[300];
    int fd;
    struct sockaddr_storage dst;
    socklen_t dst_len;
    uint64_t received, sent, send_errors;
    char *buf;
} udp_stream;

/* HOST:PORT (after resolve_address) into sa. Returns 0 or -1. */
static int parse(const hg_host *h, const char *text, struct sockaddr_storage *sa, socklen_t *len)
{
    char a[300], *colon;
    struct addrinfo hints, *ai = NULL;
    if (h->resolve_address(h, text, a, sizeof a) != 0 || (colon = strrchr(a, ':')) == NULL)
        return -1;
    *colon = '\0';
    if (a[0] == '[' && colon > a + 1 && colon[-1] == ']')
        colon[-1] = '\0';
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_NUMERICSERV;
    if (getaddrinfo(a[0] == '[' ? a + 1 : a, colon + 1, &hints, &ai) != 0 || ai == NULL)
        return -1;
    memcpy(sa, ai->ai_addr, ai->ai_addrlen);
    *len = ai->ai_addrlen;
    freeaddrinfo(ai);
    return 0;
}

static const char *const stream_keys[] = {"listen", "send_to", NULL};

static int ud_open(void *inst, const hg_stream_desc *d, hg_stream *s, void **ud)
{
    cn *c = inst;
    const char *l = NULL, *t = NULL;
    udp_stream *u;
    (void)s;
    if (cn_check_keys(c, d->cfg, stream_keys) != 0)
        return HG_ECONFIG;
    c->h->cfg_string(c->h, d->cfg, "listen", &l);
    c->h->cfg_string(c->h, d->cfg, "send_to", &t);
    if ((l == NULL || !*l) && (t == NULL || !*t)) {
        c->h->cfg_error(c->h, d->cfg, "listen", "udp needs 'listen' (HOST:PORT), 'send_to' "
                                                "(HOST:PORT or a pipeline's name), or both");
        return HG_ECONFIG;
    }
    if ((u = calloc(1, sizeof *u)) == NULL || (u->buf = malloc(DGRAM_MAX)) == NULL) {
        free(u);
        return HG_ENOMEM;
    }
    u->c = *c;
    u->fd = -1;
    snprintf(u->name, sizeof u->name, "%s", d->name);
    snprintf(u->listen, sizeof u->listen, "%s", l ? l : "");
    snprintf(u->send_to, sizeof u->send_to, "%s", t ? t : "");
    *ud = u;
    return 0;
}

static void publish(udp_stream *u, hg_stream *s, uint32_t state, const char *err)
{
    char d[700];
    snprintf(d, sizeof d, "{\"address\":\"%s\",\"received\":%llu,\"sent\":%llu,"
             "\"send_errors\":%llu,\"last_error\":\"%.200s\"}", u->bound,
             (unsigned long long)u->received, (unsigned long long)u->sent,
             (unsigned long long)u->send_errors, err ? err : "");
    u->c.api->publish(s, state, d);
}

/* Opens the socket: bound to listen (or an ephemeral port), destination resolved. */
static int setup(udp_stream *u, char *err, size_t cap)
{
    struct sockaddr_storage sa;
    socklen_t len = sizeof sa;
    char host[200], port[16];
    int family = AF_INET;
    if (u->send_to[0] && parse(u->c.h, u->send_to, &u->dst, &u->dst_len) != 0) {
        snprintf(err, cap, "cannot resolve send_to '%.200s'", u->send_to);
        return -1;
    }
    if (u->listen[0] && parse(u->c.h, u->listen, &sa, &len) != 0) {
        snprintf(err, cap, "cannot resolve listen '%.200s'", u->listen);
        return -1;
    }
    family = u->listen[0] ? sa.ss_family : u->dst.ss_family;
    if ((u->fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0 ||
        (u->listen[0] && bind(u->fd, (struct sockaddr *)&sa, len) != 0)) {
        snprintf(err, cap, "%s", strerror(errno));
        if (u->fd >= 0)
            close(u->fd);
        u->fd = -1;
        return -1;
    }
    len = sizeof sa;
    getsockname(u->fd, (struct sockaddr *)&sa, &len);
    getnameinfo((struct sockaddr *)&sa, len, host, sizeof host, port, sizeof port,
                NI_NUMERICHOST | NI_NUMERICSERV);
    snprintf(u->bound, sizeof u->bound, sa.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host,
             port);
    return 0;
}

static void send_actions(udp_stream *u, hg_stream *s)
{
    hg_frame f;
    for (;;) {
        memset(&f, 0, sizeof f);
        f.struct_size = sizeof f;
        if (u->c.api->next_action(s, &f, 0) != 0)
            return;
        if (u->send_to[0] && sendto(u->fd, f.data, f.len, 0, (struct sockaddr *)&u->dst,
                                    u->dst_len) == (ssize_t)f.len)
            u->sent++;
        else
            u->send_errors++; /* no send_to, or the datagram did not go: counted */
        u->c.api->buf_unref(f.buf);
    }
}

static int ud_run(void *ud, hg_stream *s)
{
    udp_stream *u = ud;
    char err[256] = "";
    while (setup(u, err, sizeof err) != 0) {
        publish(u, s, HG_STATE_READY, err);
        if (cn_sleep(&u->c, s, 1000000000u))
            goto out;
    }
    publish(u, s, HG_STATE_RUNNING, NULL);
    for (;;) {
        struct pollfd p = {u->fd, POLLIN, 0};
        uint64_t before = u->received + u->sent + u->send_errors;
        if (cn_sleep(&u->c, s, 0))
            break;
        send_actions(u, s);
        if (u->listen[0] && poll(&p, 1, POLL_MS) > 0) {
            ssize_t n = recv(u->fd, u->buf, DGRAM_MAX, MSG_DONTWAIT);
            if (n >= 0) {
                u->received++;
                if (cn_emit(&u->c, s, HG_TYPE_BYTES, u->buf, (uint32_t)n) == HG_ECANCELED)
                    break;
            }
        } else if (!u->listen[0] && cn_sleep(&u->c, s, POLL_MS * 1000000u))
            break;
        if (u->received + u->sent + u->send_errors != before)
            publish(u, s, HG_STATE_RUNNING, NULL);
    }
out:
    if (u->fd >= 0)
        close(u->fd);
    u->fd = -1;
    publish(u, s, HG_STATE_STOPPED, NULL);
    return 0;
}

static void ud_close(void *ud)
{
    udp_stream *u = ud;
    free(u->buf);
    free(u);
}

const hg_connector_ops cn_udp_ops = {
    sizeof(hg_connector_ops), cn_create, cn_destroy, ud_open, ud_run, ud_close, NULL,
};
