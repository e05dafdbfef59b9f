/* fixture-good.c - a well-formed plugin with one engine of each kind, each doing something small
 * but real: an idle runtime mode, a pipeline that stops at once, a connector whose streams tick
 * and a pass-through processor. init/deinit append to $HG_FIXTURE_GOOD_LOG when it is set, so
 * tests can see the process-wide reference counting. SDK only. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hangar/hangar.h>

static void log_event(const char *what)
{
    const char *path = getenv("HG_FIXTURE_GOOD_LOG");
    FILE *f = path ? fopen(path, "a") : NULL;
    if (!f)
        return;
    fprintf(f, "%s\n", what);
    fclose(f);
}

static int good_init(void)
{
    log_event("init");
    return 0;
}

static void good_deinit(void)
{
    log_event("deinit");
}

/* ---- runtime mode "fixture-idle": workers that wait until asked to stop; no network ---- */

typedef struct idle {
    const hg_host *host;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int stopping;
    uint32_t n_threads;
    hg_thread **threads;
} idle;

static int idle_create(const hg_host *host, const hg_config *cfg, void **out)
{
    idle *m = calloc(1, sizeof(*m));
    (void)cfg;
    if (!m)
        return HG_ENOMEM;
    m->host = host;
    pthread_mutex_init(&m->lock, NULL);
    pthread_cond_init(&m->cond, NULL);
    *out = m;
    return 0;
}

static void idle_destroy(void *inst)
{
    idle *m = inst;
    pthread_cond_destroy(&m->cond);
    pthread_mutex_destroy(&m->lock);
    free(m->threads);
    free(m);
}

static void idle_worker(void *arg)
{
    idle *m = arg;
    pthread_mutex_lock(&m->lock);
    while (!m->stopping)
        pthread_cond_wait(&m->cond, &m->lock);
    pthread_mutex_unlock(&m->lock);
}

static int idle_start(void *inst, uint32_t workers, const int32_t *cores, uint32_t n_cores)
{
    idle *m = inst;
    m->threads = calloc(workers ? workers : 1, sizeof(*m->threads));
    if (!m->threads)
        return HG_ENOMEM;
    for (uint32_t i = 0; i < workers; i++) {
        int32_t core = n_cores ? cores[i % n_cores] : HG_CORE_ANY;
        int rc = m->host->thread_spawn(m->host, "idle", core, idle_worker, m, &m->threads[i]);
        if (rc != 0)
            return rc;
        m->n_threads++;
    }
    return 0;
}

static void idle_request_stop(void *inst)
{
    idle *m = inst;
    pthread_mutex_lock(&m->lock);
    m->stopping = 1;
    pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->lock);
}

static int idle_join(void *inst, uint64_t timeout_ns)
{
    idle *m = inst;
    (void)timeout_ns; /* the workers leave as soon as stopping is set */
    for (uint32_t i = 0; i < m->n_threads; i++)
        m->host->thread_join(m->host, m->threads[i]);
    m->n_threads = 0;
    return 0;
}

static uint64_t idle_bytes(void *inst)
{
    (void)inst;
    return 0;
}

static int idle_net_open(void *inst, const hg_host *owner, const hg_net **out)
{
    (void)inst;
    (void)owner;
    (void)out;
    return HG_ENOTSUP;
}

static uint32_t idle_net_close(void *inst, const hg_net *net)
{
    (void)inst;
    (void)net;
    return 0;
}

static const hg_runtime_mode_ops idle_ops = {
    .struct_size = sizeof(hg_runtime_mode_ops),
    .create = idle_create,
    .destroy = idle_destroy,
    .start = idle_start,
    .request_stop = idle_request_stop,
    .join = idle_join,
    .bytes_sent = idle_bytes,
    .bytes_received = idle_bytes,
    .net_open = idle_net_open,
    .net_close = idle_net_close,
};

/* ---- pipeline "fixture-oneshot": starts, says so, reports stopped ---- */

