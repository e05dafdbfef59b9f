/* tcp.c - the tcp connector: a client stream to `connect` (an address, or a pipeline's name),
 * frames in as events and actions out as frames, with `framing` raw | line | u32 (a 4-byte
 * big-endian length first); unhealthy while disconnected, reconnecting with exponential backoff
 * and jitter between backoff_min and backoff_max. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cn.h"

#define RBUF (256 * 1024)
#define FRAME_MAX (1u << 20)
#define POLL_MS 10

enum { F_RAW, F_LINE, F_U32 };

typedef struct tcp_stream {
    cn c;
    char name[64], connect[256];
    int framing;
    uint64_t bmin, bmax;
    int fd;
    char *buf;
    uint32_t len;
    uint64_t connects, failures, actions_failed;
    uint32_t rnd;
} tcp_stream;

static const char *const stream_keys[] = {"connect", "framing", "backoff_min", "backoff_max", NULL};

static int tc_open(void *inst, const hg_stream_desc *d, hg_stream *s, void **ud)
{
    cn *c = inst;
    const char *addr = NULL, *fr = NULL;
    tcp_stream *t;
    uint64_t bmin = 100000000u, bmax = 5000000000u;
    int framing = F_LINE;
    (void)s;
    if (cn_check_keys(c, d->cfg, stream_keys) != 0)
        return HG_ECONFIG;
    if (c->h->cfg_string(c->h, d->cfg, "connect", &addr) != 0 || addr == NULL || !*addr) {
        c->h->cfg_error(c->h, d->cfg, "connect", "tcp needs 'connect': HOST:PORT or a "
                                                  "pipeline's name");
        return HG_ECONFIG;
    }
    c->h->cfg_string(c->h, d->cfg, "framing", &fr);
    if (fr != NULL)
        framing = strcmp(fr, "raw") == 0 ? F_RAW : strcmp(fr, "line") == 0 ? F_LINE
                : strcmp(fr, "u32") == 0 ? F_U32 : -1;
    if (framing < 0) {
        c->h->cfg_error(c->h, d->cfg, "framing", "'framing' is raw, line or u32");
        return HG_ECONFIG;
    }
    c->h->cfg_duration(c->h, d->cfg, "backoff_min", &bmin);
    c->h->cfg_duration(c->h, d->cfg, "backoff_max", &bmax);
    if (bmin == 0 || bmax < bmin) {
        c->h->cfg_error(c->h, d->cfg, "backoff_max", "'backoff_min' must be above 0 and at "
                                                     "most 'backoff_max'");
        return HG_ECONFIG;
    }
    if ((t = calloc(1, sizeof *t)) == NULL || (t->buf = malloc(RBUF)) == NULL) {
        free(t);
        return HG_ENOMEM;
    }
    t->c = *c;
    t->fd = -1;
    t->framing = framing;
    t->bmin = bmin;
    t->bmax = bmax;
    t->rnd = (uint32_t)(uintptr_t)t ^ (uint32_t)c->h->now_ns(c->h);
    snprintf(t->name, sizeof t->name, "%s", d->name);
    snprintf(t->connect, sizeof t->connect, "%s", addr);
    *ud = t;
    return 0;
}

/* Connects once. Returns the socket or -1 (why in err). */
static int dial(tcp_stream *t, char *err, size_t cap)
{
    char a[300], *colon;
    struct addrinfo hints, *ai = NULL;
    int fd, one = 1;
    if (t->c.h->resolve_address(t->c.h, t->connect, a, sizeof a) != 0) {
        snprintf(err, cap, "cannot resolve '%.200s'", t->connect);
        return -1;
    }
    if ((colon = strrchr(a, ':')) == NULL) {
        snprintf(err, cap, "'%.200s' is not HOST:PORT", a);
        return -1;
    }
    *colon = '\0';
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(a[0] == '[' ? a + 1 : a, colon + 1, &hints, &ai) != 0 || ai == NULL) {
        snprintf(err, cap, "cannot resolve '%.200s'", t->connect);
        return -1;
    }
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        snprintf(err, cap, "%s", strerror(errno));
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    if (fd >= 0)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static void publish(tcp_stream *t, hg_stream *s, uint32_t state, const char *err)
{
    char d[512];
    snprintf(d, sizeof d, "{\"connected\":%s,\"connects\":%llu,\"failures\":%llu,"
             "\"actions_failed\":%llu,\"last_error\":\"%.200s\"}", t->fd >= 0 ? "true" : "false",
             (unsigned long long)t->connects, (unsigned long long)t->failures,
             (unsigned long long)t->actions_failed, err ? err : "");
    t->c.api->publish(s, state, d);
}

