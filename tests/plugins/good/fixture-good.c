/* fixture-good.c - a well-formed plugin with one engine of each kind, each doing something small
 * but real: an idle runtime mode, a pipeline that stops at once, a connector whose streams tick
 * and a pass-through processor (the pipeline has knobs for hostile host tests: a stop that never
 * returns, one that ignores graceful, a held connection, verbs that block or ask for any reply
 * size). init/deinit append to $HG_FIXTURE_GOOD_LOG when it is set, so tests can see the
 * process-wide reference counting. SDK only. */
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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

/* ---- pipeline "fixture-oneshot": starts, says so, reports stopped ----
 *
 * Knobs for the host's hostile tests (all off by default):
 *   hold: true             stays running until stopped, instead of reporting stopped at start
 *   connect: NAME|ADDR     (with hold) a thread holds one TCP connection there; when the peer
 *                          closes it the pipeline reports stopped, as a generator that lost its
 *                          server does
 *   ignore_graceful: true  stop(GRACEFUL) is ignored; only stop(NOW) stops it
 *   block_stop: true       stop never returns
 *   crash_start: true      start dereferences NULL (the host's crash report names it)
 *   crash_create: true     create does, once it has read its knobs
 *   late_int: VALUE        read with cfg_root and cfg_int on a thread of the pipeline after
 *                          start: [control-thread] services off the control thread, which a
 *                          debug build's thread check stops (a release build: a config error
 *                          long after create, logged as a warning)
 * The fact "stop" says the last stop received ("graceful" or "now"); "late_int" what the late
 * read gave ("ok" or "error"). Verbs: summary, fail, count {"n":INT[,"scale":INT]},
 * big {"bytes":INT} (a JSON string of that many bytes), block (never returns). */

typedef struct oneshot {
    const hg_host *host;
    int64_t runs;
    uint8_t hold, ignore_graceful, block_stop, crash_start, crash_create, has_late_int;
    const char *connect;
    hg_thread *thread;
    int fd;  /* the held connection, -1 when none; atomic */
    int now; /* stop(NOW) asked; atomic */
} oneshot;

static int read_bool(const hg_host *host, const hg_config *cfg, const char *key, uint8_t *out)
{
    int rc = host->cfg_bool(host, cfg, key, out);
    return rc == HG_ENOENT ? 0 : rc;
}

static int oneshot_knobs(oneshot *p, const hg_config *cfg)
{
    const hg_host *host = p->host;
    const hg_config *late = NULL;
    int rc;
    if (cfg == NULL)
        return 0; /* no knobs (and a test's host table may have no getters beyond cfg_int) */
    rc = read_bool(host, cfg, "hold", &p->hold);
    if (rc == 0)
        rc = read_bool(host, cfg, "ignore_graceful", &p->ignore_graceful);
    if (rc == 0)
        rc = read_bool(host, cfg, "block_stop", &p->block_stop);
    if (rc == 0)
        rc = read_bool(host, cfg, "crash_start", &p->crash_start);
    if (rc == 0)
        rc = read_bool(host, cfg, "crash_create", &p->crash_create);
    if (rc == 0) {
        rc = host->cfg_string(host, cfg, "connect", &p->connect);
        if (rc == HG_ENOENT)
            rc = 0;
    }
    p->has_late_int = host->cfg_child(host, cfg, "late_int", &late) == 0;
    return rc;
}

static int oneshot_create(const hg_host *host, const hg_config *cfg, void **out)
{
    oneshot *p = calloc(1, sizeof(*p));
    int rc;
    if (!p)
        return HG_ENOMEM;
    p->host = host;
    p->runs = 1;
    p->fd = -1;
    rc = host->cfg_int(host, cfg, "runs", &p->runs);
    if (rc == HG_ENOENT)
        rc = 0;
    if (rc == 0 && p->runs < 0)
        rc = host->cfg_error(host, cfg, "runs", "runs must be >= 0");
    if (rc == 0)
        rc = oneshot_knobs(p, cfg);
    if (rc == 0 && p->crash_create) {
        volatile int *nowhere = NULL;
        rc = *nowhere; /* the hostile knob: a crash while the host creates its engines */
    }
    if (rc != 0) {
        free(p);
        return rc;
    }
    *out = p;
    return 0;
}

