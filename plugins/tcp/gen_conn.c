/* gen_conn.c - the connections of one tcp-gen worker: opening them (concurrency, max_open and
 * cps_limit), ping-pong requests with their round-trip times and request_timeout, streaming
 * writes, planned closes (close_by client or server) and failures by cause. Runs on the worker's
 * thread only. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"

/* A streaming connection writes at most this much per turn before letting the others run. */
#define STREAM_TURN_BYTES (256u * 1024u)
#define STREAM_TURN_WRITES 1024u

static const hg_conn_handler gen_handler;
static void pump(gen_worker *w);
static void stream_fill(gen_conn *gc);
static void runq_remove(gen_conn *gc);

static gen_conn *conn_get(gen_worker *w)
{
    gen_conn *gc = w->free;
    if (gc != NULL)
        w->free = gc->next;
    else
        gc = malloc(sizeof *gc);
    if (gc != NULL) {
        memset(gc, 0, sizeof *gc);
        gc->w = w;
    }
    return gc;
}

static void conn_put(gen_worker *w, gen_conn *gc)
{
    gc->next = w->free;
    w->free = gc;
}

static void list_add(gen_worker *w, gen_conn *gc)
{
    gc->next = w->head.next;
    gc->prev = &w->head;
    w->head.next->prev = gc;
    w->head.next = gc;
    w->open++;
}

static void list_del(gen_worker *w, gen_conn *gc)
{
    gc->prev->next = gc->next;
    gc->next->prev = gc->prev;
    w->open--;
}

static void fail(gen_worker *w, uint32_t cause)
{
    w->d.fail[cause]++;
    w->d.errors++;
}

static uint32_t cause_of_status(int status)
{
    switch (status) {
    case HG_ECONNREFUSED: return GEN_FAIL_REFUSED;
    case HG_ETIMEDOUT: return GEN_FAIL_TIMEOUT;
    case HG_ECONNRESET:
    case HG_EPIPE: return GEN_FAIL_RESET;
    case HG_ENETUNREACH:
    case HG_EHOSTUNREACH:
    case HG_EADDRNOTAVAIL: return GEN_FAIL_UNREACHABLE;
    case HG_EMFILE: return GEN_FAIL_FD_LIMIT;
    default: return GEN_FAIL_OTHER;
    }
}

static void stop_timer(gen_worker *w, hg_timer **t)
{
    if (*t != NULL) {
        w->g->net->timer_stop(w->g->net, *t);
        *t = NULL;
    }
}

/* The worker is done once it generates nothing more and every connection has closed. */
static void maybe_finish(gen_worker *w)
{
    if (w->finished || !w->done || w->open != 0)
        return;
    w->finished = 1;
    stop_timer(w, &w->tick);
    stop_timer(w, &w->end_timer);
    stop_timer(w, &w->cps_timer);
    stop_timer(w, &w->drain_timer);
    stop_timer(w, &w->req_timer);
    hg__gen_flush(w, 1);
}

/* --- request_timeout: every request has the same bound, so the waiting list, kept in the
 * order the requests went out, has the earliest deadline first; one timer per worker is set
 * for it. --- */

static gen_conn *conn_of_wait(gen_link *l)
{
    return (gen_conn *)(void *)((char *)l - offsetof(gen_conn, wait));
}

static void wait_del(gen_conn *gc)
{
    if (gc->wait.next == NULL)
        return;
    gc->wait.prev->next = gc->wait.next;
    gc->wait.next->prev = gc->wait.prev;
    gc->wait.next = gc->wait.prev = NULL;
}

static void req_fire(void *ud, hg_timer *t);

/* Sets the worker's timer for the oldest waiting request, unless it is set. */
static void wait_arm(gen_worker *w)
{
    gen *g = w->g;
    uint64_t now, due;
    if (w->req_timer != NULL || w->waiting.next == &w->waiting)
        return;
    now = g->host->now_ns(g->host);
    due = conn_of_wait(w->waiting.next)->t_sent + g->cfg.request_timeout_ns;
    if (g->net->timer_start(g->net, due > now ? due - now : 1, 0, req_fire, w, &w->req_timer))
        w->req_timer = NULL;
}

