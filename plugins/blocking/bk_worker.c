/* bk_worker.c - one blocking worker: its poll(2) loop, the task queue other threads post to
 * (a mutex-guarded list plus an eventfd the poll watches), perf accounting and the stop.
 *
 * A turn: build the poll set (eventfd, listening sockets, each connection with the events it
 * wants; a connection that wants nothing is left out), wait until the nearest timer or
 * connection deadline, handle the ready sockets, run the tasks, run due timers and timeouts, then
 * reap closed connections. Pipeline callbacks all start from this loop, never from inside a call
 * the pipeline made, and a connection is freed only in the reap at the end of the turn. */
#define _GNU_SOURCE
#include "bk.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

static __thread bkw *tls_worker;

bkw *bkw_current(const bkrt *rt)
{
    bkw *w = tls_worker;
    return w && w->rt == rt ? w : NULL;
}

void bkw_wake(bkw *w)
{
    uint64_t one = 1;
    ssize_t n = write(w->efd, &one, sizeof one);
    (void)n; /* EAGAIN: the counter is already non-zero, the worker wakes anyway */
}

int bkw_post(bkw *w, void (*fn)(void *), void *arg, rt_owner *owner)
{
    bk_task *t = malloc(sizeof *t);
    int rc = 0, was_empty = 0;

    if (!t)
        return HG_ENOMEM;
    t->next = NULL;
    t->fn = fn;
    t->arg = arg;
    t->owner = owner;
    pthread_mutex_lock(&w->mu);
    if (w->closed) {
        rc = HG_ECLOSED;
    } else {
        was_empty = w->head == NULL;
        if (w->tail)
            w->tail->next = t;
        else
            w->head = t;
        w->tail = t;
    }
    pthread_mutex_unlock(&w->mu);
    if (rc != 0)
        free(t);
    else if (was_empty)
        bkw_wake(w); /* the worker takes the whole list, so one wake-up per batch is enough */
    return rc;
}

static bk_task *take_tasks(bkw *w, int close_queue)
{
    bk_task *t;

    pthread_mutex_lock(&w->mu);
    t = w->head;
    w->head = w->tail = NULL;
    if (close_queue)
        w->closed = 1;
    pthread_mutex_unlock(&w->mu);
    return t;
}

static void run_tasks(bkw *w, bk_task *t)
{
    bk_task *next;

    for (; t; t = next) {
        next = t->next;
        w->events++;
        t->fn(t->arg);
        if (t->owner)
            rt_owner_release(t->owner);
        free(t);
    }
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
    size_t n = 1, need = 1 + (size_t)__atomic_load_n(&w->n_conns, __ATOMIC_RELAXED);
    rt_link *l;
    short ev;

    for (l = w->slots.next; l != &w->slots; l = l->next)
        need++;
    if (need > w->pcap && grow_poll_set(w, need) != 0)
        need = w->pcap; /* out of memory: poll what fits this turn */
    w->pfd[0] = (struct pollfd){ .fd = w->efd, .events = POLLIN };
    w->pitem[0] = NULL;
    for (l = w->slots.next; l != &w->slots && n < need; l = l->next, n++) {
        w->pfd[n] = (struct pollfd){ .fd = RT_CONTAINER(l, bk_slot, link)->fd, .events = POLLIN };
        w->pitem[n] = RT_CONTAINER(l, bk_slot, link);
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
        w->events++;
        if (i <= n_slots)
            bkc_accept(w->pitem[i]);
        else
            bkc_ready(w->pitem[i], w->pfd[i].revents);
    }
}

static void worker_stop(bkw *w)
{
    rt_link *l, *next;

    w->stopping = 1;
    for (l = w->slots.next; l != &w->slots; l = next) {
        next = l->next;
        bkl_slot_close(RT_CONTAINER(l, bk_slot, link));
    }
    for (l = w->conns.next; l != &w->conns; l = l->next)
        bkc_cut(bkc_of_link(l));
    for (l = w->timers.next; l != &w->timers; l = l->next)
        bkt_of_link(l)->silenced = 1;
    run_tasks(w, take_tasks(w, 1));
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
    if (w->perf)
        hg_perf_add(&w->perf->idle_ns, t1 - t0);
    handle_ready(w, n, n_slots);
    run_tasks(w, take_tasks(w, 0));
    if (rt_base_stopping(&w->rt->base) && !w->stopping)
        worker_stop(w);
    check_timeouts(w);
    bkc_reap(w);
    bkt_sweep(w);
    w->turn++;
    w->now = rt_now_ns();
    if (w->perf) {
        hg_perf_add(&w->perf->busy_ns, w->now - t1);
        hg_perf_add(&w->perf->turns, 1);
        hg_perf_add(&w->perf->events, w->events);
    }
    w->events = 0;
}

void bkw_main(void *arg)
{
    bkw *w = arg;
    rt_link *l;

    tls_worker = w;
    w->now = rt_now_ns();
    while (!w->stopping)
        one_turn(w);
    /* on_closed of the cut connections may have stopped timers; free the rest */
    bkc_reap(w);
    for (l = w->timers.next; l != &w->timers; l = l->next)
        bkt_of_link(l)->dead = 1;
    bkt_sweep(w);
    tls_worker = NULL;
    rt_base_worker_exited(&w->rt->base);
}

int bkw_init(bkrt *rt, bkw *w, int32_t index)
{
    char name[32];

    memset(w, 0, sizeof *w);
    w->rt = rt;
    w->index = index;
    rt_list_init(&w->conns);
    rt_list_init(&w->timers);
    rt_list_init(&w->slots);
    rt_list_init(&w->reap);
    pthread_mutex_init(&w->mu, NULL);
    w->efd = -1;
    w->rbuf_len = rt->base.cfg.read_buffer;
    w->rbuf = malloc(w->rbuf_len);
    if (!w->rbuf) {
        pthread_mutex_destroy(&w->mu);
        return HG_ENOMEM;
    }
    w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->efd < 0 || grow_poll_set(w, 64) != 0) {
        bkw_fini(w);
        return HG_ENOMEM;
    }
    snprintf(name, sizeof name, "blocking-%d", (int)index);
    if (rt->base.host->perf_register(rt->base.host, name, &w->perf) != 0)
        w->perf = NULL;
    return 0;
}

void bkw_fini(bkw *w)
{
    if (!w->rbuf)
        return;
    if (w->efd >= 0)
        close(w->efd);
    pthread_mutex_destroy(&w->mu);
    free(w->pfd);
    free(w->pitem);
    free(w->rbuf);
    w->rbuf = NULL;
}

void bkw_cut_owner(void *arg)
{
    rt_owner *o = arg;
    bkw *w = bkw_current((bkrt *)o->rt);
    rt_link *l;
    uint32_t n = 0;

    for (l = w->conns.next; l != &w->conns; l = l->next) {
        if (bkc_owner(bkc_of_link(l)) == o)
            n += (uint32_t)bkc_cut(bkc_of_link(l));
    }
    for (l = w->timers.next; l != &w->timers; l = l->next) {
        if (bkt_of_link(l)->o == o)
            bkt_of_link(l)->silenced = 1;
    }
    __atomic_fetch_add(&o->cut, n, __ATOMIC_RELAXED);
    rt_owner_release(o);
}

void bkw_free_owner_timers(void *arg)
{
    rt_owner *o = arg;
    bkw *w = bkw_current((bkrt *)o->rt);
    rt_link *l;

    for (l = w->timers.next; l != &w->timers; l = l->next) {
        if (bkt_of_link(l)->o == o)
            bkt_of_link(l)->dead = 1;
    }
    rt_owner_release(o);
}
