/* reload.c - `reload [FILE]` (the control verb, `hangar ctl reload`, SIGHUP): one job on the
 * control thread that reads the file whole, refuses it with every error, or applies only the
 * difference to the running set, never leaving less running than before (docs/OPERATIONS.md). */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "host_priv.h"
#include "order.h"
#include "reload_graph.h"

/* What a reload changes. fresh[i] is the new entry of the added or changed instance; old[i] the
 * entry it replaces (NULL when added). gone: the entries no longer in the file. */
typedef struct plan {
    hg__config *nc;
    hg__entry **fresh, **old, **gone;
    uint32_t n_fresh, n_gone, unchanged;
    json_t *added, *removed, *changed;
    hg__node *gchange;          /* the graph commit (reload_graph.c); NULL: the graph stays */
    json_t *graph;              /* what the graph commit did */
} plan;

static const char *name_of(const hg__entry *e)
{
    return hg__inst_name(e->in);
}

static void add_error(hg__diag *d, const hg__node *at, const char *file, const char *fmt,
                      const char *what)
{
    hg__diag_add(d, at ? at->file : file, at ? at->line : 0, at ? at->col : 0, fmt, what);
}

/* The dotted path of the first place a and b differ, below prefix, into buf. */
static void first_diff(const hg__node *a, const hg__node *b, const char *prefix, char *buf,
                       size_t cap)
{
    const hg__node *maps[2] = {a, b};
    snprintf(buf, cap, "%s", prefix);
    if (a == NULL || b == NULL || a->type != HG_CFG_MAP || b->type != HG_CFG_MAP)
        return;
    for (int side = 0; side < 2; side++) {
        const hg__node *m = maps[side], *other = maps[!side];
        for (uint32_t i = 0; i < m->n; i++) {
            const char *k = m->keys[i]->value ? m->keys[i]->value : "";
            if (!hg__node_equal(m->items[i], hg__node_get(other, k))) {
                snprintf(buf, cap, "%s.%s", prefix, k);
                return;
            }
        }
    }
}

/* Of the log section only the level changes at run time: any other key that differs is
 * refused by name. */
static void check_log(const hg__node *a, const hg__node *b, const hg__config *nc, hg__diag *d)
{
    const hg__node *maps[2] = {a, b};
    char where[160];
    for (int side = 0; side < 2; side++) {
        const hg__node *m = maps[side], *other = maps[!side];
        for (uint32_t i = 0; m != NULL && m->type == HG_CFG_MAP && i < m->n; i++) {
            const char *k = m->keys[i]->value ? m->keys[i]->value : "";
            if (strcmp(k, "level") == 0 || hg__node_equal(m->items[i], hg__node_get(other, k)))
                continue;
            if (side == 1 && hg__node_get(other, k) != NULL)
                continue; /* said from the first side */
            snprintf(where, sizeof where, "log.%s", k);
            add_error(d, hg__node_get(b, k) ? hg__node_get(b, k) : hg__node_key(b, "level"),
                      nc->file, "%s: cannot change while the host runs (restart the host to "
                      "change it; only log.level does)", where);
        }
    }
}

/* Refuses changes to what the running host cannot change: the runtime mode and its workers, the
 * control socket and bound, the plugin path, the log but its level. */
static void check_fixed(hg__host *h, const hg__config *nc, hg__diag *d)
{
    static const char *const fixed[] = {"runtime", "control", "plugin_path"};
    const hg__node *was = h->cfg->doc->root, *now = nc->doc->root;
    char where[256];
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        const hg__node *a = hg__node_get(was, fixed[i]), *b = hg__node_get(now, fixed[i]);
        if (hg__node_equal(a, b))
            continue;
        first_diff(a, b, fixed[i], where, sizeof where);
        add_error(d, b ? b : hg__node_key(now, fixed[i]), nc->file,
                  "%s: cannot change while the host runs (restart the host to change it)",
                  where);
    }
    was = h->current->doc->root;
    check_log(hg__node_get(was, "log"), hg__node_get(now, "log"), nc, d);
}

/* 1 when the running entry e is what ic asks for. */
static int same_instance(const hg__entry *e, const hg__instance_cfg *ic)
{
    return e->cfg != NULL && e->cfg->section == ic->section &&
           strcmp(e->cfg->engine, ic->engine) == 0 && hg__node_equal(e->cfg->node, ic->node);
}