/* A request went out: it waits at the end of the list. */
static void wait_add(gen_conn *gc)
{
    gen_worker *w = gc->w;
    if (w->g->cfg.request_timeout_ns == 0)
        return;
    wait_del(gc);
    gc->wait.prev = w->waiting.prev;
    gc->wait.next = &w->waiting;
    w->waiting.prev->next = &gc->wait;
    w->waiting.prev = &gc->wait;
    wait_arm(w);
}

static void close_planned(gen_conn *gc, uint32_t how);

/* A request unanswered within request_timeout is a failure (timeout); its connection is reset
 * (an answer arriving later would be taken for the next one's) and its slot opens another. */
static void timed_out(gen_conn *gc)
{
    gen_worker *w = gc->w;
    fail(w, GEN_FAIL_TIMEOUT);
    gc->in_flight = 0;
    if (!w->warned_timeout) {
        w->warned_timeout = 1;
        hg_logf(w->g->host, HG_LOG_WARN, "worker %u: a request got no answer within %.3g s; "
                "its connection is closed (counted in failed_timeout)", w->idx,
                (double)w->g->cfg.request_timeout_ns / 1e9);
    }
    close_planned(gc, HG_CLOSE_RESET);
}

static void req_fire(void *ud, hg_timer *t)
{
    gen_worker *w = ud;
    gen *g = w->g;
    uint64_t now = g->host->now_ns(g->host);
    gen_conn *gc;
    (void)t;
    w->req_timer = NULL; /* a one-shot timer is gone once its callback returns */
    while (w->waiting.next != &w->waiting) {
        gc = conn_of_wait(w->waiting.next);
        if (now - gc->t_sent < g->cfg.request_timeout_ns)
            break;
        wait_del(gc);
        timed_out(gc);
    }
    wait_arm(w);
}

/* Closes a connection on purpose: what happens to it next is not a failure. */
static void close_planned(gen_conn *gc, uint32_t how)
{
    const hg_net *net = gc->w->g->net;
    wait_del(gc);
    gc->state = GC_CLOSING;
    net->close(net, gc->c, how);
}

/* A stream has sent all it will: half-close and read what the server still sends until its EOF
 * (on_closed then sees a clean close). A server silent for GEN_DRAIN_NS is reset and counted
 * (on_timeout), as is a reset instead of an EOF (on_closed). */
static void stream_end(gen_conn *gc)
{
    const hg_net *net = gc->w->g->net;
    if (gc->in_runq)
        runq_remove(gc);
    gc->state = GC_DRAINING;
    net->set_timeouts(net, gc->c, GEN_DRAIN_NS, 0, 0);
    net->shutdown_write(net, gc->c);
}

/* Counts a stream whose end the server did not confirm: what it was sent may be lost. */
static void drain_failed(gen_worker *w, uint32_t cause, const char *what)
{
    fail(w, cause);
    if (!w->warned_drain) {
        w->warned_drain = 1;
        hg_logf(w->g->host, HG_LOG_WARN, "worker %u: a stream's end was not confirmed by the "
                "server (%s); what it was sent may be lost (counted in failed_%s)", w->idx, what,
                hg__gen_fail_names[cause]);
    }
}

/* requests_per_connection reached: hand the slot to a new connection and close this one. */
static void finish_conn(gen_conn *gc)
{
    gen_worker *w = gc->w;
    const hg_net *net = w->g->net;
    gc->holds_slot = 0;
    w->want++;
    if (w->g->cfg.pattern == GEN_STREAM) {
        stream_end(gc);
    } else if (w->g->cfg.close_by == GEN_BY_SERVER) {
        gc->state = GC_CLOSING; /* the server closes once it sees our FIN */
        net->shutdown_write(net, gc->c);
    } else {
        close_planned(gc, HG_CLOSE_GRACEFUL);
    }
    pump(w);
}

/* Takes one request from the budget; 0 when none is left (the worker is then done). */
static int take_request(gen_worker *w)
{
    if (!w->limited)
        return 1;
    if (w->budget == 0) {
        w->done = 1;
        return 0;
    }
    if (--w->budget == 0)
        w->done = 1;
    return 1;
}

