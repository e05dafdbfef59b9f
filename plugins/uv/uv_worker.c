/* uv_worker.c - one uv worker: its loop, the task queue other threads post to (a mutex-guarded
 * list plus uv_async_send: the loop sees every wake-up), per-turn perf accounting, the stop
 * sequence and net_close's per-worker phases. */
#include "uvrt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static __thread uvw *tls_worker;

uvw *uvw_current(const uvrt *rt)
{
    uvw *w = tls_worker;
    return w && w->rt == rt ? w : NULL;
}

int uvw_post(uvw *w, void (*fn)(void *), void *arg, rt_owner *owner)
{
    uv_task *t = malloc(sizeof *t);
    int rc = 0;

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
        if (w->tail)
            w->tail->next = t;
        else
            w->head = t;
        w->tail = t;
        /* under mu: the worker closes `async` only after setting `closed` under mu */
        uv_async_send(&w->async);
    }
    pthread_mutex_unlock(&w->mu);
    if (rc != 0)
        free(t);
    return rc;
}

void uvw_wake_stop(uvw *w)
{
    pthread_mutex_lock(&w->mu);
    if (!w->closed)
        uv_async_send(&w->async);
    pthread_mutex_unlock(&w->mu);
}

static void run_tasks(uvw *w, uv_task *t)
{
    uv_task *next;

    for (; t; t = next) {
        next = t->next;
        w->events++;
        t->fn(t->arg);
        if (t->owner)
            rt_owner_release(t->owner);
        free(t);
    }
}

static uv_task *take_tasks(uvw *w, int close_queue)
{
    uv_task *t;

    pthread_mutex_lock(&w->mu);
    t = w->head;
    w->head = w->tail = NULL;
    if (close_queue)
        w->closed = 1;
    pthread_mutex_unlock(&w->mu);
    return t;
}

/* Cuts everything on this worker. Tasks accepted before the queue closes still run (a post that
 * returned 0 always runs); they find the worker stopping, so they start nothing new. */
static void worker_stop(uvw *w)
{
    rt_link *l, *next;

    w->stopping = 1;
    for (l = w->slots.next; l != &w->slots; l = next) {
        next = l->next;
        uvl_slot_close(RT_CONTAINER(l, uv_slot, link));
    }
    for (l = w->conns.next; l != &w->conns; l = next) {
        next = l->next;
        uvc_cut(uvc_of_link(l));
    }
    for (l = w->timers.next; l != &w->timers; l = l->next)
        uv_timer_stop(&uvt_of_link(l)->t);
    run_tasks(w, take_tasks(w, 1));
    uv_close((uv_handle_t *)&w->async, NULL);
    uv_close((uv_handle_t *)&w->prepare, NULL);
    uv_close((uv_handle_t *)&w->check, NULL);
    uv_close((uv_handle_t *)&w->idle, NULL);
}

static void on_async(uv_async_t *a)
{
    uvw *w = a->data;

    uvw_awake(w);
    if (w->stopping)
        return;
    run_tasks(w, take_tasks(w, 0));
    if (__atomic_load_n(&w->rt->base.stop, __ATOMIC_ACQUIRE))
        worker_stop(w);
}

/* Idle time: the prepare handle runs just before the loop polls; the first callback of the poll
 * phase (uvw_awake) or the check handle after it ends the wait. (libuv's own idle-time metric
 * is not used: in this libuv it makes every poll a zero-timeout epoll_wait first, one more
 * syscall per turn.) */
static void on_prepare(uv_prepare_t *p)
{
    uvw *w = p->data;

    uvc_flush_counts(w); /* bytes of the close phase, before the loop may block */
    w->turn++;
    w->t_poll = uv_hrtime();
    w->in_poll = 1;
}

/* Once per turn, after the poll: publishes busy/idle time, turns and events. */
static void on_check(uv_check_t *ch)
{
    uvw *w = ch->data;
    uint64_t now, d_all, d_idle;

    uvw_awake(w);
    uvc_flush_counts(w);
    now = uv_hrtime();
    d_all = now - w->last_check_ns;
    d_idle = w->idle_acc - w->idle_seen;
    if (!w->perf)
        return;
    hg_perf_add(&w->perf->idle_ns, d_idle);
    hg_perf_add(&w->perf->busy_ns, d_all > d_idle ? d_all - d_idle : 0);
    hg_perf_add(&w->perf->turns, w->turn - w->turns_seen);
    hg_perf_add(&w->perf->events, w->events - w->events_seen);
    w->idle_seen = w->idle_acc;
    w->last_check_ns = now;
    w->turns_seen = w->turn;
    w->events_seen = w->events;
}

