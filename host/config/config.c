/* config.c - the host's configuration schema (design/CONFIG.md): loads the YAML tree, applies the
 * `--set` overrides and checks every host-owned key, collecting all errors of the file at once.
 *
 * Message style, one per line:  FILE:LINE:COL: WHERE: message
 *   WHERE is the section ("runtime", "control", "log"), the instance's name ("echo") or its index
 *   when the name is unusable ("pipelines[1]"), a stream as "CONNECTOR.STREAM", a link as
 *   "graph.links[0]"; top-level problems have no WHERE. Values are quoted with "", keys with ''.
 *   Unknown keys read "unknown key 'lisen' (did you mean 'listen'?)". A --set problem without a
 *   position reads "--set PATH: message". Engine keys are left to the engines.
 * The instance sections and the graph are checked in config_graph.c, --set in config_set.c. */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <hangar/host.h>
#include <hangar/plugin.h>
#include <hangar/status.h>

#include "cfgview.h"
#include "config_priv.h"

const char *const hg__pipeline_host_keys[] = { "name", "engine", "records", "records_max", "core",
                                               NULL };
const char *const hg__connector_host_keys[] = { "name", "engine", "streams", "core", NULL };
const char *const hg__processor_host_keys[] = { "name", "engine", "core", "mode", "interval",
                                                "spin", NULL };
const char *const hg__stream_host_keys[] = { "name", "max_pending_events", "max_pending_actions",
                                             "policy", "core", "healthy_at_start", NULL };

static const char *const top_keys[] = { "hangar", "plugin_path", "log", "runtime", "control",
                                        "pipelines", "connectors", "graph", NULL };
static const char *const log_keys[] = { "level", "engines", "format", "file", NULL };
static const char *const control_keys[] = { "socket", "shutdown_timeout", "metrics", NULL };
static const char *const log_levels[] = { "error", "warn", "info", "debug", "trace" };

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


char *hg__config_xstrdup(hg__checker *c, const char *s)
{
    char *p = strdup(s);

    if (!p)
        c->oom = 1;
    return p;
}

/* Reads a string from a fixed set; a wrong one is reported with a did-you-mean. Returns the
 * index or -1 (absent or wrong; wrong ones are reported). */
int hg__config_get_choice(hg__cfgctx *ctx, const hg__node *map, const char *key,
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
void hg__config_get_int_range(hg__cfgctx *ctx, const hg__node *map, const char *key, int64_t lo,
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

/* A section that must be a list of maps: reports a wrong type; returns the list or NULL. */
const hg__node *hg__config_get_list(hg__cfgctx *ctx, const hg__node *map, const char *key)
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
const hg__node *hg__config_get_map(hg__cfgctx *ctx, const hg__node *map, const char *key)
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

/* ---- top-level sections ---- */

/* p relative to the config file's directory (absolute paths stay as they are). */
char *hg__config_resolve_path(hg__checker *c, const char *p)
{
    char *out = NULL;

    if (p[0] == '/' || strcmp(c->cfg->dir, ".") == 0)
        return hg__config_xstrdup(c, p);
    if (asprintf(&out, "%s/%s", c->cfg->dir, p) < 0) {
        c->oom = 1;
        return NULL;
    }
    return out;
}

static void check_version(hg__checker *c, const hg__node *root)
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

static void check_plugin_path(hg__checker *c, const hg__node *root)
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
        c->cfg->plugin_path[c->cfg->n_plugin_path++] = hg__config_resolve_path(c, s);
    }
}

static void check_log(hg__checker *c, const hg__node *root)
{
    hg__cfgctx ctx = { c->d, NULL };
    const hg__node *log = hg__config_get_map(&ctx, root, "log");
    int level;

    if (!log)
        return;
    ctx.who = "log";
    if (hg__cfg_check_keys(&ctx, log, log_keys, NULL) == HG_ENOMEM)
        c->oom = 1;
    level = hg__config_get_choice(&ctx, log, "level", log_levels, 5,
                                  "error, warn, info, debug or trace");
    if (level >= 0)
        c->cfg->log_level = (uint32_t)level + HG_LOG_ERROR;
    hg__config_check_log_ops(c, &ctx, log);
}

static void check_cores(hg__checker *c, hg__cfgctx *ctx, const hg__node *rt)
{
    const hg__node *cores = hg__config_get_list(ctx, rt, "cores");
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
static void check_runtime(hg__checker *c, const hg__node *root)
{
    hg__cfgctx ctx = { c->d, NULL };
    const hg__node *rt = hg__config_get_map(&ctx, root, "runtime");
    const char *mode = NULL;

    if (!rt)
        return;
    c->cfg->runtime_node = rt;
    ctx.who = "runtime";
    if (hg__cfg_string(&ctx, rt, "mode", &mode) == 0) {
        free(c->cfg->runtime_mode);
        c->cfg->runtime_mode = hg__config_xstrdup(c, mode);
    }
    hg__config_get_int_range(&ctx, rt, "workers", 1, 256, &c->cfg->workers);
    check_cores(c, &ctx, rt);
}

/* Whether a socket can be made in dir: access() first, then (as root passes access() on
 * directories such as /proc where nothing can be created) a trial bind under a temporary name
 * beside `path`, removed at once. */
static int dir_takes_socket(const char *dir, const char *path)
{
    struct sockaddr_un sa;
    int fd, ok;

    if (access(dir, W_OK | X_OK) != 0)
        return 0;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    /* at most 7 more bytes than path: the room HG__CTL_PATH_MAX leaves in sun_path */
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s.%06x", path, (unsigned)getpid() & 0xffffffu);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 1; /* no socket to try with: access() said yes */
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
        unlink(sa.sun_path);
        ok = 1;
    } else {
        ok = errno == EADDRINUSE; /* a leftover of ours: the directory takes sockets */
    }
    close(fd);
    return ok;
}

