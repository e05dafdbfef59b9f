/* config.c - the host's configuration schema (design/CONFIG.md): loads the YAML tree, applies the
 * `--set` overrides and checks every host-owned key, collecting all errors of the file at once.
 *
 * Message style, one per line:  FILE:LINE:COL: WHERE: message
 *   WHERE is the section ("runtime", "control", "log"), the instance's name ("echo") or its index
 *   when the name is unusable ("pipelines[1]"), a stream as "CONNECTOR.STREAM", a link as
 *   "graph.links[0]"; top-level problems have no WHERE. Values are quoted with "", keys with ''.
 *   Unknown keys read "unknown key 'lisen' (did you mean 'listen'?)". A --set problem without a
 *   position reads "--set PATH: message". Engine keys are left to the engines. */
#define _GNU_SOURCE
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hangar/frame.h>
#include <hangar/host.h>
#include <hangar/plugin.h>
#include <hangar/status.h>

#include "cfgview.h"
#include "units.h"

const char *const hg__pipeline_host_keys[] = { "name", "engine", "records", "records_max", "core",
                                               NULL };
const char *const hg__connector_host_keys[] = { "name", "engine", "streams", "core", NULL };
const char *const hg__processor_host_keys[] = { "name", "engine", "core", NULL };
const char *const hg__stream_host_keys[] = { "name", "max_pending_events", "max_pending_actions",
                                             "policy", "core", "healthy_at_start", NULL };

static const char *const top_keys[] = { "hangar", "plugin_path", "log", "runtime", "control",
                                        "pipelines", "connectors", "graph", NULL };
static const char *const log_keys[] = { "level", NULL };
static const char *const control_keys[] = { "socket", "shutdown_timeout", NULL };
static const char *const graph_keys[] = { "processors", "links", NULL };
static const char *const link_keys[] = { "from", "to", "capacity", "policy", NULL };
static const char *const log_levels[] = { "error", "warn", "info", "debug", "trace" };
static const char *const policies[] = { "block", "drop_newest", "drop_oldest" };

/* ---- did you mean ---- */

