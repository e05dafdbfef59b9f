/* host.c - creates a host from a configuration: loads the plugins it names, checks each engine's
 * keys and creates every instance (nothing starts here); and frees it all again. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cancel.h"
#include "cfgview.h"
#include "crash.h"
#include "graph_host.h"
#include "host_priv.h"
#include "metrics.h"
#include "model.h"
#include "stream.h"
#include "stream_link.h"
#include "order.h"

static uint32_t section_kind(uint32_t section)
{
    switch (section) {
    case HG__SEC_PIPELINE: return HG_KIND_PIPELINE;
    case HG__SEC_CONNECTOR: return HG_KIND_CONNECTOR;
    default: return HG_KIND_PROCESSOR;
    }
}

static const char *const *section_host_keys(uint32_t section)
{
    switch (section) {
    case HG__SEC_PIPELINE: return hg__pipeline_host_keys;
    case HG__SEC_CONNECTOR: return hg__connector_host_keys;
    default: return hg__processor_host_keys;
    }
}

hg__entry *hg__host_find(hg__host *h, const char *name)
{
    hg__entry *e;
    pthread_mutex_lock(&h->list_mu);
    e = hg__engines_find(h->engines, name);
    pthread_mutex_unlock(&h->list_mu);
    return e;
}

/* --- hooks behind each instance's hg_host table --- */

/* A name resolves against the configuration, not the instances created so far: a pipeline
 * that failed its own checks still exists for the others (no follow-on errors). */
