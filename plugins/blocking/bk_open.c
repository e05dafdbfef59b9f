/* bk_open.c - how a blocking-mode connection begins: accepted from a worker's listening socket,
 * or connected (non-blocking until established) from a worker or, from any other thread, through
 * a task posted to one. */
#define _GNU_SOURCE
#include "bk.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void bkc_finish_connect(hg_conn *c)
{
    socklen_t len = sizeof(int);
    int err = 0, fl;

    c->flags &= ~CF_CONNECTING;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        err = errno;
    if (err != 0) {
        bkc_close_now(c, HG_CLOSE_CONNECT_FAILED, rt_status_from_errno(err), 0);
        return;
    }
    fl = fcntl(c->fd, F_GETFL);
    if (fl >= 0)
        fcntl(c->fd, F_SETFL, fl & ~O_NONBLOCK); /* blocking from now on */
    len = sizeof c->t.local;
    getsockname(c->fd, (struct sockaddr *)&c->t.local, &len);
    c->flags |= CF_ESTABLISHED;
    rt_track_established(c->o, &c->t);
    c->last_io = c->last_read = c->last_write = c->w->now;
    if (c->h->on_connected)
        c->h->on_connected(c->ud, c);
    bkc_progress(c);
}

/* Fills a zeroed connection and puts it on its worker. */
static void conn_init(hg_conn *c, bkw *w, rt_owner *o, const hg_conn_handler *h, void *ud,
                      uint8_t out)
{
    c->fd = -1;
    c->w = w;
    c->o = o;
    c->h = h;
    c->ud = ud;
    c->high = RT_DEFAULT_HIGH;
    c->low = RT_DEFAULT_LOW;
    rt_list_init(&c->reap_link);
    rt_track_open(o, &c->t, w->core.index, out, __atomic_add_fetch(&o->next_id, 1, __ATOMIC_RELAXED));
    c->opened = c->last_io = c->last_read = c->last_write = w->now;
    rt_list_push(&w->conns, &c->link);
    rt_add1(&w->core.n_conns, 1);
}

static hg_conn *conn_new(bkw *w, rt_owner *o, const hg_conn_handler *h, void *ud, uint8_t out)
{
    hg_conn *c = calloc(1, sizeof *c);

    if (!c)
        return NULL;
    conn_init(c, w, o, h, ud, out);
    rt_owner_hold(o);
    return c;
}