static void oneshot_join(oneshot *p)
{
    int fd;
    if (p->thread == NULL)
        return;
    p->host->thread_join(p->host, p->thread);
    p->thread = NULL;
    fd = __atomic_exchange_n(&p->fd, -1, __ATOMIC_SEQ_CST);
    if (fd >= 0)
        close(fd);
}

static void oneshot_destroy(void *inst)
{
    oneshot_join(inst);
    free(inst);
}

/* Connects to "HOST:PORT"; returns the socket or -1. */
static int dial(const char *addr)
{
    char host[128];
    const char *colon = strrchr(addr, ':');
    struct addrinfo hints, *res = NULL;
    int fd = -1;
    if (colon == NULL || (size_t)(colon - addr) >= sizeof host)
        return -1;
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, colon + 1, &hints, &res) != 0)
        return -1;
    fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

/* Holds the connection until the peer closes it or stop(NOW) shuts it down. */
static void hold_connection(oneshot *p)
{
    char addr[128], buf[256];
    int fd;
    fd = p->host->resolve_address(p->host, p->connect, addr, sizeof addr) == 0 ? dial(addr) : -1;
    if (fd < 0) {
        p->host->set_state(p->host, HG_STATE_FAILED, HG_ECONNREFUSED, "cannot connect");
        return;
    }
    __atomic_store_n(&p->fd, fd, __ATOMIC_SEQ_CST);
    p->host->set_info(p->host, "connected", "yes");
    /* a stop(NOW) that came before the socket was published found nothing to shut down */
    if (!__atomic_load_n(&p->now, __ATOMIC_SEQ_CST)) {
        while (recv(fd, buf, sizeof buf, 0) > 0)
            ;
    }
    if (!__atomic_load_n(&p->now, __ATOMIC_SEQ_CST))
        p->host->set_info(p->host, "ended", "peer closed");
    p->host->set_state(p->host, HG_STATE_STOPPED, 0, NULL);
}

static void oneshot_thread(void *arg)
{
    oneshot *p = arg;
    if (p->has_late_int) {
        int64_t v = 0;
        int rc = p->host->cfg_int(p->host, p->host->cfg_root(p->host), "late_int", &v);
        p->host->set_info(p->host, "late_int", rc == 0 ? "ok" : "error");
    }
    if (p->connect)
        hold_connection(p);
}

static int oneshot_start(void *inst, const hg_net *net)
{
    oneshot *p = inst;
    hg_counter *c = NULL;
    int rc = p->host->counter(p->host, "runs", HG_COUNTER_SUM, &c);
    (void)net;
    if (p->crash_start) {
        volatile int *nowhere = NULL;
        return *nowhere; /* the hostile knob: a plugin bug that takes the process down */
    }
    if (rc != 0)
        return rc;
    oneshot_join(p); /* a restart: the last run's thread is done */
    __atomic_store_n(&p->now, 0, __ATOMIC_SEQ_CST);
    hg_counter_add(c, (uint64_t)p->runs);
    p->host->set_info(p->host, "fixture", "started");
    if (p->has_late_int || (p->hold && p->connect))
        rc = p->host->thread_spawn(p->host, "hold", HG_CORE_ANY, oneshot_thread, p, &p->thread);
    if (rc != 0)
        return rc;
    if (!p->hold)
        p->host->set_state(p->host, HG_STATE_STOPPED, 0, NULL);
    return 0;
}

static void oneshot_stop(void *inst, uint32_t how)
{
    oneshot *p = inst;
    int fd;
    p->host->set_info(p->host, "stop", how == HG_STOP_NOW ? "now" : "graceful");
    while (p->block_stop)
        sleep(1); /* the hostile knob: a stop that never returns */
    if (how == HG_STOP_GRACEFUL && p->ignore_graceful)
        return;
    __atomic_store_n(&p->now, 1, __ATOMIC_SEQ_CST);
    fd = __atomic_load_n(&p->fd, __ATOMIC_SEQ_CST);
    if (fd >= 0) {
        shutdown(fd, SHUT_RDWR); /* the holding thread reports stopped */
        return;
    }
    p->host->set_state(p->host, HG_STATE_STOPPED, 0, NULL);
}

/* `count`: "n" must be an integer (a wrong type fails with the host's config error, the engine
 * writes no text); a bad optional "scale" is ignored, so that call succeeds. */
