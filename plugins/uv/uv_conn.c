/* uv_conn.c - a TCP connection on a uv worker: accept and connect, reads into the worker's one
 * buffer, writes that try the kernel first (uv_try_write) and queue only the remainder
 * (uv_write), water marks, half-close, reset, timeouts and the close that reports the record.
 *
 * Re-entrancy: nothing here calls the pipeline from inside one of its calls. Every pipeline
 * callback starts from a libuv callback; a close asked for inside on_data is a uv_close (or
 * uv_shutdown) whose callback, and so on_closed, comes after on_data has returned.
 *
 * I/O budget: a connection may read io_budget bytes per loop turn (turns are counted by the
 * prepare handle). Past it, reading stops and the connection waits on the worker's `deferred`
 * list; an idle handle (which keeps the next poll from blocking) restarts it at the start of the
 * next turn, after every other ready connection had its share of this one. */
#include "uvrt.h"

#include <stdlib.h>
#include <string.h>

enum {
    F_CONNECTING = 1u << 0,
    F_ESTABLISHED = 1u << 1,
    F_NOTIFY = 1u << 2, /* on_closed is owed */
    F_READING = 1u << 3,
    F_PAUSED = 1u << 4,
    F_BUDGET = 1u << 5,
    F_EOF = 1u << 6,
    F_EOF_FIRST = 1u << 7, /* the peer's FIN came before ours */
    F_SHUT_REQ = 1u << 8,
    F_SHUT_SENT = 1u << 9, /* uv_shutdown issued */
    F_SHUT_DONE = 1u << 10,
    F_CLOSE_REQ = 1u << 11,
    F_CLOSING = 1u << 12,
    F_HIGH = 1u << 13,
    F_TIMER = 1u << 14,
    F_IN_TIMEOUT = 1u << 15
};

struct hg_conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_connect_t creq;
    uv_shutdown_t sreq;
    uvw *w;
    rt_owner *o;
    const hg_conn_handler *h;
    void *ud;
    rt_track t;
    rt_link link, defer_link;
    uint32_t flags, handles, cause, req_cause;
    int status, req_status;
    uint64_t high, low;
    uint64_t turn, turn_bytes;
    uint64_t idle_ms, read_ms, write_ms, connect_ms;
    uint64_t last_io, last_read, last_write, opened, wq_mark;
};

typedef struct wchunk {
    uv_write_t req;
    hg_conn *c;
    uint32_t len;
    uint8_t data[];
} wchunk;

rt_owner *uvc_owner(const hg_conn *c)
{
    return c->o;
}

hg_conn *uvc_of_link(rt_link *l)
{
    return RT_CONTAINER(l, hg_conn, link);
}

static uint64_t now_ms(const hg_conn *c)
{
    return uv_now(&c->w->loop);
}

static int want_reading(const hg_conn *c)
{
    return (c->flags & (F_ESTABLISHED | F_PAUSED | F_BUDGET | F_EOF | F_CLOSE_REQ | F_CLOSING)) ==
           F_ESTABLISHED;
}

static void on_alloc(uv_handle_t *hd, size_t hint, uv_buf_t *buf)
{
    hg_conn *c = hd->data;
    buf->base = c->w->rbuf;
    buf->len = c->w->rbuf_len;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void update_reading(hg_conn *c)
{
    int want = want_reading(c);

    if (want && !(c->flags & F_READING)) {
        if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
            c->flags |= F_READING;
    } else if (!want && (c->flags & F_READING)) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->flags &= ~F_READING;
    }
}

static void conn_finish(hg_conn *c)
{
    hg_conn_record rec;
    rt_owner *o = c->o;

    rt_list_remove(&c->link);
    rt_add1(&c->w->n_conns, (uint64_t)-1);
    rt_track_close(o, &c->t, c->cause, c->status, &rec);
    if ((c->flags & F_NOTIFY) && c->h->on_closed)
        c->h->on_closed(c->ud, c, &rec);
    free(c);
    rt_owner_release(o);
}