/* Emits every complete frame in buf. Returns 0, HG_ECANCELED, HG_EPROTO (a u32 frame too long). */
static int frames_out(tcp_stream *t, hg_stream *s)
{
    uint32_t start = 0;
    int rc = 0;
    for (;;) {
        uint32_t have = t->len - start, n, skip;
        const char *p = t->buf + start;
        if (t->framing == F_RAW) {
            if (have == 0)
                break;
            n = have, skip = have;
        } else if (t->framing == F_LINE) {
            const char *nl = memchr(p, '\n', have);
            if (nl == NULL) {
                if (have == RBUF) /* an over-long line: emitted in pieces */
                    n = skip = have;
                else
                    break;
            } else
                n = (uint32_t)(nl - p), skip = n + 1;
        } else {
            uint32_t be;
            if (have < 4)
                break;
            memcpy(&be, p, 4);
            n = ntohl(be);
            if (n > RBUF - 4)
                return HG_EPROTO;
            if (have < 4 + n)
                break;
            p += 4;
            skip = n + 4;
        }
        if ((rc = cn_emit(&t->c, s, HG_TYPE_BYTES, p, n)) == HG_ECANCELED)
            return rc;
        start += skip;
    }
    memmove(t->buf, t->buf + start, t->len - start);
    t->len -= start;
    return 0;
}

static int write_all(int fd, const void *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p = (const char *)p + w;
        n -= (size_t)w;
    }
    return 0;
}

/* Writes the actions queued now. Returns 0, -1 (the connection broke). */
static int actions_in(tcp_stream *t, hg_stream *s)
{
    hg_frame f;
    for (;;) {
        int bad = 0;
        memset(&f, 0, sizeof f);
        f.struct_size = sizeof f;
        if (t->c.api->next_action(s, &f, 0) != 0)
            return 0;
        if (t->framing == F_U32) {
            uint32_t be = htonl(f.len);
            bad = write_all(t->fd, &be, 4) != 0;
        }
        bad = bad || write_all(t->fd, f.data, f.len) != 0;
        if (!bad && t->framing == F_LINE)
            bad = write_all(t->fd, "\n", 1) != 0;
        t->c.api->buf_unref(f.buf);
        if (bad) {
            t->actions_failed++;
            return -1;
        }
    }
}

/* Runs one connection until it breaks. Returns HG_ECANCELED when stopping. */
static int session(tcp_stream *t, hg_stream *s, char *err, size_t cap)
{
    struct pollfd p = {t->fd, POLLIN, 0};
    t->len = 0;
    for (;;) {
        ssize_t n;
        if (cn_sleep(&t->c, s, 0))
            return HG_ECANCELED;
        if (actions_in(t, s) != 0) {
            snprintf(err, cap, "write: %s", strerror(errno));
            return 0;
        }
        if (poll(&p, 1, POLL_MS) <= 0)
            continue;
        n = recv(t->fd, t->buf + t->len, RBUF - t->len, 0);
        if (n <= 0) {
            snprintf(err, cap, "%s", n == 0 ? "closed by the peer" : strerror(errno));
            if (n == 0 && t->framing == F_RAW)
                return 0;
            if (t->len > 0 && t->framing == F_LINE) /* the last line, ended by the close */
                cn_emit(&t->c, s, HG_TYPE_BYTES, t->buf, t->len);
            return 0;
        }
        t->len += (uint32_t)n;
        if (frames_out(t, s) == HG_ECANCELED)
            return HG_ECANCELED;
    }
}

static int tc_run(void *ud, hg_stream *s)
{
    tcp_stream *t = ud;
    uint64_t backoff = t->bmin;
    char err[256] = "";
    for (;;) {
        t->fd = dial(t, err, sizeof err);
        if (t->fd >= 0) {
            int rc;
            t->connects++;
            backoff = t->bmin;
            publish(t, s, HG_STATE_RUNNING, NULL);
            rc = session(t, s, err, sizeof err);
            close(t->fd);
            t->fd = -1;
            if (rc == HG_ECANCELED)
                break;
        }
        t->failures++;
        publish(t, s, HG_STATE_READY, err);
        {
            uint64_t j;
            t->rnd = t->rnd * 1103515245u + 12345u;
            j = backoff / 2 + (backoff / 2) * ((t->rnd >> 8) % 1000) / 1000; /* 50..100% */
            if (cn_sleep(&t->c, s, j))
                break;
        }
        backoff = backoff * 2 > t->bmax ? t->bmax : backoff * 2;
    }
    publish(t, s, HG_STATE_STOPPED, NULL);
    return 0;
}

static void tc_close(void *ud)
{
    tcp_stream *t = ud;
    free(t->buf);
    free(t);
}

const hg_connector_ops cn_tcp_ops = {
    sizeof(hg_connector_ops), cn_create, cn_destroy, tc_open, tc_run, tc_close, NULL,
};
