/* bk_worker.c - one blocking worker: its poll(2) loop, the eventfd the poll watches for the task
 * queue (the queue itself is in ../common/rt_worker.c), perf accounting and the stop.
 *
 * A turn: build the poll set (eventfd, listening sockets, each connection with the events it
 * wants; a connection that wants nothing is left out), wait until the nearest timer or
 * connection deadline, handle the ready sockets, run the tasks, run due timers and timeouts, then
 * reap closed connections. Pipeline callbacks all start from this loop, never from inside a call
 * the pipeline made, and a connection is freed only in the reap at the end of the turn. */
#define _GNU_SOURCE
#include "bk.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

/* rt_mode.wake (under the queue's mutex; the eventfd lives until bkw_fini). */
void bkw_wake(rt_worker *rw)
{
    uint64_t one = 1;
    ssize_t n = write(((bkw *)rw)->efd, &one, sizeof one);
    (void)n; /* EAGAIN: the counter is already non-zero, the worker wakes anyway */
}

static int grow_poll_set(bkw *w, size_t need)
{
    size_t cap = w->pcap ? w->pcap : 64;
    struct pollfd *p;
    void **it;

    while (cap < need)
        cap *= 2;
    p = realloc(w->pfd, cap * sizeof *p);
    if (!p)
        return HG_ENOMEM;
    w->pfd = p;
    it = realloc(w->pitem, cap * sizeof *it);
    if (!it)
        return HG_ENOMEM;
    w->pitem = it;
    w->pcap = cap;
    return 0;
}

/* Builds the poll set; returns its size, and the number of slots in *n_slots. */
static size_t build_poll_set(bkw *w, size_t *n_slots)
{
    size_t n = 1, need = 1 + (size_t)__atomic_load_n(&w->core.n_conns, __ATOMIC_RELAXED);
    rt_link *l;
    short ev;

    for (l = w->core.slots.next; l != &w->core.slots; l = l->next)
        need++;
    if (need > w->pcap && grow_poll_set(w, need) != 0)
        need = w->pcap; /* out of memory: poll what fits this turn */
    w->pfd[0] = (struct pollfd){ .fd = w->efd, .events = POLLIN };
    w->pitem[0] = NULL;
    for (l = w->core.slots.next; l != &w->core.slots && n < need; l = l->next, n++) {
        short want = w->now < w->accept_paused_until ? 0 : POLLIN;
        w->pfd[n] = (struct pollfd){ .fd = RT_CONTAINER(l, rt_slot, link)->fd, .events = want };
        w->pitem[n] = RT_CONTAINER(l, rt_slot, link);
    }
    *n_slots = n - 1;
    for (l = w->conns.next; l != &w->conns && n < need; l = l->next) {
        ev = bkc_events(bkc_of_link(l));
        if (!ev)
            continue;
        w->pfd[n] = (struct pollfd){ .fd = bkc_fd(bkc_of_link(l)), .events = ev };
        w->pitem[n++] = bkc_of_link(l);
    }
    return n;
}

static uint64_t conn_deadlines(bkw *w)
{
    uint64_t due = UINT64_MAX, d;
    rt_link *l;

    for (l = w->conns.next; l != &w->conns; l = l->next) {
        d = bkc_deadline(bkc_of_link(l));
        if (d < due)
            due = d;
    }
    return due;
}

static void check_timeouts(bkw *w)
{
    rt_link *l;

    /* connections are freed only by the reap, so the walk stays valid through callbacks */
    for (l = w->conns.next; l != &w->conns; l = l->next) {
        if (bkc_deadline(bkc_of_link(l)) <= w->now)
            bkc_timeouts(bkc_of_link(l), w->now);
    }
}