typedef struct oneshot {
    const hg_host *host;
    int64_t runs;
} oneshot;

static int oneshot_create(const hg_host *host, const hg_config *cfg, void **out)
{
    oneshot *p = calloc(1, sizeof(*p));
    int rc;
    if (!p)
        return HG_ENOMEM;
    p->host = host;
    p->runs = 1;
    rc = host->cfg_int(host, cfg, "runs", &p->runs);
    if (rc == HG_ENOENT)
        rc = 0;
    if (rc == 0 && p->runs < 0)
        rc = host->cfg_error(host, cfg, "runs", "runs must be >= 0");
    if (rc != 0) {
        free(p);
        return rc;
    }
    *out = p;
    return 0;
}

static void oneshot_destroy(void *inst)
{
    free(inst);
}

static int oneshot_start(void *inst, const hg_net *net)
{
    oneshot *p = inst;
    hg_counter *c = NULL;
    int rc = p->host->counter(p->host, "runs", HG_COUNTER_SUM, &c);
    (void)net;
    if (rc != 0)
        return rc;
    hg_counter_add(c, (uint64_t)p->runs);
    p->host->set_info(p->host, "fixture", "started");
    p->host->set_state(p->host, HG_STATE_STOPPED, 0, NULL);
    return 0;
}

static void oneshot_stop(void *inst, uint32_t how)
{
    oneshot *p = inst;
    (void)how;
    p->host->set_state(p->host, HG_STATE_STOPPED, 0, NULL);
}

static int oneshot_command(void *inst, const char *verb, const hg_config *args, char *reply,
                           uint32_t cap, uint32_t *len)
{
    oneshot *p = inst;
    int n;
    (void)args;
    if (strcmp(verb, "fail") == 0) { /* a failed command carries its message as text */
        n = snprintf(reply, cap, "asked to fail after %lld run(s)", (long long)p->runs);
        *len = (uint32_t)n;
        return HG_EINVAL;
    }
    if (strcmp(verb, "summary") != 0)
        return HG_ENOTSUP;
    n = snprintf(reply, cap, "{\"text\":\"fixture-oneshot ran %lld time(s)\",\"runs\":%lld}",
                 (long long)p->runs, (long long)p->runs);
    *len = (uint32_t)n;
    return (uint32_t)n >= cap ? HG_ENOSPC : 0;
}

static const char *const oneshot_keys[] = {"runs", NULL};

static const hg_pipeline_ops oneshot_ops = {
    .struct_size = sizeof(hg_pipeline_ops),
    .create = oneshot_create,
    .destroy = oneshot_destroy,
    .start = oneshot_start,
    .stop = oneshot_stop,
    .command = oneshot_command,
};

/* ---- connector "fixture-ticker": each stream emits a tick every 10 ms until cancelled ---- */

typedef struct ticker {
    const hg_host *host;
    const hg_stream_api *api;
} ticker;

static int ticker_create(const hg_host *host, const hg_config *cfg, void **out)
{
    ticker *t = calloc(1, sizeof(*t));
    (void)cfg;
    if (!t)
        return HG_ENOMEM;
    t->host = host;
    t->api = host->get_extension(host, HG_STREAM_EXTENSION);
    *out = t;
    return 0;
}

static void ticker_destroy(void *inst)
{
    free(inst);
}

static int ticker_stream_open(void *inst, const hg_stream_desc *desc, hg_stream *s, void **ud)
{
    ticker *t = inst;
    (void)desc;
    (void)s;
    if (!t->api)
        return HG_ENOTSUP;
    *ud = t;
    return 0;
}