static int hook_resolve(void *ud, const char *text, char *buf, uint32_t cap)
{
    hg__host *h = ud;
    hg__entry *e = hg__host_find(h, text);
    const hg__instance_cfg *ic = e != NULL ? e->cfg : hg__config_find(h->cfg, text);
    if (ic == NULL || ic->section != HG__SEC_PIPELINE) {
        for (const char *p = text; *p; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
                return HG_EINVAL;
        return *text ? HG_ENOENT : HG_EINVAL;
    }
    if (e != NULL && hg__inst_info(e->in, "address", buf, cap) == 0)
        return 0;
    /* Only a pipeline with `listen:` serves (as e->originates says): the others never will. */
    return hg__node_get(ic->node, "listen") != NULL ? HG_EAGAIN : HG_ENOTSUP;
}

static int32_t hook_auto_core(void *ud, hg__inst *in)
{
    hg__host *h = ud;
    hg__entry *e = hg__host_find(h, hg__inst_name(in));
    /* the entry's own config: a reload may have brought one other than the host's first */
    const hg__instance_cfg *ic = e != NULL && e->in == in
                                     ? e->cfg : hg__config_find(h->cfg, hg__inst_name(in));
    uint32_t i;
    if (ic != NULL && ic->core != HG_CORE_AUTO)
        return ic->core;
    if (h->cfg->n_cores == 0)
        return HG_CORE_ANY;
    i = __atomic_fetch_add(&h->next_core, 1, __ATOMIC_RELAXED);
    return h->cfg->cores[i % h->cfg->n_cores];
}

static void hook_state_changed(void *ud, hg__inst *in)
{
    (void)in;
    hg__host_broadcast(ud);
}

static const void *hook_extension(void *ud, hg__inst *in, const char *id)
{
    /* The extensions of this host: the graph service (processor.h), the stream and model
     * services (connector.h), and "hangar.net/1" (net_ext.c). */
    hg__host *h = ud;
    (void)in;
    if (id != NULL && strcmp(id, HG_GRAPH_EXTENSION) == 0)
        return hg__graph_api();
    if (id != NULL && strcmp(id, HG_STREAM_EXTENSION) == 0)
        return &hg__stream_api_table;
    if (id != NULL && strcmp(id, HG_MODEL_EXTENSION) == 0)
        return &hg__model_api_table;
    if (id != NULL && strcmp(id, HG_NET_EXTENSION) == 0)
        return &h->net_ext.pub;
    return NULL;
}

int hg__host_new_inst(hg__host *h, const char *name, const hg__node *node, hg__inst **out)
{
    hg__inst_hooks hooks = {h, hook_resolve, hook_extension, hook_auto_core, hook_state_changed};
    return hg__inst_new(name, node, h->lg, h->diag, &h->diag_mu, h->root, &hooks, out);
}

/* --- plugins --- */

static uint32_t strv_len(char *const *v)
{
    uint32_t n = 0;
    while (v != NULL && v[n] != NULL)
        n++;
    return n;
}

/* Every engine name the configuration asks for, NULL-terminated. */
static const char **needed_engines(const hg__config *cfg, int want_runtime)
{
    const char **v = calloc(cfg->n_instances + 2, sizeof *v);
    uint32_t n = 0;
    if (v == NULL)
        return NULL;
    if (want_runtime)
        v[n++] = cfg->runtime_mode;
    for (uint32_t i = 0; i < cfg->n_instances; i++)
        v[n++] = cfg->instances[i].engine;
    return v;
}

/* before_hint opens the hint in parentheses: "" or a remark on the section's kind. */
static void report_unknown_engine(hg__host *h, const hg__probe_set *ps, const char *engine,
                                  const hg__node *at, const char *after)
{
    const char **names = NULL;
    uint32_t n = 0, cap = 0;
    const char *near;
    for (uint32_t i = 0; i < ps->n; i++) {
        if (ps->items[i].status != 0)
            continue;
        for (uint32_t j = 0; j < ps->items[i].n_engines; j++) {
            if (n == cap) {
                const char **nn = realloc(names, (cap = cap ? cap * 2 : 16) * sizeof *nn);
                if (nn == NULL)
                    break;
                names = nn;
            }
            if (n < cap)
                names[n++] = ps->items[i].engines[j].name;
        }
    }
    near = hg__did_you_mean(engine, names, n);
    if (near)
        hg__diag_add(h->diag, at ? at->file : h->cfg->file, at ? at->line : 0, at ? at->col : 0,
                     "unknown engine '%s' (%sdid you mean '%s'?)", engine, after, near);
    else
        hg__diag_add(h->diag, at ? at->file : h->cfg->file, at ? at->line : 0, at ? at->col : 0,
                     "unknown engine '%s' (%s`hangar plugins` lists the engines found)", engine,
                     after);
    free(names);
}

/* Where engines were looked for, said once after unknown engines. */
static void note_search_path(hg__host *h, char *const *path)
{
    size_t len = 1;
    char *text;

    for (uint32_t i = 0; path[i] != NULL; i++)
        len += strlen(path[i]) + 1;
    text = calloc(1, len);
    if (text == NULL)
        return;
    for (uint32_t i = 0; path[i] != NULL; i++) {
        if (i > 0)
            strcat(text, ":");
        strcat(text, path[i]);
    }
    hg__diag_add(h->diag, NULL, 0, 0, "note: plugins were searched for in %s",
                 text[0] ? text : "(no directory)");
    free(text);
}

static int load_plugins(hg__host *h, const hg__host_opts *opts, int want_runtime)
{
    char **path = NULL;
    hg__probe_set ps = {0};
    const char **needed = NULL;
    int rc, unknown = 0;

    if (!want_runtime && h->cfg->n_instances == 0)
        return hg__registry_new(&h->reg); /* nothing to load: no probing at all */
    rc = hg__plugin_search_path((const char *const *)opts->extra_plugin_path,
                                strv_len(opts->extra_plugin_path),
                                (const char *const *)h->cfg->plugin_path,
                                h->cfg->n_plugin_path, &path);
    if (rc == 0)
        rc = hg__probe_path(path, &ps);
    if (rc == 0)
        rc = hg__registry_new(&h->reg);
    needed = needed_engines(h->cfg, want_runtime);
    if (rc == 0 && needed == NULL)
        rc = HG_ENOMEM;
    if (rc != 0)
        goto out;
    for (uint32_t i = 0; path[i] != NULL; i++)
        hg__log(h->lg, HG_LOG_DEBUG, "loader", "search path %u: %s", i + 1, path[i]);
    for (uint32_t i = 0; i < ps.n; i++) {
        if (ps.items[i].status != 0)
            hg__log(h->lg, HG_LOG_DEBUG, "loader", "refused %s", ps.items[i].error);
        else
            hg__log(h->lg, HG_LOG_DEBUG, "loader", "found %s %s in %s (%u engines)",
                    ps.items[i].id, ps.items[i].version, ps.items[i].path,
                    ps.items[i].n_engines);
    }
    rc = hg__registry_load_needed(h->reg, &ps, needed, h->diag);
    if (want_runtime && hg__registry_find(h->reg, h->cfg->runtime_mode) == NULL) {
        const hg__node *rt = h->cfg->runtime_node ? hg__node_get(h->cfg->runtime_node, "mode")
                                                  : NULL;
        report_unknown_engine(h, &ps, h->cfg->runtime_mode, rt, "");
        rc = HG_ECONFIG;
        unknown = 1;
    }
    for (uint32_t i = 0; i < h->cfg->n_instances; i++) {
        const hg__instance_cfg *ic = &h->cfg->instances[i];
        if (ic->engine == NULL || ic->engine[0] == '\0')
            continue; /* not a name: the schema has said so */
        if (hg__registry_find(h->reg, ic->engine) == NULL) {
            report_unknown_engine(h, &ps, ic->engine, ic->engine_node, "");
            rc = HG_ECONFIG;
            unknown = 1;
        }
    }
    if (unknown)
        note_search_path(h, path);
    /* A refused file may be the one that was meant to provide a missing engine: say which. */
    for (uint32_t i = 0; rc == HG_ECONFIG && i < ps.n; i++)
        if (ps.items[i].status != 0)
            hg__diag_add(h->diag, NULL, 0, 0, "note: refused %s", ps.items[i].error);
out:
    free(needed);
    hg__probe_set_free(&ps);
    hg__strv_free(path);
    return rc;
}

/* --- instances --- */

/* A new entry for an instance named name of engine def (kind checked by the caller). */
static int new_entry(hg__host *h, const char *name, const hg__node *node,
                     const hg__engine_def *def, hg__entry **out)
{
    hg__entry *e = calloc(1, sizeof *e);
    int rc;
    if (e == NULL)
        return HG_ENOMEM;
    rc = hg__host_new_inst(h, name, node, &e->in);
    if (rc != 0) {
        free(e);
        return rc;
    }
    e->def = def;
    e->ad = hg__adapter_for(def->kind);
    *out = e;
    return 0;
}

static int create_runtime(hg__host *h)
{
    const hg__engine_def *def = hg__registry_find(h->reg, h->cfg->runtime_mode);
    hg__cfgctx ctx = {h->diag, "runtime"};
    hg__entry *e;
    int rc, keys_rc = 0;

    if (def->kind != HG_KIND_RUNTIME_MODE) {
        const hg__node *at = hg__node_get(h->cfg->runtime_node, "mode");
        hg__diag_add(h->diag, at ? at->file : h->cfg->file, at ? at->line : 0, at ? at->col : 0,
                     "engine '%s' is a %s, not a runtime mode", def->name,
                     hg__kind_name(def->kind));
        return HG_ECONFIG;
    }
    /* unknown keys are reported, and the engine still checks the keys it knows (every error
     * of the file in one run) */
    if (def->config_keys && h->cfg->runtime_node)
        keys_rc = hg__cfg_check_keys(&ctx, h->cfg->runtime_node, hg__runtime_host_keys,
                                     def->config_keys);
    rc = new_entry(h, "runtime", h->cfg->runtime_node, def, &e);
    if (rc != 0)
        return rc;
    rc = e->ad->create(e, (const hg_config *)h->cfg->runtime_node, &h->actx);
    if (rc != 0) {
        if (h->diag->n == 0)
            hg__diag_add(h->diag, h->cfg->file, 0, 0, "runtime mode '%s' refused to start: %s",
                         def->name, hg_strerror(rc));
        hg__inst_free(e->in);
        free(e);
        return rc;
    }
    h->runtime = e;
    h->actx.runtime = e;
    return keys_rc;
}

/* Creates the instance of ic. Returns 0 or an error (reported in d); *out is the entry when one
 * exists (its engine may still have refused its configuration: obj NULL). */
int hg__host_create_entry(hg__host *h, const hg__instance_cfg *ic, uint32_t seq, hg__diag *d,
                          hg__entry **out)
{
    const hg__engine_def *def = hg__registry_find(h->reg, ic->engine);
    hg__cfgctx ctx = {d, ic->name};
    hg__entry *e;
    uint32_t before;
    int rc, keys_rc = 0;

    *out = NULL;
    if (def->kind != section_kind(ic->section)) {
        hg__diag_add(d, ic->engine_node->file, ic->engine_node->line, ic->engine_node->col,
                     "engine '%s' is a %s, not a %s", def->name, hg__kind_name(def->kind),
                     hg__kind_name(section_kind(ic->section)));
        return HG_ECONFIG;
    }
    if (hg__adapter_for(def->kind) == NULL) {
        /* No adapter for the kind: refusing here keeps a config from half-running. */
        hg__diag_add(d, ic->engine_node->file, ic->engine_node->line, ic->engine_node->col,
                     "%s '%s': this host does not run %ss yet", hg__kind_name(def->kind),
                     ic->name, hg__kind_name(def->kind));
        return HG_ENOTSUP;
    }
    if (def->config_keys) /* reported; the engine still checks the keys it knows */
        keys_rc = hg__cfg_check_keys(&ctx, ic->node, section_host_keys(ic->section),
                                     def->config_keys);
    rc = new_entry(h, ic->name, ic->node, def, &e);
    if (rc != 0)
        return rc;
    e->cfg = ic;
    e->seq = seq;
    /* A pipeline that listens serves; one that does not is a client and may end by itself. */
    e->originates = ic->section == HG__SEC_PIPELINE && hg__node_get(ic->node, "listen") == NULL;
    if (ic->records)
        hg__inst_enable_records(e->in, ic->records_max);
    before = d->n;
    rc = e->ad->create(e, (const hg_config *)ic->node, &h->actx);
    if (rc != 0 && d->n == before)
        hg__diag_add(d, ic->node->file, ic->node->line, ic->node->col,
                     "%s: engine '%s' refused its configuration: %s", ic->name, def->name,
                     hg_strerror(rc));
    *out = e;
    return rc != 0 ? rc : keys_rc;
}

/* 1 when every processor's engine was found (a missing one is reported by load_plugins; the
 * graph is then not checked, which would say it again). */
static int processor_engines_found(hg__host *h)
{
    for (uint32_t i = 0; i < h->cfg->n_instances; i++)
        if (h->cfg->instances[i].section == HG__SEC_PROCESSOR &&
            hg__registry_find(h->reg, h->cfg->instances[i].engine) == NULL)
            return 0;
    return 1;
}

static int create_all(hg__host *h, int want_runtime)
{
    int rc = 0;
    if (want_runtime && hg__registry_find(h->reg, h->cfg->runtime_mode) != NULL)
        rc = create_runtime(h);
    for (uint32_t i = 0; i < h->cfg->n_instances; i++) {
        hg__entry *e = NULL;
        int r;
        if (hg__registry_find(h->reg, h->cfg->instances[i].engine) == NULL)
            continue; /* reported by load_plugins */
        if (h->cfg->instances[i].section == HG__SEC_PROCESSOR)
            continue; /* the graph's: checked below, created at start */
        r = hg__host_create_entry(h, &h->cfg->instances[i], i, h->diag, &e);
        if (e != NULL && hg__engines_add(h->engines, e) != 0) {
            hg__entry_destroy(h, e); /* names are unique (the schema): only OOM lands here */
            r = HG_ENOMEM;
        }
        if (r != 0 && rc == 0)
            rc = r;
    }
    if (rc == 0)
        rc = hg__order_compute(h->engines, h->cfg->links, h->cfg->n_links, h->diag);
    if (h->cfg->doc->root != NULL && hg__node_get(h->cfg->doc->root, "graph") != NULL &&
        processor_engines_found(h)) {
        int r = hg__host_graph_create(h, h->diag);
        if (r != 0 && rc == 0)
            rc = r;
    }
    return rc;
}

/* Destroys every entry, in stop order, then the runtime mode. */
static void destroy_entries(hg__host *h)
{
    uint32_t n = 0;
    hg__entry **v;
    if (h->engines == NULL)
        return;
    v = hg__host_entries(h, &n);
    for (uint32_t i = n; i-- > 0;) {
        hg__engines_remove(h->engines, hg__inst_name(v[i]->in));
        hg__entry_destroy(h, v[i]);
    }
    free(v);
    /* what a failed snapshot left (OOM): destroyed in the order of adding */
    while (hg__engines_count(h->engines) > 0) {
        hg__entry *e = hg__engines_at(h->engines, 0);
        hg__engines_remove(h->engines, hg__inst_name(e->in));
        hg__entry_destroy(h, e);
    }
    hg__entry_destroy(h, h->runtime);
    h->runtime = NULL;
}

static void free_host(hg__host *h)
{
    hg__host_graph_destroy(h);
    destroy_entries(h);
    hg__engines_free(h->engines);
    hg__reload_free(h);
    for (uint32_t i = 0; i < h->n_parts; i++)
        hg__config_free(h->parts[i]);
    free(h->parts);
    hg__registry_free(h->reg);
    hg__cancel_release(h->root);
    hg__config_free(h->cfg);
    hg__logger_free(h->lg);
    free(h->not_stopped);
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->hub_cv);
    pthread_mutex_destroy(&h->hub_mu);
    pthread_cond_destroy(&h->job_cv);
    pthread_mutex_destroy(&h->job_mu);
    pthread_mutex_destroy(&h->list_mu);
    pthread_mutex_destroy(&h->busy.mu);
    pthread_mutex_destroy(&h->diag_mu);
    pthread_mutex_destroy(&h->net_mu);
    free(h);
}

