/* sink.c - tcp-sink: reads and discards. The runtime counts bytes_in; the sink adds
 * bytes_discarded, flushed per connection at close so the hot path touches no shared line. */
#include <stdlib.h>

#include "tcp.h"

typedef struct sink {
    tcp_srv srv;
    const char *listen;
    uint64_t idle_ns;
    hg_counter *discarded;
} sink;

typedef struct sink_conn {
    tcp_item it; /* first: items are sink_conns */
    sink *s;
    hg_conn *c;
    uint64_t bytes; /* not yet added to the counter */
} sink_conn;

const char *const hg__tcp_sink_keys[] = {"listen", "idle_timeout", NULL};

/* Unflushed bytes are added once this many pile up, so a long connection shows progress. */
#define SINK_FLUSH_BYTES (1u << 20)

static int on_accept(void *ud, hg_conn *c, void **conn_ud)
{
    sink *s = ud;
    sink_conn *sc = malloc(sizeof *sc);
    if (sc == NULL)
        return HG_ENOMEM;
    sc->s = s;
    sc->c = c;
    sc->bytes = 0;
    hg__tcp_srv_add(&s->srv, &sc->it);
    if (s->idle_ns != 0)
        s->srv.net->set_timeouts(s->srv.net, c, s->idle_ns, 0, 0);
    *conn_ud = sc;
    return 0;
}

static void on_data(void *ud, hg_conn *c, const uint8_t *data, uint32_t len)
{
    sink_conn *sc = ud;
    sc->bytes += len;
    if (sc->bytes >= SINK_FLUSH_BYTES) {
        hg_counter_add(sc->s->discarded, sc->bytes);
        sc->bytes = 0;
    }
}

/* The peer is done: so are we. */
static void on_peer_shutdown(void *ud, hg_conn *c)
{
    sink_conn *sc = ud;
    sc->s->srv.net->shutdown_write(sc->s->srv.net, c);
}

static void on_closed(void *ud, hg_conn *c, const hg_conn_record *rec)
{
    sink_conn *sc = ud;
    if (sc->bytes != 0)
        hg_counter_add(sc->s->discarded, sc->bytes);
    hg__tcp_srv_remove(&sc->s->srv, &sc->it);
    free(sc);
}

static const hg_conn_handler sink_handler = {
    .struct_size = sizeof(hg_conn_handler),
    .on_accept = on_accept,
    .on_data = on_data,
    .on_peer_shutdown = on_peer_shutdown,
    .on_closed = on_closed,
};

static void close_item(tcp_item *it, uint32_t how)
{
    sink_conn *sc = (sink_conn *)it;
    sc->s->srv.net->close(sc->s->srv.net, sc->c, how);
}

/* A graceful stop: a sink never writes, so every connection is idle on our side; it is closed
 * (FIN) once what its client sent so far is read (the runtime reads before the close). */
static void end_item(tcp_item *it)
{
    close_item(it, HG_CLOSE_GRACEFUL);
}

static int sink_create(const hg_host *h, const hg_config *cfg, void **out)
{
    sink *s = calloc(1, sizeof *s);
    int bad = 0, rc;
    if (s == NULL)
        return HG_ENOMEM;
    hg__tcp_srv_init(&s->srv, h, close_item, end_item);
    if (hg__tcp_cfg_address(h, cfg, "listen", 1, TCP_ADDR_LITERAL, &s->listen) != 0)
        bad = 1;
    if (hg__tcp_cfg_duration(h, cfg, "idle_timeout", &s->idle_ns) != 0)
        bad = 1;
    rc = bad ? HG_ECONFIG : h->counter(h, "bytes_discarded", HG_COUNTER_SUM, &s->discarded);
    if (rc != 0) {
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

static void sink_destroy(void *inst)
{
    sink *s = inst;
    hg__tcp_srv_free(&s->srv);
    free(s);
}

static int sink_start(void *inst, const hg_net *net)
{
    sink *s = inst;
    return hg__tcp_srv_start(&s->srv, net, s->listen, &sink_handler, s);
}

static void sink_stop(void *inst, uint32_t how)
{
    sink *s = inst;
    hg__tcp_srv_stop(&s->srv, how);
}

const hg_pipeline_ops hg__tcp_sink_ops = {
    .struct_size = sizeof(hg_pipeline_ops),
    .create = sink_create,
    .destroy = sink_destroy,
    .start = sink_start,
    .stop = sink_stop,
    .command = NULL,
};