static int named_in(const hg__config *nc, const char *name)
{
    return hg__config_find(nc, name) != NULL;
}

/* Sorts the instances of p->nc against the running ones; errors (an engine not loaded) into d. */
static int diff(hg__host *h, plan *p, hg__diag *d)
{
    uint32_t n_run;
    hg__entry **run = hg__host_entries(h, &n_run);
    p->fresh = calloc(p->nc->n_instances + 1, sizeof *p->fresh);
    p->old = calloc(p->nc->n_instances + 1, sizeof *p->old);
    p->gone = calloc(n_run + 1, sizeof *p->gone);
    if (run == NULL || p->fresh == NULL || p->old == NULL || p->gone == NULL) {
        free(run);
        return HG_ENOMEM;
    }
    for (uint32_t i = 0; i < p->nc->n_instances; i++) {
        const hg__instance_cfg *ic = &p->nc->instances[i];
        hg__entry *e = hg__host_find(h, ic->name);
        if (ic->section == HG__SEC_PROCESSOR)
            continue; /* the graph's (reload_graph.c) */
        if (e != NULL && same_instance(e, ic)) {
            p->unchanged++;
            continue;
        }
        if (hg__registry_find(h->reg, ic->engine) == NULL)
            hg__diag_add(d, ic->engine_node->file, ic->engine_node->line, ic->engine_node->col,
                         "%s: engine '%s' is not loaded in this host (a reload runs the engines "
                         "of the plugins loaded at start; restart the host to load another)",
                         ic->name, ic->engine);
        p->old[p->n_fresh++] = e;
        json_array_append_new(e ? p->changed : p->added, json_string(ic->name));
    }
    for (uint32_t i = 0; i < n_run; i++)
        if (!named_in(p->nc, name_of(run[i]))) {
            p->gone[p->n_gone++] = run[i];
            json_array_append_new(p->removed, json_string(name_of(run[i])));
        }
    free(run);
    return 0;
}

/* Creates the entry of every added or changed instance (not registered yet). Errors into d. */
static void create_fresh(hg__host *h, plan *p, hg__diag *d)
{
    uint32_t k = 0;
    h->diag = d; /* what new instances report during create */
    for (uint32_t i = 0; i < p->nc->n_instances; i++) {
        const hg__instance_cfg *ic = &p->nc->instances[i];
        hg__entry *e = hg__host_find(h, ic->name);
        if (ic->section == HG__SEC_PROCESSOR || (e != NULL && same_instance(e, ic)))
            continue;
        if (hg__registry_find(h->reg, ic->engine) != NULL) /* else diff said so */
            hg__host_create_entry(h, ic, i, d, &p->fresh[k]);
        if (p->fresh[k] != NULL)
            hg__inst_set_diag(p->fresh[k]->in, NULL);
        k++;
    }
    h->diag = NULL;
}

/* Puts the fresh entries in the registry in place of the old ones (swap 1), or back (swap 0),
 * and orders the host anew. Returns the order's code (a reference cycle: HG_ECONFIG). */
static int swap(hg__host *h, plan *p, int forward, hg__diag *d)
{
    int rc = 0;
    pthread_mutex_lock(&h->list_mu);
    for (uint32_t i = 0; i < p->n_fresh; i++) {
        hg__entry *out = forward ? p->old[i] : p->fresh[i], *in = forward ? p->fresh[i] : p->old[i];
        if (out != NULL && hg__engines_find(h->engines, name_of(out)) == out)
            hg__engines_remove(h->engines, name_of(out));
        if (in != NULL && rc == 0)
            rc = hg__engines_add(h->engines, in);
    }
    if (rc == 0)
        rc = hg__host_relevel(h, NULL, d);
    pthread_mutex_unlock(&h->list_mu);
    return rc;
}

static int shutting_down(hg__host *h)
{
    int r;
    pthread_mutex_lock(&h->mu);
    r = h->stopping || h->stopped;
    pthread_mutex_unlock(&h->mu);
    return r;
}

static int host_running(hg__host *h)
{
    int r;
    pthread_mutex_lock(&h->mu);
    r = h->started && !h->stopping && !h->stopped;
    pthread_mutex_unlock(&h->mu);
    return r;
}

