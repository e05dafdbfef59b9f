/* ur_worker.c - one uring worker: its io_uring loop. Every socket the worker watches (the
 * eventfd of posts and stop, its listening sockets, each connection with the events it wants)
 * has a one-shot poll request on the worker's ring; a turn arms what is missing, submits the
 * whole batch and waits in the same io_uring_enter (the timeout is the nearest timer or
 * connection deadline), then dispatches the completions to the blocking mode's connection code.
 *
 * Listening sockets have a multishot accept instead (a poll where the kernel has none).
 * A request holds its file until it completes, so a socket that closes first has its request
 * cancelled through the ring (bkw_conn_closing, urw_slot_close). A token outlives its object until its
 * completion is read; at the end, io_uring_queue_exit cancels what is left and the tokens go. */
#define _GNU_SOURCE
#include "ur.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#if defined(__SANITIZE_THREAD__)
#define UR_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UR_TSAN 1
#endif
#endif
#ifndef UR_TSAN
#define UR_TSAN 0
#endif

#define UR_ENTRIES 1024u
#define UR_BATCH 256

static struct io_uring_sqe *get_sqe(urw *w)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&w->ring);

    if (!sqe) { /* the submission queue is full: hand the batch to the kernel and go on */
        io_uring_submit(&w->ring);
        w->submits++;
        sqe = io_uring_get_sqe(&w->ring);
    }
    return sqe;
}

/* Arms a one-shot poll for mask on fd. Returns the token, or NULL (out of memory). */
static urtok *arm(urw *w, uint8_t kind, void *obj, int fd, uint32_t mask)
{
    struct io_uring_sqe *sqe;
    urtok *t = calloc(1, sizeof *t);

    if (!t)
        return NULL;
    sqe = get_sqe(w);
    if (!sqe) {
        free(t);
        return NULL;
    }
    t->kind = kind;
    t->obj = obj;
    t->mask = mask;
    io_uring_prep_poll_add(sqe, fd, mask);
    io_uring_sqe_set_data(sqe, t);
    rt_list_push(&w->toks, &t->link);
    return t;
}

/* Arms a multishot accept on a listening socket: each connection comes as one completion. */
static urtok *arm_accept(urw *w, urslot *us)
{
    struct io_uring_sqe *sqe;
    urtok *t = calloc(1, sizeof *t);

    if (!t)
        return NULL;
    sqe = get_sqe(w);
    if (!sqe) {
        free(t);
        return NULL;
    }
    t->kind = UR_ACCEPT;
    t->obj = us;
    io_uring_prep_multishot_accept(sqe, us->s.fd, NULL, NULL, SOCK_CLOEXEC);
    io_uring_sqe_set_data(sqe, t);
    rt_list_push(&w->toks, &t->link);
    return t;
}

/* Lets go of a request: its completions (the cancel's -ECANCELED, or events) will be dropped. */
static void disarm(urw *w, urtok *t)
{
    struct io_uring_sqe *sqe;

    t->obj = NULL;
    sqe = get_sqe(w);
    if (!sqe)
        return; /* the request stays until its events or the ring's exit; nothing reads it */
    io_uring_prep_cancel(sqe, t, 0);
    io_uring_sqe_set_data64(sqe, 0);
}

void bkw_conn_closing(bkw *bw, hg_conn *c)
{
    if (c->io)
        disarm((urw *)bw, c->io);
    c->io = NULL;
}

/* rt_mode.wake (under the queue's mutex; the eventfd lives until urw_fini). */
void urw_wake(rt_worker *rw)
{
    uint64_t one = 1;
    ssize_t n = write(((bkw *)rw)->efd, &one, sizeof one);
    (void)n; /* EAGAIN: the counter is already non-zero, the worker wakes anyway */
}

void urw_slot_close(rt_slot *s)
{
    urslot *us = (urslot *)s;

    if (us->tok)
        disarm((urw *)s->w, us->tok);
    us->tok = NULL;
    close(s->fd);
    rt_listener_unbusy(s->l, 1);
}

/* Arms the polls that are missing for this turn. */
static void arm_all(urw *w)
{
    bkw *b = &w->bk;
    rt_link *l;
    hg_conn *c;
    urtok *t;
    uint32_t ev;

    if (!w->efd_tok)
        w->efd_tok = arm(w, UR_EFD, w, b->efd, POLLIN);
    for (l = b->core.slots.next; l != &b->core.slots; l = l->next) {
        urslot *us = (urslot *)RT_CONTAINER(l, rt_slot, link);
        if (us->tok || b->now < b->accept_paused_until)
            continue;
        us->tok = w->no_multishot || us->poll_first ? arm(w, UR_SLOT, us, us->s.fd, POLLIN)
                                                    : arm_accept(w, us);
    }
    for (l = b->conns.next; l != &b->conns; l = l->next) {
        c = bkc_of_link(l);
        ev = (uint32_t)(uint16_t)bkc_events(c);
        t = c->io;
        if (ev == 0 || (t && (t->mask & ev) == ev))
            continue; /* nothing wanted (a poll still armed fires once, harmlessly), or armed */
        if (t)
            disarm(w, t);
        c->io = arm(w, UR_CONN, c, bkc_fd(c), ev);
    }
}

