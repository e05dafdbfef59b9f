/* host_ops.c - the operations side of a host: the `metrics` and `log-level` verbs, the log's
 * format, file and per-instance levels from the config, and the metrics endpoint's life. */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "host_priv.h"
#include "graph_host.h"
#include "metrics.h"

static json_t *ops_fail(int code, const char *msg)
{
    json_t *o = json_object();
    json_object_set_new(o, "ok", json_false());
    json_object_set_new(o, "error", json_string(msg));
    json_object_set_new(o, "code", json_string(hg_err_name(code)));
    return o;
}

char *hg__ops_metrics_text(hg__host *h)
{
    hg__metrics_src src = {0};
    uint32_t n = 0;
    hg__entry **v;
    char *text = NULL;
    pthread_mutex_lock(&h->list_mu); /* no entry is removed (and freed) while it is read */
    v = hg__host_entries(h, &n);
    src.entries = calloc(n + 1, sizeof *src.entries);
    src.objs = calloc(n + 1, sizeof *src.objs);
    if ((n > 0 && v == NULL) || src.entries == NULL || src.objs == NULL)
        goto out;
    if (h->runtime)
        src.entries[src.n++] = h->runtime;
    for (uint32_t i = 0; i < n; i++)
        src.entries[src.n++] = v[i];
    for (uint32_t i = 0; i < src.n; i++)
        src.objs[i] = hg__entry_json(h, src.entries[i]);
    pthread_mutex_lock(&h->mu);
    src.uptime_ns = h->started_ns ? hg__now_ns() - h->started_ns : 0;
    src.cut = h->cut;
    pthread_mutex_unlock(&h->mu);
    src.instances = n;
    src.failed = hg__host_failed_count(h);
    if (h->graph != NULL) {
        char *g = hg__graph_json(h->graph);
        uint32_t procs, failed;
        src.graph = g ? json_loads(g, 0, NULL) : NULL;
        free(g);
        hg__host_graph_counts(h, &procs, &failed);
        src.instances += procs;
    }
    text = hg__metrics_text(&src);
    json_decref(src.graph);
    for (uint32_t i = 0; i < src.n; i++)
        json_decref(src.objs[i]);
out:
    pthread_mutex_unlock(&h->list_mu);
    free(src.entries);
    free(src.objs);
    free(v);
    return text;
}

json_t *hg__ops_metrics(hg__host *h, const char *arg)
{
    char *text = hg__ops_metrics_text(h);
    json_t *o;
    (void)arg;
    if (text == NULL)
        return ops_fail(HG_ENOMEM, "out of memory building the metrics");
    o = json_object();
    json_object_set_new(o, "ok", json_true());
    json_object_set_new(o, "text", json_string(text));
    free(text);
    return o;
}

/* Splits "NAME LEVEL" or "LEVEL" into name (NULL: the host's) and level. Returns 0 or -1. */
static int split_args(char *a, char **name, char **level)
{
    char *sp = strpbrk(a, " \t");
    *name = NULL;
    *level = a;
    if (sp != NULL) {
        *sp++ = '\0';
        while (isspace((unsigned char)*sp))
            sp++;
        if (*sp == '\0' || strpbrk(sp, " \t") != NULL)
            return -1;
        *name = a;
        *level = sp;
    }
    return *a == '\0' ? -1 : 0;
}

static json_t *log_level_reply(const char *name, const char *level)
{
    json_t *o = json_object();
    json_object_set_new(o, "ok", json_true());
    json_object_set_new(o, "name", name ? json_string(name) : json_null());
    json_object_set_new(o, "level", json_string(level));
    return o;
}