/* The entries of v[0..n) that are not NULL, in start order (malloc'd). */
static hg__entry **in_order(hg__entry **v, uint32_t n, uint32_t *out_n)
{
    hg__entry **s = calloc(n + 1, sizeof *s);
    *out_n = 0;
    if (s == NULL)
        return NULL;
    for (uint32_t i = 0; i < n; i++)
        if (v[i] != NULL)
            s[(*out_n)++] = v[i];
    hg__order_sort(s, *out_n);
    return s;
}

/* Stops v[0..n) in stop order (each gracefully within the shutdown bound). Returns the cut. */
static uint32_t stop_all(hg__host *h, hg__entry **v, uint32_t n)
{
    uint32_t k = 0, cut = 0;
    hg__entry **s = in_order(v, n, &k);
    for (uint32_t i = k; s != NULL && i-- > 0;)
        cut += hg__lc_stop_entry(h, s[i]);
    free(s);
    return cut;
}

/* Starts v[0..n) in start order; stops at the first that fails, naming it in d. Returns 0 or its
 * code. */
static int start_all(hg__host *h, hg__entry **v, uint32_t n, hg__diag *d)
{
    uint32_t k = 0;
    int rc = 0;
    hg__entry **s = in_order(v, n, &k);
    if (s == NULL)
        return HG_ENOMEM;
    for (uint32_t i = 0; i < k && rc == 0; i++) {
        rc = hg__lc_start_entry(h, s[i]);
        if (rc != 0) {
            json_t *j = hg__inst_json(s[i]->in, s[i]->def->name, hg__kind_name(s[i]->def->kind));
            const char *why = json_string_value(json_object_get(j, "error"));
            hg__diag_add(d, NULL, 0, 0, "%s: did not start: %s", name_of(s[i]),
                         why ? why : hg_strerror(rc));
            json_decref(j);
        }
    }
    free(s);
    return rc;
}

/* Starts the changed and added instances in place of the old ones; on a failure puts the old
 * ones back, running as before. Returns 0 or the failure. */
static int apply(hg__host *h, plan *p, hg__diag *d)
{
    int rc;
    if (!host_running(h))
        return hg__reload_graph_commit(h, p->gchange, p->graph, d); /* the rest starts with
                                                                     * the host */
    stop_all(h, p->old, p->n_fresh); /* a changed listener frees its address first */
    rc = start_all(h, p->fresh, p->n_fresh, d);
    if (rc == 0)
        rc = hg__reload_graph_commit(h, p->gchange, p->graph, d);
    if (rc == 0)
        return 0;
    stop_all(h, p->fresh, p->n_fresh);
    swap(h, p, 0, NULL);
    if (start_all(h, p->old, p->n_fresh, d) != 0)
        hg__diag_add(d, NULL, 0, 0, "reload rolled back, but an engine that ran before did not "
                     "start again (see `counters`)");
    else
        hg__diag_add(d, NULL, 0, 0, "reload rolled back: the engines that ran before run as "
                     "they did");
    return rc;
}

/* 1 when an entry still borrows its config (and nodes) from c. */
static int borrowed(hg__host *h, const hg__config *c)
{
    uint32_t n = 0;
    hg__entry **v = hg__host_entries(h, &n);
    int used = v == NULL; /* out of memory: keep it */
    for (uint32_t i = 0; i < h->n_pinned && !used; i++)
        used = h->pinned[i] == c; /* the graph's processors read its nodes */
    for (uint32_t i = 0; i < n && !used; i++)
        used = v[i]->cfg >= c->instances && v[i]->cfg < c->instances + c->n_instances;
    free(v);
    return used;
}

/* Frees the configurations of list no entry borrows from any more, but the current one (the
 * host's first one is never in a list). */
static void collect(hg__host *h, hg__config **list, uint32_t *n)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < *n; i++) {
        if (list[i] != h->current && !borrowed(h, list[i]))
            hg__config_free(list[i]);
        else
            list[k++] = list[i];
    }
    *n = k;
}

/* Room for one more configuration in h->loaded, made before anything changes. */
static int reserve(hg__host *h)
{
    hg__config **v = realloc(h->loaded, (h->n_loaded + 1) * sizeof *v);
    if (v == NULL)
        return HG_ENOMEM;
    h->loaded = v;
    v = realloc(h->pinned, (h->n_pinned + 1) * sizeof *v);
    if (v == NULL)
        return HG_ENOMEM;
    h->pinned = v;
    return 0;
}