/* Keeps the --set overrides and limits of src for reloads. Returns 0 or HG_ENOMEM. */
static int keep_sets(hg__host *h, const hg__config_src *src)
{
    h->limits = src->limits;
    if (src->n_sets == 0)
        return 0;
    h->sets = calloc(src->n_sets, sizeof *h->sets);
    if (h->sets == NULL)
        return HG_ENOMEM;
    for (uint32_t i = 0; i < src->n_sets; i++) {
        h->sets[i] = strdup(src->sets[i]);
        if (h->sets[i] == NULL)
            return HG_ENOMEM;
        h->n_sets = i + 1;
    }
    return 0;
}

/* d is the caller's and ends with create: from now on a config getter's error goes to the list
 * a `call` lends, or is logged as a warning (engine/instance.c). */
static void detach_diag(hg__host *h)
{
    h->diag = NULL;
    if (h->runtime != NULL)
        hg__inst_set_diag(h->runtime->in, NULL);
    for (uint32_t i = 0; i < hg__engines_count(h->engines); i++)
        hg__inst_set_diag(hg__engines_at(h->engines, i)->in, NULL);
}

int hg__host_create(const hg__host_opts *opts, hg__diag *d, hg__host **out)
{
    hg__host *h = calloc(1, sizeof *h);
    pthread_condattr_t ca;
    int want_runtime, rc, schema_rc = 0;

    if (h == NULL)
        return HG_ENOMEM;
    h->stream_link = hg__stream_link; /* the graph's way into connector streams */
    pthread_mutex_init(&h->diag_mu, NULL);
    pthread_mutex_init(&h->mu, NULL);
    pthread_mutex_init(&h->hub_mu, NULL);
    pthread_mutex_init(&h->job_mu, NULL);
    {
        pthread_mutexattr_t ma;
        pthread_mutexattr_init(&ma);
        pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
        pthread_mutex_init(&h->list_mu, &ma);
        pthread_mutexattr_destroy(&ma);
    }
    pthread_mutex_init(&h->busy.mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&h->cv, &ca);
    pthread_cond_init(&h->hub_cv, &ca);
    pthread_cond_init(&h->job_cv, &ca);
    pthread_condattr_destroy(&ca);
    h->diag = d;
    h->actx.busy = &h->busy;
    hg__net_ext_init(h);
    rc = hg__logger_new(opts->log_level > 0 ? (uint32_t)opts->log_level : 0, &h->lg);
    if (rc == 0)
        rc = hg__cancel_root(&h->root);
    if (rc == 0)
        rc = hg__engines_new(&h->engines);
    if (rc != 0)
        goto fail;
    hg__logger_set_stderr(h->lg, opts->log_to_stderr);
    if (opts->log_sink)
        hg__logger_add_sink(h->lg, opts->log_sink, opts->log_sink_ud);
    rc = hg__config_load_partial(&opts->src, &h->cfg, d);
    if (h->cfg == NULL)
        goto fail;
    h->actx.cfg = h->cfg;
    h->current = h->cfg;
    schema_rc = rc;
    if (hg__host_ops_setup(h, d) != 0 && schema_rc == 0)
        schema_rc = HG_ECONFIG;
    /* Precedence: the caller's level, then -v/-q/HANGAR_LOG, then the config's log.level. */
    h->log_from_cfg = opts->log_level <= 0 && !hg__log_default_explicit();
    if (h->log_from_cfg && h->cfg->doc->root != NULL &&
        hg__node_get(h->cfg->doc->root, "log") != NULL)
        hg__logger_set_level(h->lg, h->cfg->log_level);
    if (keep_sets(h, &opts->src) != 0) {
        rc = HG_ENOMEM;
        goto fail;
    }
    want_runtime = h->cfg->runtime_node != NULL || h->cfg->n_instances > 0;
    rc = load_plugins(h, opts, want_runtime);
    /* Go on with the engines that were found, so one run reports every error of the file. */
    if (rc != HG_ENOMEM && h->reg != NULL) {
        int rc2 = create_all(h, want_runtime);
        if (rc == 0)
            rc = rc2;
    }
    if (rc == 0 && (schema_rc != 0 || d->n > 0))
        rc = HG_ECONFIG;
    if (rc != 0)
        goto fail;
    detach_diag(h);
    *out = h;
    return 0;

fail:
    if (d->n == 0)
        hg__diag_add(d, NULL, 0, 0, "cannot create the host: %s", hg_strerror(rc));
    hg__diag_sort(d); /* schema, key and engine errors come from separate passes: file order */
    free_host(h);
    return rc == HG_ENOMEM ? rc : (rc == HG_ELOAD ? rc : HG_ECONFIG);
}

