/* config_graph.c - checks the instance sections of the config: pipelines, connectors and their
 * streams, and the graph's processors and links (names, engines, cores, link ends). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hangar/frame.h>
#include <hangar/host.h>
#include <hangar/status.h>

#include "cfgview.h"
#include "config_priv.h"
#include "cores.h"
#include "units.h"

static const char *const graph_keys[] = { "processors", "links", "pool", NULL };
static const char *const pool_keys[] = { "buffers", "size", NULL };
static const char *const link_keys[] = { "from", "to", "capacity", "policy", NULL };
static const char *const policies[] = { "block", "drop_newest", "drop_oldest" };
/* ---- instances ---- */

static int is_name(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
            return 0;
    return 1;
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

static const hg__node *name_taken(const hg__checker *c, const char *name)
{
    for (uint32_t i = 0; i < c->n_names; i++)
        if (strcmp(c->name_nodes[i]->value, name) == 0)
            return c->name_nodes[i];
    return NULL;
}

/* Checks `name:` of an item: required, [a-z0-9_-]+, unique in the file (prefix: "conn." for
 * streams, whose full name is "conn.stream"). Returns the name or NULL. */
static const char *check_name(hg__checker *c, hg__cfgctx *ctx, const hg__node *item,
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
    if (strcmp(name, "host") == 0 || strcmp(name, "runtime") == 0) {
        /* `counters` answers the host and the runtime mode under these keys */
        hg__cfg_error(ctx, item, "name", "'host' and 'runtime' are reserved: `counters` names "
                                         "the host and the runtime mode so; choose another name");
        return NULL;
    }
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

static int item_is_map(hg__cfgctx *ctx, const hg__node *item)
{
    if (item->type == HG_CFG_MAP)
        return 1;
    hg__cfg_error(ctx, item, NULL, item->type == HG_CFG_SEQ ? "expected a map, got a list"
                                                            : "expected a map, got a single value");
    return 0;
}

static hg__instance_cfg *add_instance(hg__checker *c)
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
static hg__instance_cfg *check_instance(hg__checker *c, const hg__node *item, uint32_t section,
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
    inst->name = hg__config_xstrdup(c, name ? name : who);
    inst->engine = hg__config_xstrdup(c, engine ? engine : "");
    get_core(&ctx, item, &inst->core);
    return inst;
}

void hg__config_check_pipelines(hg__checker *c, const hg__node *list)
{
    for (uint32_t i = 0; list && i < list->n; i++) {
        const hg__node *item = list->items[i];
        hg__instance_cfg *inst = check_instance(c, item, HG__SEC_PIPELINE, "pipelines", i);
        hg__cfgctx ctx = { c->d, NULL };
        if (!inst)
            continue;
        ctx.who = inst->name;
        hg__cfg_bool(&ctx, item, "records", &inst->records);
        hg__config_get_int_range(&ctx, item, "records_max", 1, 1 << 24, &inst->records_max);
    }
}

/* One core number of a stream's `core:`: one this process may run on. */
static int stream_core_number(hg__cfgctx *ctx, const hg__node *map, const hg__node *v,
                              int32_t *out)
{
    char msg[200];
    int64_t n;
    if (v->type == HG_CFG_SCALAR && !v->quoted && hg__parse_int(v->value, &n) == 0 && n >= 0 &&
        n <= INT32_MAX) {
        if (!hg__core_allowed((int32_t)n)) {
            snprintf(msg, sizeof(msg), "core %lld does not exist on this machine or this "
                     "process may not run on it", (long long)n);
            hg__cfg_error(ctx, map, "core", msg);
            return -1;
        }
        *out = (int32_t)n;
        return 0;
    }
    snprintf(msg, sizeof(msg), "'core' must be a core number (0 or more), any, least-loaded or "
             "a list of core numbers (round-robin), got \"%.60s\"",
             v->type == HG_CFG_SCALAR ? v->value : "a map");
    hg__cfg_error(ctx, map, "core", msg);
    return -1;
}

/* A stream's `core:`: a core number, any, least-loaded, or [list] (round-robin over it). */
static void get_stream_core(hg__checker *c, hg__cfgctx *ctx, const hg__node *map,
                            hg__stream_cfg *s)
{
    const hg__node *v = NULL;
    if (hg__cfg_child(map, "core", &v) != 0 || (v->type == HG_CFG_SCALAR && v->is_null))
        return;
    if (v->type == HG_CFG_SCALAR && !v->quoted && strcmp(v->value, "any") == 0)
        s->core = HG_CORE_ANY;
    else if (v->type == HG_CFG_SCALAR && !v->quoted && strcmp(v->value, "least-loaded") == 0)
        s->core = HG__CORE_LEAST_LOADED;
    else if (v->type == HG_CFG_SEQ) {
        if (v->n == 0) {
            hg__cfg_error(ctx, map, "core", "'core' as a list (round-robin) needs at least "
                                            "one core number");
            return;
        }
        if ((s->cores = calloc(v->n, sizeof *s->cores)) == NULL) {
            c->oom = 1;
            return;
        }
        for (uint32_t i = 0; i < v->n; i++)
            if (stream_core_number(ctx, map, v->items[i], &s->cores[s->n_cores]) == 0)
                s->n_cores++;
        s->core = HG__CORE_ROUND_ROBIN;
    } else
        stream_core_number(ctx, map, v, &s->core);
}

static void check_stream(hg__checker *c, hg__instance_cfg *conn, const hg__node *item, uint32_t i)
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
    hg__config_get_int_range(&ctx, item, "max_pending_events", 1, 1 << 24, &s->max_pending_events);
    hg__config_get_int_range(&ctx, item, "max_pending_actions", 1, 1 << 24,
                             &s->max_pending_actions);
    pol = hg__config_get_choice(&ctx, item, "policy", policies, 3,
                                "block, drop_newest or drop_oldest");
    if (pol >= 0)
        s->policy = (uint32_t)pol + HG_POLICY_BLOCK;
    get_stream_core(c, &ctx, item, s);
    hg__cfg_bool(&ctx, item, "healthy_at_start", &s->healthy_at_start);
    s->name = hg__config_xstrdup(c, name ? name : who);
    conn->n_streams++;
}

void hg__config_check_connectors(hg__checker *c, const hg__node *list)
{
    for (uint32_t i = 0; list && i < list->n; i++) {
        const hg__node *item = list->items[i], *streams;
        hg__instance_cfg *inst = check_instance(c, item, HG__SEC_CONNECTOR, "connectors", i);
        hg__cfgctx ctx = { c->d, NULL };
        if (!inst)
            continue;
        ctx.who = inst->name;
        streams = hg__config_get_list(&ctx, item, "streams");
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

static void check_processors(hg__checker *c, const hg__node *list)
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
static int split_end(hg__checker *c, hg__cfgctx *ctx, const hg__node *link, const char *key,
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
    *port_out = hg__config_xstrdup(c, dot + 1);
    if (!*node_out)
        c->oom = 1;
    return c->oom ? -1 : 0;
}

static void resolve_from(hg__checker *c, hg__cfgctx *ctx, const hg__link_cfg *l)
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

static void resolve_to(hg__checker *c, hg__cfgctx *ctx, const hg__link_cfg *l)
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

static void check_link(hg__checker *c, const hg__node *item, uint32_t i)
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
    hg__config_get_int_range(&ctx, item, "capacity", 1, 1 << 24, &l->capacity);
    pol = hg__config_get_choice(&ctx, item, "policy", policies, 3,
                                "block, drop_newest or drop_oldest");
    if (pol >= 0)
        l->policy = (uint32_t)pol + HG_POLICY_BLOCK;
}

/* graph.pool: {buffers: 1 .. 2^24, size: 1 byte .. 1 GiB}: the graph's whole buffer budget. */
static void check_pool(hg__checker *c, const hg__node *pool)
{
    hg__cfgctx ctx = { c->d, "graph.pool" };
    uint32_t n = 0;
    uint64_t size = 0;
    const hg__node *v;

    if (pool == NULL)
        return;
    if (hg__cfg_check_keys(&ctx, pool, pool_keys, NULL) == HG_ENOMEM)
        c->oom = 1;
    hg__config_get_int_range(&ctx, pool, "buffers", 1, 1 << 24, &n);
    if (hg__cfg_size(&ctx, pool, "size", &size) == 0 && (size == 0 || size > (1u << 30)) &&
        (v = hg__node_get(pool, "size")) != NULL)
        hg__cfg_error(&ctx, pool, "size", "'size' must be 1 byte to 1 GiB");
}

void hg__config_check_graph(hg__checker *c, const hg__node *root)
{
    hg__cfgctx ctx = { c->d, NULL };
    const hg__node *graph = hg__config_get_map(&ctx, root, "graph"), *links;

    if (!graph)
        return;
    ctx.who = "graph";
    if (hg__cfg_check_keys(&ctx, graph, graph_keys, NULL) == HG_ENOMEM)
        c->oom = 1;
    check_processors(c, hg__config_get_list(&ctx, graph, "processors"));
    check_pool(c, hg__config_get_map(&ctx, graph, "pool"));
    links = hg__config_get_list(&ctx, graph, "links");
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

