/* rt_base.c - the runtime-mode ops, the same in both modes: create, start (the worker threads),
 * the stop flag, join with a timeout, byte totals, net_open and net_close's two phases, `stats`.
 * What differs (the loop, sockets, timers) is behind rt_this_mode. */
#include "rt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int base_init(rt_base *b, const rt_mode *m, const hg_host *h, const hg_config *cfg)
{
    pthread_condattr_t ca;
    int rc;

    memset(b, 0, sizeof *b);
    b->mode = m;
    b->host = h;
    rc = rt_config_read(h, cfg, &b->cfg);
    if (rc != 0)
        return rc;
    pthread_mutex_init(&b->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&b->cv, &ca);
    pthread_condattr_destroy(&ca);
    return 0;
}

static void base_fini(rt_base *b)
{
    rt_owner *o, *next;

    for (o = b->owners; o; o = next) {
        next = o->next;
        while (!rt_list_empty(&o->listeners))
            rt_listener_close(o->listeners.next);
        rt_owner_fini(o);
        free(o);
    }
    b->owners = NULL;
    pthread_cond_destroy(&b->cv);
    pthread_mutex_destroy(&b->mu);
}

static void free_workers(rt_base *b)
{
    uint32_t i;

    for (i = 0; i < b->n_workers; i++) {
        b->mode->worker_fini(rt_worker_at(b, i));
        rt_worker_fini(rt_worker_at(b, i));
    }
    free(b->workers);
    b->workers = NULL;
    b->n_workers = 0;
}

static void rt_request_stop(void *inst)
{
    rt_base *b = inst;
    uint32_t i;

    if (__atomic_exchange_n(&b->stop, 1, __ATOMIC_ACQ_REL) != 0 || !b->started)
        return;
    for (i = 0; i < b->n_workers; i++)
        rt_worker_wake(rt_worker_at(b, i));
}