static void set_nodelay(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

void bkc_accepted(rt_slot *s, int fd, const struct sockaddr_storage *peer)
{
    hg_listener *l = s->l;
    socklen_t len = sizeof(struct sockaddr_storage);
    hg_conn *c = conn_new((bkw *)s->w, l->o, l->h, l->ud, 0);
    int rc;

    if (!c) {
        close(fd);
        return;
    }
    c->fd = fd;
    if (peer)
        c->t.peer = *peer;
    else
        getpeername(fd, (struct sockaddr *)&c->t.peer, &len);
    len = sizeof(struct sockaddr_storage);
    getsockname(fd, (struct sockaddr *)&c->t.local, &len);
    set_nodelay(fd);
    if (s->w->stopping || rt_owner_closing(l->o)) {
        bkc_close_now(c, HG_CLOSE_SHUTDOWN, HG_ECLOSED, 0);
        return;
    }
    c->flags |= CF_ESTABLISHED | CF_NOTIFY;
    rc = l->h->on_accept ? l->h->on_accept(l->ud, c, &c->ud) : 0;
    if (rc != 0) {
        c->flags &= ~(CF_NOTIFY | CF_ESTABLISHED);
        bkc_close_now(c, HG_CLOSE_ACTIVE_RESET, rc, 1);
        return;
    }
    rt_track_established(c->o, &c->t);
}

/* Out of file descriptors: a pending connection would keep the listener readable and the
 * worker spinning. Free the spare descriptor, accept the connection and close it at once (the
 * peer sees a close; the owner counts a failed attempt), then take the spare back. */
void bkc_refuse_at_fd_limit(rt_slot *s)
{
    bkw *w = (bkw *)s->w;
    int fd;
    if (w->spare_fd < 0)
        w->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (w->spare_fd < 0) {
        /* another thread took the descriptor we freed: stop polling the listeners for a
         * moment rather than spin on a readable socket we cannot accept from */
        w->accept_paused_until = rt_now_ns() + 100000000u;
        return;
    }
    close(w->spare_fd);
    fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd >= 0) {
        struct linger lg = {1, 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        close(fd);
        hg_counter_add(s->l->o->c[RT_C_ATTEMPTED], 1);
        hg_counter_add(s->l->o->c[RT_C_FAILED], 1);
        if (w->fd_limit_hits++ % 1000 == 0)
            hg_logf(s->l->o->host, HG_LOG_WARN, "out of file descriptors: refusing connections "
                    "(%llu so far; raise `ulimit -n`)", (unsigned long long)w->fd_limit_hits);
    }
    w->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

void bkc_accept(rt_slot *s)
{
    struct sockaddr_storage peer;
    socklen_t len;
    int fd, i;

    /* the listening socket is non-blocking: a connection reset before accept cannot stall us */
    for (i = 0; i < 16 && s->open; i++) {
        len = sizeof peer;
        fd = accept4(s->fd, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);
        if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
            bkc_refuse_at_fd_limit(s);
            return;
        }
        if (fd < 0)
            return;
        bkc_accepted(s, fd, &peer);
    }
}

/* Starts a connect on c's worker (the socket is non-blocking until established). */
static void connect_start(hg_conn *c)
{
    int rc;

    c->flags |= CF_NOTIFY;
    if (c->w->core.stopping || rt_owner_closing(c->o)) {
        bkc_close_now(c, HG_CLOSE_CONNECT_FAILED, HG_ECLOSED, 0);
        return;
    }
    c->fd = socket(c->t.peer.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (c->fd < 0) {
        bkc_close_now(c, HG_CLOSE_CONNECT_FAILED, rt_status_from_errno(errno), 0);
        return;
    }
    set_nodelay(c->fd);
    rc = connect(c->fd, (const struct sockaddr *)&c->t.peer,
                 c->t.peer.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                 : sizeof(struct sockaddr_in));
    if (rc != 0 && errno != EINPROGRESS) {
        bkc_close_now(c, HG_CLOSE_CONNECT_FAILED, rt_status_from_errno(errno), 0);
        return;
    }
    /* even an immediate success is reported from the loop (POLLOUT), never from here */
    c->flags |= CF_CONNECTING;
}

typedef struct connect_args {
    rt_owner *o;
    const hg_conn_handler *h;
    void *ud;
    uint64_t timeout_ns;
    struct sockaddr_storage peer;
    hg_conn *c; /* handed out at once; filled on the worker */
} connect_args;

static void connect_task(void *arg)
{
    connect_args *a = arg;
    bkw *w = bkw_current((rt_base *)a->o->rt);
    hg_conn *c = a->c;

    memset(c, 0, sizeof *c);
    conn_init(c, w, a->o, a->h, a->ud, 1);
    c->t.peer = a->peer;
    c->connect_ns = a->timeout_ns;
    connect_start(c);
    free(a); /* the owner hold taken for the connection stays with it */
}

static int connect_elsewhere(rt_base *rt, rt_owner *o, const struct sockaddr_storage *ss,
                             uint64_t timeout_ns, const hg_conn_handler *h, void *ud,
                             hg_conn **out)
{
    connect_args *a = calloc(1, sizeof *a);
    uint32_t i = __atomic_fetch_add(&rt->rr, 1, __ATOMIC_RELAXED) % rt->n_workers;

    if (!a)
        return HG_ENOMEM;
    a->c = malloc(sizeof *a->c);
    if (!a->c) {
        free(a);
        return HG_ENOMEM;
    }
    a->o = o;
    a->h = h;
    a->ud = ud;
    a->timeout_ns = timeout_ns;
    a->peer = *ss;
    a->c->w = bkw_at(rt, i); /* conn_worker works at once */
    *out = a->c;
    rt_owner_hold(o); /* for the connection */
    if (rt_worker_post(&bkw_at(rt, i)->core, connect_task, a, NULL) != 0) {
        rt_owner_release(o);
        free(a->c);
        free(a);
        return HG_ECLOSED;
    }
    return 0;
}

int bkc_connect(const hg_net *n, const char *addr, uint64_t timeout_ns,
                const hg_conn_handler *h, void *ud, hg_conn **out)
{
    rt_owner *o = rt_owner_of(n);
    struct sockaddr_storage ss;
    rt_worker *w;
    hg_conn *c;
    int rc = rt_connect_check(n, addr, h, &ss, &w);

    if (rc != 0)
        return rc;
    if (!w)
        return connect_elsewhere(rt_base_of(n), o, &ss, timeout_ns, h, ud, out);
    c = conn_new((bkw *)w, o, h, ud, 1);
    if (!c)
        return HG_ENOMEM;
    c->t.peer = ss;
    c->connect_ns = timeout_ns;
    *out = c;
    connect_start(c);
    return 0;
}