static void on_handle_closed(uv_handle_t *hd)
{
    hg_conn *c = hd->data;
    if (--c->handles == 0)
        conn_finish(c);
}

/* Closes the socket now; on_closed follows from the close callback. */
static void close_now(hg_conn *c, uint32_t cause, int status, int reset)
{
    uv_os_fd_t fd;

    if (c->flags & F_CLOSING)
        return;
    c->flags |= F_CLOSING;
    c->cause = cause;
    c->status = status;
    if (c->flags & F_BUDGET)
        rt_list_remove(&c->defer_link);
    if (c->flags & F_TIMER)
        uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    if (reset && uv_tcp_close_reset(&c->tcp, on_handle_closed) == 0)
        return;
    if (reset && uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0)
        rt_set_linger0(fd); /* a shutdown was already issued: reset by hand */
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
}

static void close_on_error(hg_conn *c, int uverr)
{
    int st = rt_status_from_errno(-uverr);
    uint32_t cause = (uverr == UV_ECONNRESET || uverr == UV_EPIPE) ? HG_CLOSE_PASSIVE_RESET
                                                                   : HG_CLOSE_ERROR;
    close_now(c, cause, st, 0);
}

int uvc_cut(hg_conn *c)
{
    if (c->flags & F_CLOSING)
        return 0;
    close_now(c, HG_CLOSE_SHUTDOWN, 0, 0);
    return 1;
}

/* --- timeouts --- */

static void on_timer(uv_timer_t *t);

static void arm_timer(hg_conn *c)
{
    uint64_t now = now_ms(c), due = UINT64_MAX;

    if (!(c->flags & F_TIMER) || (c->flags & F_CLOSING))
        return;
    if ((c->flags & F_CONNECTING) && c->connect_ms)
        due = c->opened + c->connect_ms;
    if (c->flags & F_ESTABLISHED) {
        if (c->idle_ms && c->last_io + c->idle_ms < due)
            due = c->last_io + c->idle_ms;
        if (c->read_ms && want_reading(c) && c->last_read + c->read_ms < due)
            due = c->last_read + c->read_ms;
        if (c->write_ms && c->tcp.write_queue_size > 0 && c->last_write + c->write_ms < due)
            due = c->last_write + c->write_ms;
    }
    if (due == UINT64_MAX) {
        uv_timer_stop(&c->timer);
        return;
    }
    uv_timer_start(&c->timer, on_timer, due > now ? due - now : 0, 0);
}

static void ensure_timer(hg_conn *c)
{
    if (c->flags & F_TIMER)
        return;
    uv_timer_init(&c->w->loop, &c->timer);
    c->timer.data = c;
    c->handles++;
    c->flags |= F_TIMER;
}

static uint32_t timeout_due(hg_conn *c, uint64_t now)
{
    if (c->write_ms && c->tcp.write_queue_size > 0) {
        if (c->tcp.write_queue_size != c->wq_mark) {
            c->wq_mark = c->tcp.write_queue_size; /* some progress since the last look */
            c->last_write = now;
        } else if (now - c->last_write >= c->write_ms) {
            c->last_write = now;
            return HG_TIMEOUT_WRITE;
        }
    }
    if (c->read_ms && want_reading(c) && now - c->last_read >= c->read_ms) {
        c->last_read = now;
        return HG_TIMEOUT_READ;
    }
    if (c->idle_ms && now - c->last_io >= c->idle_ms) {
        c->last_io = now;
        return HG_TIMEOUT_IDLE;
    }
    return 0;
}

