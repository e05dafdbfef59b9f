/* proxy.c - tcp-proxy: for each accepted client, a connection upstream on the same worker and
 * bytes both ways, written straight from on_data. A side whose write queue passes high water
 * pauses reading on the other side until on_writable, so a peer that never reads costs about
 * high_water of memory per connection. Half-closes pass through; a reset resets the other side. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcp.h"

typedef struct proxy {
    tcp_srv srv;
    const hg_host *host;
    const char *listen;
    const char *upstream_cfg;
    char upstream[TCP_ADDR_MAX]; /* resolved at start */
    uint8_t by_name;             /* upstream names a pipeline: resolved again on each accept,
                                  * as a restart on port 0 moves that pipeline's address */
    uint64_t high_water;
    uint64_t connect_timeout_ns;
    uint64_t idle_ns;
    hg_counter *upstream_failed;
    hg_counter *pauses;
    hg_counter *queued_max;
} proxy;

enum { CLIENT = 0, UPSTREAM = 1 };

struct pair;

typedef struct side {
    struct pair *p;
    hg_conn *c;     /* NULL once closed */
    uint8_t idx;    /* CLIENT or UPSTREAM */
    uint8_t paused; /* reading this side is paused */
    uint8_t eof;    /* the peer of this side half-closed */
} side;

typedef struct pair {
    tcp_item it; /* first: items are pairs */
    proxy *px;
    side s[2];
    uint8_t connected; /* upstream established */
    uint8_t n_open;    /* sides not closed yet */
    uint8_t *buf;      /* client bytes that came before upstream was connected */
    uint32_t buf_len;
    uint32_t buf_cap;
} pair;

const char *const hg__tcp_proxy_keys[] = {"listen", "upstream", "high_water", "connect_timeout",
                                          "idle_timeout", NULL};

static const hg_conn_handler proxy_handler;

static void note_queued(proxy *px, uint64_t q)
{
    uint64_t cur = hg_counter_get(px->queued_max);
    while (q > cur) {
        if (__atomic_compare_exchange_n(&px->queued_max->value, &cur, q, 0, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED))
            break;
    }
}

static void pause_side(side *sd)
{
    const hg_net *net = sd->p->px->srv.net;
    if (!sd->paused && sd->c != NULL) {
        sd->paused = 1;
        net->read_pause(net, sd->c);
        hg_counter_add(sd->p->px->pauses, 1);
    }
}

static void resume_side(side *sd)
{
    const hg_net *net = sd->p->px->srv.net;
    if (sd->paused && sd->c != NULL) {
        sd->paused = 0;
        net->read_resume(net, sd->c);
    }
}

static void setup_conn(proxy *px, hg_conn *c)
{
    const hg_net *net = px->srv.net;
    net->set_water(net, c, px->high_water, px->high_water / 4);
    if (px->idle_ns != 0)
        net->set_timeouts(net, c, px->idle_ns, 0, 0);
}

/* The upstream's address now: the one resolved at start, or for a pipeline's name, where that
 * pipeline listens now (into buf; NULL while it does not listen). [worker] */
static const char *upstream_address(const proxy *px, char *buf, uint32_t cap)
{
    if (!px->by_name)
        return px->upstream;
    return px->host->resolve_address(px->host, px->upstream_cfg, buf, cap) == 0 ? buf : NULL;
}

static int on_accept(void *ud, hg_conn *c, void **conn_ud)
{
    proxy *px = ud;
    const hg_net *net = px->srv.net;
    pair *p = calloc(1, sizeof *p);
    char addr[TCP_ADDR_MAX];
    const char *to;
    int rc;
    if (p == NULL)
        return HG_ENOMEM;
    p->px = px;
    p->s[CLIENT] = (side){.p = p, .c = c, .idx = CLIENT};
    p->s[UPSTREAM] = (side){.p = p, .idx = UPSTREAM};
    to = upstream_address(px, addr, sizeof addr);
    rc = to == NULL ? HG_ESTATE
                    : net->connect(net, to, px->connect_timeout_ns, &proxy_handler,
                                   &p->s[UPSTREAM], &p->s[UPSTREAM].c);
    if (rc != 0) {
        hg_counter_add(px->upstream_failed, 1);
        free(p);
        return rc;
    }
    p->n_open = 2;
    hg__tcp_srv_add(&px->srv, &p->it);
    setup_conn(px, c);
    *conn_ud = &p->s[CLIENT];
    return 0;
}

