/* graph_host.c - the host's graph: processor engines resolved from the plugins (an hg_host table
 * per processor), the config's graph section checked at create and committed at start, drained
 * first at shutdown, and the control verbs (graph, graph dot, commit, add, remove, link, unlink,
 * pause, resume, step). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cfgview.h"
#include "graph_host.h"
#include "host_priv.h"
#include "units.h"

/* ---- processors from the plugins ---- */

static int resolve(void *ud, const char *name, const char *engine, const hg__node *item,
                   hg__proc_def *out, char *err, uint32_t cap)
{
    hg__host *h = ud;
    const hg__engine_def *def = hg__registry_find(h->reg, engine);
    hg__inst *in = NULL;
    hg__diag d;
    hg__cfgctx ctx = { &d, name };

    memset(out, 0, sizeof *out);
    if (def == NULL) {
        snprintf(err, cap, "unknown processor engine '%s' (no loaded plugin provides it; "
                           "`hangar plugins` lists the engines found)", engine);
        return HG_ENOENT;
    }
    if (def->kind != HG_KIND_PROCESSOR) {
        snprintf(err, cap, "engine '%s' is a %s, not a processor", engine,
                 hg__kind_name(def->kind));
        return HG_ECONFIG;
    }
    hg__diag_init(&d);
    if (def->config_keys != NULL &&
        hg__cfg_check_keys(&ctx, item, hg__processor_host_keys, def->config_keys) != 0) {
        char *m = d.n ? hg__diag_format(&d, 0) : NULL;
        snprintf(err, cap, "%s", m ? m : "unknown keys");
        free(m);
        hg__diag_free(&d);
        return HG_ECONFIG;
    }
    hg__diag_free(&d);
    if (hg__host_new_inst(h, name, item, &in) != 0) {
        snprintf(err, cap, "out of memory");
        return HG_ENOMEM;
    }
    out->ops = def->ops;
    out->host = hg__inst_host(in);
    out->cfg = (const hg_config *)item;
    out->owner_data = in;
    return 0;
}

static void release(void *ud, hg__proc_def *def)
{
    (void)ud;
    hg__inst_free(def->owner_data);
    def->owner_data = NULL;
}

/* Adds the processor's own counters (host->counter) to its `graph` object as "counters". */
static void describe(void *ud, const hg__proc_def *def, void *obj)
{
    json_t *j, *c, *v;
    const char *k;
    (void)ud;
    if (def->owner_data == NULL)
        return;
    j = hg__inst_json(def->owner_data, "", "processor");
    c = json_object();
    json_object_foreach(j, k, v) {
        if (json_is_integer(v) && strcmp(k, "started_ns") != 0 && strcmp(k, "stopped_ns") != 0)
            json_object_set(c, k, v);
    }
    json_object_set_new(obj, "counters", c);
    json_decref(j);
}

/* graph.pool: {buffers, size} (checked by the config schema). */
static void pool_of(const hg__config *cfg, uint32_t *buffers, uint32_t *size)
{
    const hg__node *g = cfg->doc->root ? hg__node_get(cfg->doc->root, "graph") : NULL;
    const hg__node *p = g ? hg__node_get(g, "pool") : NULL, *v;
    *buffers = 0, *size = 0;
    if (p == NULL)
        return;
    if ((v = hg__node_get(p, "buffers")) != NULL && v->value != NULL)
        *buffers = (uint32_t)strtoul(v->value, NULL, 10);
    if ((v = hg__node_get(p, "size")) != NULL && v->value != NULL) {
        uint64_t n = 0;
        if (hg__parse_size(v->value, &n) == 0)
            *size = (uint32_t)n;
    }
}

static const hg__node *section_of(const hg__config *cfg)
{
    return cfg->doc->root ? hg__node_get(cfg->doc->root, "graph") : NULL;
}

int hg__host_graph_create(hg__host *h, hg__diag *d)
{
    hg__graph_opts o = { 0 };
    hg__graph *g;
    const hg__node *sec = section_of(h->cfg);
    int rc;

    pool_of(h->cfg, &o.pool_buffers, &o.pool_size);
    o.shutdown_timeout_ns = h->cfg->shutdown_timeout_ns;
    o.resolve = resolve;
    o.release = release;
    o.describe = describe;
    o.owner = h;
    o.ud = h;
    o.file = "<commit>";
    if ((rc = hg__graph_create(&o, &g)) != 0) {
        hg__diag_add(d, h->cfg->file, 0, 0, "cannot create the graph (graph.pool): %s",
                     hg_strerror(rc));
        return rc;
    }
    __atomic_store_n(&h->graph, g, __ATOMIC_RELEASE);
    return sec != NULL ? hg__graph_check_section(g, sec, d) : 0;
}

