/* bk_conn.c - a TCP connection on a blocking worker (accept and connect are in bk_open.c). The socket stays in blocking mode; the
 * worker's poll says when it is readable or writable, and each recv/send passes MSG_DONTWAIT so
 * a wrong guess costs an EAGAIN, never a stalled worker. A write sends what the kernel takes at
 * once and copies the rest into the connection's queue, which the loop flushes on POLLOUT (the
 * same water marks and on_writable as the uv mode). Connects are started non-blocking so a slow
 * peer cannot hold up the other connections; the socket is made blocking once established.
 *
 * I/O budget: per turn a connection reads while a recv fills the whole buffer, up to io_budget
 * bytes, then the loop moves on to the next ready socket. A close only marks the connection; the
 * worker's reap at the end of the turn closes the socket and calls on_closed. */
#define _GNU_SOURCE
#include "bk.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

rt_owner *bkc_owner(const hg_conn *c)
{
    return c->o;
}

hg_conn *bkc_of_link(rt_link *l)
{
    return RT_CONTAINER(l, hg_conn, link);
}

int bkc_fd(const hg_conn *c)
{
    return c->fd;
}

static int want_reading(const hg_conn *c)
{
    return (c->flags & (CF_ESTABLISHED | CF_PAUSED | CF_EOF | CF_CLOSE_REQ | CF_CLOSING)) ==
           CF_ESTABLISHED;
}

short bkc_events(hg_conn *c)
{
    short ev = 0;

    if (c->flags & CF_CLOSING)
        return 0;
    if (c->flags & CF_CONNECTING)
        return POLLOUT;
    if (want_reading(c))
        ev |= POLLIN;
    if (c->queued > 0)
        ev |= POLLOUT;
    return ev;
}

/* The cause and status of a close on error err (an errno value). */
static uint32_t error_cause(int err, int *status)
{
    /* ENOTCONN comes from a shutdown or read on a socket the peer has already reset */
    int reset = err == ECONNRESET || err == EPIPE || err == ENOTCONN;
    *status = reset ? HG_ECONNRESET : rt_status_from_errno(err);
    return reset ? HG_CLOSE_PASSIVE_RESET : HG_CLOSE_ERROR;
}

/* The errno of an abort by the peer that nothing reported yet, or 0. */
static int abort_error(hg_conn *c)
{
    if (!(c->flags & CF_ESTABLISHED) || c->fd < 0)
        return 0;
    return rt_abort_error(c->fd, (c->flags & CF_SHUT_DONE) != 0);
}

/* Marks the connection closed; the reap closes the socket and reports it. A clean close of a
 * connection whose reads had stopped (after a FIN, or paused), and whose peer reset it since
 * unnoticed, is counted as that reset. */
void bkc_close_now(hg_conn *c, uint32_t cause, int status, int reset)
{
    int err;

    if (c->flags & CF_CLOSING)
        return;
    if ((cause == HG_CLOSE_ACTIVE || cause == HG_CLOSE_PASSIVE) &&
        (c->flags & (CF_EOF | CF_PAUSED)) && (err = abort_error(c)) != 0)
        cause = error_cause(err, &status);
    c->flags |= CF_CLOSING | (reset ? CF_RESET : 0);
    c->cause = cause;
    c->status = status;
    rt_list_push(&c->w->reap, &c->reap_link);
}

static void close_on_error(hg_conn *c, int err)
{
    int st;
    uint32_t cause = error_cause(err, &st);
    bkc_close_now(c, cause, st, 0);
}

int bkc_cut(hg_conn *c)
{
    if (c->flags & CF_CLOSING)
        return 0;
    bkc_close_now(c, HG_CLOSE_SHUTDOWN, 0, 0);
    return 1;
}

static void conn_free(hg_conn *c)
{
    bchunk *ch, *next;

    for (ch = c->qhead; ch; ch = next) {
        next = ch->next;
        free(ch);
    }
    free(c);
}