static void on_timer(uv_timer_t *t)
{
    hg_conn *c = t->data;
    uint64_t now = now_ms(c);
    uint32_t which;

    c->w->events++;
    if (c->flags & F_CONNECTING) {
        if (c->connect_ms && now - c->opened >= c->connect_ms)
            close_now(c, HG_CLOSE_CONNECT_FAILED, HG_ETIMEDOUT, 0);
        else
            arm_timer(c);
        return;
    }
    which = timeout_due(c, now);
    if (which && (c->flags & F_CLOSE_REQ)) {
        close_now(c, HG_CLOSE_TIMEOUT, HG_ETIMEDOUT, 0); /* a graceful close that stalls */
        return;
    }
    if (which && c->h->on_timeout) {
        c->flags |= F_IN_TIMEOUT;
        c->h->on_timeout(c->ud, c, which);
        c->flags &= ~F_IN_TIMEOUT;
    } else if (which) {
        close_now(c, HG_CLOSE_TIMEOUT, HG_ETIMEDOUT, 0);
    }
    arm_timer(c);
}

/* --- half-close and close --- */

static void on_shutdown(uv_shutdown_t *req, int status)
{
    hg_conn *c = req->data;

    if (c->flags & F_CLOSING)
        return;
    if (status < 0) {
        close_on_error(c, status);
        return;
    }
    c->flags |= F_SHUT_DONE;
    if (c->flags & F_CLOSE_REQ)
        close_now(c, c->req_cause, c->req_status, 0);
    else if (c->flags & F_EOF)
        close_now(c, (c->flags & F_EOF_FIRST) ? HG_CLOSE_PASSIVE : HG_CLOSE_ACTIVE, 0, 0);
}

/* Issues the FIN once connected; libuv sends it after the queued writes. */
static void send_shutdown(hg_conn *c)
{
    int rc;

    if ((c->flags & (F_SHUT_SENT | F_CONNECTING | F_CLOSING)) || !(c->flags & F_SHUT_REQ))
        return;
    c->flags |= F_SHUT_SENT;
    c->sreq.data = c;
    rc = uv_shutdown(&c->sreq, (uv_stream_t *)&c->tcp, on_shutdown);
    if (rc != 0)
        close_on_error(c, rc);
}

static int conn_shutdown_write(const hg_net *n, hg_conn *c)
{
    if (c->flags & (F_CLOSING | F_CLOSE_REQ))
        return HG_ECLOSED;
    if (c->flags & F_SHUT_REQ)
        return 0;
    c->flags |= F_SHUT_REQ;
    send_shutdown(c);
    return 0;
}

static void conn_close(const hg_net *n, hg_conn *c, uint32_t how)
{
    uint32_t cause = how == HG_CLOSE_RESET ? HG_CLOSE_ACTIVE_RESET : HG_CLOSE_ACTIVE;
    int status = 0;

    if (c->flags & F_CLOSING)
        return;
    if (c->flags & F_IN_TIMEOUT) {
        cause = HG_CLOSE_TIMEOUT;
        status = HG_ETIMEDOUT;
    }
    if (how == HG_CLOSE_RESET || !(c->flags & F_ESTABLISHED)) {
        close_now(c, cause, status, how == HG_CLOSE_RESET && (c->flags & F_ESTABLISHED));
        return;
    }
    if (c->flags & F_CLOSE_REQ)
        return;
    if (cause == HG_CLOSE_ACTIVE && (c->flags & F_EOF_FIRST))
        cause = HG_CLOSE_PASSIVE; /* the peer closed first; this side only finishes */
    c->flags |= F_CLOSE_REQ | F_SHUT_REQ;
    c->req_cause = cause;
    c->req_status = status;
    update_reading(c);
    if (c->flags & F_SHUT_DONE)
        close_now(c, cause, status, 0);
    else
        send_shutdown(c);
}

/* --- reading --- */

static void on_eof(hg_conn *c)
{
    c->flags |= F_EOF;
    c->flags &= ~F_READING;
    uv_read_stop((uv_stream_t *)&c->tcp);
    if (!(c->flags & F_SHUT_REQ))
        c->flags |= F_EOF_FIRST;
    if (c->flags & F_SHUT_DONE)
        close_now(c, (c->flags & F_EOF_FIRST) ? HG_CLOSE_PASSIVE : HG_CLOSE_ACTIVE, 0, 0);
    else if (c->h->on_peer_shutdown)
        c->h->on_peer_shutdown(c->ud, c);
    else
        conn_shutdown_write(&c->o->net, c);
}

