/* bk_plugin.c - the blocking runtime mode's descriptor and ops: create, start (one poll loop per
 * worker thread), request_stop, join, byte totals, net_open/net_close and the `stats` command. The
 * parts both modes share are in ../common/rt_base.c. */
#include "bk.h"

#include <stdio.h>
#include <stdlib.h>

static bkw *worker_of(rt_base *b, uint32_t i)
{
    return &((bkrt *)b)->workers[i];
}

static int mode_post(rt_base *b, uint32_t i, void (*fn)(void *), void *arg)
{
    return bkw_post(worker_of(b, i), fn, arg, NULL);
}

static rt_totals *mode_totals(rt_base *b, uint32_t i)
{
    return &worker_of(b, i)->totals;
}

static uint64_t mode_conns(rt_base *b, uint32_t i)
{
    return __atomic_load_n(&worker_of(b, i)->n_conns, __ATOMIC_RELAXED);
}

static hg_thread **mode_thread(rt_base *b, uint32_t i)
{
    return &worker_of(b, i)->thread;
}

static const rt_mode bk_mode = {
    .name = "blocking",
    .tmpl = &bk_net_template,
    .post = mode_post,
    .close_listener = bkl_close,
    .cut_owner = bkw_cut_owner,
    .free_owner_timers = bkw_free_owner_timers,
    .totals = mode_totals,
    .conns = mode_conns,
    .thread = mode_thread,
};

static int bk_create(const hg_host *host, const hg_config *cfg, void **out)
{
    bkrt *rt = calloc(1, sizeof *rt);
    int rc;

    if (!rt)
        return HG_ENOMEM;
    rc = rt_base_init(&rt->base, &bk_mode, host, cfg);
    if (rc != 0) {
        free(rt);
        return rc;
    }
    *out = rt;
    return 0;
}

static void free_workers(bkrt *rt)
{
    uint32_t i;

    for (i = 0; i < rt->base.n_workers; i++)
        bkw_fini(&rt->workers[i]);
    free(rt->workers);
    rt->workers = NULL;
    rt->base.n_workers = 0;
}

static void bk_request_stop(void *inst)
{
    bkrt *rt = inst;
    uint32_t i;

    if (!rt_base_request_stop(&rt->base))
        return;
    for (i = 0; i < rt->base.n_workers; i++)
        bkw_wake(&rt->workers[i]);
}

static int bk_join(void *inst, uint64_t timeout_ns)
{
    return rt_base_join(inst, timeout_ns);
}

static void bk_destroy(void *inst)
{
    bkrt *rt = inst;

    if (rt->base.started && !rt->base.joined) {
        bk_request_stop(rt);
        rt_base_join(&rt->base, UINT64_MAX);
    }
    rt_base_fini(&rt->base);
    free_workers(rt);
    free(rt);
}

static int bk_start(void *inst, uint32_t workers, const int32_t *cores, uint32_t n_cores)
{
    bkrt *rt = inst;
    char name[32];
    uint32_t i;
    int rc;

    if (rt->base.started || rt_base_stopping(&rt->base))
        return HG_ESTATE;
    if (workers == 0 || workers > RT_MAX_WORKERS)
        return HG_EINVAL;
    rt->workers = aligned_alloc(64, sizeof(bkw) * workers);
    if (!rt->workers)
        return HG_ENOMEM;
    for (i = 0; i < workers; i++) {
        rc = bkw_init(rt, &rt->workers[i], (int32_t)i);
        if (rc != 0)
            goto fail;
        rt->base.n_workers = i + 1;
    }
    rt->base.started = 1;
    for (i = 0; i < workers; i++) {
        snprintf(name, sizeof name, "blocking-%u", i);
        rc = rt->base.host->thread_spawn(rt->base.host, name,
                                         n_cores ? cores[i % n_cores] : HG_CORE_ANY, bkw_main,
                                         &rt->workers[i], &rt->workers[i].thread);
        if (rc != 0)
            goto fail_threads;
    }
    return 0;
fail_threads:
    /* stop and join the threads that run; the others never ran */
    __atomic_store_n(&rt->base.stop, 1, __ATOMIC_RELEASE);
    while (i > 0) {
        i--;
        bkw_wake(&rt->workers[i]);
        rt->base.host->thread_join(rt->base.host, rt->workers[i].thread);
        rt->workers[i].thread = NULL;
    }
    rt->base.started = 0;
fail:
    free_workers(rt);
    return rc;
}

static uint64_t bk_bytes_sent(void *inst)
{
    return rt_base_bytes_sent(inst);
}

static uint64_t bk_bytes_received(void *inst)
{
    return rt_base_bytes_received(inst);
}

static int bk_net_open(void *inst, const hg_host *owner, const hg_net **out)
{
    return rt_base_net_open(inst, owner, out);
}

static uint32_t bk_net_close(void *inst, const hg_net *net)
{
    return rt_base_net_close(inst, net);
}

static int bk_command(void *inst, const char *verb, const hg_config *args, char *reply,
                      uint32_t cap, uint32_t *len)
{
    return rt_base_command(inst, verb, reply, cap, len);
}

static const hg_runtime_mode_ops bk_ops = {
    .struct_size = sizeof(hg_runtime_mode_ops),
    .create = bk_create,
    .destroy = bk_destroy,
    .start = bk_start,
    .request_stop = bk_request_stop,
    .join = bk_join,
    .bytes_sent = bk_bytes_sent,
    .bytes_received = bk_bytes_received,
    .net_open = bk_net_open,
    .net_close = bk_net_close,
    .command = bk_command,
};

static const hg_engine bk_engines[] = { {
    .struct_size = sizeof(hg_engine),
    .kind = HG_KIND_RUNTIME_MODE,
    .name = "blocking",
    .summary = "blocking runtime: worker threads with blocking sockets and a poll loop (debugging, small loads)",
    .ops = &bk_ops,
    .config_keys = rt_config_keys,
} };

HG_EXPORT const hg_plugin hangar_plugin = {
    HG_PLUGIN_INIT,
    .id = "org.hangar.runtime.blocking",
    .version = "0.1.0",
    .summary = "the blocking runtime mode",
    .n_engines = 1,
    .engines = bk_engines,
};
