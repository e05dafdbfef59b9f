/* uv_conn.c - a TCP connection on a uv worker (accept and connect are in uv_open.c): reads into
 * the worker's one buffer, writes that try the kernel first (uv_try_write) and queue only the remainder
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


rt_owner *uvc_owner(const hg_conn *c)
{
    return c->o;
}

hg_conn *uvc_of_link(rt_link *l)
{
    return RT_CONTAINER(l, hg_conn, link);
}

uint64_t uvc_now_ms(const hg_conn *c)
{
    return uv_now(&c->w->loop);
}

static int want_reading(const hg_conn *c)
{
    return (c->flags & (F_ESTABLISHED | F_PAUSED | F_BUDGET | F_EOF | F_CLOSE_REQ | F_CLOSING)) ==
           F_ESTABLISHED;
}

void uvc_on_alloc(uv_handle_t *hd, size_t hint, uv_buf_t *buf)
{
    hg_conn *c = hd->data;
    buf->base = c->w->core.rbuf;
    buf->len = c->w->core.rbuf_len;
}

void uvc_update_reading(hg_conn *c)
{
    int want = want_reading(c);

    if (want && !(c->flags & F_READING)) {
        if (uv_read_start((uv_stream_t *)&c->tcp, uvc_on_alloc, uvc_on_read) == 0)
            c->flags |= F_READING;
    } else if (!want && (c->flags & F_READING)) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->flags &= ~F_READING;
    }
}

static void flush_conn(hg_conn *c)
{
    rt_list_remove(&c->dirty_link);
    if (c->pend_in)
        hg_counter_add(c->o->c[RT_C_BYTES_IN], c->pend_in);
    if (c->pend_out)
        hg_counter_add(c->o->c[RT_C_BYTES_OUT], c->pend_out);
    c->pend_in = c->pend_out = 0;
}

void uvc_flush_counts(uvw *w)
{
    while (!rt_list_empty(&w->dirty))
        flush_conn(RT_CONTAINER(w->dirty.next, hg_conn, dirty_link));
}

static void count_in(hg_conn *c, uint64_t n)
{
    rt_track_in_local(&c->t, &c->w->core.totals, n);
    if (c->pend_in == 0 && c->pend_out == 0)
        rt_list_push(&c->w->dirty, &c->dirty_link);
    c->pend_in += n;
}

static void count_out(hg_conn *c, uint64_t n)
{
    rt_track_out_local(&c->t, &c->w->core.totals, n);
    if (c->pend_in == 0 && c->pend_out == 0)
        rt_list_push(&c->w->dirty, &c->dirty_link);
    c->pend_out += n;
}

static void conn_finish(hg_conn *c)
{
    hg_conn_record rec;
    rt_owner *o = c->o;

    rt_list_remove(&c->link);
    rt_add1(&c->w->core.n_conns, (uint64_t)-1);
    flush_conn(c);
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

/* The cause and status of a close on error uverr (a libuv error code). */
static uint32_t error_cause(int uverr, int *status)
{
    /* ENOTCONN comes from a shutdown or read on a socket the peer has already reset */
    int reset = uverr == UV_ECONNRESET || uverr == UV_EPIPE || uverr == UV_ENOTCONN;
    *status = reset ? HG_ECONNRESET : rt_status_from_errno(-uverr);
    return reset ? HG_CLOSE_PASSIVE_RESET : HG_CLOSE_ERROR;
}

/* The positive errno of an abort by the peer that nothing reported yet, or 0. */
static int abort_error(hg_conn *c)
{
    uv_os_fd_t fd;

    if (!(c->flags & F_ESTABLISHED) || uv_fileno((uv_handle_t *)&c->tcp, &fd) != 0)
        return 0;
    return rt_abort_error(fd, (c->flags & F_SHUT_DONE) != 0);
}

/* Closes the socket now; on_closed follows from the close callback. A clean close of a
 * connection whose reads had stopped (after a FIN, or paused), and whose peer reset it since
 * unnoticed, is counted as that reset. */
void uvc_close_now(hg_conn *c, uint32_t cause, int status, int reset)
{
    uv_os_fd_t fd;
    int err;

    if (c->flags & F_CLOSING)
        return;
    if ((cause == HG_CLOSE_ACTIVE || cause == HG_CLOSE_PASSIVE) &&
        (c->flags & (F_EOF | F_PAUSED | F_BUDGET)) && (err = abort_error(c)) != 0)
        cause = error_cause(-err, &status);
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
    int st;
    uint32_t cause = error_cause(uverr, &st);
    uvc_close_now(c, cause, st, 0);
}

int uvc_cut(hg_conn *c)
{
    if (c->flags & F_CLOSING)
        return 0;
    uvc_close_now(c, HG_CLOSE_SHUTDOWN, 0, 0);
    return 1;
}

/* --- timeouts --- */

static void on_timer(uv_timer_t *t);

