/* srv.c - the server scaffolding of tcp-echo, tcp-sink and tcp-proxy: the listener and its
 * published address, per-worker lists of live connections (no locks: each list is touched by
 * its own worker only), max_open, and stopping gracefully or at once. */
#include <stdlib.h>
#include <string.h>

#include "tcp.h"

uint32_t hg__tcp_worker(const hg_net *net, uint32_t n_workers)
{
    int32_t w = net->current_worker(net);
    if (w < 0 || (uint32_t)w >= n_workers)
        return 0;
    return (uint32_t)w;
}

void hg__tcp_srv_init(tcp_srv *s, const hg_host *host, void (*close_item)(tcp_item *, uint32_t),
                      void (*end_item)(tcp_item *))
{
    memset(s, 0, sizeof *s);
    s->host = host;
    s->close_item = close_item;
    s->end_item = end_item;
}

int hg__tcp_srv_stopping(const tcp_srv *s)
{
    return __atomic_load_n(&s->stopping, __ATOMIC_SEQ_CST) != 0;
}

int hg__tcp_srv_start(tcp_srv *s, const hg_net *net, const char *addr,
                      const hg_conn_handler *handler, void *ud)
{
    char bound[TCP_ADDR_MAX];
    uint32_t i, n = net->workers(net);
    int rc;
    if (n == 0)
        n = 1;
    /* A restart starts over: the previous run's connections are all gone (net_close). */
    free(s->wl);
    s->n_open = 0;
    s->stopping = 0;
    s->reported = 0;
    s->net = net;
    s->wl = aligned_alloc(64, sizeof(tcp_wlist) * n);
    if (s->wl == NULL)
        return HG_ENOMEM;
    memset(s->wl, 0, sizeof(tcp_wlist) * n);
    for (i = 0; i < n; i++) {
        s->wl[i].head.prev = s->wl[i].head.next = &s->wl[i].head;
        s->wl[i].srv = s;
    }
    s->n_workers = n;
    rc = net->listen(net, addr, TCP_BACKLOG, handler, ud, &s->listener);
    if (rc != 0) {
        hg_logf(s->host, HG_LOG_ERROR, "cannot listen on %s: %s", addr, hg_strerror(rc));
        s->listener = NULL;
        return rc;
    }
    rc = net->listener_address(net, s->listener, bound, sizeof bound);
    if (rc == 0)
        s->host->set_info(s->host, "address", bound);
    hg_logf(s->host, HG_LOG_DEBUG, "listening on %s", rc == 0 ? bound : addr);
    return 0;
}

int hg__tcp_srv_add(tcp_srv *s, tcp_item *it)
{
    tcp_wlist *wl = &s->wl[hg__tcp_worker(s->net, s->n_workers)];
    uint64_t open = __atomic_add_fetch(&s->n_open, 1, __ATOMIC_SEQ_CST);
    if (s->max_open != 0 && open > s->max_open) {
        __atomic_sub_fetch(&s->n_open, 1, __ATOMIC_SEQ_CST);
        return HG_EAGAIN;
    }
    it->next = wl->head.next;
    it->prev = &wl->head;
    wl->head.next->prev = it;
    wl->head.next = it;
    return 0;
}

static void report_stopped(tcp_srv *s)
{
    if (__atomic_exchange_n(&s->reported, 1, __ATOMIC_SEQ_CST) == 0)
        s->host->set_state(s->host, HG_STATE_STOPPED, 0, NULL);
}

void hg__tcp_srv_remove(tcp_srv *s, tcp_item *it)
{
    it->prev->next = it->next;
    it->next->prev = it->prev;
    it->prev = it->next = it;
    if (__atomic_sub_fetch(&s->n_open, 1, __ATOMIC_SEQ_CST) == 0 &&
        __atomic_load_n(&s->stopping, __ATOMIC_SEQ_CST) != 0)
        report_stopped(s);
}

/* [engine-thread] Cuts every item of this worker (stop NOW: the runtime counts these as cut by
 * the shutdown). Their on_closed runs after we return. */
static void close_all(void *arg)
{
    tcp_wlist *wl = arg;
    tcp_item *it;
    for (it = wl->head.next; it != &wl->head; it = it->next)
        wl->srv->close_item(it, HG_CLOSE_CUT);
}

/* [engine-thread] A graceful stop: a keep-alive client would hold its connection for good, so
 * every item of this worker is ended (idle ones close, busy ones finish first). */
static void end_all(void *arg)
{
    tcp_wlist *wl = arg;
    tcp_item *it;
    for (it = wl->head.next; it != &wl->head; it = it->next)
        wl->srv->end_item(it);
}

void hg__tcp_srv_stop(tcp_srv *s, uint32_t how)
{
    uint32_t i;
    if (s->listener != NULL) {
        s->net->listener_close(s->net, s->listener);
        s->listener = NULL;
    }
    /* Once the listener is closed no item is added: n_open only falls from here. */
    __atomic_store_n(&s->stopping, how, __ATOMIC_SEQ_CST);
    if (how == HG_STOP_NOW && s->net != NULL) {
        for (i = 0; i < s->n_workers; i++)
            s->net->post(s->net, (int32_t)i, close_all, &s->wl[i]);
    } else if (s->end_item != NULL && s->net != NULL) {
        for (i = 0; i < s->n_workers; i++)
            s->net->post(s->net, (int32_t)i, end_all, &s->wl[i]);
    }
    if (__atomic_load_n(&s->n_open, __ATOMIC_SEQ_CST) == 0)
        report_stopped(s);
}

void hg__tcp_srv_free(tcp_srv *s)
{
    free(s->wl);
    s->wl = NULL;
}