static void over_budget(hg_conn *c, uint64_t n)
{
    uvw *w = c->w;

    if (c->turn != w->turn) {
        c->turn = w->turn;
        c->turn_bytes = 0;
    }
    c->turn_bytes += n;
    if (c->turn_bytes < w->rt->base.cfg.io_budget || (c->flags & (F_BUDGET | F_CLOSING)))
        return;
    c->flags |= F_BUDGET;
    update_reading(c);
    uvw_defer(w, &c->defer_link);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    hg_conn *c = s->data;

    if (nread > 0) {
        c->w->events++;
        rt_track_in(c->o, &c->t, &c->w->totals, (uint64_t)nread);
        c->last_io = c->last_read = now_ms(c);
        if (c->h->on_data)
            c->h->on_data(c->ud, c, (const uint8_t *)buf->base, (uint32_t)nread);
        over_budget(c, (uint64_t)nread);
    } else if (nread == UV_EOF) {
        on_eof(c);
    } else if (nread < 0) {
        close_on_error(c, (int)nread);
    }
}

void uvc_resume_deferred(uvw *w)
{
    hg_conn *c;

    while (!rt_list_empty(&w->deferred)) {
        c = RT_CONTAINER(w->deferred.next, hg_conn, defer_link);
        rt_list_remove(&c->defer_link);
        c->flags &= ~F_BUDGET;
        update_reading(c);
    }
}

static void conn_read_pause(const hg_net *n, hg_conn *c)
{
    c->flags |= F_PAUSED;
    update_reading(c);
}

static void conn_read_resume(const hg_net *n, hg_conn *c)
{
    if (!(c->flags & F_PAUSED))
        return;
    c->flags &= ~F_PAUSED;
    c->last_read = now_ms(c);
    update_reading(c);
    arm_timer(c);
}

/* --- writing --- */

static void on_write(uv_write_t *req, int status)
{
    wchunk *ch = RT_CONTAINER(req, wchunk, req);
    hg_conn *c = ch->c;

    if (status == 0) {
        c->w->events++;
        rt_track_out(c->o, &c->t, &c->w->totals, ch->len);
        c->last_io = c->last_write = now_ms(c);
    }
    free(ch);
    if (c->flags & F_CLOSING)
        return;
    if (status < 0) {
        close_on_error(c, status);
        return;
    }
    if ((c->flags & F_HIGH) && c->tcp.write_queue_size <= c->low) {
        c->flags &= ~F_HIGH;
        if (c->h->on_writable)
            c->h->on_writable(c->ud, c);
    }
}

static int conn_write(const hg_net *n, hg_conn *c, const void *data, uint32_t len)
{
    uv_buf_t b = uv_buf_init((char *)data, len);
    uint64_t was = c->tcp.write_queue_size;
    wchunk *ch;
    int r;

    if (c->flags & (F_CLOSING | F_CLOSE_REQ | F_SHUT_REQ))
        return HG_ECLOSED;
    if (len > 0 && was == 0 && !(c->flags & F_CONNECTING)) {
        r = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
        if (r < 0 && r != UV_EAGAIN) {
            close_on_error(c, r);
            return HG_ECLOSED;
        }
        if (r > 0) {
            rt_track_out(c->o, &c->t, &c->w->totals, (uint64_t)r);
            c->last_io = now_ms(c);
            b.base += r;
            b.len -= (size_t)r;
        }
    }
    if (b.len > 0) {
        ch = malloc(sizeof *ch + b.len);
        if (!ch)
            return HG_ENOMEM;
        ch->c = c;
        ch->len = (uint32_t)b.len;
        memcpy(ch->data, b.base, b.len);
        b.base = (char *)ch->data;
        r = uv_write(&ch->req, (uv_stream_t *)&c->tcp, &b, 1, on_write);
        if (r != 0) {
            free(ch);
            close_on_error(c, r);
            return HG_ECLOSED;
        }
        if (was == 0 && c->write_ms) {
            c->last_write = now_ms(c);
            c->wq_mark = c->tcp.write_queue_size;
            arm_timer(c);
        }
    }
    if (c->tcp.write_queue_size > c->high || (c->flags & F_HIGH)) {
        c->flags |= F_HIGH;
        return HG_EAGAIN;
    }
    return 0;
}