void uvc_arm_timer(hg_conn *c)
{
    uint64_t now = uvc_now_ms(c), due = UINT64_MAX;

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

void uvc_ensure_timer(hg_conn *c)
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
    uint64_t now = uvc_now_ms(c);
    uint32_t which;

    c->w->core.events++;
    if (c->flags & F_CONNECTING) {
        if (c->connect_ms && now - c->opened >= c->connect_ms)
            uvc_close_now(c, HG_CLOSE_CONNECT_FAILED, HG_ETIMEDOUT, 0);
        else
            uvc_arm_timer(c);
        return;
    }
    which = timeout_due(c, now);
    if (which && (c->flags & F_CLOSE_REQ)) {
        uvc_close_now(c, HG_CLOSE_TIMEOUT, HG_ETIMEDOUT, 0); /* a graceful close that stalls */
        return;
    }
    if (which && c->h->on_timeout) {
        c->flags |= F_IN_TIMEOUT;
        c->h->on_timeout(c->ud, c, which);
        c->flags &= ~F_IN_TIMEOUT;
    } else if (which) {
        uvc_close_now(c, HG_CLOSE_TIMEOUT, HG_ETIMEDOUT, 0);
    }
    uvc_arm_timer(c);
}

/* --- half-close and close --- */

static void on_shutdown(uv_shutdown_t *req, int status)
{
    hg_conn *c = req->data;

    uvw_awake(c->w);
    if (c->flags & F_CLOSING)
        return;
    if (status < 0) {
        close_on_error(c, status);
        return;
    }
    c->flags |= F_SHUT_DONE;
    if (c->flags & F_CLOSE_REQ)
        uvc_close_now(c, c->req_cause, c->req_status, 0);
    else if (c->flags & F_EOF)
        uvc_close_now(c, (c->flags & F_EOF_FIRST) ? HG_CLOSE_PASSIVE : HG_CLOSE_ACTIVE, 0, 0);
}

/* Issues the FIN once connected; libuv sends it after the queued writes. */
void uvc_send_shutdown(hg_conn *c)
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
    uvc_send_shutdown(c);
    return 0;
}

static void conn_close(const hg_net *n, hg_conn *c, uint32_t how)
{
    uint32_t cause = how == HG_CLOSE_RESET ? HG_CLOSE_ACTIVE_RESET
                   : how == HG_CLOSE_CUT ? HG_CLOSE_SHUTDOWN
                                         : HG_CLOSE_ACTIVE;
    int status = 0;

    if (how == HG_CLOSE_CUT)
        how = HG_CLOSE_RESET; /* a cut is a reset, counted as the shutdown's */

    if (c->flags & F_CLOSING)
        return;
    if ((c->flags & F_IN_TIMEOUT) && cause != HG_CLOSE_SHUTDOWN) {
        cause = HG_CLOSE_TIMEOUT;
        status = HG_ETIMEDOUT;
    }
    if (how == HG_CLOSE_RESET || !(c->flags & F_ESTABLISHED)) {
        uvc_close_now(c, cause, status, how == HG_CLOSE_RESET && (c->flags & F_ESTABLISHED));
        return;
    }
    if (c->flags & F_CLOSE_REQ)
        return;
    if (cause == HG_CLOSE_ACTIVE && (c->flags & F_EOF_FIRST))
        cause = HG_CLOSE_PASSIVE; /* the peer closed first; this side only finishes */
    /* Nothing queued: every byte is in the kernel, and close() sends it and then the FIN by
     * itself (no linger). A shutdown first would cost a system call and a loop turn. */
    if ((c->flags & F_SHUT_DONE) || c->tcp.write_queue_size == 0) {
        uvc_close_now(c, cause, status, 0);
        return;
    }
    c->flags |= F_CLOSE_REQ | F_SHUT_REQ;
    c->req_cause = cause;
    c->req_status = status;
    uvc_update_reading(c);
    uvc_send_shutdown(c);
}

/* --- reading --- */

/* The stream ended: a FIN, or a reset that libuv reports as an EOF. */
static void on_eof(hg_conn *c)
{
    int err = abort_error(c);

    if (err != 0) {
        close_on_error(c, -err);
        return;
    }
    c->flags &= ~F_READING;
    uv_read_stop((uv_stream_t *)&c->tcp);
    if (!(c->flags & F_SHUT_REQ))
        c->flags |= F_EOF_FIRST;
    if (c->flags & F_SHUT_DONE) {
        /* closed before F_EOF is set: the look just taken needs no second one there */
        uvc_close_now(c, (c->flags & F_EOF_FIRST) ? HG_CLOSE_PASSIVE : HG_CLOSE_ACTIVE, 0, 0);
        c->flags |= F_EOF;
        return;
    }
    c->flags |= F_EOF;
    if (c->h->on_peer_shutdown)
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
    if (c->turn_bytes < w->core.base->cfg.io_budget || (c->flags & (F_BUDGET | F_CLOSING)))
        return;
    c->flags |= F_BUDGET;
    uvc_update_reading(c);
    uvw_defer(w, &c->defer_link);
}