/* Keeps client bytes until upstream is connected; pauses the client past high water. */
static void buffer_client(pair *p, const uint8_t *data, uint32_t len)
{
    uint32_t need = p->buf_len + len;
    if (need > p->buf_cap) {
        uint32_t cap = p->buf_cap ? p->buf_cap : 16384;
        uint8_t *nb;
        while (cap < need)
            cap *= 2;
        nb = realloc(p->buf, cap);
        if (nb == NULL) {
            p->px->srv.net->close(p->px->srv.net, p->s[CLIENT].c, HG_CLOSE_RESET);
            return;
        }
        p->buf = nb;
        p->buf_cap = cap;
    }
    memcpy(p->buf + p->buf_len, data, len);
    p->buf_len = need;
    if (p->buf_len >= p->px->high_water)
        pause_side(&p->s[CLIENT]);
}

static void on_data(void *ud, hg_conn *c, const uint8_t *data, uint32_t len)
{
    side *sd = ud;
    pair *p = sd->p;
    side *other = &p->s[!sd->idx];
    const hg_net *net = p->px->srv.net;
    int rc;
    if (sd->idx == CLIENT && !p->connected) {
        buffer_client(p, data, len);
        return;
    }
    if (other->c == NULL)
        return;
    rc = net->write(net, other->c, data, len);
    if (rc == HG_EAGAIN) {
        pause_side(sd);
        note_queued(p->px, net->queued(net, other->c));
    }
}

static void on_connected(void *ud, hg_conn *c)
{
    side *up = ud;
    pair *p = up->p;
    const hg_net *net = p->px->srv.net;
    int rc = 0;
    p->connected = 1;
    setup_conn(p->px, c);
    if (p->buf_len != 0) {
        rc = net->write(net, c, p->buf, p->buf_len);
        if (rc == HG_EAGAIN)
            note_queued(p->px, net->queued(net, c));
    }
    free(p->buf);
    p->buf = NULL;
    p->buf_len = p->buf_cap = 0;
    if (p->s[CLIENT].eof)
        net->shutdown_write(net, c);
    else if (rc != HG_EAGAIN)
        resume_side(&p->s[CLIENT]);
}

/* The queue of sd drained below low water: let the other side talk again. */
static void on_writable(void *ud, hg_conn *c)
{
    side *sd = ud;
    resume_side(&sd->p->s[!sd->idx]);
}

/* Half-close passes through: the other side gets our FIN after its queue. */
static void on_peer_shutdown(void *ud, hg_conn *c)
{
    side *sd = ud;
    pair *p = sd->p;
    side *other = &p->s[!sd->idx];
    const hg_net *net = p->px->srv.net;
    sd->eof = 1;
    if (sd->idx == CLIENT && !p->connected)
        return; /* sent after the buffer, in on_connected */
    if (other->c != NULL)
        net->shutdown_write(net, other->c);
}

/* How to close the other side once this one closed: a clean close (both FINs) closes it
 * gracefully, after its queue; anything else (a reset either way, a timeout, an error) resets it.
 * An upstream whose connect failed closes the client gracefully, unless that upstream accepted
 * and reset before the connect was seen to complete (ECONNRESET; a refusal is ECONNREFUSED). */
static uint32_t close_other_how(const hg_conn_record *rec)
{
    if (rec->close_cause == HG_CLOSE_CONNECT_FAILED)
        return rec->status == HG_ECONNRESET ? HG_CLOSE_RESET : HG_CLOSE_GRACEFUL;
    return rec->close_cause == HG_CLOSE_ACTIVE || rec->close_cause == HG_CLOSE_PASSIVE
               ? HG_CLOSE_GRACEFUL
               : HG_CLOSE_RESET;
}

static void on_closed(void *ud, hg_conn *c, const hg_conn_record *rec)
{
    side *sd = ud;
    pair *p = sd->p;
    proxy *px = p->px;
    side *other = &p->s[!sd->idx];
    const hg_net *net = px->srv.net;
    sd->c = NULL;
    if (sd->idx == UPSTREAM && rec->close_cause == HG_CLOSE_CONNECT_FAILED) {
        hg_counter_add(px->upstream_failed, 1);
        hg_logf(px->host, HG_LOG_DEBUG, "upstream %s: %s", px->upstream,
                hg_strerror(rec->status));
    }
    if (other->c != NULL)
        net->close(net, other->c, close_other_how(rec));
    if (--p->n_open != 0)
        return;
    hg__tcp_srv_remove(&px->srv, &p->it);
    free(p->buf);
    free(p);
}

