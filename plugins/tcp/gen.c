/* gen.c - tcp-gen, the traffic generator: its configuration, spreading connections and the
 * request budget over the workers, start, stop and the "summary"/"stats" commands. The
 * connections themselves are gen_conn.c's; the numbers gen_report.c's. */
#include <stdlib.h>
#include <string.h>

#include "gen.h"

const char *const hg__tcp_gen_keys[] = {
    "connect",  "connections", "payload",         "pattern",  "duration",
    "requests", "cps_limit",   "max_open",        "connect_timeout",
    "close_by", "requests_per_connection",        "progress", "request_timeout",
    "max_failures", NULL};

static const char *const pattern_names[] = {"ping-pong", "stream", NULL};
static const char *const close_by_names[] = {"client", "server", NULL};

#define GEN_DEFAULT_DURATION_NS 10000000000ull
#define GEN_DEFAULT_REQUEST_TIMEOUT_NS 10000000000ull

/* Reads duration and requests: one of them, never both; duration 10s when neither. */
static int read_limits(const hg_host *h, const hg_config *cfg, gen_cfg *c)
{
    uint64_t dur = 0;
    int rd = h->cfg_duration(h, cfg, "duration", &dur);
    int rr = hg__tcp_cfg_uint(h, cfg, "requests", 1, 1ull << 62, &c->requests);
    if (rd == HG_ECONFIG || rr != 0)
        return HG_ECONFIG;
    if (rd == 0 && c->requests != 0)
        return h->cfg_error(h, cfg, "requests",
                            "duration and requests are mutually exclusive: set one of them");
    if (rd == 0 && dur == 0)
        return h->cfg_error(h, cfg, "duration", "'duration' must be more than 0");
    if (rd == 0)
        c->duration_ns = dur;
    else if (c->requests == 0)
        c->duration_ns = GEN_DEFAULT_DURATION_NS;
    return 0;
}

/* Reads request_timeout (ping-pong) and max_failures, what decides a failed run. */
static int read_judging(const hg_host *h, const hg_config *cfg, gen_cfg *c)
{
    int bad = 0;
    c->request_timeout_ns = GEN_DEFAULT_REQUEST_TIMEOUT_NS;
    if (hg__tcp_cfg_duration(h, cfg, "request_timeout", &c->request_timeout_ns) != 0)
        bad = 1;
    if (hg__tcp_cfg_uint(h, cfg, "max_failures", 0, 1ull << 62, &c->max_failures) != 0)
        bad = 1;
    return bad ? HG_ECONFIG : 0;
}

/* The connections open at once each hold a descriptor, two when the server is a pipeline of
 * this host (its side of each connection is in this process too). */
static int reserve_fds(const hg_host *h, const hg_config *cfg, const gen_cfg *c)
{
    uint64_t open = c->max_open != 0 && c->max_open < c->connections ? c->max_open
                                                                      : c->connections;
    uint64_t per = strchr(c->connect, ':') == NULL ? 2 : 1;
    return hg__tcp_fd_reserve(h, cfg, "connections", open * per);
}

static int read_config(const hg_host *h, const hg_config *cfg, gen_cfg *c)
{
    int bad = 0;
    c->connections = 1;
    c->payload = 64;
    c->pattern = GEN_PINGPONG;
    c->close_by = GEN_BY_CLIENT;
    c->connect_timeout_ns = 5000000000ull;
    if (hg__tcp_cfg_address(h, cfg, "connect", 1, TCP_ADDR_OR_NAME, &c->connect) != 0)
        bad = 1;
    if (hg__tcp_cfg_uint(h, cfg, "connections", 1, 1000000, &c->connections) != 0)
        bad = 1;
    if (hg__tcp_cfg_size(h, cfg, "payload", 1, 64u << 20, &c->payload) != 0)
        bad = 1;
    if (hg__tcp_cfg_choice(h, cfg, "pattern", pattern_names, &c->pattern) != 0)
        bad = 1;
    if (read_limits(h, cfg, c) != 0)
        bad = 1;
    if (hg__tcp_cfg_uint(h, cfg, "cps_limit", 0, 100000000, &c->cps_limit) != 0)
        bad = 1;
    if (hg__tcp_cfg_uint(h, cfg, "max_open", 0, 10000000, &c->max_open) != 0)
        bad = 1;
    if (hg__tcp_cfg_duration(h, cfg, "connect_timeout", &c->connect_timeout_ns) != 0)
        bad = 1;
    if (hg__tcp_cfg_choice(h, cfg, "close_by", close_by_names, &c->close_by) != 0)
        bad = 1;
    if (hg__tcp_cfg_uint(h, cfg, "requests_per_connection", 0, 1ull << 62, &c->per_conn) != 0)
        bad = 1;
    if (hg__tcp_cfg_bool(h, cfg, "progress", &c->progress) != 0)
        bad = 1;
    if (read_judging(h, cfg, c) != 0)
        bad = 1;
    return bad ? HG_ECONFIG : reserve_fds(h, cfg, c);
}

