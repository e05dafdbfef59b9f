/* uv_plugin.c - the uv runtime mode's descriptor and ops: create, start (one loop per worker
 * thread), request_stop, join, byte totals, net_open/net_close and the `stats` command. */
#include "uvrt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int uv_create(const hg_host *host, const hg_config *cfg, void **out)
{
    uvrt *rt = calloc(1, sizeof *rt);
    pthread_condattr_t ca;
    int rc;

    if (!rt)
        return HG_ENOMEM;
    rt->host = host;
    rc = rt_config_read(host, cfg, &rt->cfg);
    if (rc != 0) {
        free(rt);
        return rc;
    }
    pthread_mutex_init(&rt->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&rt->cv, &ca);
    pthread_condattr_destroy(&ca);
    *out = rt;
    return 0;
}

static void free_workers(uvrt *rt)
{
    uint32_t i;

    for (i = 0; i < rt->n_workers; i++)
        uvw_fini(&rt->workers[i]);
    free(rt->workers);
    rt->workers = NULL;
}

static int uv_join(void *inst, uint64_t timeout_ns);
static void uv_request_stop(void *inst);

static void uv_destroy(void *inst)
{
    uvrt *rt = inst;
    rt_owner *o, *next;

    if (rt->started && !rt->joined) {
        uv_request_stop(rt);
        uv_join(rt, UINT64_MAX);
    }
    for (o = rt->owners; o; o = next) {
        next = o->next; /* net_close never came: the workers are gone, so just free */
        while (o->listeners) {
            hg_listener *l = o->listeners;
            o->listeners = l->next;
            uvl_close(l);
        }
        rt_owner_fini(o);
        free(o);
    }
    free_workers(rt);
    pthread_cond_destroy(&rt->cv);
    pthread_mutex_destroy(&rt->mu);
    free(rt);
}

static int uv_start(void *inst, uint32_t workers, const int32_t *cores, uint32_t n_cores)
{
    uvrt *rt = inst;
    char name[32];
    uint32_t i;
    int rc;

    if (rt->started || __atomic_load_n(&rt->stop, __ATOMIC_ACQUIRE))
        return HG_ESTATE;
    if (workers == 0 || workers > RT_MAX_WORKERS)
        return HG_EINVAL;
    rt->workers = aligned_alloc(64, sizeof(uvw) * workers);
    if (!rt->workers)
        return HG_ENOMEM;
    for (i = 0; i < workers; i++) {
        rc = uvw_init(rt, &rt->workers[i], (int32_t)i);
        if (rc != 0)
            goto fail;
        rt->n_workers = i + 1;
    }
    rt->started = 1;
    for (i = 0; i < workers; i++) {
        snprintf(name, sizeof name, "uv-%u", i);
        rc = rt->host->thread_spawn(rt->host, name, n_cores ? cores[i % n_cores] : HG_CORE_ANY,
                                    uvw_main, &rt->workers[i], &rt->workers[i].thread);
        if (rc != 0)
            goto fail_threads;
    }
    return 0;
fail_threads:
    /* stop and join the ones that run; the others never ran */
    __atomic_store_n(&rt->stop, 1, __ATOMIC_RELEASE);
    while (i > 0) {
        i--;
        uvw_wake_stop(&rt->workers[i]);
        rt->host->thread_join(rt->host, rt->workers[i].thread);
        rt->workers[i].thread = NULL;
    }
    rt->started = 0;
fail:
    free_workers(rt);
    rt->n_workers = 0;
    return rc;
}

static void uv_request_stop(void *inst)
{
    uvrt *rt = inst;
    uint32_t i;

    if (__atomic_exchange_n(&rt->stop, 1, __ATOMIC_ACQ_REL) || !rt->started)
        return;
    for (i = 0; i < rt->n_workers; i++)
        uvw_wake_stop(&rt->workers[i]);
}

static int uv_join(void *inst, uint64_t timeout_ns)
{
    uvrt *rt = inst;
    struct timespec ts;
    uint64_t due;
    uint32_t i;
    int rc = 0;

    if (!rt->started || rt->joined)
        return 0;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    due = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    due = timeout_ns > UINT64_MAX - due ? UINT64_MAX : due + timeout_ns;
    ts.tv_sec = (time_t)(due / 1000000000u);
    ts.tv_nsec = (long)(due % 1000000000u);
    pthread_mutex_lock(&rt->mu);
    while (rt->exited < rt->n_workers && rc == 0) {
        if (timeout_ns == UINT64_MAX)
            pthread_cond_wait(&rt->cv, &rt->mu);
        else if (pthread_cond_timedwait(&rt->cv, &rt->mu, &ts) == ETIMEDOUT)
            rc = HG_ETIMEDOUT;
    }
    if (rt->exited == rt->n_workers)
        rc = 0;
    pthread_mutex_unlock(&rt->mu);
    if (rc != 0)
        return rc;
    for (i = 0; i < rt->n_workers; i++) {
        rt->host->thread_join(rt->host, rt->workers[i].thread);
        rt->workers[i].thread = NULL;
    }
    rt->joined = 1;
    return 0;
}