static uint64_t conn_queued(const hg_net *n, hg_conn *c)
{
    return c->tcp.write_queue_size;
}

static void conn_set_water(const hg_net *n, hg_conn *c, uint64_t high, uint64_t low)
{
    c->high = high;
    c->low = low < high ? low : high;
}

/* --- set-up --- */

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
    rt_track_open(o, &c->t, w->index, out, __atomic_add_fetch(&o->next_id, 1, __ATOMIC_RELAXED));
    uv_tcp_init(&w->loop, &c->tcp);
    c->tcp.data = c;
    c->handles = 1;
    c->opened = c->last_io = c->last_read = now_ms(c);
    rt_list_push(&w->conns, &c->link);
    rt_add1(&w->n_conns, 1);
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

void uvc_on_connection(uv_stream_t *server, int status)
{
    uv_slot *s = server->data;
    hg_listener *l = s->l;
    hg_conn *c;
    int len, rc;

    if (status < 0)
        return;
    c = conn_new(s->w, l->o, l->h, l->ud, 0);
    if (!c)
        return;
    s->w->events++;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        close_now(c, HG_CLOSE_ERROR, HG_EIO, 0);
        return;
    }
    len = sizeof c->t.peer;
    uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&c->t.peer, &len);
    len = sizeof c->t.local;
    uv_tcp_getsockname(&c->tcp, (struct sockaddr *)&c->t.local, &len);
    uv_tcp_nodelay(&c->tcp, 1);
    if (s->w->stopping || rt_owner_closing(l->o)) {
        close_now(c, HG_CLOSE_SHUTDOWN, HG_ECLOSED, 0);
        return;
    }
    c->flags |= F_ESTABLISHED | F_NOTIFY;
    rc = l->h->on_accept ? l->h->on_accept(l->ud, c, &c->ud) : 0;
    if (rc != 0) {
        c->flags &= ~(F_NOTIFY | F_ESTABLISHED);
        close_now(c, HG_CLOSE_ACTIVE_RESET, rc, 1);
        return;
    }
    rt_track_established(c->o, &c->t);
    update_reading(c);
}

static void on_connect(uv_connect_t *req, int status)
{
    hg_conn *c = req->data;
    int len = sizeof c->t.local;

    if (c->flags & F_CLOSING)
        return;
    c->flags &= ~F_CONNECTING;
    if (status < 0) {
        close_now(c, HG_CLOSE_CONNECT_FAILED, rt_status_from_errno(-status), 0);
        return;
    }
    uv_tcp_getsockname(&c->tcp, (struct sockaddr *)&c->t.local, &len);
    c->flags |= F_ESTABLISHED;
    rt_track_established(c->o, &c->t);
    c->last_io = c->last_read = now_ms(c);
    if (c->h->on_connected)
        c->h->on_connected(c->ud, c);
    if (c->flags & F_CLOSING)
        return;
    update_reading(c);
    send_shutdown(c);
    arm_timer(c);
}