static void send_request(gen_conn *gc)
{
    gen_worker *w = gc->w;
    gen *g = w->g;
    if (w->done || !take_request(w)) { /* the run is over: this answer was the last */
        close_planned(gc, HG_CLOSE_GRACEFUL);
        return;
    }
    gc->t_sent = g->host->now_ns(g->host);
    gc->in_flight = 1;
    gc->got = 0;
    w->d.requests++;
    w->d.bytes_out += g->cfg.payload;
    wait_add(gc);
    g->net->write(g->net, gc->c, g->payload, (uint32_t)g->cfg.payload);
}

/* After a response: the next request, or the end of this connection. */
static void next_step(gen_conn *gc)
{
    gen_worker *w = gc->w;
    const gen_cfg *cfg = &w->g->cfg;
    if (cfg->per_conn != 0 && gc->done >= cfg->per_conn)
        finish_conn(gc);
    else if (w->done)
        close_planned(gc, HG_CLOSE_GRACEFUL);
    else
        send_request(gc);
}

static void runq_run(void *arg)
{
    gen_worker *w = arg;
    gen_conn *q = w->runq, *gc;
    w->runq = NULL;
    w->runq_posted = 0;
    while (q != NULL) {
        gc = q;
        q = gc->runq_next;
        gc->in_runq = 0;
        gc->runq_next = NULL;
        stream_fill(gc);
    }
    maybe_finish(w);
}

static void runq_push(gen_conn *gc)
{
    gen_worker *w = gc->w;
    if (gc->in_runq)
        return;
    gc->in_runq = 1;
    gc->runq_next = w->runq;
    w->runq = gc;
    if (!w->runq_posted && w->g->net->post(w->g->net, (int32_t)w->idx, runq_run, w) == 0)
        w->runq_posted = 1;
}

static void runq_remove(gen_conn *gc)
{
    gen_conn **pp = &gc->w->runq;
    while (*pp != NULL && *pp != gc)
        pp = &(*pp)->runq_next;
    if (*pp == gc)
        *pp = gc->runq_next;
    gc->in_runq = 0;
}

/* Streams payload-sized writes until the queue passes high water (on_writable resumes) or
 * this turn's share is written (the run queue resumes). */
static void stream_fill(gen_conn *gc)
{
    gen_worker *w = gc->w;
    gen *g = w->g;
    uint32_t n, bytes = 0;
    int rc;
    for (n = 0; n < STREAM_TURN_WRITES && bytes < STREAM_TURN_BYTES; n++) {
        if (gc->state != GC_ACTIVE)
            return;
        if (w->done || !take_request(w)) {
            stream_end(gc);
            return;
        }
        rc = g->net->write(g->net, gc->c, g->payload, (uint32_t)g->cfg.payload);
        if (rc == HG_ECLOSED)
            return;
        w->d.requests++;
        w->d.bytes_out += g->cfg.payload;
        bytes += (uint32_t)g->cfg.payload;
        gc->done++;
        if (g->cfg.per_conn != 0 && gc->done >= g->cfg.per_conn) {
            finish_conn(gc);
            return;
        }
        if (rc == HG_EAGAIN)
            return;
    }
    runq_push(gc);
}

static void start_one(gen_worker *w)
{
    gen *g = w->g;
    gen_conn *gc = conn_get(w);
    int rc;
    if (gc == NULL) {
        fail(w, GEN_FAIL_OTHER);
        w->done = 1;
        return;
    }
    gc->state = GC_CONNECTING;
    gc->holds_slot = 1;
    rc = g->net->connect(g->net, g->addr, g->cfg.connect_timeout_ns, &gen_handler, gc, &gc->c);
    if (rc != 0) {
        conn_put(w, gc);
        w->want++;
        fail(w, cause_of_status(rc));
        if (rc == HG_EINVAL || rc == HG_ECLOSED || ++w->fails_in_row >= GEN_MAX_CONSECUTIVE_FAILS)
            w->done = 1;
        return;
    }
    list_add(w, gc);
}

static void cps_fire(void *ud, hg_timer *t)
{
    gen_worker *w = ud;
    w->cps_timer = NULL; /* a one-shot timer is gone once its callback returns */
    pump(w);
}

