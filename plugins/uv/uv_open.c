/* uv_open.c - how a uv connection begins: accepted on a worker's listening socket, or connected
 * from a worker (or, from any other thread, through a task posted to one). */
#include "uvrt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Fills a zeroed connection and puts it on its worker. */
static void conn_setup(hg_conn *c, uvw *w, rt_owner *o, const hg_conn_handler *h, void *ud,
                       uint8_t out)
{
    c->w = w;
    c->o = o;
    c->h = h;
    c->ud = ud;
    c->high = RT_DEFAULT_HIGH;
    c->low = RT_DEFAULT_LOW;
    rt_list_init(&c->defer_link);
    rt_list_init(&c->dirty_link);
    rt_track_open(o, &c->t, w->core.index, out, __atomic_add_fetch(&o->next_id, 1, __ATOMIC_RELAXED));
    uv_tcp_init(&w->loop, &c->tcp);
    c->tcp.data = c;
    c->handles = 1;
    c->opened = c->last_io = c->last_read = uvc_now_ms(c);
    rt_list_push(&w->conns, &c->link);
    rt_add1(&w->core.n_conns, 1);
}

static hg_conn *conn_new(uvw *w, rt_owner *o, const hg_conn_handler *h, void *ud, uint8_t out)
{
    hg_conn *c = calloc(1, sizeof *c);

    if (!c)
        return NULL;
    conn_setup(c, w, o, h, ud, out);
    rt_owner_hold(o);
    return c;
}

static void on_retry(uv_timer_t *t)
{
    uv_slot *s = t->data;
    uv_poll_start(&s->poll, UV_READABLE, uvc_on_acceptable);
}

/* Out of descriptors: stop watching this listener for 100 ms instead of spinning on it; the
 * kernel keeps the pending connections in its backlog meanwhile. */
static void pause_at_fd_limit(uv_slot *s, uvw *w)
{
    uv_poll_stop(&s->poll);
    uv_timer_start(&s->retry, on_retry, 100, 0);
    if (s->fd_limit_hits++ % 1000 == 0)
        hg_logf(s->base.l->o->host, HG_LOG_WARN, "out of file descriptors: accepting paused "
                "(%llu times so far; raise `ulimit -n`)", (unsigned long long)s->fd_limit_hits);
    (void)w;
}

/* Accepts one connection on fd (already accepted, non-blocking) for listener slot s. */
static void accept_one(uv_slot *s, uvw *w, int fd)
{
    hg_listener *l = s->base.l;
    hg_conn *c;
    int len, rc;

    c = conn_new(w, l->o, l->h, l->ud, 0);
    if (!c) {
        close(fd);
        return;
    }
    w->core.events++;
    if (uv_tcp_open(&c->tcp, fd) != 0) {
        close(fd);
        uvc_close_now(c, HG_CLOSE_ERROR, HG_EIO, 0);
        return;
    }
    len = sizeof c->t.peer;
    uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&c->t.peer, &len);
    if (l->local_known) {
        c->t.local = l->bound;
    } else {
        len = sizeof c->t.local;
        uv_tcp_getsockname(&c->tcp, (struct sockaddr *)&c->t.local, &len);
    }
    if (w->core.stopping || rt_owner_closing(l->o)) {
        uvc_close_now(c, HG_CLOSE_SHUTDOWN, HG_ECLOSED, 0);
        return;
    }
    c->flags |= F_ESTABLISHED | F_NOTIFY;
    rc = l->h->on_accept ? l->h->on_accept(l->ud, c, &c->ud) : 0;
    if (rc != 0) {
        c->flags &= ~(F_NOTIFY | F_ESTABLISHED);
        uvc_close_now(c, HG_CLOSE_ACTIVE_RESET, rc, 1);
        return;
    }
    rt_track_established(c->o, &c->t);
    uvc_update_reading(c);
}

void uvc_on_acceptable(uv_poll_t *p, int status, int events)
{
    uv_slot *s = p->data;
    uvw *w = (uvw *)s->base.w;
    (void)events;

    uvw_awake(w);
    if (status < 0)
        return;
    /* a bounded batch per loop turn, as libuv's own accept loop does */
    for (int i = 0; i < 64; i++) {
        int fd = rt_accept_nonblock(s->base.fd);
        if (fd < 0) {
            if (fd == -EMFILE || fd == -ENFILE || fd == -ENOBUFS || fd == -ENOMEM)
                pause_at_fd_limit(s, w);
            if (fd == -ECONNABORTED || fd == -EINTR)
                continue;
            return;
        }
        accept_one(s, w, fd);
    }
}