static void handle_ready(bkw *w, size_t n, size_t n_slots)
{
    uint64_t v;
    size_t i;

    if ((w->pfd[0].revents & POLLIN) && read(w->efd, &v, sizeof v) < 0)
        v = 0; /* EAGAIN: another read took the count; the tasks run below either way */
    for (i = 1; i < n; i++) {
        if (!w->pfd[i].revents)
            continue;
        w->core.events++;
        if (i <= n_slots)
            bkc_accept(w->pitem[i]);
        else
            bkc_ready(w->pitem[i], w->pfd[i].revents);
    }
}

static void worker_stop(bkw *w)
{
    rt_link *l;

    w->core.stopping = 1;
    rt_worker_close_slots(&w->core);
    for (l = w->conns.next; l != &w->conns; l = l->next)
        bkc_cut(bkc_of_link(l));
    for (l = w->timers.next; l != &w->timers; l = l->next)
        bkt_of_link(l)->silenced = 1;
    rt_worker_run_tasks(&w->core, 1);
    bkc_reap(w);
}

static void one_turn(bkw *w)
{
    struct timespec ts, *tp = NULL;
    uint64_t due, t0, t1;
    size_t n, n_slots;

    due = bkt_run(w); /* timers due now, and the next one */
    bkc_reap(w);
    n = build_poll_set(w, &n_slots);
    if (conn_deadlines(w) < due)
        due = conn_deadlines(w);
    if (!rt_list_empty(&w->reap))
        due = 0;
    if (w->accept_paused_until > w->now && w->accept_paused_until < due)
        due = w->accept_paused_until; /* wake up to accept again */
    if (due != UINT64_MAX) {
        due = due > w->now ? due - w->now : 0;
        ts.tv_sec = (time_t)(due / 1000000000u);
        ts.tv_nsec = (long)(due % 1000000000u);
        tp = &ts;
    }
    t0 = rt_now_ns();
    if (ppoll(w->pfd, n, tp, NULL) < 0)
        n = 0; /* EINTR: nothing is ready */
    t1 = rt_now_ns();
    w->now = t1;
    if (w->core.perf)
        hg_perf_add(&w->core.perf->idle_ns, t1 - t0);
    handle_ready(w, n, n_slots);
    rt_worker_run_tasks(&w->core, 0);
    if (rt_base_stopping(w->core.base) && !w->core.stopping)
        worker_stop(w);
    check_timeouts(w);
    bkc_reap(w);
    bkt_sweep(w);
    w->turn++;
    w->now = rt_now_ns();
    if (w->core.perf) {
        hg_perf_add(&w->core.perf->busy_ns, w->now - t1);
        hg_perf_add(&w->core.perf->turns, 1);
        hg_perf_add(&w->core.perf->events, w->core.events);
    }
    w->core.events = 0;
}

void bkw_run(rt_worker *rw)
{
    bkw *w = (bkw *)rw;
    rt_link *l;

    w->now = rt_now_ns();
    while (!w->core.stopping)
        one_turn(w);
    /* on_closed of the cut connections may have stopped timers; free the rest */
    bkc_reap(w);
    for (l = w->timers.next; l != &w->timers; l = l->next)
        bkt_of_link(l)->dead = 1;
    bkt_sweep(w);
}

int bkw_init(rt_base *b, rt_worker *rw, int32_t index)
{
    bkw *w = (bkw *)rw;

    rt_list_init(&w->conns);
    rt_list_init(&w->timers);
    rt_list_init(&w->reap);
    w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    w->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (w->efd < 0 || grow_poll_set(w, 64) != 0) {
        bkw_fini(rw);
        return HG_ENOMEM;
    }
    return 0;
}

void bkw_fini(rt_worker *rw)
{
    bkw *w = (bkw *)rw;

    if (w->efd >= 0)
        close(w->efd);
    w->efd = -1;
    if (w->spare_fd >= 0)
        close(w->spare_fd);
    w->spare_fd = -1;
    free(w->pfd);
    free(w->pitem);
    w->pfd = NULL;
    w->pitem = NULL;
}

void bkw_conn_closing(bkw *w, hg_conn *c)
{
    (void)w; /* the poll set is rebuilt each turn: nothing refers to the socket */
    (void)c;
}