void bkc_reap(bkw *w)
{
    hg_conn_record rec;
    hg_conn *c;
    rt_owner *o;

    while (!rt_list_empty(&w->reap)) {
        c = RT_CONTAINER(w->reap.next, hg_conn, reap_link);
        rt_list_remove(&c->reap_link);
        rt_list_remove(&c->link);
        rt_add1(&w->core.n_conns, (uint64_t)-1);
        if (c->fd >= 0) {
            bkw_conn_closing(w, c);
            if (c->flags & CF_RESET)
                rt_set_linger0(c->fd);
            close(c->fd);
        }
        o = c->o;
        rt_track_close(o, &c->t, c->cause, c->status, &rec);
        if ((c->flags & CF_NOTIFY) && c->h->on_closed)
            c->h->on_closed(c->ud, c, &rec);
        conn_free(c);
        rt_owner_release(o);
    }
}

/* Sends the FIN once the queue is empty, and closes once both directions are done. */
void bkc_progress(hg_conn *c)
{
    if (c->flags & (CF_CLOSING | CF_CONNECTING))
        return;
    if (c->queued == 0 && (c->flags & CF_SHUT_REQ) && !(c->flags & CF_SHUT_DONE)) {
        if (shutdown(c->fd, SHUT_WR) != 0 && errno != ENOTCONN) {
            close_on_error(c, errno);
            return;
        }
        c->flags |= CF_SHUT_DONE;
    }
    if (!(c->flags & CF_SHUT_DONE))
        return;
    if (c->flags & CF_CLOSE_REQ)
        bkc_close_now(c, c->req_cause, c->req_status, 0);
    else if (c->flags & CF_EOF)
        bkc_close_now(c, (c->flags & CF_EOF_FIRST) ? HG_CLOSE_PASSIVE : HG_CLOSE_ACTIVE, 0, 0);
}

/* --- writing --- */