static void on_connect(uv_connect_t *req, int status)
{
    hg_conn *c = req->data;
    int len = sizeof c->t.local;

    uvw_awake(c->w);
    if (c->flags & F_CLOSING)
        return;
    c->flags &= ~F_CONNECTING;
    if (status < 0) {
        uvc_close_now(c, HG_CLOSE_CONNECT_FAILED, rt_status_from_errno(-status), 0);
        return;
    }
    uv_tcp_getsockname(&c->tcp, (struct sockaddr *)&c->t.local, &len);
    c->flags |= F_ESTABLISHED;
    rt_track_established(c->o, &c->t);
    c->last_io = c->last_read = uvc_now_ms(c);
    if (c->h->on_connected)
        c->h->on_connected(c->ud, c);
    if (c->flags & F_CLOSING)
        return;
    uvc_update_reading(c);
    uvc_send_shutdown(c);
    uvc_arm_timer(c);
}

/* Runs on c's worker. */
static void connect_start(hg_conn *c)
{
    int rc;

    if (c->w->core.stopping || rt_owner_closing(c->o)) {
        uvc_close_now(c, HG_CLOSE_CONNECT_FAILED, HG_ECLOSED, 0);
        return;
    }
    c->creq.data = c;
    rc = uv_tcp_connect(&c->creq, &c->tcp, (const struct sockaddr *)&c->t.peer, on_connect);
    if (rc != 0) {
        uvc_close_now(c, HG_CLOSE_CONNECT_FAILED, rt_status_from_errno(-rc), 0);
        return;
    }
    /* Ask for POLLIN with the connect's POLLOUT: one epoll_ctl ADD for both, instead of an ADD
     * for the connect and another (EEXIST, then MOD) when reading starts on_connect. libuv
     * reports the connect before any read. */
    if (!(c->flags & F_PAUSED) &&
        uv_read_start((uv_stream_t *)&c->tcp, uvc_on_alloc, uvc_on_read) == 0)
        c->flags |= F_READING;
    if (c->connect_ms) {
        uvc_ensure_timer(c);
        uvc_arm_timer(c);
    }
}

typedef struct connect_args {
    rt_base *rt;
    rt_owner *o;
    const hg_conn_handler *h;
    void *ud;
    uint64_t connect_ms;
    struct sockaddr_storage peer;
    hg_conn *c;
} connect_args;

/* A connect from a thread that is no worker: the connection is made on a worker. The handle
 * belongs to the loop, so it is created there; *out is allocated here so it is valid at once. */
static void connect_task(void *arg)
{
    connect_args *a = arg;
    hg_conn *c = a->c;
    uvw *w = uvw_current(a->rt);

    memset(c, 0, sizeof *c);
    conn_setup(c, w, a->o, a->h, a->ud, 1);
    c->t.peer = a->peer;
    c->connect_ms = a->connect_ms;
    c->flags |= F_CONNECTING | F_NOTIFY;
    connect_start(c);
    rt_owner_release(a->o); /* the connection holds the owner now, from rt_owner_hold below */
    free(a);
}

static int connect_elsewhere(rt_base *rt, rt_owner *o, const struct sockaddr_storage *ss,
                             uint64_t ms, const hg_conn_handler *h, void *ud, hg_conn **out)
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
    a->rt = rt;
    a->o = o;
    a->h = h;
    a->ud = ud;
    a->connect_ms = ms;
    a->peer = *ss;
    *out = a->c;
    a->c->w = uvw_at(rt, i); /* conn_worker works at once */
    rt_owner_hold(o); /* for the connection, released when it finishes */
    rt_owner_hold(o); /* for the task */
    if (rt_worker_post(&uvw_at(rt, i)->core, connect_task, a, NULL) != 0) {
        rt_owner_release(o);
        rt_owner_release(o);
        free(a->c);
        free(a);
        return HG_ECLOSED;
    }
    return 0;
}

int uvc_connect(const hg_net *n, const char *addr, uint64_t timeout_ns,
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
        return connect_elsewhere(rt_base_of(n), o, &ss, uv_ms_of_ns(timeout_ns), h, ud, out);
    c = conn_new((uvw *)w, o, h, ud, 1);
    if (!c)
        return HG_ENOMEM;
    c->t.peer = ss;
    c->connect_ms = uv_ms_of_ns(timeout_ns);
    c->flags |= F_CONNECTING | F_NOTIFY;
    *out = c;
    connect_start(c);
    return 0;
}