/* Runs on c's worker. */
static void connect_start(hg_conn *c)
{
    int rc;

    if (c->w->stopping || rt_owner_closing(c->o)) {
        close_now(c, HG_CLOSE_CONNECT_FAILED, HG_ECLOSED, 0);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    c->creq.data = c;
    rc = uv_tcp_connect(&c->creq, &c->tcp, (const struct sockaddr *)&c->t.peer, on_connect);
    if (rc != 0) {
        close_now(c, HG_CLOSE_CONNECT_FAILED, rt_status_from_errno(-rc), 0);
        return;
    }
    if (c->connect_ms) {
        ensure_timer(c);
        arm_timer(c);
    }
}

typedef struct connect_args {
    uvrt *rt;
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

static int connect_elsewhere(uvrt *rt, rt_owner *o, const struct sockaddr_storage *ss,
                             uint64_t ms, const hg_conn_handler *h, void *ud, hg_conn **out)
{
    connect_args *a = calloc(1, sizeof *a);
    uint32_t i = __atomic_fetch_add(&rt->base.rr, 1, __ATOMIC_RELAXED) % rt->base.n_workers;

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
    a->c->w = &rt->workers[i]; /* conn_worker works at once */
    rt_owner_hold(o); /* for the connection, released when it finishes */
    rt_owner_hold(o); /* for the task */
    if (uvw_post(&rt->workers[i], connect_task, a, NULL) != 0) {
        rt_owner_release(o);
        rt_owner_release(o);
        free(a->c);
        free(a);
        return HG_ECLOSED;
    }
    return 0;
}

static int conn_connect(const hg_net *n, const char *addr, uint64_t timeout_ns,
                        const hg_conn_handler *h, void *ud, hg_conn **out)
{
    uvrt *rt = uv_rt_of(n);
    rt_owner *o = rt_owner_of(n);
    uvw *w = uvw_current(rt);
    struct sockaddr_storage ss;
    socklen_t len;
    hg_conn *c;

    if (!h || rt_addr_parse(addr, &ss, &len) != 0)
        return HG_EINVAL;
    if (rt_owner_closing(o) || __atomic_load_n(&rt->base.stop, __ATOMIC_ACQUIRE) || !rt->base.started)
        return HG_ECLOSED;
    if (!w)
        return connect_elsewhere(rt, o, &ss, uv_ms_of_ns(timeout_ns), h, ud, out);
    if (w->stopping)
        return HG_ECLOSED;
    c = conn_new(w, o, h, ud, 1);
    if (!c)
        return HG_ENOMEM;
    c->t.peer = ss;
    c->connect_ms = uv_ms_of_ns(timeout_ns);
    c->flags |= F_CONNECTING | F_NOTIFY;
    *out = c;
    connect_start(c);
    return 0;
}

/* --- the rest of the table --- */

static void conn_set_timeouts(const hg_net *n, hg_conn *c, uint64_t idle_ns, uint64_t read_ns,
                              uint64_t write_ns)
{
    uint64_t now = now_ms(c);

    if (c->flags & F_CLOSING)
        return;
    c->idle_ms = uv_ms_of_ns(idle_ns);
    c->read_ms = uv_ms_of_ns(read_ns);
    c->write_ms = uv_ms_of_ns(write_ns);
    c->last_io = c->last_read = c->last_write = now;
    c->wq_mark = c->tcp.write_queue_size;
    if (c->idle_ms || c->read_ms || c->write_ms || c->connect_ms)
        ensure_timer(c);
    arm_timer(c);
}

static void conn_info(const hg_net *n, hg_conn *c, hg_conn_record *out)
{
    rt_track_info(&c->t, out);
}

static void conn_set_ud(const hg_net *n, hg_conn *c, void *ud)
{
    c->ud = ud;
}

static int32_t conn_worker(const hg_net *n, hg_conn *c)
{
    return c->w->index;
}

const hg_net uv_net_template = {
    .struct_size = sizeof(hg_net),
    .workers = uvn_workers,
    .current_worker = uvn_current_worker,
    .post = uvn_post,
    .listen = uvn_listen,
    .listener_address = uvn_listener_address,
    .listener_close = uvn_listener_close,
    .connect = conn_connect,
    .write = conn_write,
    .queued = conn_queued,
    .set_water = conn_set_water,
    .read_pause = conn_read_pause,
    .read_resume = conn_read_resume,
    .shutdown_write = conn_shutdown_write,
    .close = conn_close,
    .set_timeouts = conn_set_timeouts,
    .conn_info = conn_info,
    .set_conn_ud = conn_set_ud,
    .conn_worker = conn_worker,
    .timer_start = uvn_timer_start,
    .timer_stop = uvn_timer_stop,
};