void hg__host_destroy(hg__host *h)
{
    if (h == NULL)
        return;
    hg__ctl_close(h->ctl);
    h->ctl = NULL;
    hg__host_ops_stop(h);
    if (h->hub_running) {
        int running;
        pthread_mutex_lock(&h->mu);
        running = h->started && !h->stopped;
        pthread_mutex_unlock(&h->mu);
        if (running) {
            char *reply = NULL;
            hg__host_command(h, "shutdown", &reply);
            free(reply);
        }
    }
    hg__hub_stop(h);
    free_host(h);
}

hg__logger *hg__host_logger(hg__host *h)
{
    return h->lg;
}

const hg__config *hg__host_config(const hg__host *h)
{
    return h->cfg;
}

uint32_t hg__host_failed_count(hg__host *h)
{
    uint32_t n = 0;
    pthread_mutex_lock(&h->list_mu);
    for (uint32_t i = 0; i < hg__engines_count(h->engines); i++)
        if (hg__inst_state(hg__engines_at(h->engines, i)->in, NULL) == HG_STATE_FAILED)
            n++;
    pthread_mutex_unlock(&h->list_mu);
    if (h->runtime && hg__inst_state(h->runtime->in, NULL) == HG_STATE_FAILED)
        n++;
    {
        uint32_t procs, failed;
        hg__host_graph_counts(h, &procs, &failed);
        n += failed;
    }
    return n;
}
