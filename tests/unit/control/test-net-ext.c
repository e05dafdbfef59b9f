/* test-net-ext.c - the host's "hangar.net/1" extension: an instance opens its own hg_net on the
 * runtime mode from a thread that is not the control thread, listens, reads what a client
 * sends, and closing the table cuts the connection still open; before the runtime runs the
 * open is refused with HG_ESTATE. On both runtime modes. */
#define _GNU_SOURCE

#pragma GCC diagnostic ignored "-Wunused-function"
#include "tcp_harness.h"

#include "host_priv.h"

typedef struct seen {
    uint64_t bytes;  /* atomic */
    uint32_t closed; /* atomic */
} seen;

static void on_data(void *ud, hg_conn *c, const uint8_t *data, uint32_t len)
{
    seen *s = ud;
    (void)c;
    (void)data;
    __atomic_add_fetch(&s->bytes, len, __ATOMIC_RELAXED);
}

static void on_closed(void *ud, hg_conn *c, const hg_conn_record *rec)
{
    seen *s = ud;
    (void)c;
    (void)rec;
    __atomic_add_fetch(&s->closed, 1, __ATOMIC_RELAXED);
}

static const hg_conn_handler handler = {
    .struct_size = sizeof(hg_conn_handler), .on_data = on_data, .on_closed = on_closed,
};

static const hg_host *host_of(hg__host *h, const char *name)
{
    hg__entry *e = hg__host_find(h, name);
    return e ? hg__inst_host(e->in) : NULL;
}

static void test_net_ext_open_listen_close(const char *mode)
{
    hg__host *h = host_up(mode, "  - { name: side, engine: tcp-sink, listen: \"127.0.0.1:0\" }\n");
    const hg_host *hh;
    const hg_net_ext *x;
    const hg_net *net = NULL;
    hg_listener *l = NULL;
    seen s = {0, 0};
    char addr[64] = "";
    uint64_t t0;
    int fd;

    if (h == NULL) {
        ok(0, "%s: the host starts", mode);
        return;
    }
    hh = host_of(h, "side");
    x = hh->get_extension(hh, HG_NET_EXTENSION);
    ok(x != NULL && HG_HAS_FIELD(x, hg_net_ext, net_close),
       "%s: the host answers get_extension(\"hangar.net/1\")", mode);
    if (x == NULL) {
        host_end(h);
        return;
    }
    is_int(x->net_open(x, hh, &net), 0, "%s: net_open from a thread of the instance's own", mode);
    is_int(net->listen(net, "127.0.0.1:0", 16, &handler, &s, &l), 0,
           "%s: the table listens on 127.0.0.1:0", mode);
    net->listener_address(net, l, addr, sizeof addr);
    fd = tcp_connect(addr);
    ok(fd >= 0 && send(fd, "hello", 5, 0) == 5, "%s: a client connects and sends 5 bytes", mode);
    t0 = now_ms();
    while (__atomic_load_n(&s.bytes, __ATOMIC_RELAXED) < 5 && now_ms() - t0 < 5000)
        sleep_ms(5);
    is_int(__atomic_load_n(&s.bytes, __ATOMIC_RELAXED), 5, "%s: the handler read them", mode);
    is_int(x->net_close(x, hh, net), 1, "%s: net_close cuts the connection still open", mode);
    is_int(__atomic_load_n(&s.closed, __ATOMIC_RELAXED), 1,
           "%s: its on_closed ran before net_close returned", mode);
    ok(fd >= 0 && sees_close(fd), "%s: the client sees its connection end", mode);
    if (fd >= 0)
        close(fd);
    host_end(h);
}

static void test_net_ext_refused_before_start(void)
{
    hg__diag d;
    hg__host *h;
    const hg_host *hh;
    const hg_net_ext *x;
    const hg_net *net = NULL;
    hg__diag_init(&d);
    h = host_new("hangar: 1\nruntime: { mode: uv, workers: 1 }\npipelines:\n"
                 "  - { name: side, engine: tcp-sink, listen: \"127.0.0.1:0\" }\n", &d);
    ok(h != NULL, "a host is created, not started");
    if (h != NULL) {
        hh = host_of(h, "side");
        x = hh->get_extension(hh, HG_NET_EXTENSION);
        is_int(x->net_open(x, hh, &net), HG_ESTATE, "net_open before the runtime runs: ESTATE");
        hg__host_destroy(h);
    }
    hg__diag_free(&d);
}

int main(void)
{
    split_dirs();
    test_net_ext_open_listen_close("uv");
    test_net_ext_open_listen_close("blocking");
    test_net_ext_refused_before_start();
    return tap_done();
}
