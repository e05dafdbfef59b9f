/* echo.c - tcp-echo: writes back every byte it reads, straight from on_data. A peer that does
 * not read pauses its own reads once the write queue passes high water, so memory stays
 * bounded; a half-close is answered once the echo is written. A graceful stop closes idle
 * connections and half-closes busy ones after their echo. */
#include <stdlib.h>

#include "tcp.h"

typedef struct echo {
    tcp_srv srv;
    const hg_host *host;
    const char *listen;
    uint64_t idle_ns;
    hg_counter *refused;
    hg_counter *dropped; /* bytes read after a graceful stop half-closed their connection */
} echo;

typedef struct echo_conn {
    tcp_item it; /* first: items are echo_conns */
    echo *e;
    hg_conn *c;
    uint8_t paused;
    uint8_t streamed; /* its queue once passed high water: a stream, never taken for idle */
    uint8_t shut; /* half-closed by a graceful stop: what arrives is dropped (counted) */
} echo_conn;

const char *const hg__tcp_echo_keys[] = {"listen", "max_open", "idle_timeout", NULL};

static int on_accept(void *ud, hg_conn *c, void **conn_ud)
{
    echo *e = ud;
    const hg_net *net = e->srv.net;
    echo_conn *ec = malloc(sizeof *ec);
    if (ec == NULL)
        return HG_ENOMEM;
    ec->e = e;
    ec->c = c;
    ec->paused = 0;
    ec->streamed = 0;
    ec->shut = 0;
    if (hg__tcp_srv_add(&e->srv, &ec->it) != 0) {
        free(ec);
        hg_counter_add(e->refused, 1);
        return HG_EAGAIN;
    }
    if (e->idle_ns != 0)
        net->set_timeouts(net, c, e->idle_ns, 0, 0);
    *conn_ud = ec;
    return 0;
}

/* Ends a connection for a graceful stop. Idle (nothing queued, never a stream): closed, so a
 * keep-alive client sees the end at once. Busy: half-closed, the FIN goes out after the echo
 * already queued; reading goes on (dropping what comes) until the client closes, as closing
 * with unread bytes would reset it and lose that echo. A stream whose queue happens to be empty
 * is still busy: its next bytes are already on their way, and a close would reset them. */
static void end_conn(echo_conn *ec)
{
    const hg_net *net = ec->e->srv.net;
    if (ec->shut)
        return;
    if (!ec->streamed && !ec->paused && net->queued(net, ec->c) == 0) {
        net->close(net, ec->c, HG_CLOSE_GRACEFUL);
        return;
    }
    ec->shut = 1;
    net->shutdown_write(net, ec->c);
    if (ec->paused) {
        ec->paused = 0;
        net->read_resume(net, ec->c);
    }
}

static void on_data(void *ud, hg_conn *c, const uint8_t *data, uint32_t len)
{
    echo_conn *ec = ud;
    const hg_net *net = ec->e->srv.net;
    if (ec->shut) {
        hg_counter_add(ec->e->dropped, len);
        return;
    }
    if (net->write(net, c, data, len) == HG_EAGAIN) {
        net->read_pause(net, c);
        ec->paused = ec->streamed = 1;
    }
    /* Bytes that came in while stopping are echoed; then the connection ends. */
    if (hg__tcp_srv_stopping(&ec->e->srv))
        end_conn(ec);
}

static void on_writable(void *ud, hg_conn *c)
{
    echo_conn *ec = ud;
    const hg_net *net = ec->e->srv.net;
    if (ec->paused) {
        ec->paused = 0;
        net->read_resume(net, c);
    }
}

/* The peer is done sending: the FIN goes out after what is still queued. */
static void on_peer_shutdown(void *ud, hg_conn *c)
{
    echo_conn *ec = ud;
    const hg_net *net = ec->e->srv.net;
    if (!ec->shut)
        net->shutdown_write(net, c);
}

static void on_closed(void *ud, hg_conn *c, const hg_conn_record *rec)
{
    echo_conn *ec = ud;
    hg__tcp_srv_remove(&ec->e->srv, &ec->it);
    free(ec);
}

static const hg_conn_handler echo_handler = {
    .struct_size = sizeof(hg_conn_handler),
    .on_accept = on_accept,
    .on_data = on_data,
    .on_writable = on_writable,
    .on_peer_shutdown = on_peer_shutdown,
    .on_closed = on_closed,
};

static void close_item(tcp_item *it, uint32_t how)
{
    echo_conn *ec = (echo_conn *)it;
    ec->e->srv.net->close(ec->e->srv.net, ec->c, how);
}

static void end_item(tcp_item *it)
{
    end_conn((echo_conn *)it);
}

static int echo_create(const hg_host *h, const hg_config *cfg, void **out)
{
    echo *e = calloc(1, sizeof *e);
    int bad = 0, rc;
    if (e == NULL)
        return HG_ENOMEM;
    hg__tcp_srv_init(&e->srv, h, close_item, end_item);
    e->host = h;
    if (hg__tcp_cfg_address(h, cfg, "listen", 1, TCP_ADDR_LITERAL, &e->listen) != 0)
        bad = 1;
    if (hg__tcp_cfg_uint(h, cfg, "max_open", 0, UINT32_MAX, &e->srv.max_open) != 0)
        bad = 1;
    if (hg__tcp_cfg_duration(h, cfg, "idle_timeout", &e->idle_ns) != 0)
        bad = 1;
    rc = bad ? HG_ECONFIG : h->counter(h, "refused", HG_COUNTER_SUM, &e->refused);
    if (rc == 0)
        rc = h->counter(h, "bytes_dropped", HG_COUNTER_SUM, &e->dropped);
    if (rc != 0) {
        free(e);
        return rc;
    }
    *out = e;
    return 0;
}

static void echo_destroy(void *inst)
{
    echo *e = inst;
    hg__tcp_srv_free(&e->srv);
    free(e);
}

static int echo_start(void *inst, const hg_net *net)
{
    echo *e = inst;
    return hg__tcp_srv_start(&e->srv, net, e->listen, &echo_handler, e);
}

static void echo_stop(void *inst, uint32_t how)
{
    echo *e = inst;
    hg__tcp_srv_stop(&e->srv, how);
}

const hg_pipeline_ops hg__tcp_echo_ops = {
    .struct_size = sizeof(hg_pipeline_ops),
    .create = echo_create,
    .destroy = echo_destroy,
    .start = echo_start,
    .stop = echo_stop,
    .command = NULL,
};