/* Opens connections for the free slots, within max_open and cps_limit. */
static void pump(gen_worker *w)
{
    gen *g = w->g;
    uint64_t now;
    while (!w->done && w->want > 0 && w->open < w->max_open) {
        if (w->cps_interval_ns != 0) {
            now = g->host->now_ns(g->host);
            if (now < w->next_connect_ns) {
                if (w->cps_timer == NULL)
                    g->net->timer_start(g->net, w->next_connect_ns - now, 0, cps_fire, w,
                                        &w->cps_timer);
                return;
            }
            if (w->next_connect_ns + w->cps_interval_ns < now)
                w->next_connect_ns = now; /* no burst after an idle spell */
            w->next_connect_ns += w->cps_interval_ns;
        }
        w->want--;
        start_one(w);
    }
    maybe_finish(w);
}

static void on_connected(void *ud, hg_conn *c)
{
    gen_conn *gc = ud;
    gen_worker *w = gc->w;
    w->fails_in_row = 0;
    w->d.connects++;
    if (gc->state != GC_CONNECTING)
        return;
    if (w->done) {
        close_planned(gc, HG_CLOSE_GRACEFUL);
        return;
    }
    gc->state = GC_ACTIVE;
    if (w->g->cfg.pattern == GEN_PINGPONG)
        send_request(gc);
    else
        stream_fill(gc);
}

static void on_data(void *ud, hg_conn *c, const uint8_t *data, uint32_t len)
{
    gen_conn *gc = ud;
    gen_worker *w = gc->w;
    gen *g = w->g;
    uint64_t now;
    w->d.bytes_in += len;
    if (!gc->in_flight || gc->state != GC_ACTIVE)
        return;
    gc->got += len;
    if (gc->got < g->cfg.payload)
        return;
    now = g->host->now_ns(g->host);
    hg__tcp_hist_add(&w->hist, now - gc->t_sent);
    w->d.responses++;
    gc->in_flight = 0;
    wait_del(gc);
    gc->done++;
    next_step(gc);
}

static void on_writable(void *ud, hg_conn *c)
{
    gen_conn *gc = ud;
    if (gc->w->g->cfg.pattern == GEN_STREAM && gc->state == GC_ACTIVE)
        stream_fill(gc);
}

static void on_peer_shutdown(void *ud, hg_conn *c)
{
    gen_conn *gc = ud;
    gen_worker *w = gc->w;
    if (gc->state != GC_CLOSING && gc->state != GC_DRAINING && !w->done)
        fail(w, GEN_FAIL_EOF); /* the server closed in the middle of the run */
    close_planned(gc, HG_CLOSE_GRACEFUL);
}

/* Counts a close that we did not ask for. */
static void count_unplanned(gen_worker *w, const hg_conn_record *rec)
{
    switch (rec->close_cause) {
    case HG_CLOSE_CONNECT_FAILED:
        fail(w, cause_of_status(rec->status));
        if (++w->fails_in_row >= GEN_MAX_CONSECUTIVE_FAILS && !w->done) {
            hg_logf(w->g->host, HG_LOG_WARN, "worker %u: %u connect failures in a row (%s, "
                    "%s), giving up", w->idx, w->fails_in_row, hg_strerror(rec->status),
                    hg_err_name(rec->status));
            w->done = 1;
        }
        break;
    case HG_CLOSE_PASSIVE_RESET: fail(w, GEN_FAIL_RESET); break;
    case HG_CLOSE_TIMEOUT: fail(w, GEN_FAIL_TIMEOUT); break;
    case HG_CLOSE_PASSIVE: fail(w, GEN_FAIL_EOF); break;
    case HG_CLOSE_ERROR: fail(w, cause_of_status(rec->status)); break;
    default: break; /* shutdown by the host, or our own close */
    }
}

/* A draining stream closed: cleanly once both sides are done (ACTIVE, PASSIVE); our own reset
 * (ACTIVE_RESET) or the host's cut (SHUTDOWN) is counted where it is decided. */
static void count_drained(gen_worker *w, const hg_conn_record *rec)
{
    switch (rec->close_cause) {
    case HG_CLOSE_PASSIVE_RESET: drain_failed(w, GEN_FAIL_RESET, "reset"); break;
    case HG_CLOSE_TIMEOUT: drain_failed(w, GEN_FAIL_TIMEOUT, "timeout"); break;
    case HG_CLOSE_ERROR: drain_failed(w, cause_of_status(rec->status), hg_strerror(rec->status));
        break;
    default: break;
    }
}