/* The request latency as a histogram the host exports (hangar.histogram/1), when the host has
 * the service; bounds from 50 us to 10 s, in ns, exported in seconds. */
static int register_histogram(gen *g)
{
    static const uint64_t bounds[] = {
        50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000, 25000000,
        50000000, 100000000, 250000000, 500000000, 1000000000, 2500000000ull, 5000000000ull,
        10000000000ull};
    const hg_host *h = g->host;
    const hg_histogram_api *api = h->get_extension(h, HG_HISTOGRAM_EXT);
    if (api == NULL || !HG_HAS_FIELD(api, hg_histogram_api, histogram))
        return 0;
    return api->histogram(h, "request_latency_seconds", bounds,
                          sizeof bounds / sizeof bounds[0], 1e-9, &g->h_latency);
}

static int register_counters(gen *g)
{
    const hg_host *h = g->host;
    char name[48];
    uint32_t i;
    int rc = h->counter(h, "requests", HG_COUNTER_SUM, &g->c_requests);
    if (rc == 0)
        rc = h->counter(h, "responses", HG_COUNTER_SUM, &g->c_responses);
    if (rc == 0)
        rc = h->counter(h, "errors", HG_COUNTER_SUM, &g->c_errors);
    if (rc == 0)
        rc = h->counter(h, "latency_p50_ns", HG_COUNTER_GAUGE, &g->c_p50);
    if (rc == 0)
        rc = h->counter(h, "latency_p99_ns", HG_COUNTER_GAUGE, &g->c_p99);
    if (rc == 0)
        rc = h->counter(h, "latency_p999_ns", HG_COUNTER_GAUGE, &g->c_p999);
    if (rc == 0)
        rc = h->counter(h, "latency_max_ns", HG_COUNTER_GAUGE, &g->c_max);
    for (i = 0; rc == 0 && i < GEN_FAIL_N; i++) {
        snprintf(name, sizeof name, "failed_%s", hg__gen_fail_names[i]);
        rc = h->counter(h, name, HG_COUNTER_SUM, &g->c_fail[i]);
    }
    return rc == 0 ? register_histogram(g) : rc;
}

static int gen_create(const hg_host *h, const hg_config *cfg, void **out)
{
    gen *g = calloc(1, sizeof *g);
    int rc;
    if (g == NULL)
        return HG_ENOMEM;
    g->host = h;
    rc = read_config(h, cfg, &g->cfg);
    if (rc == 0)
        rc = register_counters(g);
    if (rc != 0) {
        free(g);
        return rc;
    }
    pthread_mutex_init(&g->mu, NULL);
    hg__tcp_hist_clear(&g->cum);
    hg__tcp_hist_clear(&g->interval);
    *out = g;
    return 0;
}

static void free_conns(gen_worker *w)
{
    gen_conn *gc, *next;
    for (gc = w->free; gc != NULL; gc = next) {
        next = gc->next;
        free(gc);
    }
    w->free = NULL;
    /* Connections still listed were cut by the runtime without a callback reaching us. */
    while (w->head.next != NULL && w->head.next != &w->head) {
        gc = w->head.next;
        w->head.next = gc->next;
        free(gc);
    }
}

static void reset_run(gen *g);

