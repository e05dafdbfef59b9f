/* rt_worker.c - the worker core both modes share: the task queue other threads post to (a
 * mutex-guarded list; the mode's wake makes the loop look), the calling thread's worker, the
 * thread entry, and hg_net's workers/current_worker/post. */
#include "rt.h"

#include <stdio.h>
#include <stdlib.h>

static __thread rt_worker *tls_worker;

int rt_worker_init(rt_base *b, rt_worker *w, int32_t index)
{
    char name[32];

    w->base = b;
    w->index = index;
    w->rbuf_len = b->cfg.read_buffer;
    w->rbuf = malloc(w->rbuf_len);
    if (!w->rbuf)
        return HG_ENOMEM;
    rt_list_init(&w->slots);
    pthread_mutex_init(&w->mu, NULL);
    snprintf(name, sizeof name, "%s-%d", b->mode->name, (int)index);
    if (b->host->perf_register(b->host, name, &w->perf) != 0)
        w->perf = NULL;
    return 0;
}

void rt_worker_fini(rt_worker *w)
{
    if (!w->rbuf)
        return;
    pthread_mutex_destroy(&w->mu);
    free(w->rbuf);
    w->rbuf = NULL;
}

rt_worker *rt_worker_current(const rt_base *b)
{
    rt_worker *w = tls_worker;
    return w && w->base == b ? w : NULL;
}

void rt_worker_main(void *arg)
{
    rt_worker *w = arg;
    rt_base *b = w->base;

    tls_worker = w;
    b->mode->worker_run(w);
    tls_worker = NULL;
    rt_base_worker_exited(b);
}

int rt_worker_post(rt_worker *w, void (*fn)(void *), void *arg, rt_owner *owner)
{
    rt_task *t = malloc(sizeof *t);
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
        /* The worker takes the whole list, so one wake-up per batch is enough. Under mu: a
         * mode may free what wake uses once it has closed the queue under mu. */
        if (!w->head)
            w->base->mode->wake(w);
        if (w->tail)
            w->tail->next = t;
        else
            w->head = t;
        w->tail = t;
    }
    pthread_mutex_unlock(&w->mu);
    if (rc != 0)
        free(t);
    return rc;
}

void rt_worker_wake(rt_worker *w)
{
    pthread_mutex_lock(&w->mu);
    if (!w->closed)
        w->base->mode->wake(w);
    pthread_mutex_unlock(&w->mu);
}

void rt_worker_run_tasks(rt_worker *w, int close_queue)
{
    rt_task *t, *next;

    pthread_mutex_lock(&w->mu);
    t = w->head;
    w->head = w->tail = NULL;
    if (close_queue)
        w->closed = 1;
    pthread_mutex_unlock(&w->mu);
    for (; t; t = next) {
        next = t->next;
        w->events++;
        t->fn(t->arg);
        if (t->owner)
            rt_owner_release(t->owner);
        free(t);
    }
}

uint32_t rt_net_workers(const hg_net *n)
{
    return rt_base_of(n)->n_workers;
}

int32_t rt_net_current_worker(const hg_net *n)
{
    rt_worker *w = rt_worker_current(rt_base_of(n));
    return w ? w->index : -1;
}

int rt_net_post(const hg_net *n, int32_t worker, void (*fn)(void *arg), void *arg)
{
    rt_base *b = rt_base_of(n);
    rt_owner *o = rt_owner_of(n);

    if (!fn || worker < 0 || (uint32_t)worker >= b->n_workers || !b->started)
        return HG_EINVAL;
    if (rt_owner_closing(o))
        return HG_ECLOSED;
    rt_owner_hold(o);
    if (rt_worker_post(rt_worker_at(b, (uint32_t)worker), fn, arg, o) != 0) {
        rt_owner_release(o);
        return HG_ECLOSED;
    }
    return 0;
}

int rt_connect_check(const hg_net *n, const char *addr, const hg_conn_handler *h,
                     struct sockaddr_storage *ss, rt_worker **w)
{
    rt_base *b = rt_base_of(n);
    socklen_t len;

    if (!h || rt_addr_parse(addr, ss, &len) != 0)
        return HG_EINVAL;
    if (rt_owner_closing(rt_owner_of(n)) || rt_base_stopping(b) || !b->started)
        return HG_ECLOSED;
    *w = rt_worker_current(b);
    if (*w && (*w)->stopping)
        return HG_ECLOSED;
    return 0;
}

int rt_timer_check(const hg_net *n, void (*cb)(void *ud, hg_timer *t), rt_worker **w)
{
    if (!cb)
        return HG_EINVAL;
    *w = rt_worker_current(rt_base_of(n));
    if (!*w)
        return HG_ESTATE; /* timers live on a worker's loop: post there first */
    if ((*w)->stopping || rt_owner_closing(rt_owner_of(n)))
        return HG_ECLOSED;
    return 0;
}