static uint64_t uv_bytes_sent(void *inst)
{
    uvrt *rt = inst;
    uint64_t n = 0;
    uint32_t i;

    for (i = 0; i < rt->n_workers && rt->started; i++)
        n += __atomic_load_n(&rt->workers[i].totals.out, __ATOMIC_RELAXED);
    return n;
}

static uint64_t uv_bytes_received(void *inst)
{
    uvrt *rt = inst;
    uint64_t n = 0;
    uint32_t i;

    for (i = 0; i < rt->n_workers && rt->started; i++)
        n += __atomic_load_n(&rt->workers[i].totals.in, __ATOMIC_RELAXED);
    return n;
}

static int uv_net_open(void *inst, const hg_host *owner, const hg_net **out)
{
    uvrt *rt = inst;
    rt_owner *o;
    int rc;

    if (!rt->started)
        return HG_ESTATE;
    o = malloc(sizeof *o);
    if (!o)
        return HG_ENOMEM;
    rc = rt_owner_init(o, owner, &uv_net_template, rt);
    if (rc != 0) {
        free(o);
        return rc;
    }
    o->next = rt->owners;
    rt->owners = o;
    *out = &o->net;
    return 0;
}

/* Runs fn(owner) on every worker that still runs, and waits until each has run and every
 * connection and post of the owner is finished. */
static void on_every_worker(uvrt *rt, rt_owner *o, void (*fn)(void *))
{
    uint32_t i;

    for (i = 0; i < rt->n_workers; i++) {
        rt_owner_hold(o);
        if (uvw_post(&rt->workers[i], fn, o, NULL) != 0)
            rt_owner_release(o); /* stopped: it cut everything itself */
    }
    rt_owner_wait_idle(o);
}

static uint32_t uv_net_close(void *inst, const hg_net *net)
{
    uvrt *rt = inst;
    rt_owner *o = rt_owner_of(net), **p;
    hg_listener *l;
    uint32_t cut;

    __atomic_store_n(&o->closing, 1, __ATOMIC_RELEASE);
    while (o->listeners) {
        l = o->listeners;
        o->listeners = l->next;
        uvl_close(l);
    }
    /* phase 1: cut connections, silence timers; wait for every on_closed and queued post */
    on_every_worker(rt, o, uvw_cut_owner);
    /* phase 2: free the timers the pipeline did not stop (none can be touched any more) */
    on_every_worker(rt, o, uvw_free_owner_timers);
    cut = __atomic_load_n(&o->cut, __ATOMIC_RELAXED);
    for (p = &rt->owners; *p; p = &(*p)->next) {
        if (*p == o) {
            *p = o->next;
            break;
        }
    }
    rt_owner_fini(o);
    free(o);
    return cut;
}

static int uv_command(void *inst, const char *verb, const hg_config *args, char *reply,
                      uint32_t cap, uint32_t *len)
{
    uvrt *rt = inst;
    uint64_t conns[RT_MAX_WORKERS];
    uint32_t i;

    if (strcmp(verb, "stats") != 0)
        return HG_ENOTSUP;
    for (i = 0; i < rt->n_workers; i++)
        conns[i] = __atomic_load_n(&rt->workers[i].n_conns, __ATOMIC_RELAXED);
    return rt_stats_reply("uv", rt->n_workers, uv_bytes_sent(rt), uv_bytes_received(rt), conns,
                          reply, cap, len);
}

static const hg_runtime_mode_ops uv_ops = {
    .struct_size = sizeof(hg_runtime_mode_ops),
    .create = uv_create,
    .destroy = uv_destroy,
    .start = uv_start,
    .request_stop = uv_request_stop,
    .join = uv_join,
    .bytes_sent = uv_bytes_sent,
    .bytes_received = uv_bytes_received,
    .net_open = uv_net_open,
    .net_close = uv_net_close,
    .command = uv_command,
};

static const hg_engine uv_engines[] = { {
    .struct_size = sizeof(hg_engine),
    .kind = HG_KIND_RUNTIME_MODE,
    .name = "uv",
    .summary = "libuv runtime: one event loop per worker thread, SO_REUSEPORT listeners",
    .ops = &uv_ops,
    .config_keys = rt_config_keys,
} };

HG_EXPORT const hg_plugin hangar_plugin = {
    HG_PLUGIN_INIT,
    .id = "org.hangar.runtime.uv",
    .version = "0.1.0",
    .summary = "the uv runtime mode",
    .n_engines = 1,
    .engines = uv_engines,
};