static uint32_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    uint32_t row[65], best;

    if (la > 64 || lb > 64)
        return UINT32_MAX;
    for (size_t j = 0; j <= lb; j++)
        row[j] = (uint32_t)j;
    for (size_t i = 1; i <= la; i++) {
        uint32_t diag = row[0];
        row[0] = (uint32_t)i;
        for (size_t j = 1; j <= lb; j++) {
            uint32_t up = row[j];
            best = diag + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *hg__did_you_mean(const char *word, const char *const *candidates, uint32_t n)
{
    size_t len = strlen(word);
    uint32_t limit = len / 3 > 2 ? (uint32_t)(len / 3) : 2, best = UINT32_MAX;
    const char *found = NULL;

    for (uint32_t i = 0; i < n; i++) {
        uint32_t dist = edit_distance(word, candidates[i]);
        if (dist <= limit && dist < best) {
            best = dist;
            found = candidates[i];
        }
    }
    return found;
}

/* ---- the checker ---- */

typedef struct checker {
    hg__config *cfg;
    hg__diag *d;
    const hg__node **name_nodes; /* every instance name seen, for uniqueness */
    uint32_t n_names;
    int oom;
} checker;

static int is_name(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
            return 0;
    return 1;
}

static char *xstrdup(checker *c, const char *s)
{
    char *p = strdup(s);

    if (!p)
        c->oom = 1;
    return p;
}

/* Reads a string from a fixed set; a wrong one is reported with a did-you-mean. Returns the
 * index or -1 (absent or wrong; wrong ones are reported). */
static int get_choice(hg__cfgctx *ctx, const hg__node *map, const char *key,
                      const char *const *set, uint32_t n, const char *what)
{
    const char *s = NULL, *near;
    char *msg = NULL;

    if (hg__cfg_string(ctx, map, key, &s) != 0)
        return -1;
    for (uint32_t i = 0; i < n; i++)
        if (strcmp(s, set[i]) == 0)
            return (int)i;
    near = hg__did_you_mean(s, set, n);
    if (asprintf(&msg, "'%s' must be %s, got \"%s\"%s%s%s", key, what, s,
                 near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "") >= 0) {
        hg__cfg_error(ctx, map, key, msg);
        free(msg);
    }
    return -1;
}

/* An integer in [lo, hi]; keeps *out (the default) when absent or wrong. */
static void get_int_range(hg__cfgctx *ctx, const hg__node *map, const char *key, int64_t lo,
                          int64_t hi, uint32_t *out)
{
    int64_t v;
    char *msg = NULL;

    if (hg__cfg_int(ctx, map, key, &v) != 0)
        return;
    if (v >= lo && v <= hi) {
        *out = (uint32_t)v;
        return;
    }
    if (asprintf(&msg, "'%s' must be between %lld and %lld, got %lld", key, (long long)lo,
                 (long long)hi, (long long)v) >= 0) {
        hg__cfg_error(ctx, map, key, msg);
        free(msg);
    }
}

/* `core:` is a core number >= 0 or `any`. */
static void get_core(hg__cfgctx *ctx, const hg__node *map, int32_t *out)
{
    const hg__node *v = NULL;
    int64_t n;

    if (hg__cfg_child(map, "core", &v) != 0 || (v->type == HG_CFG_SCALAR && v->is_null))
        return;
    if (v->type == HG_CFG_SCALAR && !v->quoted && strcmp(v->value, "any") == 0) {
        *out = HG_CORE_ANY;
        return;
    }
    if (v->type == HG_CFG_SCALAR && !v->quoted && hg__parse_int(v->value, &n) == 0 && n >= 0 &&
        n <= INT32_MAX) {
        *out = (int32_t)n;
        return;
    }
    if (v->type != HG_CFG_SCALAR) {
        hg__cfg_error(ctx, map, "core", "'core' must be a core number (0 or more) or any, not a "
                                        "map or list");
        return;
    }
    char msg[160];
    snprintf(msg, sizeof(msg), "'core' must be a core number (0 or more) or any, got \"%.60s\"",
             v->value);
    hg__cfg_error(ctx, map, "core", msg);
}

static const hg__node *name_taken(const checker *c, const char *name)
{
    for (uint32_t i = 0; i < c->n_names; i++)
        if (strcmp(c->name_nodes[i]->value, name) == 0)
            return c->name_nodes[i];
    return NULL;
}

/* Checks `name:` of an item: required, [a-z0-9_-]+, unique in the file (prefix: "conn." for
 * streams, whose full name is "conn.stream"). Returns the name or NULL. */
static const char *check_name(checker *c, hg__cfgctx *ctx, const hg__node *item,
                              const char *scope)
{
    const char *name = NULL;
    const hg__node *v = hg__node_get(item, "name"), *prev;
    char *full = NULL;

    if (hg__cfg_string(ctx, item, "name", &name) != 0) {
        if (!v || v->is_null)
            hg__cfg_error(ctx, item, NULL, "missing required key 'name'");
        return NULL;
    }
    if (!is_name(name)) {
        hg__cfg_error(ctx, item, "name", "'name' must use only a-z, 0-9, '_' and '-'");
        return NULL;
    }
    if (scope) /* a stream: unique within its connector */
        return name;
    prev = name_taken(c, name);
    if (prev) {
        if (asprintf(&full, "name '%s' is already used (line %u)", name, prev->line) >= 0) {
            hg__cfg_error(ctx, item, "name", full);
            free(full);
        }
        return NULL;
    }
    const hg__node **grown = realloc(c->name_nodes, (c->n_names + 1) * sizeof(*grown));
    if (!grown) {
        c->oom = 1;
        return NULL;
    }
    c->name_nodes = grown;
    c->name_nodes[c->n_names++] = v;
    return name;
}

/* The WHERE of an item's messages: its name when usable, else "section[i]". */
static void item_who(const hg__node *item, const char *section, uint32_t i, char *buf,
                     size_t cap)
{
    const hg__node *v = hg__node_get(item, "name");

    if (v && v->type == HG_CFG_SCALAR && is_name(v->value))
        snprintf(buf, cap, "%s", v->value);
    else
        snprintf(buf, cap, "%s[%u]", section, i);
}

/* A section that must be a list of maps: reports a wrong type; returns the list or NULL. */
static const hg__node *get_list(hg__cfgctx *ctx, const hg__node *map, const char *key)
{
    const hg__node *v = NULL;
    char msg[96];

    if (hg__cfg_child(map, key, &v) != 0 || (v->type == HG_CFG_SCALAR && v->is_null))
        return NULL;
    if (v->type == HG_CFG_SEQ)
        return v;
    snprintf(msg, sizeof(msg), "'%s' must be a list, got %s", key,
             v->type == HG_CFG_MAP ? "a map" : "a single value");
    hg__cfg_error(ctx, map, key, msg);
    return NULL;
}

/* A section that must be a map; NULL when absent or wrong (reported). */
static const hg__node *get_map(hg__cfgctx *ctx, const hg__node *map, const char *key)
{
    const hg__node *v = NULL;
    char msg[96];

    if (hg__cfg_child(map, key, &v) != 0 || (v->type == HG_CFG_SCALAR && v->is_null))
        return NULL;
    if (v->type == HG_CFG_MAP)
        return v;
    snprintf(msg, sizeof(msg), "'%s' must be a map, got %s", key,
             v->type == HG_CFG_SEQ ? "a list" : "a single value");
    hg__cfg_error(ctx, map, key, msg);
    return NULL;
}

static int item_is_map(hg__cfgctx *ctx, const hg__node *item)
{
    if (item->type == HG_CFG_MAP)
        return 1;
    hg__cfg_error(ctx, item, NULL, item->type == HG_CFG_SEQ ? "expected a map, got a list"
                                                            : "expected a map, got a single value");
    return 0;
}

static hg__instance_cfg *add_instance(checker *c)
{
    hg__config *cfg = c->cfg;
    hg__instance_cfg *p = realloc(cfg->instances, (cfg->n_instances + 1) * sizeof(*p));

    if (!p) {
        c->oom = 1;
        return NULL;
    }
    cfg->instances = p;
    p = &cfg->instances[cfg->n_instances++];
    memset(p, 0, sizeof(*p));
    p->core = HG_CORE_AUTO;
    p->records_max = 4096;
    return p;
}

/* The keys every instance has: name, engine, core. Adds the instance. */
static hg__instance_cfg *check_instance(checker *c, const hg__node *item, uint32_t section,
                                        const char *sname, uint32_t i)
{
    char who[96];
    hg__cfgctx ctx = { c->d, who };
    const char *name, *engine = NULL;
    hg__instance_cfg *inst;

    item_who(item, sname, i, who, sizeof(who));
    if (!item_is_map(&ctx, item))
        return NULL;
    name = check_name(c, &ctx, item, NULL);
    if (hg__cfg_string(&ctx, item, "engine", &engine) == HG_ENOENT)
        hg__cfg_error(&ctx, item, NULL, "missing required key 'engine'");
    inst = add_instance(c);
    if (!inst)
        return NULL;
    inst->section = section;
    inst->node = item;
    inst->engine_node = hg__node_get(item, "engine");
    inst->name = xstrdup(c, name ? name : who);
    inst->engine = xstrdup(c, engine ? engine : "");
    get_core(&ctx, item, &inst->core);
    return inst;
}

static void check_pipelines(checker *c, const hg__node *list)
{
    for (uint32_t i = 0; list && i < list->n; i++) {
        const hg__node *item = list->items[i];
        hg__instance_cfg *inst = check_instance(c, item, HG__SEC_PIPELINE, "pipelines", i);
        hg__cfgctx ctx = { c->d, NULL };
        if (!inst)
            continue;
        ctx.who = inst->name;
        hg__cfg_bool(&ctx, item, "records", &inst->records);
        get_int_range(&ctx, item, "records_max", 1, 1 << 24, &inst->records_max);
    }
}

static void check_stream(checker *c, hg__instance_cfg *conn, const hg__node *item, uint32_t i)
{
    char who[160];
    hg__cfgctx ctx = { c->d, who };
    const char *name;
    hg__stream_cfg *s = &conn->streams[conn->n_streams];
    int pol;

    snprintf(who, sizeof(who), "%s.", conn->name);
    item_who(item, "streams", i, who + strlen(who), sizeof(who) - strlen(who));
    if (!item_is_map(&ctx, item))
        return;
    memset(s, 0, sizeof(*s));
    s->node = item;
    s->max_pending_events = 1024;
    s->max_pending_actions = 1024;
    s->policy = HG_POLICY_BLOCK;
    s->core = HG_CORE_AUTO;
    name = check_name(c, &ctx, item, conn->name);
    for (uint32_t j = 0; name && j < conn->n_streams; j++) {
        if (strcmp(conn->streams[j].name, name) == 0) {
            char msg[128];
            snprintf(msg, sizeof(msg), "stream name '%s' is already used in '%s' (line %u)",
                     name, conn->name, conn->streams[j].node->line);
            hg__cfg_error(&ctx, item, "name", msg);
        }
    }
    get_int_range(&ctx, item, "max_pending_events", 1, 1 << 24, &s->max_pending_events);
    get_int_range(&ctx, item, "max_pending_actions", 1, 1 << 24, &s->max_pending_actions);
    pol = get_choice(&ctx, item, "policy", policies, 3, "block, drop_newest or drop_oldest");
    if (pol >= 0)
        s->policy = (uint32_t)pol + HG_POLICY_BLOCK;
    get_core(&ctx, item, &s->core);
    hg__cfg_bool(&ctx, item, "healthy_at_start", &s->healthy_at_start);
    s->name = xstrdup(c, name ? name : who);
    conn->n_streams++;
}

static void check_connectors(checker *c, const hg__node *list)
{
    for (uint32_t i = 0; list && i < list->n; i++) {
        const hg__node *item = list->items[i], *streams;
        hg__instance_cfg *inst = check_instance(c, item, HG__SEC_CONNECTOR, "connectors", i);
        hg__cfgctx ctx = { c->d, NULL };
        if (!inst)
            continue;
        ctx.who = inst->name;
        streams = get_list(&ctx, item, "streams");
        if (!streams || streams->n == 0)
            continue;
        inst->streams = calloc(streams->n, sizeof(*inst->streams));
        if (!inst->streams) {
            c->oom = 1;
            return;
        }
        for (uint32_t j = 0; j < streams->n; j++)
            check_stream(c, inst, streams->items[j], j);
    }
}

static void check_processors(checker *c, const hg__node *list)
{
    for (uint32_t i = 0; list && i < list->n; i++)
        check_instance(c, list->items[i], HG__SEC_PROCESSOR, "graph.processors", i);
}

/* ---- links ---- */

static const hg__instance_cfg *find_in(const hg__config *cfg, const char *name, uint32_t section)
{
    for (uint32_t i = 0; i < cfg->n_instances; i++)
        if (cfg->instances[i].section == section && strcmp(cfg->instances[i].name, name) == 0)
            return &cfg->instances[i];
    return NULL;
}

static int has_stream(const hg__instance_cfg *conn, const char *stream)
{
    for (uint32_t i = 0; i < conn->n_streams; i++)
        if (strcmp(conn->streams[i].name, stream) == 0)
            return 1;
    return 0;
}

/* Splits "name.port" of link end `key`; reports a malformed one. Returns 0 or -1. */
static int split_end(checker *c, hg__cfgctx *ctx, const hg__node *link, const char *key,
                     char **node_out, char **port_out)
{
    const char *s = NULL, *dot;
    char msg[192];
    int rc;

    rc = hg__cfg_string(ctx, link, key, &s);
    if (rc == HG_ENOENT) {
        snprintf(msg, sizeof(msg), "missing required key '%s'", key);
        hg__cfg_error(ctx, link, NULL, msg);
    }
    if (rc != 0)
        return -1;
    dot = strchr(s, '.');
    if (!dot || dot == s || !dot[1] || strchr(dot + 1, '.')) {
        snprintf(msg, sizeof(msg), "link '%s' must be NAME.PORT, got \"%.100s\"", key, s);
        hg__cfg_error(ctx, link, key, msg);
        return -1;
    }
    *node_out = strndup(s, (size_t)(dot - s));
    *port_out = xstrdup(c, dot + 1);
    if (!*node_out)
        c->oom = 1;
    return c->oom ? -1 : 0;
}

static void resolve_from(checker *c, hg__cfgctx *ctx, const hg__link_cfg *l)
{
    const hg__instance_cfg *conn;
    char msg[256];

    if (find_in(c->cfg, l->from_node, HG__SEC_PROCESSOR))
        return;
    conn = find_in(c->cfg, l->from_node, HG__SEC_CONNECTOR);
    if (conn && has_stream(conn, l->from_port))
        return;
    if (conn)
        snprintf(msg, sizeof(msg), "link 'from' refers to unknown processor or stream '%s.%s'",
                 l->from_node, l->from_port);
    else
        snprintf(msg, sizeof(msg), "link 'from' refers to unknown processor or stream '%s'",
                 l->from_node);
    hg__cfg_error(ctx, l->node, "from", msg);
}

static void resolve_to(checker *c, hg__cfgctx *ctx, const hg__link_cfg *l)
{
    char msg[256];

    if (find_in(c->cfg, l->to_node, HG__SEC_PROCESSOR))
        return;
    if (find_in(c->cfg, l->to_node, HG__SEC_CONNECTOR))
        snprintf(msg, sizeof(msg), "link 'to' must be a processor's port; '%s' is a connector",
                 l->to_node);
    else
        snprintf(msg, sizeof(msg), "link 'to' refers to unknown processor '%s'", l->to_node);
    hg__cfg_error(ctx, l->node, "to", msg);
}

static void check_link(checker *c, const hg__node *item, uint32_t i)
{
    char who[64];
    hg__cfgctx ctx = { c->d, who };
    hg__link_cfg *l = &c->cfg->links[c->cfg->n_links];
    int pol, ok_from, ok_to;

    snprintf(who, sizeof(who), "graph.links[%u]", i);
    if (!item_is_map(&ctx, item))
        return;
    memset(l, 0, sizeof(*l));
    l->node = item;
    l->capacity = 1024;
    l->policy = HG_POLICY_BLOCK;
    c->cfg->n_links++;
    if (hg__cfg_check_keys(&ctx, item, link_keys, NULL) == HG_ENOMEM)
        c->oom = 1;
    ok_from = split_end(c, &ctx, item, "from", &l->from_node, &l->from_port) == 0;
    ok_to = split_end(c, &ctx, item, "to", &l->to_node, &l->to_port) == 0;
    if (ok_from)
        resolve_from(c, &ctx, l);
    if (ok_to)
        resolve_to(c, &ctx, l);
    get_int_range(&ctx, item, "capacity", 1, 1 << 24, &l->capacity);
    pol = get_choice(&ctx, item, "policy", policies, 3, "block, drop_newest or drop_oldest");
    if (pol >= 0)
        l->policy = (uint32_t)pol + HG_POLICY_BLOCK;
}

static void check_graph(checker *c, const hg__node *root)
{
    hg__cfgctx ctx = { c->d, NULL };
    const hg__node *graph = get_map(&ctx, root, "graph"), *links;

    if (!graph)
        return;
    ctx.who = "graph";
    if (hg__cfg_check_keys(&ctx, graph, graph_keys, NULL) == HG_ENOMEM)
        c->oom = 1;
    check_processors(c, get_list(&ctx, graph, "processors"));
    links = get_list(&ctx, graph, "links");
    if (!links || links->n == 0)
        return;
    c->cfg->links = calloc(links->n, sizeof(*c->cfg->links));
    if (!c->cfg->links) {
        c->oom = 1;
        return;
    }
    for (uint32_t i = 0; i < links->n; i++)
        check_link(c, links->items[i], i);
}

/* ---- top-level sections ---- */

/* p relative to the config file's directory (absolute paths stay as they are). */
static char *resolve_path(checker *c, const char *p)
{
    char *out = NULL;

    if (p[0] == '/' || strcmp(c->cfg->dir, ".") == 0)
        return xstrdup(c, p);
    if (asprintf(&out, "%s/%s", c->cfg->dir, p) < 0) {
        c->oom = 1;
        return NULL;
    }
    return out;
}

static void check_version(checker *c, const hg__node *root)
{
    hg__cfgctx ctx = { c->d, NULL };
    int64_t v = 0;
    int rc = hg__cfg_int(&ctx, root, "hangar", &v);

    if (rc == HG_ENOENT)
        hg__cfg_error(&ctx, root, NULL, "missing required key 'hangar' (the schema version: "
                                        "write 'hangar: 1')");
    else if (rc == 0 && v != 1) {
        char msg[128];
        snprintf(msg, sizeof(msg), "'hangar' must be 1 (the schema version this hangar reads), "
                 "got %lld", (long long)v);
        hg__cfg_error(&ctx, root, "hangar", msg);
    }
}

static void check_plugin_path(checker *c, const hg__node *root)
{
    hg__cfgctx ctx = { c->d, NULL };
    const hg__node *v = NULL;
    const char *s;
    uint32_t n;

    if (hg__cfg_child(root, "plugin_path", &v) != 0 || (v->type == HG_CFG_SCALAR && v->is_null))
        return;
    if (v->type == HG_CFG_MAP) {
        hg__cfg_error(&ctx, v, NULL, "'plugin_path' must be a directory or a list of them, "
                                     "got a map");
        return;
    }
    n = v->type == HG_CFG_SEQ ? v->n : 1;
    c->cfg->plugin_path = calloc(n ? n : 1, sizeof(char *));
    if (!c->cfg->plugin_path) {
        c->oom = 1;
        return;
    }
    ctx.who = "plugin_path";
    for (uint32_t i = 0; i < n; i++) {
        const hg__node *item = v->type == HG_CFG_SEQ ? v->items[i] : v;
        if (hg__cfg_string(&ctx, item, NULL, &s) != 0)
            continue;
        c->cfg->plugin_path[c->cfg->n_plugin_path++] = resolve_path(c, s);
    }
}

static void check_log(checker *c, const hg__node *root)
{
    hg__cfgctx ctx = { c->d, NULL };
    const hg__node *log = get_map(&ctx, root, "log");
    int level;

    if (!log)
        return;
    ctx.who = "log";
    if (hg__cfg_check_keys(&ctx, log, log_keys, NULL) == HG_ENOMEM)
        c->oom = 1;
    level = get_choice(&ctx, log, "level", log_levels, 5, "error, warn, info, debug or trace");
    if (level >= 0)
        c->cfg->log_level = (uint32_t)level + HG_LOG_ERROR;
}

static void check_cores(checker *c, hg__cfgctx *ctx, const hg__node *rt)
{
    const hg__node *cores = get_list(ctx, rt, "cores");
    int64_t v;

    if (!cores || cores->n == 0)
        return;
    c->cfg->cores = calloc(cores->n, sizeof(*c->cfg->cores));
    if (!c->cfg->cores) {
        c->oom = 1;
        return;
    }
    for (uint32_t i = 0; i < cores->n; i++) {
        if (hg__cfg_int(ctx, cores->items[i], NULL, &v) != 0)
            continue;
        if (v < 0 || v > INT32_MAX) {
            char msg[96];
            snprintf(msg, sizeof(msg), "'cores' entries must be core numbers (0 or more), got %lld",
                     (long long)v);
            hg__cfg_error(ctx, cores->items[i], NULL, msg);
            continue;
        }
        c->cfg->cores[c->cfg->n_cores++] = (int32_t)v;
    }
}

/* runtime: the host reads mode, workers and cores; the rest belongs to the runtime mode. */
static void check_runtime(checker *c, const hg__node *root)
{
    hg__cfgctx ctx = { c->d, NULL };
    const hg__node *rt = get_map(&ctx, root, "runtime");
    const char *mode = NULL;

    if (!rt)
        return;
    c->cfg->runtime_node = rt;
    ctx.who = "runtime";
    if (hg__cfg_string(&ctx, rt, "mode", &mode) == 0) {
        free(c->cfg->runtime_mode);
        c->cfg->runtime_mode = xstrdup(c, mode);
    }
    get_int_range(&ctx, rt, "workers", 1, 256, &c->cfg->workers);
    check_cores(c, &ctx, rt);
}

static void check_control(checker *c, const hg__node *root)
{
    hg__cfgctx ctx = { c->d, NULL };
    const hg__node *ctl = get_map(&ctx, root, "control");
    const char *sock = NULL;

    if (!ctl)
        return;
    ctx.who = "control";
    if (hg__cfg_check_keys(&ctx, ctl, control_keys, NULL) == HG_ENOMEM)
        c->oom = 1;
    if (hg__cfg_string(&ctx, ctl, "socket", &sock) == 0)
        c->cfg->control_socket = resolve_path(c, sock);
    hg__cfg_duration(&ctx, ctl, "shutdown_timeout", &c->cfg->shutdown_timeout_ns);
}

static void check_root(checker *c, const hg__node *root)
{
    hg__cfgctx ctx = { c->d, NULL };

    if (!root) {
        hg__diag_add(c->d, c->cfg->file, 0, 0, "the config is empty (it needs at least "
                                              "'hangar: 1')");
        return;
    }
    if (root->type != HG_CFG_MAP) {
        hg__cfg_error(&ctx, root, NULL, "the config must be a map of sections (hangar, runtime, "
                                        "pipelines, ...)");
        return;
    }
    if (hg__cfg_check_keys(&ctx, root, top_keys, NULL) == HG_ENOMEM)
        c->oom = 1;
    check_version(c, root);
    check_plugin_path(c, root);
    check_log(c, root);
    check_runtime(c, root);
    check_control(c, root);
    check_pipelines(c, get_list(&ctx, root, "pipelines"));
    check_connectors(c, get_list(&ctx, root, "connectors"));
    check_graph(c, root);
}

/* ---- --set overrides ---- */

static void unposition(hg__node *n)
{
    n->line = n->col = 0;
    for (uint32_t i = 0; i < n->n; i++) {
        if (n->keys)
            unposition(n->keys[i]);
        unposition(n->items[i]);
    }
}

/* The index of seq item `seg` (a number or an item's `name:`), or -1. */
static int64_t seq_index(const hg__node *seq, const char *seg)
{
    int64_t i;

    if (hg__parse_int(seg, &i) == 0 && seg[0] != '-' && seg[0] != '+')
        return i < (int64_t)seq->n ? i : -1;
    for (uint32_t j = 0; j < seq->n; j++) {
        const hg__node *name = hg__node_get(seq->items[j], "name");
        if (name && name->type == HG_CFG_SCALAR && strcmp(name->value, seg) == 0)
            return j;
    }
    return -1;
}

static int64_t map_index(const hg__node *map, const char *seg)
{
    for (uint32_t j = 0; j < map->n; j++)
        if (map->keys[j]->type == HG_CFG_SCALAR && strcmp(map->keys[j]->value, seg) == 0)
            return j;
    return -1;
}

/* Adds key seg to map with value v (a new empty map when v is NULL). Returns the value node. */
static hg__node *map_add(hg__node *map, const char *seg, const char *file, hg__node *v)
{
    hg__node *k = hg__node_new(HG_CFG_SCALAR, seg);
    hg__node *val = v ? v : hg__node_new(HG_CFG_MAP, NULL);

    if (!k || !val || hg__node_append(map, k, val) != 0) {
        hg__node_free(k);
        if (!v)
            hg__node_free(val);
        return NULL;
    }
    k->file = file;
    if (!v)
        val->file = file;
    return val;
}

/* Walks `path` in doc and puts v there (owned by the tree on 0). Returns 0, HG_ECONFIG
 * (reported as "--set PATH: ...") or HG_ENOMEM. */
static int graft(hg__doc *doc, const char *path, const char *file, hg__node *v, hg__diag *d)
{
    hg__node *cur = doc->root;
    const char *seg = path;
    char name[256];

    if (!cur) {
        cur = doc->root = hg__node_new(HG_CFG_MAP, NULL);
        if (!cur)
            return HG_ENOMEM;
    }
    for (;;) {
        const char *dot = strchr(seg, '.');
        size_t len = dot ? (size_t)(dot - seg) : strlen(seg);
        int prefix = seg > path ? (int)(seg - path - 1) : 0;
        int64_t i;

        if (len == 0 || len >= sizeof(name)) {
            hg__diag_add(d, NULL, 0, 0, "%s: the path has an empty or overlong part", file);
            return HG_ECONFIG;
        }
        memcpy(name, seg, len);
        name[len] = '\0';
        if (cur->type == HG_CFG_SCALAR) {
            hg__diag_add(d, NULL, 0, 0, "%s: '%.*s' is a single value, not a map or a list",
                         file, prefix, path);
            return HG_ECONFIG;
        }
        i = cur->type == HG_CFG_MAP ? map_index(cur, name) : seq_index(cur, name);
        if (i < 0 && cur->type == HG_CFG_SEQ) {
            hg__diag_add(d, NULL, 0, 0, "%s: no item named '%s' in '%.*s'", file, name, prefix,
                         path);
            return HG_ECONFIG;
        }
        if (i < 0) {
            hg__node *added = map_add(cur, name, file, dot ? NULL : v);
            if (!added)
                return HG_ENOMEM;
            if (!dot)
                return 0;
            cur = added;
        } else if (!dot) {
            hg__node_free(cur->items[i]);
            cur->items[i] = v;
            return 0;
        } else {
            cur = cur->items[i];
        }
        seg = dot + 1;
    }
}

static int keep_set_doc(hg__config *cfg, hg__doc *vdoc)
{
    hg__doc **p = realloc(cfg->set_docs, (cfg->n_set_docs + 1) * sizeof(*p));

    if (!p)
        return HG_ENOMEM;
    cfg->set_docs = p;
    p[cfg->n_set_docs++] = vdoc;
    return 0;
}

/* One "path=value": the value is read as YAML (a scalar, or a flow list/map like [0, 1]). */
static int apply_set(hg__config *cfg, const char *spec, const hg__cfg_limits *lim, hg__diag *d)
{
    const char *eq = strchr(spec, '=');
    char *label = NULL;
    hg__doc *vdoc = NULL;
    hg__node *v;
    int rc;

    if (!eq || eq == spec) {
        hg__diag_add(d, NULL, 0, 0, "--set %s: expected PATH=VALUE", spec);
        return HG_ECONFIG;
    }
    if (asprintf(&label, "--set %.*s", (int)(eq - spec), spec) < 0)
        return HG_ENOMEM;
    rc = hg__doc_read(NULL, label, eq + 1, strlen(eq + 1), lim, 0, &vdoc, d);
    free(label);
    if (rc != 0)
        return rc;
    rc = keep_set_doc(cfg, vdoc);
    if (rc != 0) {
        hg__doc_free(vdoc);
        return rc;
    }
    v = vdoc->root ? vdoc->root : hg__node_new(HG_CFG_SCALAR, NULL);
    if (!v)
        return HG_ENOMEM;
    vdoc->root = NULL;
    unposition(v);
    v->file = vdoc->file;
    rc = graft(cfg->doc, vdoc->file + 6, vdoc->file, v, d);
    if (rc != 0)
        hg__node_free(v);
    return rc;
}

/* ---- load ---- */

typedef struct diag_slot {
    hg__diag_item item;
    uint32_t idx;
} diag_slot;

static int cmp_diag(const void *pa, const void *pb)
{
    const diag_slot *a = pa, *b = pb;

    if (a->item.line != b->item.line)
        return a->item.line < b->item.line ? -1 : 1;
    if (a->item.col != b->item.col)
        return a->item.col < b->item.col ? -1 : 1;
    return a->idx < b->idx ? -1 : 1;
}

/* Puts the items from n0 on in file order (items without a position, from --set, first),
 * keeping the order of items at the same position. Out of memory: left as they are. */
static void sort_diag(hg__diag *d, uint32_t n0)
{
    uint32_t n = d->n - n0;
    diag_slot *tmp;

    if (n < 2)
        return;
    tmp = malloc(n * sizeof(*tmp));
    if (!tmp)
        return;
    for (uint32_t i = 0; i < n; i++) {
        tmp[i].item = d->items[n0 + i];
        tmp[i].idx = i;
    }
    qsort(tmp, n, sizeof(*tmp), cmp_diag);
    for (uint32_t i = 0; i < n; i++)
        d->items[n0 + i] = tmp[i].item;
    free(tmp);
}

static int config_new(const hg__config_src *src, hg__config **out)
{
    hg__config *cfg = calloc(1, sizeof(*cfg));
    const char *slash;

    if (!cfg)
        return HG_ENOMEM;
    *out = cfg;
    cfg->log_level = HG_LOG_INFO;
    cfg->workers = 2;
    cfg->shutdown_timeout_ns = 5000000000ull;
    cfg->runtime_mode = strdup("uv");
    if (src->path) {
        cfg->file = strdup(src->path);
        slash = strrchr(src->path, '/');
        if (!slash)
            cfg->dir = strdup(".");
        else if (slash == src->path)
            cfg->dir = strdup("/");
        else
            cfg->dir = strndup(src->path, (size_t)(slash - src->path));
    } else {
        cfg->file = strdup(src->yaml ? "<inline>" : "<default>");
        cfg->dir = strdup(".");
    }
    return cfg->runtime_mode && cfg->file && cfg->dir ? 0 : HG_ENOMEM;
}

static hg__cfg_limits limits_of(const hg__config_src *src)
{
    static const hg__cfg_limits def = HG__CFG_LIMITS_DEFAULT;
    hg__cfg_limits l = src->limits;

    if (!l.max_file_bytes)
        l.max_file_bytes = def.max_file_bytes;
    if (!l.max_depth)
        l.max_depth = def.max_depth;
    if (!l.max_alias_nodes)
        l.max_alias_nodes = def.max_alias_nodes;
    return l;
}

int hg__config_load(const hg__config_src *src, hg__config **out, hg__diag *d)
{
    hg__cfg_limits lim = limits_of(src);
    const char *text = src->yaml ? src->yaml : hg__default_config_yaml;
    uint32_t n0 = d->n;
    hg__config *cfg = NULL;
    checker c;
    int rc;

    memset(&c, 0, sizeof(c));
    rc = config_new(src, &cfg);
    if (rc != 0)
        goto out;
    rc = hg__doc_read(src->path, cfg->file, text, strlen(text), &lim, HG__DOC_KEEP_TREE,
                      &cfg->doc, d);
    if (!cfg->doc)
        goto out;
    for (uint32_t i = 0; i < src->n_sets && rc != HG_ENOMEM; i++) {
        int set_rc = apply_set(cfg, src->sets[i], &lim, d);
        if (set_rc != 0)
            rc = set_rc;
    }
    if (rc == HG_ENOMEM)
        goto out;
    c.cfg = cfg;
    c.d = d;
    check_root(&c, cfg->doc->root);
    free(c.name_nodes);
    sort_diag(d, n0);
    if (c.oom)
        rc = HG_ENOMEM;
    else if (rc == 0 && d->n > n0)
        rc = HG_ECONFIG;
out:
    if (rc != 0) {
        hg__config_free(cfg);
        return rc == HG_ENOMEM ? HG_ENOMEM : HG_ECONFIG;
    }
    *out = cfg;
    return 0;
}

void hg__config_free(hg__config *cfg)
{
    if (!cfg)
        return;
    for (uint32_t i = 0; i < cfg->n_instances; i++) {
        hg__instance_cfg *in = &cfg->instances[i];
        for (uint32_t j = 0; j < in->n_streams; j++)
            free(in->streams[j].name);
        free(in->streams);
        free(in->name);
        free(in->engine);
    }
    free(cfg->instances);
    for (uint32_t i = 0; i < cfg->n_links; i++) {
        free(cfg->links[i].from_node);
        free(cfg->links[i].from_port);
        free(cfg->links[i].to_node);
        free(cfg->links[i].to_port);
    }
    free(cfg->links);
    for (uint32_t i = 0; i < cfg->n_plugin_path; i++)
        free(cfg->plugin_path[i]);
    free(cfg->plugin_path);
    free(cfg->cores);
    free(cfg->runtime_mode);
    free(cfg->control_socket);
    free(cfg->file);
    free(cfg->dir);
    hg__doc_free(cfg->doc);
    for (uint32_t i = 0; i < cfg->n_set_docs; i++)
        hg__doc_free(cfg->set_docs[i]);
    free(cfg->set_docs);
    free(cfg);
}

const hg__instance_cfg *hg__config_find(const hg__config *cfg, const char *name)
{
    for (uint32_t i = 0; cfg && i < cfg->n_instances; i++)
        if (strcmp(cfg->instances[i].name, name) == 0)
            return &cfg->instances[i];
    return NULL;
}
