/* uv_worker.c - one uv worker: its loop, the wake-up for the task queue (uv_async_send; the
 * queue itself is in ../common/rt_worker.c), per-turn perf accounting, the stop sequence and
 * net_close's per-worker phases. */
#include "uvrt.h"


/* rt_mode.wake, under the queue's mutex: the worker closes `async` only after closing the queue
 * under that mutex, so a wake never meets a closed handle. */
void uvw_wake(rt_worker *rw)
{
    uv_async_send(&((uvw *)rw)->async);
}

/* Cuts everything on this worker. Tasks accepted before the queue closes still run (a post that
 * returned 0 always runs); they find the worker stopping, so they start nothing new. */
static void worker_stop(uvw *w)
{
    rt_link *l, *next;

    w->core.stopping = 1;
    rt_worker_close_slots(&w->core);
    for (l = w->conns.next; l != &w->conns; l = next) {
        next = l->next;
        uvc_cut(uvc_of_link(l));
    }
    for (l = w->timers.next; l != &w->timers; l = l->next)
        uv_timer_stop(&uvt_of_link(l)->t);
    rt_worker_run_tasks(&w->core, 1);
    uv_close((uv_handle_t *)&w->async, NULL);
    uv_close((uv_handle_t *)&w->prepare, NULL);
    uv_close((uv_handle_t *)&w->check, NULL);
    uv_close((uv_handle_t *)&w->idle, NULL);
}

static void on_async(uv_async_t *a)
{
    uvw *w = a->data;

    uvw_awake(w);
    if (w->core.stopping)
        return;
    rt_worker_run_tasks(&w->core, 0);
    if (rt_base_stopping(w->core.base))
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
    if (!w->core.perf)
        return;
    hg_perf_add(&w->core.perf->idle_ns, d_idle);
    hg_perf_add(&w->core.perf->busy_ns, d_all > d_idle ? d_all - d_idle : 0);
    hg_perf_add(&w->core.perf->turns, w->turn - w->turns_seen);
    hg_perf_add(&w->core.perf->events, w->core.events - w->events_seen);
    w->idle_seen = w->idle_acc;
    w->last_check_ns = now;
    w->turns_seen = w->turn;
    w->events_seen = w->core.events;
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

int uvw_init(rt_base *b, rt_worker *rw, int32_t index)
{
    uvw *w = (uvw *)rw;

    rt_list_init(&w->conns);
    rt_list_init(&w->timers);
    rt_list_init(&w->deferred);
    rt_list_init(&w->dirty);
    if (uv_loop_init(&w->loop) != 0)
        return HG_ENOMEM;
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
    return 0;
}

/* Frees what uvw_init made, for a worker whose thread never ran (or has exited). */
void uvw_fini(rt_worker *rw)
{
    uvw *w = (uvw *)rw;

    if (w->core.closed)
        return; /* the thread ran and closed its loop */
    /* never ran: close the handles the thread would have closed */
    uv_close((uv_handle_t *)&w->async, NULL);
    uv_close((uv_handle_t *)&w->prepare, NULL);
    uv_close((uv_handle_t *)&w->check, NULL);
    uv_close((uv_handle_t *)&w->idle, NULL);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    uv_loop_close(&w->loop);
}

void uvw_run(rt_worker *rw)
{
    uvw *w = (uvw *)rw;
    rt_link *l;

    w->last_check_ns = uv_hrtime();
    /* request_stop may have come before the async handle could see it */
    if (rt_base_stopping(w->core.base))
        worker_stop(w);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    /* every connection is closed; timers the pipeline never stopped are freed now */
    while (!rt_list_empty(&w->timers)) {
        l = w->timers.next;
        uvt_free(uvt_of_link(l));
    }
    uv_run(&w->loop, UV_RUN_DEFAULT);
    uv_loop_close(&w->loop);
}

void uvw_cut_owner(void *arg)
{
    rt_owner *o = arg;
    uvw *w = uvw_current(o->rt);
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
    uvw *w = uvw_current(o->rt);
    rt_link *l, *next;

    for (l = w->timers.next; l != &w->timers; l = next) {
        next = l->next;
        if (uvt_of_link(l)->o == o)
            uvt_free(uvt_of_link(l));
    }
    rt_owner_release(o);
}