/* Sends as much of the queue as the kernel takes now. Returns 0, or -1 when it closed c. */
static int flush(hg_conn *c)
{
    bchunk *ch;
    ssize_t n;

    for (ch = c->qhead; ch; ch = c->qhead) {
        n = send(c->fd, ch->data + ch->off, ch->len - ch->off, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            break;
        if (n < 0) {
            close_on_error(c, errno);
            return -1;
        }
        rt_track_out(c->o, &c->t, &c->w->core.totals, (uint64_t)n);
        c->last_io = c->last_write = c->w->now;
        c->queued -= (uint64_t)n;
        ch->off += (uint32_t)n;
        if (ch->off < ch->len)
            break;
        c->qhead = ch->next;
        if (!c->qhead)
            c->qtail = NULL;
        free(ch);
    }
    return 0;
}

static int conn_write(const hg_net *n, hg_conn *c, const void *data, uint32_t len)
{
    const uint8_t *p = data;
    bchunk *ch;
    ssize_t r = 0;

    if (c->flags & (CF_CLOSING | CF_CLOSE_REQ | CF_SHUT_REQ))
        return HG_ECLOSED;
    if (len > 0 && c->queued == 0 && !(c->flags & CF_CONNECTING)) {
        r = send(c->fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (r < 0 && errno != EAGAIN && errno != EINTR) {
            close_on_error(c, errno);
            return HG_ECLOSED;
        }
        if (r < 0)
            r = 0;
        rt_track_out(c->o, &c->t, &c->w->core.totals, (uint64_t)r);
        if (r > 0)
            c->last_io = c->w->now;
    }
    if ((uint32_t)r < len) {
        ch = malloc(sizeof *ch + (len - (uint32_t)r));
        if (!ch)
            return HG_ENOMEM;
        ch->next = NULL;
        ch->len = len - (uint32_t)r;
        ch->off = 0;
        memcpy(ch->data, p + r, ch->len);
        if (c->queued == 0)
            c->last_write = c->w->now; /* the write timeout counts from here */
        if (c->qtail)
            c->qtail->next = ch;
        else
            c->qhead = ch;
        c->qtail = ch;
        c->queued += ch->len;
    }
    if (c->queued > c->high || (c->flags & CF_HIGH)) {
        c->flags |= CF_HIGH;
        return HG_EAGAIN;
    }
    return 0;
}

static uint64_t conn_queued(const hg_net *n, hg_conn *c)
{
    return c->queued;
}

static void conn_set_water(const hg_net *n, hg_conn *c, uint64_t high, uint64_t low)
{
    c->high = high;
    c->low = low < high ? low : high;
}

/* --- half-close and close --- */

static int conn_shutdown_write(const hg_net *n, hg_conn *c)
{
    if (c->flags & (CF_CLOSING | CF_CLOSE_REQ))
        return HG_ECLOSED;
    c->flags |= CF_SHUT_REQ;
    bkc_progress(c);
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

    if (c->flags & (CF_CLOSING | CF_CLOSE_REQ))
        return;
    if ((c->flags & CF_IN_TIMEOUT) && cause != HG_CLOSE_SHUTDOWN) {
        cause = HG_CLOSE_TIMEOUT;
        status = HG_ETIMEDOUT;
    }
    if (how == HG_CLOSE_RESET || !(c->flags & CF_ESTABLISHED)) {
        bkc_close_now(c, cause, status, how == HG_CLOSE_RESET && (c->flags & CF_ESTABLISHED));
        return;
    }
    if (cause == HG_CLOSE_ACTIVE && (c->flags & CF_EOF_FIRST))
        cause = HG_CLOSE_PASSIVE; /* the peer closed first; this side only finishes */
    c->flags |= CF_CLOSE_REQ | CF_SHUT_REQ;
    c->req_cause = cause;
    c->req_status = status;
    bkc_progress(c);
}

/* --- reading --- */

/* The stream ended: a FIN, or a FIN then a reset (which also reads as 0 bytes). */
static void on_eof(hg_conn *c)
{
    int err = abort_error(c);

    if (err != 0) {
        close_on_error(c, err);
        return;
    }
    if (!(c->flags & CF_SHUT_REQ))
        c->flags |= CF_EOF_FIRST;
    if (c->flags & CF_SHUT_DONE) {
        /* closed before CF_EOF is set: the look just taken needs no second one there */
        bkc_close_now(c, (c->flags & CF_EOF_FIRST) ? HG_CLOSE_PASSIVE : HG_CLOSE_ACTIVE, 0, 0);
        c->flags |= CF_EOF;
        return;
    }
    c->flags |= CF_EOF;
    if (c->h->on_peer_shutdown)
        c->h->on_peer_shutdown(c->ud, c);
    else
        conn_shutdown_write(&c->o->net, c);
}

static void read_some(hg_conn *c)
{
    bkw *w = c->w;
    uint64_t total = 0;
    ssize_t n;

    while (want_reading(c) && total < w->core.base->cfg.io_budget) {
        n = recv(c->fd, w->core.rbuf, w->core.rbuf_len, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n < 0) {
            close_on_error(c, errno);
            return;
        }
        if (n == 0) {
            on_eof(c);
            return;
        }
        total += (uint64_t)n;
        rt_track_in(c->o, &c->t, &w->core.totals, (uint64_t)n);
        c->last_io = c->last_read = w->now;
        if (c->h->on_data)
            c->h->on_data(c->ud, c, (const uint8_t *)w->core.rbuf, (uint32_t)n);
        if ((size_t)n < w->core.rbuf_len)
            return; /* drained */
    }
}

static void conn_read_pause(const hg_net *n, hg_conn *c)
{
    c->flags |= CF_PAUSED;
}

static void conn_read_resume(const hg_net *n, hg_conn *c)
{
    if (!(c->flags & CF_PAUSED))
        return;
    c->flags &= ~CF_PAUSED;
    c->last_read = c->w->now;
}

/* --- readiness and timeouts --- */

void bkc_ready(hg_conn *c, short rev)
{
    socklen_t len = sizeof(int);
    int err = 0;

    if (c->flags & CF_CLOSING)
        return;
    if (c->flags & CF_CONNECTING) {
        bkc_finish_connect(c);
        return;
    }
    if (c->queued > 0 && (rev & (POLLOUT | POLLERR | POLLHUP))) {
        if (flush(c) != 0)
            return;
        if ((c->flags & CF_HIGH) && c->queued <= c->low) {
            c->flags &= ~CF_HIGH;
            if (c->h->on_writable)
                c->h->on_writable(c->ud, c);
        }
        bkc_progress(c);
    }
    if (c->flags & CF_CLOSING)
        return;
    if (want_reading(c) && (rev & (POLLIN | POLLHUP | POLLERR))) {
        read_some(c);
    } else if (rev & POLLERR) {
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err == 0)
            err = EIO;
        close_on_error(c, err);
    }
}

uint64_t bkc_deadline(const hg_conn *c)
{
    uint64_t due = UINT64_MAX;

    if (c->flags & CF_CLOSING)
        return due;
    if (c->flags & CF_CONNECTING)
        return c->connect_ns ? c->opened + c->connect_ns : due;
    if (c->idle_ns && c->last_io + c->idle_ns < due)
        due = c->last_io + c->idle_ns;
    if (c->read_ns && want_reading(c) && c->last_read + c->read_ns < due)
        due = c->last_read + c->read_ns;
    if (c->write_ns && c->queued > 0 && c->last_write + c->write_ns < due)
        due = c->last_write + c->write_ns;
    return due;
}

static uint32_t timeout_due(hg_conn *c, uint64_t now)
{
    if (c->write_ns && c->queued > 0 && now - c->last_write >= c->write_ns) {
        c->last_write = now;
        return HG_TIMEOUT_WRITE;
    }
    if (c->read_ns && want_reading(c) && now - c->last_read >= c->read_ns) {
        c->last_read = now;
        return HG_TIMEOUT_READ;
    }
    if (c->idle_ns && now - c->last_io >= c->idle_ns) {
        c->last_io = now;
        return HG_TIMEOUT_IDLE;
    }
    return 0;
}

uint64_t bkc_timeouts(hg_conn *c, uint64_t now)
{
    uint32_t which;

    if (c->flags & CF_CLOSING)
        return UINT64_MAX;
    if (c->flags & CF_CONNECTING) {
        if (c->connect_ns && now - c->opened >= c->connect_ns)
            bkc_close_now(c, HG_CLOSE_CONNECT_FAILED, HG_ETIMEDOUT, 0);
        return bkc_deadline(c);
    }
    which = timeout_due(c, now);
    if (which && (c->flags & CF_CLOSE_REQ)) {
        bkc_close_now(c, HG_CLOSE_TIMEOUT, HG_ETIMEDOUT, 0); /* a graceful close that stalls */
    } else if (which && c->h->on_timeout) {
        c->w->core.events++;
        c->flags |= CF_IN_TIMEOUT;
        c->h->on_timeout(c->ud, c, which);
        c->flags &= ~CF_IN_TIMEOUT;
    } else if (which) {
        bkc_close_now(c, HG_CLOSE_TIMEOUT, HG_ETIMEDOUT, 0);
    }
    return bkc_deadline(c);
}

static void conn_set_timeouts(const hg_net *n, hg_conn *c, uint64_t idle_ns, uint64_t read_ns,
                              uint64_t write_ns)
{
    uint64_t now = c->w->now;

    c->idle_ns = idle_ns;
    c->read_ns = read_ns;
    c->write_ns = write_ns;
    c->last_io = c->last_read = now;
    if (c->queued == 0)
        c->last_write = now;
}

/* --- the rest of the table --- */

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

const hg_net bk_net_template = {
    .struct_size = sizeof(hg_net),
    .workers = rt_net_workers,
    .current_worker = rt_net_current_worker,
    .post = rt_net_post,
    .listen = rt_net_listen,
    .listener_address = rt_net_listener_address,
    .listener_close = rt_net_listener_close,
    .connect = bkc_connect,
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
    .timer_start = bkn_timer_start,
    .timer_stop = bkn_timer_stop,
};