/* A completion of a listener's multishot accept: res is the new socket or -errno. */
static void accepted(urw *w, urtok *t, int res, int done)
{
    urslot *us = t->obj;

    if (done && us)
        us->tok = NULL;
    if (res >= 0 && (!us || !us->s.open)) {
        close(res); /* the listener closed meanwhile: nobody takes the connection */
    } else if (res >= 0) {
        w->bk.core.events++;
        bkc_accepted(&us->s, res, NULL);
    } else if (res == -EINVAL && us) {
        w->no_multishot = 1; /* an older kernel: poll the listeners instead from now on */
    } else if ((res == -EMFILE || res == -ENFILE) && us) {
        /* the accept fails before it looks for a connection: poll for one, then refuse it */
        us->poll_first = 1;
        if (us->tok)
            disarm(w, us->tok);
        us->tok = NULL;
    }
}

static void dispatch(urw *w, urtok *t, int res, unsigned flags)
{
    bkw *b = &w->bk;
    int done = !(flags & IORING_CQE_F_MORE);
    uint64_t v;

    if (t->kind == UR_ACCEPT) {
        accepted(w, t, res, done);
    } else if (t->obj) {
        b->core.events++;
        if (t->kind == UR_EFD) {
            w->efd_tok = NULL;
            if (read(b->efd, &v, sizeof v) < 0)
                v = 0; /* EAGAIN: the tasks run this turn either way */
        } else if (t->kind == UR_SLOT) {
            urslot *us = t->obj;
            us->tok = NULL;
            us->poll_first = 0; /* the kernel accepts again: it fails at once if still out */
            if (res > 0 && b->now >= b->accept_paused_until)
                bkc_accept(&us->s);
        } else {
            hg_conn *c = t->obj;
            c->io = NULL;
            /* a failed poll (-errno) reads as an error event: the socket's own error decides */
            bkc_ready(c, (short)(res < 0 ? POLLERR : res));
        }
    }
    if (done) {
        rt_list_remove(&t->link);
        free(t);
    }
}

/* Submits the batch and waits up to wait_ns (UINT64_MAX: no limit) for a completion, then
 * handles every completion there is. */
static void submit_and_handle(urw *w, uint64_t wait_ns)
{
    struct io_uring_cqe *cqes[UR_BATCH], *cqe = NULL;
    struct __kernel_timespec ts;
    unsigned n, i;

    if (wait_ns == 0) {
        io_uring_submit(&w->ring);
    } else {
        ts.tv_sec = (long long)(wait_ns / 1000000000u);
        ts.tv_nsec = (long long)(wait_ns % 1000000000u);
        io_uring_submit_and_wait_timeout(&w->ring, &cqe, 1, wait_ns == UINT64_MAX ? NULL : &ts,
                                         NULL);
    }
    w->submits++;
    w->bk.now = rt_now_ns();
    do {
        n = io_uring_peek_batch_cqe(&w->ring, cqes, UR_BATCH);
        void *data[UR_BATCH];
        int res[UR_BATCH];
        unsigned fl[UR_BATCH];
        for (i = 0; i < n; i++) {
            data[i] = io_uring_cqe_get_data(cqes[i]);
            res[i] = cqes[i]->res;
            fl[i] = cqes[i]->flags;
        }
        io_uring_cq_advance(&w->ring, n); /* before dispatch: it may submit (removals) */
        for (i = 0; i < n; i++) {
            if (data[i])
                dispatch(w, data[i], res[i], fl[i]);
        }
    } while (n == UR_BATCH);
}

/* The nearest connection deadline, and the timeouts due now (the reap frees connections, so
 * the walk stays valid through callbacks). */
static uint64_t conn_deadlines(bkw *b, int fire)
{
    uint64_t due = UINT64_MAX, d;
    rt_link *l;

    for (l = b->conns.next; l != &b->conns; l = l->next) {
        d = bkc_deadline(bkc_of_link(l));
        if (fire && d <= b->now)
            d = bkc_timeouts(bkc_of_link(l), b->now);
        if (d < due)
            due = d;
    }
    return due;
}