void uvc_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    hg_conn *c = s->data;

    uvw_awake(c->w);
    if (nread > 0) {
        c->w->core.events++;
        count_in(c, (uint64_t)nread);
        c->last_io = c->last_read = uvc_now_ms(c);
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
        uvc_update_reading(c);
    }
}

static void conn_read_pause(const hg_net *n, hg_conn *c)
{
    c->flags |= F_PAUSED;
    uvc_update_reading(c);
}

static void conn_read_resume(const hg_net *n, hg_conn *c)
{
    if (!(c->flags & F_PAUSED))
        return;
    c->flags &= ~F_PAUSED;
    c->last_read = uvc_now_ms(c);
    uvc_update_reading(c);
    uvc_arm_timer(c);
}

/* --- writing --- */

static void on_write(uv_write_t *req, int status)
{
    wchunk *ch = RT_CONTAINER(req, wchunk, req);
    hg_conn *c = ch->c;

    uvw_awake(c->w);
    if (status == 0) {
        c->w->core.events++;
        count_out(c, ch->len);
        c->last_io = c->last_write = uvc_now_ms(c);
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

/* Copies what the kernel did not take into a chunk that libuv writes when it can. */
static int queue_rest(hg_conn *c, uv_buf_t b)
{
    uint64_t was = c->tcp.write_queue_size;
    wchunk *ch = malloc(sizeof *ch + b.len);
    int r;

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
        c->last_write = uvc_now_ms(c); /* the write timeout counts from here */
        c->wq_mark = c->tcp.write_queue_size;
        uvc_arm_timer(c);
    }
    return 0;
}

/* Sets TCP_NODELAY before the write that could be held back by Nagle's algorithm: any but a
 * small first one. Short connections (one request, one answer) never pay the setsockopt. */
static void nodelay_before(hg_conn *c, uint32_t len)
{
    if (c->flags & F_NODELAY)
        return;
    if (len <= UVC_NAGLE_FREE && c->t.rec.bytes_out == 0 && c->tcp.write_queue_size == 0)
        return;
    uv_tcp_nodelay(&c->tcp, 1);
    c->flags |= F_NODELAY;
}

static int conn_write(const hg_net *n, hg_conn *c, const void *data, uint32_t len)
{
    uv_buf_t b = uv_buf_init((char *)data, len);
    int r;

    if (c->flags & (F_CLOSING | F_CLOSE_REQ | F_SHUT_REQ))
        return HG_ECLOSED;
    nodelay_before(c, len);
    if (len > 0 && c->tcp.write_queue_size == 0 && !(c->flags & F_CONNECTING)) {
        r = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
        if (r < 0 && r != UV_EAGAIN) {
            close_on_error(c, r);
            return HG_ECLOSED;
        }
        if (r > 0) {
            count_out(c, (uint64_t)r);
            c->last_io = uvc_now_ms(c);
            b.base += r;
            b.len -= (size_t)r;
        }
    }
    if (b.len > 0) {
        if (b.len < len)
            nodelay_before(c, UINT32_MAX); /* the kernel took a part: the rest is no first write */
        r = queue_rest(c, b);
        if (r != 0)
            return r;
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

/* --- the rest of the table --- */

static void conn_set_timeouts(const hg_net *n, hg_conn *c, uint64_t idle_ns, uint64_t read_ns,
                              uint64_t write_ns)
{
    uint64_t now = uvc_now_ms(c);

    if (c->flags & F_CLOSING)
        return;
    c->idle_ms = uv_ms_of_ns(idle_ns);
    c->read_ms = uv_ms_of_ns(read_ns);
    c->write_ms = uv_ms_of_ns(write_ns);
    c->last_io = c->last_read = c->last_write = now;
    c->wq_mark = c->tcp.write_queue_size;
    if (c->idle_ms || c->read_ms || c->write_ms || c->connect_ms)
        uvc_ensure_timer(c);
    uvc_arm_timer(c);
}

static void conn_info(const hg_net *n, hg_conn *c, hg_conn_record *out)
{
    rt_track_info_sized(&c->t, out);
}

static void conn_set_ud(const hg_net *n, hg_conn *c, void *ud)
{
    c->ud = ud;
}

static int32_t conn_worker(const hg_net *n, hg_conn *c)
{
    return c->w->core.index;
}

const hg_net uv_net_template = {
    .struct_size = sizeof(hg_net),
    .workers = rt_net_workers,
    .current_worker = rt_net_current_worker,
    .post = rt_net_post,
    .listen = rt_net_listen,
    .listener_address = rt_net_listener_address,
    .listener_close = rt_net_listener_close,
    .connect = uvc_connect,
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