static int oneshot_count(oneshot *p, const hg_config *args, char *reply, uint32_t cap,
                         uint32_t *len)
{
    int64_t n = 0, scale = 1;
    int rc = p->host->cfg_int(p->host, args, "n", &n);
    if (rc == HG_ENOENT) {
        *len = (uint32_t)snprintf(reply, cap, "give \"n\"");
        return HG_EINVAL;
    }
    if (rc != 0)
        return rc;
    if (p->host->cfg_int(p->host, args, "scale", &scale) != 0)
        scale = 1;
    *len = (uint32_t)snprintf(reply, cap, "{\"n\":%lld}", (long long)(n * scale));
    return *len >= cap ? HG_ENOSPC : 0;
}

/* `big`: a JSON string of "bytes" bytes (quotes included), asking for room as the ABI says. */
static int oneshot_big(oneshot *p, const hg_config *args, char *reply, uint32_t cap,
                       uint32_t *len)
{
    int64_t bytes = 0;
    if (p->host->cfg_int(p->host, args, "bytes", &bytes) != 0 || bytes < 2 ||
        bytes > (int64_t)UINT32_MAX - 1)
        return HG_EINVAL;
    *len = (uint32_t)bytes;
    if (*len >= cap)
        return HG_ENOSPC;
    memset(reply, 'x', *len);
    reply[0] = reply[*len - 1] = '"';
    reply[*len] = '\0';
    return 0;
}

static int oneshot_command(void *inst, const char *verb, const hg_config *args, char *reply,
                           uint32_t cap, uint32_t *len)
{
    oneshot *p = inst;
    int n;
    if (strcmp(verb, "fail") == 0) { /* a failed command carries its message as text */
        n = snprintf(reply, cap, "asked to fail after %lld run(s)", (long long)p->runs);
        *len = (uint32_t)n;
        return HG_EINVAL;
    }
    if (strcmp(verb, "count") == 0)
        return oneshot_count(p, args, reply, cap, len);
    if (strcmp(verb, "big") == 0)
        return oneshot_big(p, args, reply, cap, len);
    while (strcmp(verb, "block") == 0)
        sleep(1); /* the hostile verb: a command that never returns */
    if (strcmp(verb, "summary") != 0)
        return HG_ENOTSUP;
    n = snprintf(reply, cap, "{\"text\":\"fixture-oneshot ran %lld time(s)\",\"runs\":%lld}",
                 (long long)p->runs, (long long)p->runs);
    *len = (uint32_t)n;
    return (uint32_t)n >= cap ? HG_ENOSPC : 0;
}

static const char *const oneshot_keys[] = {"runs",       "hold",     "connect", "ignore_graceful",
                                           "block_stop", "crash_start", "crash_create",
                                           "late_int", NULL};

static const hg_pipeline_ops oneshot_ops = {
    .struct_size = sizeof(hg_pipeline_ops),
    .create = oneshot_create,
    .destroy = oneshot_destroy,
    .start = oneshot_start,
    .stop = oneshot_stop,
    .command = oneshot_command,
};

/* ---- connector "fixture-ticker": each stream emits a tick every 10 ms until cancelled; a
 * stream with `ignore_cancel_ms: N` goes on for N ms after its cancel (a stream that does not
 * stop in time) ---- */

typedef struct ticker {
    const hg_host *host;
    const hg_stream_api *api;
} ticker;

typedef struct ticker_stream {
    ticker *t;
    int64_t ignore_ms;
} ticker_stream;

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
    ticker_stream *ts;
    (void)s;
    if (!t->api)
        return HG_ENOTSUP;
    if ((ts = calloc(1, sizeof(*ts))) == NULL)
        return HG_ENOMEM;
    ts->t = t;
    t->host->cfg_int(t->host, desc->cfg, "ignore_cancel_ms", &ts->ignore_ms);
    *ud = ts;
    return 0;
}

static int ticker_stream_run(void *ud, hg_stream *s)
{
    ticker_stream *ts = ud;
    ticker *t = ts->t;
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
    if (ts->ignore_ms > 0) {
        struct timespec d = {(time_t)(ts->ignore_ms / 1000), (long)(ts->ignore_ms % 1000) * 1000000};
        nanosleep(&d, NULL);
    }
    t->api->publish(s, HG_STATE_STOPPED, "{}");
    return 0;
}

static void ticker_stream_close(void *ud)
{
    free(ud);
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
    hg_frame f = {sizeof(hg_frame), 0, NULL, NULL, 0, 0, 0, 0};
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