static void worker_stop(urw *w)
{
    bkw *b = &w->bk;
    rt_link *l;

    b->core.stopping = 1;
    rt_worker_close_slots(&b->core);
    for (l = b->conns.next; l != &b->conns; l = l->next)
        bkc_cut(bkc_of_link(l));
    for (l = b->timers.next; l != &b->timers; l = l->next)
        bkt_of_link(l)->silenced = 1;
    rt_worker_run_tasks(&b->core, 1);
    bkc_reap(b);
}

static void one_turn(urw *w)
{
    bkw *b = &w->bk;
    uint64_t due, d, t0, t1;

    due = bkt_run(b); /* timers due now, and the next one */
    bkc_reap(b);
    arm_all(w);
    d = conn_deadlines(b, 0);
    if (d < due)
        due = d;
    if (!rt_list_empty(&b->reap))
        due = b->now;
    if (b->accept_paused_until > b->now && b->accept_paused_until < due)
        due = b->accept_paused_until; /* wake up to accept again */
    t0 = rt_now_ns();
    submit_and_handle(w, due == UINT64_MAX ? UINT64_MAX : due > t0 ? due - t0 : 0);
    t1 = b->now;
    if (b->core.perf)
        hg_perf_add(&b->core.perf->idle_ns, t1 - t0);
    rt_worker_run_tasks(&b->core, 0);
    if (rt_base_stopping(b->core.base) && !b->core.stopping)
        worker_stop(w);
    conn_deadlines(b, 1);
    bkc_reap(b);
    bkt_sweep(b);
    b->turn++;
    b->now = rt_now_ns();
    if (b->core.perf) {
        hg_perf_add(&b->core.perf->busy_ns, b->now - t1);
        hg_perf_add(&b->core.perf->turns, 1);
        hg_perf_add(&b->core.perf->events, b->core.events);
    }
    b->core.events = 0;
}

void urw_run(rt_worker *rw)
{
    urw *w = (urw *)rw;
    rt_link *l;

    w->bk.now = rt_now_ns();
    while (!w->bk.core.stopping)
        one_turn(w);
    /* on_closed of the cut connections may have stopped timers; free the rest */
    bkc_reap(&w->bk);
    for (l = w->bk.timers.next; l != &w->bk.timers; l = l->next)
        bkt_of_link(l)->dead = 1;
    bkt_sweep(&w->bk);
    io_uring_submit(&w->ring); /* the last removals: the sockets' files go now */
}

/* A ring for one worker: with COOP_TASKRUN where the kernel has it (no interrupt to run the
 * completions: the worker reaps them when it enters the kernel anyway). */
static int ring_init(struct io_uring *ring)
{
    struct io_uring_params p;
    int rc;

    memset(&p, 0, sizeof p);
    p.flags = IORING_SETUP_COOP_TASKRUN;
    rc = io_uring_queue_init_params(UR_ENTRIES, ring, &p);
    if (rc == -EINVAL) {
        memset(&p, 0, sizeof p);
        rc = io_uring_queue_init_params(UR_ENTRIES, ring, &p);
    }
    return rc;
}

int urw_init(rt_base *b, rt_worker *rw, int32_t index)
{
    urw *w = (urw *)rw;
    int rc;

    (void)b;
    (void)index;
    rt_list_init(&w->bk.conns);
    rt_list_init(&w->bk.timers);
    rt_list_init(&w->bk.reap);
    rt_list_init(&w->toks);
    /* ThreadSanitizer orders threads through sockets by intercepting accept(), recv() and the
     * like; an accept the kernel makes through the ring is invisible to it, so a peer in the same
     * process (the tests) would look racy. Under TSan the listeners are polled and accepted with
     * accept4(), as on kernels without multishot accept. */
    w->no_multishot = UR_TSAN;
    w->bk.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    w->bk.spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (w->bk.efd < 0) {
        urw_fini(rw);
        return HG_ENOMEM;
    }
    rc = ur_on_own_thread(ring_init, &w->ring);
    if (rc < 0) {
        urw_fini(rw);
        return rt_status_from_errno(-rc);
    }
    w->ring_ok = 1;
    return 0;
}

void urw_fini(rt_worker *rw)
{
    urw *w = (urw *)rw;

    if (w->ring_ok)
        io_uring_queue_exit(&w->ring); /* cancels the polls left: no completion is read after */
    w->ring_ok = 0;
    while (!rt_list_empty(&w->toks)) {
        urtok *t = RT_CONTAINER(w->toks.next, urtok, link);
        rt_list_remove(&t->link);
        free(t);
    }
    if (w->bk.efd >= 0)
        close(w->bk.efd);
    w->bk.efd = -1;
    if (w->bk.spare_fd >= 0)
        close(w->bk.spare_fd);
    w->bk.spare_fd = -1;
}