int hg__host_graph_start(hg__host *h)
{
    const hg__node *sec = section_of(h->cfg);
    char *reply = NULL;
    int rc;
    if (h->graph == NULL || sec == NULL)
        return 0;
    rc = hg__graph_commit_section(h->graph, sec, &reply);
    h->graph_seen = hg__graph_commits(h->graph);
    if (rc != 0)
        hg__log(h->lg, HG_LOG_ERROR, "graph", "the config's graph did not start: %s",
                reply ? reply : hg_strerror(rc));
    free(reply);
    return rc;
}

uint32_t hg__host_graph_shutdown(hg__host *h, int immediate)
{
    if (h->graph == NULL)
        return 0;
    return hg__graph_shutdown(h->graph, immediate ? 0 : h->cfg->shutdown_timeout_ns);
}

void hg__host_graph_destroy(hg__host *h)
{
    hg__graph_destroy(h->graph, 0);
    h->graph = NULL;
}

/* ---- verbs ---- */

static json_t *err_reply(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static json_t *err_reply(int code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return json_pack("{s:b, s:s, s:[s], s:s}", "ok", 0, "error", msg, "errors", msg, "code",
                     hg_err_name(code));
}

static hg__graph *graph_of(hg__host *h)
{
    return __atomic_load_n(&h->graph, __ATOMIC_ACQUIRE);
}

json_t *hg__cmd_graph(hg__host *h, const char *arg)
{
    hg__graph *g = graph_of(h);
    char *text;
    json_t *r;
    if (g == NULL)
        return err_reply(HG_ENOTSUP, "this host has no graph");
    if (arg != NULL && strcmp(arg, "dot") == 0) {
        text = hg__graph_dot(g);
        r = json_pack("{s:b, s:s}", "ok", 1, "dot", text ? text : "");
    } else if (arg == NULL || *arg == '\0') {
        text = hg__graph_json(g);
        r = text ? json_loads(text, 0, NULL) : NULL;
    } else {
        return err_reply(HG_EINVAL, "graph takes nothing or 'dot', got '%.60s'", arg);
    }
    free(text);
    return r ? r : err_reply(HG_ENOMEM, "out of memory");
}

static json_t *run_commit(hg__host *h, const char *yaml)
{
    hg__graph *g = graph_of(h);
    char *reply = NULL;
    json_t *r;
    if (g == NULL)
        return err_reply(HG_ENOTSUP, "this host has no graph");
    hg__graph_commit(g, yaml, &reply);
    r = reply ? json_loads(reply, 0, NULL) : NULL;
    free(reply);
    return r ? r : err_reply(HG_ENOMEM, "out of memory");
}

json_t *hg__cmd_commit(hg__host *h, const char *arg)
{
    if (arg == NULL || *arg == '\0')
        return err_reply(HG_EINVAL, "commit needs a change: {add: [...], remove: [...], "
                                    "link: [...], unlink: [...]}");
    return run_commit(h, arg);
}

json_t *hg__cmd_add(hg__host *h, const char *arg)
{
    char *y = NULL;
    json_t *r;
    if (arg == NULL || *arg == '\0')
        return err_reply(HG_EINVAL, "add needs a processor: {name: N, engine: E, ...}");
    if (asprintf(&y, "{add: [%s]}", arg) < 0)
        return err_reply(HG_ENOMEM, "out of memory");
    r = run_commit(h, y);
    free(y);
    return r;
}

json_t *hg__cmd_remove(hg__host *h, const char *arg)
{
    char *y = NULL;
    json_t *r;
    if (arg == NULL || *arg == '\0' || strpbrk(arg, " ,[]{}:") != NULL)
        return err_reply(HG_EINVAL, "remove needs one processor name");
    if (asprintf(&y, "{remove: [%s]}", arg) < 0)
        return err_reply(HG_ENOMEM, "out of memory");
    r = run_commit(h, y);
    free(y);
    return r;
}

/* link FROM TO [policy=P] [capacity=N], unlink FROM TO. */
static json_t *link_verb(hg__host *h, const char *arg, int un)
{
    char *copy = strdup(arg ? arg : ""), *save = NULL, *tok, *y = NULL;
    char *ends[2] = { NULL, NULL }, *opts = strdup("");
    json_t *r = NULL;
    int n = 0;

    for (tok = strtok_r(copy, " \t", &save); tok && !r; tok = strtok_r(NULL, " \t", &save)) {
        char *eq = strchr(tok, '='), *grown = NULL;
        if (strpbrk(tok, ",[]{}:") != NULL)
            r = err_reply(HG_EINVAL, "'%.60s' is not a NAME.PORT or an option", tok);
        else if (eq == NULL && n < 2)
            ends[n++] = tok;
        else if (eq == NULL || un)
            r = err_reply(HG_EINVAL, "%s takes FROM TO%s; '%.60s' is extra", un ? "unlink" : "link",
                          un ? "" : " [policy=P] [capacity=N]", tok);
        else if (strncmp(tok, "policy=", 7) != 0 && strncmp(tok, "capacity=", 9) != 0)
            r = err_reply(HG_EINVAL, "unknown link option '%.60s' (policy=P, capacity=N)", tok);
        else if ((*eq = '\0', asprintf(&grown, "%s, %s: %s", opts, tok, eq + 1)) >= 0)
            free(opts), opts = grown;
    }
    if (r == NULL && n < 2)
        r = err_reply(HG_EINVAL, "%s needs FROM TO (NAME.PORT each)", un ? "unlink" : "link");
    if (r == NULL && asprintf(&y, "{%s: [{from: %s, to: %s%s}]}", un ? "unlink" : "link", ends[0],
                              ends[1], opts) >= 0)
        r = run_commit(h, y);
    free(y);
    free(opts);
    free(copy);
    return r ? r : err_reply(HG_ENOMEM, "out of memory");
}

json_t *hg__cmd_link(hg__host *h, const char *arg)
{
    return link_verb(h, arg, 0);
}

json_t *hg__cmd_unlink(hg__host *h, const char *arg)
{
    return link_verb(h, arg, 1);
}

/* pause/resume of a processor; 1 in *handled when NAME is one (else the caller answers). */
json_t *hg__cmd_proc_pause(hg__host *h, const char *arg, int pause, int *handled)
{
    hg__graph *g = graph_of(h);
    int rc;
    *handled = 0;
    if (g == NULL || arg == NULL || hg__graph_state(g, arg, NULL) == 0)
        return NULL;
    *handled = 1;
    rc = hg__graph_pause(g, arg, pause);
    if (rc != 0)
        return err_reply(rc, "%s %s: the processor is not running", pause ? "pause" : "resume",
                         arg);
    return json_pack("{s:b, s:s, s:s}", "ok", 1, "name", arg, "state",
                     pause ? "paused" : "running");
}

json_t *hg__cmd_step(hg__host *h, const char *arg)
{
    hg__graph *g = graph_of(h);
    int rc;
    if (g == NULL)
        return err_reply(HG_ENOTSUP, "this host has no graph");
    rc = hg__graph_step(g, arg ? arg : "");
    if (rc == HG_ENOENT)
        return err_reply(rc, "step: no processor named '%.60s'", arg ? arg : "");
    if (rc != 0)
        return err_reply(rc, "step: '%.60s' is not a manual processor", arg);
    return json_pack("{s:b}", "ok", 1);
}

void hg__host_graph_counts(hg__host *h, uint32_t *processors, uint32_t *failed)
{
    hg__graph *g = __atomic_load_n(&h->graph, __ATOMIC_ACQUIRE);
    char *text = g ? hg__graph_json(g) : NULL;
    json_t *j = text ? json_loads(text, 0, NULL) : NULL, *p;
    size_t i;
    *processors = *failed = 0;
    json_array_foreach(json_object_get(j, "processors"), i, p) {
        (*processors)++;
        if (json_is_string(json_object_get(p, "state")) &&
            strcmp(json_string_value(json_object_get(p, "state")), "failed") == 0)
            (*failed)++;
    }
    json_decref(j);
    free(text);
}