static void gen_destroy(void *inst)
{
    gen *g = inst;
    reset_run(g);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

static uint64_t share(uint64_t total, uint32_t i, uint32_t n)
{
    return total / n + (i < total % n ? 1 : 0);
}

/* Splits the request budget in proportion to each worker's connections. */
static void split_budget(gen *g)
{
    uint64_t given = 0, left;
    uint32_t i;
    for (i = 0; i < g->n_workers; i++) {
        gen_worker *w = &g->workers[i];
        w->limited = 1;
        w->budget = (uint64_t)((unsigned __int128)g->cfg.requests * w->slots / g->cfg.connections);
        given += w->budget;
    }
    left = g->cfg.requests - given;
    for (i = 0; left != 0; i = (i + 1) % g->n_workers) {
        if (g->workers[i].slots != 0) {
            g->workers[i].budget++;
            left--;
        }
    }
}

static int setup_workers(gen *g, uint32_t n)
{
    uint32_t i, active = n < g->cfg.connections ? n : (uint32_t)g->cfg.connections;
    g->workers = aligned_alloc(64, sizeof(gen_worker) * n);
    if (g->workers == NULL)
        return HG_ENOMEM;
    memset(g->workers, 0, sizeof(gen_worker) * n);
    g->n_workers = n;
    for (i = 0; i < n; i++) {
        gen_worker *w = &g->workers[i];
        w->g = g;
        w->idx = i;
        w->head.next = w->head.prev = &w->head;
        w->slots = (uint32_t)share(g->cfg.connections, i, n);
        w->max_open = g->cfg.max_open ? (uint32_t)share(g->cfg.max_open, i, n) : w->slots;
        if (w->max_open == 0 && w->slots != 0)
            w->max_open = 1;
        if (g->cfg.cps_limit != 0)
            w->cps_interval_ns = 1000000000ull * active / g->cfg.cps_limit;
        hg__tcp_hist_clear(&w->hist);
    }
    if (g->cfg.requests != 0)
        split_budget(g);
    return 0;
}

/* Forgets a previous run (restart): its connections are gone with its net. */
static void reset_run(gen *g)
{
    uint32_t i;
    for (i = 0; g->workers != NULL && i < g->n_workers; i++)
        free_conns(&g->workers[i]);
    free(g->workers);
    free(g->payload);
    free(g->summary);
    g->workers = NULL;
    g->payload = NULL;
    g->summary = NULL;
    g->n_workers = 0;
    g->started = 0;
    g->finished = 0;
    g->failed = 0;
    g->why[0] = '\0';
    g->t_end = 0;
    memset(&g->total, 0, sizeof g->total);
    memset(&g->at_report, 0, sizeof g->at_report);
    hg__tcp_hist_clear(&g->cum);
    hg__tcp_hist_clear(&g->interval);
}

static int gen_start(void *inst, const hg_net *net)
{
    gen *g = inst;
    uint32_t i, n = net->workers(net);
    int rc;
    reset_run(g); /* a start that fails leaves no earlier run's numbers behind */
    g->addr[0] = '\0';
    rc = hg__tcp_resolve(g->host, g->cfg.connect, g->addr, sizeof g->addr);
    if (rc != 0) {
        g->addr[0] = '\0';
        return rc;
    }
    g->net = net;
    g->payload = malloc(g->cfg.payload);
    if (g->payload == NULL)
        return HG_ENOMEM;
    for (i = 0; i < g->cfg.payload; i++)
        g->payload[i] = (uint8_t)('a' + i % 26);
    rc = setup_workers(g, n ? n : 1);
    if (rc != 0)
        return rc;
    g->running = g->n_workers;
    g->host->set_info(g->host, "outcome", "running");
    g->host->set_info(g->host, "outcome_reason", "");
    g->t_start = g->t_report = g->host->now_ns(g->host);
    g->started = 1;
    for (i = 0; i < g->n_workers; i++) {
        rc = net->post(net, (int32_t)i, hg__gen_worker_begin, &g->workers[i]);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static void end_now(void *arg)
{
    hg__gen_worker_end(arg, HG_STOP_NOW);
}

static void end_graceful(void *arg)
{
    hg__gen_worker_end(arg, HG_STOP_GRACEFUL);
}

static void gen_stop(void *inst, uint32_t how)
{
    gen *g = inst;
    uint32_t i;
    uint8_t finished;
    if (!g->started) {
        g->host->set_state(g->host, HG_STATE_STOPPED, 0, NULL);
        return;
    }
    pthread_mutex_lock(&g->mu);
    finished = g->finished;
    pthread_mutex_unlock(&g->mu);
    if (finished)
        return;
    for (i = 0; i < g->n_workers; i++)
        g->net->post(g->net, (int32_t)i, how == HG_STOP_NOW ? end_now : end_graceful,
                     &g->workers[i]);
}

static int gen_command(void *inst, const char *verb, const hg_config *args, char *reply,
                       uint32_t cap, uint32_t *len)
{
    gen *g = inst;
    char *text = NULL;
    uint32_t n = 0;
    int rc;
    int summary = strcmp(verb, "summary") == 0;
    if (!summary && strcmp(verb, "stats") != 0)
        return HG_ENOTSUP;
    pthread_mutex_lock(&g->mu);
    if (summary && g->finished && g->summary != NULL) {
        rc = hg__tcp_reply(g->summary, g->summary_len, reply, cap, len);
        pthread_mutex_unlock(&g->mu);
        return rc;
    }
    if (summary)
        text = hg__gen_summary_locked(g, g->host->now_ns(g->host), &n);
    else
        text = hg__gen_stats_locked(g, g->host->now_ns(g->host), &n);
    pthread_mutex_unlock(&g->mu);
    if (text == NULL)
        return HG_ENOMEM;
    rc = hg__tcp_reply(text, n, reply, cap, len);
    free(text);
    return rc;
}

const hg_pipeline_ops hg__tcp_gen_ops = {
    .struct_size = sizeof(hg_pipeline_ops),
    .create = gen_create,
    .destroy = gen_destroy,
    .start = gen_start,
    .stop = gen_stop,
    .command = gen_command,
};