/* A draining stream heard nothing for GEN_DRAIN_NS; other connections set no timeout. */
static void on_timeout(void *ud, hg_conn *c, uint32_t which)
{
    gen_conn *gc = ud;
    (void)which;
    if (gc->state == GC_DRAINING) {
        drain_failed(gc->w, GEN_FAIL_TIMEOUT, "no EOF within the drain bound");
        close_planned(gc, HG_CLOSE_RESET);
    } else {
        gc->w->g->net->close(gc->w->g->net, c, HG_CLOSE_GRACEFUL);
    }
}

static void on_closed(void *ud, hg_conn *c, const hg_conn_record *rec)
{
    gen_conn *gc = ud;
    gen_worker *w = gc->w;
    if (gc->state == GC_DRAINING)
        count_drained(w, rec);
    else if (gc->state != GC_CLOSING && !(w->done && rec->close_cause != HG_CLOSE_CONNECT_FAILED))
        count_unplanned(w, rec);
    wait_del(gc);
    list_del(w, gc);
    if (gc->in_runq)
        runq_remove(gc);
    if (gc->holds_slot)
        w->want++;
    conn_put(w, gc);
    pump(w);
}

static const hg_conn_handler gen_handler = {
    .struct_size = sizeof(hg_conn_handler),
    .on_connected = on_connected,
    .on_data = on_data,
    .on_writable = on_writable,
    .on_peer_shutdown = on_peer_shutdown,
    .on_timeout = on_timeout,
    .on_closed = on_closed,
};

/* The drain bound passed: whatever still waits for an answer or a close is reset. */
static void drain_fire(void *ud, hg_timer *t)
{
    gen_worker *w = ud;
    gen_conn *gc;
    (void)t;
    w->drain_timer = NULL;
    for (gc = w->head.next; gc != &w->head; gc = gc->next) {
        if (gc->state == GC_DRAINING)
            drain_failed(w, GEN_FAIL_TIMEOUT, "no EOF within the drain bound");
        close_planned(gc, HG_CLOSE_RESET);
    }
}

/* Ends the run. GRACEFUL leaves no data in flight to be reset by the kernel: a ping-pong
 * connection waiting for its answer closes once it arrives (send_request), a stream half-closes
 * and closes when the server has echoed the rest, a connect in progress closes once connected;
 * all within GEN_DRAIN_NS. NOW cuts everything. */
void hg__gen_worker_end(gen_worker *w, uint32_t how)
{
    const hg_net *net = w->g->net;
    gen_conn *gc;
    w->done = 1;
    for (gc = w->head.next; gc != &w->head; gc = gc->next) {
        if (how == HG_STOP_NOW) {
            close_planned(gc, HG_CLOSE_CUT);
        } else if (gc->state == GC_CLOSING || gc->state == GC_CONNECTING ||
                   gc->state == GC_DRAINING) {
            continue;
        } else if (w->g->cfg.pattern == GEN_PINGPONG && gc->in_flight) {
            continue;
        } else if (w->g->cfg.pattern == GEN_STREAM) {
            stream_end(gc);
        } else {
            close_planned(gc, HG_CLOSE_GRACEFUL);
        }
    }
    if (how != HG_STOP_NOW && w->open != 0 && w->drain_timer == NULL &&
        net->timer_start(net, GEN_DRAIN_NS, 0, drain_fire, w, &w->drain_timer) != 0)
        w->drain_timer = NULL;
    maybe_finish(w);
}

static void end_fire(void *ud, hg_timer *t)
{
    gen_worker *w = ud;
    w->end_timer = NULL;
    hg__gen_worker_end(w, HG_STOP_GRACEFUL);
}

void hg__gen_worker_begin(void *arg)
{
    gen_worker *w = arg;
    gen *g = w->g;
    const hg_net *net = g->net;
    w->waiting.next = w->waiting.prev = &w->waiting;
    if (net->timer_start(net, GEN_TICK_NS, GEN_TICK_NS, hg__gen_tick, w, &w->tick) != 0)
        w->tick = NULL;
    if (g->cfg.duration_ns != 0 &&
        net->timer_start(net, g->cfg.duration_ns, 0, end_fire, w, &w->end_timer) != 0)
        w->done = 1;
    if (w->slots == 0 || (w->limited && w->budget == 0))
        w->done = 1;
    w->want = w->slots;
    pump(w);
}