static const hg_conn_handler proxy_handler = {
    .struct_size = sizeof(hg_conn_handler),
    .on_accept = on_accept,
    .on_connected = on_connected,
    .on_data = on_data,
    .on_writable = on_writable,
    .on_peer_shutdown = on_peer_shutdown,
    .on_closed = on_closed,
};

static void close_item(tcp_item *it, uint32_t how)
{
    pair *p = (pair *)it;
    const hg_net *net = p->px->srv.net;
    if (p->s[CLIENT].c != NULL)
        net->close(net, p->s[CLIENT].c, how);
    if (p->s[UPSTREAM].c != NULL)
        net->close(net, p->s[UPSTREAM].c, how);
}

/* A graceful stop: an idle pair (upstream connected, nothing buffered or queued either way,
 * neither side paused or half-closed) is closed from the client's side, and the upstream
 * follows (on_closed). A busy pair is left to finish; the host cuts it at shutdown_timeout. */
static void end_item(tcp_item *it)
{
    pair *p = (pair *)it;
    const hg_net *net = p->px->srv.net;
    side *cl = &p->s[CLIENT], *up = &p->s[UPSTREAM];
    if (!p->connected || p->buf_len != 0 || cl->c == NULL || up->c == NULL || cl->paused ||
        up->paused || cl->eof || up->eof)
        return;
    if (net->queued(net, cl->c) == 0 && net->queued(net, up->c) == 0)
        net->close(net, cl->c, HG_CLOSE_GRACEFUL);
}

static int register_counters(proxy *px)
{
    const hg_host *h = px->host;
    int rc = h->counter(h, "upstream_failed", HG_COUNTER_SUM, &px->upstream_failed);
    if (rc == 0)
        rc = h->counter(h, "pauses", HG_COUNTER_SUM, &px->pauses);
    if (rc == 0)
        rc = h->counter(h, "queued_max", HG_COUNTER_GAUGE, &px->queued_max);
    return rc;
}

static int proxy_create(const hg_host *h, const hg_config *cfg, void **out)
{
    proxy *px = calloc(1, sizeof *px);
    int bad = 0, rc;
    if (px == NULL)
        return HG_ENOMEM;
    hg__tcp_srv_init(&px->srv, h, close_item, end_item);
    px->host = h;
    px->high_water = 1u << 20;
    px->connect_timeout_ns = 5000000000ull;
    if (hg__tcp_cfg_address(h, cfg, "listen", 1, TCP_ADDR_LITERAL, &px->listen) != 0)
        bad = 1;
    if (hg__tcp_cfg_address(h, cfg, "upstream", 1, TCP_ADDR_OR_NAME, &px->upstream_cfg) != 0)
        bad = 1;
    if (hg__tcp_cfg_size(h, cfg, "high_water", 1024, 1ull << 30, &px->high_water) != 0)
        bad = 1;
    if (hg__tcp_cfg_duration(h, cfg, "connect_timeout", &px->connect_timeout_ns) != 0)
        bad = 1;
    if (hg__tcp_cfg_duration(h, cfg, "idle_timeout", &px->idle_ns) != 0)
        bad = 1;
    rc = bad ? HG_ECONFIG : register_counters(px);
    if (rc != 0) {
        free(px);
        return rc;
    }
    *out = px;
    return 0;
}

static void proxy_destroy(void *inst)
{
    proxy *px = inst;
    hg__tcp_srv_free(&px->srv);
    free(px);
}

static int proxy_start(void *inst, const hg_net *net)
{
    proxy *px = inst;
    /* A pipeline's name may not listen yet (it starts after this one): looked up per client */
    int rc = px->host->resolve_address(px->host, px->upstream_cfg, px->upstream,
                                       sizeof px->upstream);
    if (rc == HG_EAGAIN) {
        px->upstream[0] = '\0';
        rc = 0;
    } else if (rc != 0) {
        return hg__tcp_resolve(px->host, px->upstream_cfg, px->upstream, sizeof px->upstream);
    }
    px->by_name = strcmp(px->upstream, px->upstream_cfg) != 0;
    return hg__tcp_srv_start(&px->srv, net, px->listen, &proxy_handler, px);
}

static void proxy_stop(void *inst, uint32_t how)
{
    proxy *px = inst;
    hg__tcp_srv_stop(&px->srv, how);
}

const hg_pipeline_ops hg__tcp_proxy_ops = {
    .struct_size = sizeof(hg_pipeline_ops),
    .create = proxy_create,
    .destroy = proxy_destroy,
    .start = proxy_start,
    .stop = proxy_stop,
    .command = NULL,
};