void rt_base_worker_exited(rt_base *b)
{
    pthread_mutex_lock(&b->mu);
    b->exited++;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

static struct timespec deadline(uint64_t timeout_ns)
{
    struct timespec ts;
    uint64_t due;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    due = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    due = timeout_ns > UINT64_MAX - due ? UINT64_MAX : due + timeout_ns;
    ts.tv_sec = (time_t)(due / 1000000000u);
    ts.tv_nsec = (long)(due % 1000000000u);
    return ts;
}

static int rt_join(void *inst, uint64_t timeout_ns)
{
    rt_base *b = inst;
    struct timespec ts = deadline(timeout_ns);
    uint32_t i;
    int timed_out = 0;

    if (!b->started || b->joined)
        return 0;
    pthread_mutex_lock(&b->mu);
    while (b->exited < b->n_workers && !timed_out) {
        if (timeout_ns == UINT64_MAX)
            pthread_cond_wait(&b->cv, &b->mu);
        else if (pthread_cond_timedwait(&b->cv, &b->mu, &ts) == ETIMEDOUT)
            timed_out = b->exited < b->n_workers;
    }
    pthread_mutex_unlock(&b->mu);
    if (timed_out)
        return HG_ETIMEDOUT;
    for (i = 0; i < b->n_workers; i++) {
        b->host->thread_join(b->host, rt_worker_at(b, i)->thread);
        rt_worker_at(b, i)->thread = NULL;
    }
    b->joined = 1;
    return 0;
}

static uint64_t rt_bytes_sent(void *inst)
{
    rt_base *b = inst;
    uint64_t n = 0;
    uint32_t i;

    for (i = 0; i < b->n_workers; i++)
        n += __atomic_load_n(&rt_worker_at(b, i)->totals.out, __ATOMIC_RELAXED);
    return n;
}

static uint64_t rt_bytes_received(void *inst)
{
    rt_base *b = inst;
    uint64_t n = 0;
    uint32_t i;

    for (i = 0; i < b->n_workers; i++)
        n += __atomic_load_n(&rt_worker_at(b, i)->totals.in, __ATOMIC_RELAXED);
    return n;
}

static int rt_net_open(void *inst, const hg_host *owner, const hg_net **out)
{
    rt_base *b = inst;
    rt_owner *o;
    int rc;

    if (!b->started)
        return HG_ESTATE;
    o = malloc(sizeof *o);
    if (!o)
        return HG_ENOMEM;
    rc = rt_owner_init(o, owner, b->mode->tmpl, b);
    if (rc != 0) {
        free(o);
        return rc;
    }
    o->next = b->owners;
    b->owners = o;
    *out = &o->net;
    return 0;
}

/* Runs fn(owner) on every worker that still runs, then waits until each has run and every
 * connection and post of the owner is finished. */
static void on_every_worker(rt_base *b, rt_owner *o, void (*fn)(void *))
{
    uint32_t i;

    for (i = 0; i < b->n_workers; i++) {
        rt_owner_hold(o);
        if (rt_worker_post(rt_worker_at(b, i), fn, o, NULL) != 0)
            rt_owner_release(o);
    }
    rt_owner_wait_idle(o);
}

static uint32_t rt_net_close(void *inst, const hg_net *net)
{
    rt_base *b = inst;
    rt_owner *o = rt_owner_of(net), **p;
    uint32_t cut;

    __atomic_store_n(&o->closing, 1, __ATOMIC_RELEASE);
    while (!rt_list_empty(&o->listeners))
        rt_listener_close(o->listeners.next);
    /* phase 1: cut connections, silence timers; wait for every on_closed and queued post */
    on_every_worker(b, o, b->mode->cut_owner);
    /* phase 2: free the timers the pipeline did not stop (nothing can reach them any more) */
    on_every_worker(b, o, b->mode->free_owner_timers);
    cut = __atomic_load_n(&o->cut, __ATOMIC_RELAXED);
    for (p = &b->owners; *p; p = &(*p)->next) {
        if (*p == o) {
            *p = o->next;
            break;
        }
    }
    rt_owner_fini(o);
    free(o);
    return cut;
}

static int rt_command(void *inst, const char *verb, const hg_config *args, char *reply,
                      uint32_t cap, uint32_t *len)
{
    rt_base *b = inst;
    char buf[256 + RT_MAX_WORKERS * 24];
    size_t n;
    uint32_t i;

    if (strcmp(verb, "stats") != 0)
        return HG_ENOTSUP;
    n = (size_t)snprintf(buf, sizeof buf,
                         "{\"mode\":\"%s\",\"workers\":%u,\"bytes_sent\":%llu,"
                         "\"bytes_received\":%llu,\"connections\":[",
                         b->mode->name, b->n_workers,
                         (unsigned long long)rt_bytes_sent(b),
                         (unsigned long long)rt_bytes_received(b));
    for (i = 0; i < b->n_workers && n < sizeof buf - 32; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%llu", i ? "," : "",
                              (unsigned long long)__atomic_load_n(&rt_worker_at(b, i)->n_conns,
                                                                __ATOMIC_RELAXED));
    n += (size_t)snprintf(buf + n, sizeof buf - n, "]}");
    *len = (uint32_t)n;
    if (n + 1 > cap)
        return HG_ENOSPC;
    memcpy(reply, buf, n + 1);
    return 0;
}

static int rt_create(const hg_host *host, const hg_config *cfg, void **out)
{
    rt_base *b;
    int rc;

    if (rt_this_mode.usable && (rc = rt_this_mode.usable(host, cfg)) != 0)
        return rc;
    b = calloc(1, sizeof *b);
    if (!b)
        return HG_ENOMEM;
    rc = base_init(b, &rt_this_mode, host, cfg);
    if (rc != 0) {
        free(b);
        return rc;
    }
    *out = b;
    return 0;
}

static void rt_destroy(void *inst)
{
    rt_base *b = inst;

    if (b->started && !b->joined) {
        rt_request_stop(b);
        rt_join(b, UINT64_MAX);
    }
    base_fini(b);
    free_workers(b);
    free(b);
}

static int init_workers(rt_base *b, uint32_t workers)
{
    size_t size = b->mode->worker_size;
    rt_worker *w;
    uint32_t i;
    int rc;

    b->workers = aligned_alloc(64, size * workers);
    if (!b->workers)
        return HG_ENOMEM;
    memset(b->workers, 0, size * workers);
    for (i = 0; i < workers; i++) {
        w = rt_worker_at(b, i);
        rc = rt_worker_init(b, w, (int32_t)i);
        if (rc != 0)
            return rc;
        rc = b->mode->worker_init(b, w, (int32_t)i);
        if (rc != 0) {
            rt_worker_fini(w);
            return rc;
        }
        b->n_workers = i + 1;
    }
    return 0;
}

static int rt_start(void *inst, uint32_t workers, const int32_t *cores, uint32_t n_cores)
{
    rt_base *b = inst;
    char name[32];
    uint32_t i;
    int rc;

    if (b->started || rt_base_stopping(b))
        return HG_ESTATE;
    if (workers == 0 || workers > RT_MAX_WORKERS)
        return HG_EINVAL;
    rc = init_workers(b, workers);
    if (rc != 0)
        goto fail;
    b->started = 1;
    for (i = 0; i < workers; i++) {
        snprintf(name, sizeof name, "%s-%u", b->mode->name, i);
        rc = b->host->thread_spawn(b->host, name, n_cores ? cores[i % n_cores] : HG_CORE_ANY,
                                   rt_worker_main, rt_worker_at(b, i),
                                   &rt_worker_at(b, i)->thread);
        if (rc != 0)
            goto fail_threads;
    }
    return 0;
fail_threads:
    /* stop and join the threads that run; the others never ran */
    __atomic_store_n(&b->stop, 1, __ATOMIC_RELEASE);
    while (i > 0) {
        i--;
        rt_worker_wake(rt_worker_at(b, i));
        b->host->thread_join(b->host, rt_worker_at(b, i)->thread);
        rt_worker_at(b, i)->thread = NULL;
    }
    b->started = 0;
fail:
    free_workers(b);
    return rc;
}

const hg_runtime_mode_ops rt_mode_ops = {
    .struct_size = sizeof(hg_runtime_mode_ops),
    .create = rt_create,
    .destroy = rt_destroy,
    .start = rt_start,
    .request_stop = rt_request_stop,
    .join = rt_join,
    .bytes_sent = rt_bytes_sent,
    .bytes_received = rt_bytes_received,
    .net_open = rt_net_open,
    .net_close = rt_net_close,
    .command = rt_command,
};