/* What is wrong with the socket's directory, or NULL. */
static const char *socket_dir_problem(const char *dir, const char *path)
{
    struct stat st;

    if (stat(dir, &st) != 0)
        return errno == ENOTDIR ? "does not exist (a part of its path is not a directory)"
               : errno == EACCES ? "cannot be reached (permission denied)"
                                 : "does not exist";
    if (!S_ISDIR(st.st_mode))
        return "is not a directory";
    if (!dir_takes_socket(dir, path))
        return "is not writable (hangar could not create the socket there)";
    return NULL;
}

/* A Unix socket path fits sun_path with room for the host's temporary suffix, and its
 * directory exists and takes a new socket (checked here so that `hangar check` says so, not the
 * first run). */
static void check_socket_path(hg__cfgctx *ctx, const hg__node *ctl, const char *path)
{
    char msg[300], *dir;
    const char *parent, *problem;
    struct stat st;
    size_t n;
    if (path == NULL)
        return;
    n = strlen(path);
    if (n > HG__CTL_PATH_MAX) {
        snprintf(msg, sizeof msg, "control socket path is %zu bytes long; a Unix socket path "
                 "may have at most %d (use a shorter or relative path)", n, HG__CTL_PATH_MAX);
        hg__cfg_error(ctx, ctl, "socket", msg);
        return;
    }
    if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
        snprintf(msg, sizeof msg, "'%s' exists and is not a socket (hangar never replaces it)",
                 path);
        hg__cfg_error(ctx, ctl, "socket", msg);
        return;
    }
    dir = strdup(path);
    if (dir == NULL)
        return;
    parent = dirname(dir);
    problem = socket_dir_problem(parent, path);
    if (problem != NULL) {
        snprintf(msg, sizeof msg, "the control socket's directory '%s' %s", parent, problem);
        hg__cfg_error(ctx, ctl, "socket", msg);
    }
    free(dir);
}

static void check_control(hg__checker *c, const hg__node *root)
{
    hg__cfgctx ctx = { c->d, NULL };
    const hg__node *ctl = hg__config_get_map(&ctx, root, "control");
    const char *sock = NULL;

    if (!ctl)
        return;
    ctx.who = "control";
    if (hg__cfg_check_keys(&ctx, ctl, control_keys, NULL) == HG_ENOMEM)
        c->oom = 1;
    if (hg__cfg_string(&ctx, ctl, "socket", &sock) == 0) {
        c->cfg->control_socket = hg__config_resolve_path(c, sock);
        check_socket_path(&ctx, ctl, c->cfg->control_socket);
    }
    hg__cfg_duration(&ctx, ctl, "shutdown_timeout", &c->cfg->shutdown_timeout_ns);
    hg__config_check_metrics(c, &ctx, ctl);
}

static void check_root(hg__checker *c, const hg__node *root)
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
    hg__config_check_pipelines(c, hg__config_get_list(&ctx, root, "pipelines"));
    hg__config_check_connectors(c, hg__config_get_list(&ctx, root, "connectors"));
    hg__config_check_graph(c, root);
    hg__config_check_ports(c);
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
        cfg->dir = strdup(src->yaml && src->dir ? src->dir : ".");
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

static int load(const hg__config_src *src, int keep_partial, hg__config **out, hg__diag *d);

int hg__config_load(const hg__config_src *src, hg__config **out, hg__diag *d)
{
    return load(src, 0, out, d);
}

int hg__config_load_partial(const hg__config_src *src, hg__config **out, hg__diag *d)
{
    *out = NULL;
    return load(src, 1, out, d);
}

static int load(const hg__config_src *src, int keep_partial, hg__config **out, hg__diag *d)
{
    hg__cfg_limits lim = limits_of(src);
    const char *text = src->yaml ? src->yaml : hg__default_config_yaml;
    uint32_t n0 = d->n;
    hg__config *cfg = NULL;
    hg__checker c;
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
        int set_rc = hg__config_apply_set(cfg, src->sets[i], &lim, d);
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
    if (c.oom) {
        rc = HG_ENOMEM;
    } else if (rc == 0 && d->n > n0) {
        rc = HG_ECONFIG;
        /* Only the schema is wrong (the YAML and every --set were fine): the caller may go on
         * checking the engines of the instances that are well formed. */
        if (keep_partial) {
            *out = cfg;
            return rc;
        }
    }
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
        for (uint32_t j = 0; j < in->n_streams; j++) {
            free(in->streams[j].name);
            free(in->streams[j].cores);
        }
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
    hg__config_ops_free(cfg);
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