/* Takes p->nc as the current configuration once the change is applied (room reserved). */
static void adopt(hg__host *h, plan *p)
{
    if (hg__node_get(p->gchange, "add") != NULL)
        h->pinned[h->n_pinned++] = p->nc; /* kept for the life of the host */
    h->loaded[h->n_loaded++] = p->nc;
    h->current = p->nc;
    p->nc = NULL;
    if (h->log_from_cfg && h->current->doc->root != NULL &&
        hg__node_get(h->current->doc->root, "log") != NULL)
        hg__logger_set_level(h->lg, h->current->log_level);
    collect(h, h->loaded, &h->n_loaded);
    collect(h, h->parts, &h->n_parts);
}

/* Stops and drops what the file no longer names, and the entries the changed ones replaced. */
static uint32_t retire(hg__host *h, plan *p)
{
    uint32_t cut = stop_all(h, p->gone, p->n_gone);
    pthread_mutex_lock(&h->list_mu);
    for (uint32_t i = 0; i < p->n_gone; i++)
        hg__engines_remove(h->engines, name_of(p->gone[i]));
    hg__host_relevel(h, NULL, NULL);
    pthread_mutex_unlock(&h->list_mu);
    for (uint32_t i = 0; i < p->n_gone; i++)
        hg__entry_destroy(h, p->gone[i]);
    for (uint32_t i = 0; i < p->n_fresh; i++)
        hg__entry_destroy(h, p->old[i]);
    return cut;
}