json_t *hg__ops_log_level(hg__host *h, const char *arg)
{
    char *a = strdup(arg ? arg : ""), *name, *lv, msg[300];
    json_t *r;
    uint32_t level;
    int rc;
    if (a == NULL)
        return ops_fail(HG_ENOMEM, "out of memory");
    if (split_args(a, &name, &lv) != 0) {
        r = ops_fail(HG_EINVAL, "usage: log-level [NAME] LEVEL (error, warn, info, debug, trace; "
                                "`default` gives NAME the host's level again)");
        goto out;
    }
    level = strcmp(lv, "default") == 0 && name ? 0 : hg__log_level_from_name(lv);
    if (level == 0 && strcmp(lv, "default") != 0) {
        snprintf(msg, sizeof msg, "'%.60s' is not a log level: error, warn, info, debug or trace",
                 lv);
        r = ops_fail(HG_EINVAL, msg);
        goto out;
    }
    if (name == NULL) {
        hg__logger_set_level(h->lg, level);
        hg__log(h->lg, HG_LOG_INFO, "host", "log level is now %s", lv);
        r = log_level_reply(NULL, lv);
        goto out;
    }
    /* `host` names the host's own lines (as log.engines does); processors log under their
     * names too */
    if (hg__host_find(h, name) == NULL && !(h->runtime && strcmp(name, "runtime") == 0) &&
        strcmp(name, "host") != 0 &&
        !(h->graph && hg__graph_state(h->graph, name, NULL) != 0)) {
        snprintf(msg, sizeof msg, "unknown instance '%.100s'", name);
        r = ops_fail(HG_ENOENT, msg);
        goto out;
    }
    rc = hg__logger_set_who_level(h->lg, name, level);
    if (rc != 0) {
        r = ops_fail(rc, rc == HG_ENOSPC ? "too many instances with a level of their own"
                                         : "cannot set the level");
        goto out;
    }
    hg__log(h->lg, HG_LOG_INFO, "host", "log level of '%s' is now %s", name,
            level ? lv : "the host's");
    r = log_level_reply(name, level ? lv : hg__log_level_name(hg__logger_level(h->lg)));
out:
    free(a);
    return r;
}

/* The position of log.KEY's value for an error, or none. */
static void diag_at_log_key(hg__host *h, hg__diag *d, const char *key, const char *msg)
{
    const hg__node *log = h->cfg->doc->root ? hg__node_get(h->cfg->doc->root, "log") : NULL;
    const hg__node *v = log ? hg__node_get(log, key) : NULL;
    hg__diag_add(d, h->cfg->file, v ? v->line : 0, v ? v->col : 0, "log: %s", msg);
}

int hg__host_ops_setup(hg__host *h, hg__diag *d)
{
    const hg__config *cfg = h->cfg;
    int rc = 0;
    hg__logger_set_format(h->lg, cfg->log_format);
    for (uint32_t i = 0; i < cfg->n_log_engines; i++)
        hg__logger_set_who_level(h->lg, cfg->log_engine_names[i], cfg->log_engine_levels[i]);
    if (cfg->log_file != NULL) {
        char err[400];
        if (hg__logger_set_file(h->lg, cfg->log_file, err, sizeof err) != 0) {
            diag_at_log_key(h, d, "file", err);
            rc = HG_ECONFIG;
        }
    }
    return rc;
}

int hg__host_ops_start(hg__host *h)
{
    char err[512] = "";
    int rc;
    if (h->cfg->metrics_addr == NULL)
        return 0;
    rc = hg__metrics_http_open(h, h->cfg->metrics_addr, &h->metrics, err, sizeof err);
    if (rc != 0) {
        hg__log(h->lg, HG_LOG_ERROR, "host", "%s", err);
        return rc;
    }
    hg__log(h->lg, HG_LOG_INFO, "host", "metrics at http://%.*s:%u/metrics",
            (int)(strrchr(h->cfg->metrics_addr, ':') - h->cfg->metrics_addr),
            h->cfg->metrics_addr, hg__metrics_http_port(h->metrics));
    return 0;
}

void hg__host_ops_show(hg__host *h, struct json_t *host_obj)
{
    char addr[160];
    const char *a = h->cfg->metrics_addr;
    if (h->metrics == NULL)
        return;
    snprintf(addr, sizeof addr, "%.*s:%u", (int)(strrchr(a, ':') - a), a,
             hg__metrics_http_port(h->metrics));
    json_object_set_new(host_obj, "metrics_address", json_string(addr));
}

void hg__host_ops_stop(hg__host *h)
{
    hg__metrics_http_close(h->metrics);
    h->metrics = NULL;
}