static void on_idle(uv_idle_t *i)
{
    uvw *w = i->data;
    uvc_resume_deferred(w);
    if (rt_list_empty(&w->deferred))
        uv_idle_stop(i);
}

void uvw_defer(uvw *w, rt_link *l)
{
    rt_list_push(&w->deferred, l);
    uv_idle_start(&w->idle, on_idle);
}

int uvw_init(uvrt *rt, uvw *w, int32_t index)
{
    char name[32];
    int rc;

    memset(w, 0, sizeof *w);
    w->rt = rt;
    w->index = index;
    rt_list_init(&w->conns);
    rt_list_init(&w->timers);
    rt_list_init(&w->slots);
    rt_list_init(&w->deferred);
    rt_list_init(&w->dirty);
    w->rbuf_len = rt->base.cfg.read_buffer;
    w->rbuf = malloc(w->rbuf_len);
    if (!w->rbuf)
        return HG_ENOMEM;
    rc = uv_loop_init(&w->loop);
    if (rc != 0)
        goto fail_buf;
    w->loop.data = w;
    uv_async_init(&w->loop, &w->async, on_async);
    uv_prepare_init(&w->loop, &w->prepare);
    uv_check_init(&w->loop, &w->check);
    uv_idle_init(&w->loop, &w->idle);
    w->async.data = w->prepare.data = w->check.data = w->idle.data = w;
    uv_prepare_start(&w->prepare, on_prepare);
    uv_check_start(&w->check, on_check);
    uv_unref((uv_handle_t *)&w->prepare);
    uv_unref((uv_handle_t *)&w->check);
    pthread_mutex_init(&w->mu, NULL);
    snprintf(name, sizeof name, "uv-%d", (int)index);
    if (rt->base.host->perf_register(rt->base.host, name, &w->perf) != 0)
        w->perf = NULL;
    return 0;
fail_buf:
    free(w->rbuf);
    w->rbuf = NULL;
    return HG_ENOMEM;
}

/* Frees what uvw_init made, for a worker whose thread never ran (or has exited). */
void uvw_fini(uvw *w)
{
    if (!w->rbuf)
        return;
    if (!w->closed) {
        /* never ran: close the handles the thread would have closed */
        uv_close((uv_handle_t *)&w->async, NULL);
        uv_close((uv_handle_t *)&w->prepare, NULL);
        uv_close((uv_handle_t *)&w->check, NULL);
        uv_close((uv_handle_t *)&w->idle, NULL);
        uv_run(&w->loop, UV_RUN_DEFAULT);
        uv_loop_close(&w->loop);
    }
    pthread_mutex_destroy(&w->mu);
    free(w->rbuf);
    w->rbuf = NULL;
}

void uvw_main(void *arg)
{
    uvw *w = arg;
    uvrt *rt = w->rt;
    rt_link *l;

    tls_worker = w;
    w->last_check_ns = uv_hrtime();
    /* request_stop may have come before the async handle could see it */
    if (__atomic_load_n(&rt->base.stop, __ATOMIC_ACQUIRE))
        worker_stop(w);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    /* every connection is closed; timers the pipeline never stopped are freed now */
    while (!rt_list_empty(&w->timers)) {
        l = w->timers.next;
        uvt_free(uvt_of_link(l));
    }
    uv_run(&w->loop, UV_RUN_DEFAULT);
    uv_loop_close(&w->loop);
    tls_worker = NULL;
    rt_base_worker_exited(&rt->base);
}

void uvw_cut_owner(void *arg)
{
    rt_owner *o = arg;
    uvw *w = uvw_current((uvrt *)o->rt);
    rt_link *l, *next;
    uint32_t n = 0;

    for (l = w->conns.next; l != &w->conns; l = next) {
        next = l->next;
        if (uvc_owner(uvc_of_link(l)) != o)
            continue;
        n += (uint32_t)uvc_cut(uvc_of_link(l));
    }
    for (l = w->timers.next; l != &w->timers; l = l->next) {
        if (uvt_of_link(l)->o == o)
            uv_timer_stop(&uvt_of_link(l)->t);
    }
    __atomic_fetch_add(&o->cut, n, __ATOMIC_RELAXED);
    rt_owner_release(o);
}

void uvw_free_owner_timers(void *arg)
{
    rt_owner *o = arg;
    uvw *w = uvw_current((uvrt *)o->rt);
    rt_link *l, *next;

    for (l = w->timers.next; l != &w->timers; l = next) {
        next = l->next;
        if (uvt_of_link(l)->o == o)
            uvt_free(uvt_of_link(l));
    }
    rt_owner_release(o);
}