static char *dump(json_t *o)
{
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

/* {"ok":false,"code":...,"error":FIRST,"errors":[EVERY]}, each error logged too. */
static char *refused(hg__host *h, const char *file, int code, const hg__diag *d)
{
    json_t *o = json_object(), *a = json_array();
    hg__log(h->lg, HG_LOG_WARN, "host", "reload of %s %s: %u error%s", file,
            code == HG_EFAIL ? "failed and was rolled back" : "refused, nothing changed", d->n,
            d->n == 1 ? "" : "s");
    for (uint32_t i = 0; i < d->n; i++) {
        char line[1400];
        const hg__diag_item *it = &d->items[i];
        if (it->file != NULL && it->line > 0)
            snprintf(line, sizeof line, "%s:%u:%u: %s", it->file, it->line, it->col, it->msg);
        else if (it->file != NULL)
            snprintf(line, sizeof line, "%s: %s", it->file, it->msg);
        else
            snprintf(line, sizeof line, "%s", it->msg);
        hg__log(h->lg, HG_LOG_WARN, "host", "reload: %s", line);
        json_array_append_new(a, json_string(line));
    }
    json_object_set_new(o, "ok", json_false());
    json_object_set_new(o, "code", json_string(hg_err_name(code)));
    json_object_set(o, "error", json_array_size(a) ? json_array_get(a, 0)
                                                   : json_string("reload failed"));
    json_object_set_new(o, "errors", a);
    return dump(o);
}

static char *applied(hg__host *h, plan *p, const char *file, uint32_t cut)
{
    json_t *o = json_object();
    char *add = json_dumps(p->added, JSON_COMPACT), *rem = json_dumps(p->removed, JSON_COMPACT),
         *chg = json_dumps(p->changed, JSON_COMPACT);
    h->reloads++;
    hg__log(h->lg, HG_LOG_INFO, "host", "reload %llu of %s: added %s, removed %s, changed %s, "
            "%u unchanged (%u connection%s cut)", (unsigned long long)h->reloads, file,
            add ? add : "?", rem ? rem : "?", chg ? chg : "?", p->unchanged, cut,
            cut == 1 ? "" : "s");
    free(add);
    free(rem);
    free(chg);
    json_object_set_new(o, "ok", json_true());
    json_object_set_new(o, "file", json_string(file));
    json_object_set(o, "added", p->added);
    json_object_set(o, "removed", p->removed);
    json_object_set(o, "changed", p->changed);
    json_object_set_new(o, "unchanged", json_integer(p->unchanged));
    if (p->gchange != NULL) {
        json_object_del(p->graph, "ok");
        json_object_set(o, "graph", p->graph);
    } else if (h->graph != NULL && hg__graph_commits(h->graph) != h->graph_seen) {
        json_object_set_new(o, "graph", json_string("left as it runs: changed at run time by "
                                                    "commits since the file was applied"));
    }
    json_object_set_new(o, "cut", json_integer(cut));
    json_object_set_new(o, "reloads", json_integer((json_int_t)h->reloads));
    return dump(o);
}

/* Reads file whole into p->nc and checks it against the running host. Returns 0, or the code
 * with every error in d. */
static int prepare(hg__host *h, const char *file, plan *p, hg__diag *d)
{
    hg__config_src src;
    int rc;
    memset(&src, 0, sizeof src);
    src.path = file;
    src.sets = (const char *const *)h->sets;
    src.n_sets = h->n_sets;
    src.limits = h->limits;
    rc = hg__config_load(&src, &p->nc, d);
    if (rc != 0)
        return rc;
    /* every check runs, whatever the ones before found: one reply names every error */
    check_fixed(h, p->nc, d);
    if (diff(h, p, d) != 0 || hg__reload_graph_plan(h, p->nc, &p->gchange, d) == HG_ENOMEM)
        return HG_ENOMEM;
    create_fresh(h, p, d);
    return d->n > 0 ? HG_ECONFIG : 0;
}

static void plan_free(hg__host *h, plan *p, int destroy_fresh)
{
    for (uint32_t i = 0; destroy_fresh && p->fresh && i < p->n_fresh; i++)
        hg__entry_destroy(h, p->fresh[i]);
    free(p->fresh);
    free(p->old);
    free(p->gone);
    hg__config_free(p->nc);
    json_decref(p->added);
    json_decref(p->removed);
    json_decref(p->changed);
    json_decref(p->graph);
    hg__reload_graph_free(p->gchange);
}

/* The file a reload reads: the one given, else the one the running set came from. NULL (with
 * d told why) when there is none. */
static const char *file_of(hg__host *h, const char *file, hg__diag *d)
{
    if (file != NULL && *file != '\0')
        return file;
    if (h->current->file != NULL && h->current->file[0] != '<')
        return h->current->file;
    hg__diag_add(d, NULL, 0, 0, "reload: the host was not started from a file (%s): give one, "
                 "`reload FILE`", h->current->file ? h->current->file : "no file");
    return NULL;
}

char *hg__reload_run(hg__host *h, const char *file)
{
    plan p = {.added = json_array(), .removed = json_array(), .changed = json_array(),
              .graph = json_object()};
    const char *path;
    char *reply, *shown;
    hg__diag d;
    uint32_t cut;
    int rc;

    hg__diag_init(&d);
    path = file_of(h, file, &d);
    shown = strdup(path ? path : "(none)");
    if (shown == NULL) {
        hg__diag_add(&d, NULL, 0, 0, "reload: out of memory");
        rc = HG_ENOMEM;
    } else if (path != NULL && shutting_down(h)) {
        hg__diag_add(&d, NULL, 0, 0, "reload: the host is shutting down");
        rc = HG_ESTATE;
    } else if (path != NULL && reserve(h) != 0) {
        hg__diag_add(&d, NULL, 0, 0, "reload: out of memory");
        rc = HG_ENOMEM;
    } else
        rc = path == NULL ? HG_EINVAL : prepare(h, path, &p, &d);
    if (rc == 0 && swap(h, &p, 1, &d) != 0) {
        swap(h, &p, 0, NULL);
        rc = HG_ECONFIG;
    }
    if (rc == 0 && apply(h, &p, &d) != 0)
        rc = HG_EFAIL; /* rolled back: the old set runs */
    if (rc != 0) {
        hg__diag_sort(&d); /* the checks run in passes: file order */
        reply = refused(h, shown ? shown : "?", rc, &d);
        plan_free(h, &p, 1);
    } else {
        cut = retire(h, &p);
        adopt(h, &p);
        reply = applied(h, &p, shown, cut);
        plan_free(h, &p, 0);
    }
    free(shown);
    hg__diag_free(&d);
    return reply;
}

const hg__config *hg__host_config_now(const hg__host *h)
{
    return h->current;
}

void hg__reload_free(hg__host *h)
{
    for (uint32_t i = 0; i < h->n_loaded; i++)
        hg__config_free(h->loaded[i]);
    free(h->loaded);
    h->loaded = NULL;
    h->n_loaded = 0;
    free(h->pinned);
    h->pinned = NULL;
    h->n_pinned = 0;
    for (uint32_t i = 0; i < h->n_sets; i++)
        free(h->sets[i]);
    free(h->sets);
    h->sets = NULL;
    h->n_sets = 0;
}