static int ticker_stream_run(void *ud, hg_stream *s)
{
    ticker *t = ud;
    hg_cancel *token = t->api->token(s);
    uint64_t seq = 0;

    t->api->publish(s, HG_STATE_RUNNING, "{}");
    while (t->host->cancel_wait(t->host, token, 10000000u) == HG_ETIMEDOUT) {
        hg_frame f = {sizeof(hg_frame), HG_TYPE_TICK, NULL, NULL, 0, 0, 0, 0};
        f.ts_ns = t->host->now_ns(t->host);
        f.seq = seq++;
        if (t->api->emit(s, &f, 0) == HG_ECANCELED)
            break;
    }
    t->api->publish(s, HG_STATE_STOPPED, "{}");
    return 0;
}

static void ticker_stream_close(void *ud)
{
    (void)ud; /* the stream's state is the connector's */
}

static const hg_connector_ops ticker_ops = {
    .struct_size = sizeof(hg_connector_ops),
    .create = ticker_create,
    .destroy = ticker_destroy,
    .stream_open = ticker_stream_open,
    .stream_run = ticker_stream_run,
    .stream_close = ticker_stream_close,
};

/* ---- processor "fixture-pass": moves frames from port 0 (in) to port 1 (out) ---- */

static const hg_port_decl pass_ports[] = {
    {sizeof(hg_port_decl), HG_PORT_IN, "in", HG_TYPE_ANY, 0},
    {sizeof(hg_port_decl), HG_PORT_OUT, "out", HG_TYPE_ANY, 0},
};

typedef struct pass {
    const hg_host *host;
    const hg_graph_api *g;
} pass;

static int pass_create(const hg_host *host, const hg_config *cfg, void **out)
{
    pass *p = calloc(1, sizeof(*p));
    (void)cfg;
    if (!p)
        return HG_ENOMEM;
    p->host = host;
    *out = p;
    return 0;
}

static void pass_destroy(void *inst)
{
    free(inst);
}

static int pass_setup(void *inst, hg_proc *proc)
{
    pass *p = inst;
    (void)proc;
    p->g = p->host->get_extension(p->host, HG_GRAPH_EXTENSION);
    return p->g ? 0 : HG_ENOTSUP;
}

static int pass_process(void *inst, hg_proc *proc)
{
    pass *p = inst;
    hg_frame f;
    int rc = p->g->pop(proc, 0, &f, 0);

    if (rc == HG_EAGAIN)
        return HG_PROCESS_IDLE;
    if (rc == HG_ECLOSED)
        return HG_PROCESS_DONE;
    if (rc != 0)
        return rc;
    rc = p->g->push(proc, 1, &f, 0);
    if (rc != 0 && f.buf)
        p->g->buf_unref(f.buf); /* on error the frame is still ours */
    if (rc == HG_ECLOSED)
        return HG_PROCESS_DONE; /* nobody reads our output any more */
    return rc == HG_ECANCELED || rc == HG_EAGAIN ? 0 : rc;
}

static const hg_processor_ops pass_ops = {
    .struct_size = sizeof(hg_processor_ops),
    .n_ports = 2,
    .ports = pass_ports,
    .create = pass_create,
    .destroy = pass_destroy,
    .setup = pass_setup,
    .process = pass_process,
};

static const hg_engine engines[] = {
    {sizeof(hg_engine), HG_KIND_RUNTIME_MODE, "fixture-idle",
     "a runtime mode whose workers idle until stopped; offers no network", &idle_ops, NULL},
    {sizeof(hg_engine), HG_KIND_PIPELINE, "fixture-oneshot",
     "a pipeline that starts, counts its runs and reports stopped", &oneshot_ops, oneshot_keys},
    {sizeof(hg_engine), HG_KIND_CONNECTOR, "fixture-ticker",
     "a connector whose streams emit a tick every 10 ms", &ticker_ops, NULL},
    {sizeof(hg_engine), HG_KIND_PROCESSOR, "fixture-pass",
     "a processor that moves frames from in to out", &pass_ops, NULL},
};

HG_EXPORT const hg_plugin hangar_plugin = {
    HG_PLUGIN_INIT, "org.hangar.test.fixture-good", "1.2.3", "one engine of each kind", 4,
    engines, good_init, good_deinit,
};
