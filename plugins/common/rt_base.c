/* rt_base.c - what a runtime-mode instance does the same way in both modes: config, the stop
 * flag, join with a timeout, byte totals, net_open and net_close's two phases, and `stats`. */
#include "rt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int rt_base_init(rt_base *b, const rt_mode *m, const hg_host *h, const hg_config *cfg)
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

void rt_base_fini(rt_base *b)
{
    rt_owner *o, *next;

    for (o = b->owners; o; o = next) {
        next = o->next;
        while (!rt_list_empty(&o->listeners))
            b->mode->close_listener(o->listeners.next);
        rt_owner_fini(o);
        free(o);
    }
    b->owners = NULL;
    pthread_cond_destroy(&b->cv);
    pthread_mutex_destroy(&b->mu);
}

int rt_base_request_stop(rt_base *b)
{
    return __atomic_exchange_n(&b->stop, 1, __ATOMIC_ACQ_REL) == 0 && b->started;
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

int rt_base_join(rt_base *b, uint64_t timeout_ns)
{
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
        hg_thread **t = b->mode->thread(b, i);
        b->host->thread_join(b->host, *t);
        *t = NULL;
    }
    b->joined = 1;
    return 0;
}

uint64_t rt_base_bytes_sent(rt_base *b)
{
    uint64_t n = 0;
    uint32_t i;

    for (i = 0; i < b->n_workers; i++)
        n += __atomic_load_n(&b->mode->totals(b, i)->out, __ATOMIC_RELAXED);
    return n;
}

uint64_t rt_base_bytes_received(rt_base *b)
{
    uint64_t n = 0;
    uint32_t i;

    for (i = 0; i < b->n_workers; i++)
        n += __atomic_load_n(&b->mode->totals(b, i)->in, __ATOMIC_RELAXED);
    return n;
}

int rt_base_net_open(rt_base *b, const hg_host *owner, const hg_net **out)
{
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
        if (b->mode->post(b, i, fn, o) != 0)
            rt_owner_release(o);
    }
    rt_owner_wait_idle(o);
}

uint32_t rt_base_net_close(rt_base *b, const hg_net *net)
{
    rt_owner *o = rt_owner_of(net), **p;
    uint32_t cut;

    __atomic_store_n(&o->closing, 1, __ATOMIC_RELEASE);
    while (!rt_list_empty(&o->listeners))
        b->mode->close_listener(o->listeners.next);
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

int rt_base_command(rt_base *b, const char *verb, char *reply, uint32_t cap, uint32_t *len)
{
    char buf[256 + RT_MAX_WORKERS * 24];
    size_t n;
    uint32_t i;

    if (strcmp(verb, "stats") != 0)
        return HG_ENOTSUP;
    n = (size_t)snprintf(buf, sizeof buf,
                         "{\"mode\":\"%s\",\"workers\":%u,\"bytes_sent\":%llu,"
                         "\"bytes_received\":%llu,\"connections\":[",
                         b->mode->name, b->n_workers,
                         (unsigned long long)rt_base_bytes_sent(b),
                         (unsigned long long)rt_base_bytes_received(b));
    for (i = 0; i < b->n_workers && n < sizeof buf - 32; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%llu", i ? "," : "",
                              (unsigned long long)b->mode->conns(b, i));
    n += (size_t)snprintf(buf + n, sizeof buf - n, "]}");
    *len = (uint32_t)n;
    if (n + 1 > cap)
        return HG_ENOSPC;
    memcpy(reply, buf, n + 1);
    return 0;
}
