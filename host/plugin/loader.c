/* loader.c - checks plugin descriptors (read by their own struct_size, never the host's sizeof),
 * opens plugins in this process and keeps a registry of their engines; init/deinit are
 * reference-counted process-wide. Finding and probing files is in probe.c. */
#define _GNU_SOURCE
#include "loader.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <hangar/connector.h>
#include <hangar/pipeline.h>
#include <hangar/processor.h>
#include <hangar/runtime_mode.h>

/* The end of field f in T: the smallest struct_size that holds f. */
#define END_OF(T, f) (offsetof(T, f) + sizeof(((T *)0)->f))

/* The sizes of the ops tables in ABI 1.0 (the smallest the host accepts). Written as the end of
 * their last 1.0 field so that they stay right when a later minor appends fields. */
#define RUNTIME_OPS_SIZE_1_0 END_OF(hg_runtime_mode_ops, command)
#define PIPELINE_OPS_SIZE_1_0 END_OF(hg_pipeline_ops, command)
#define CONNECTOR_OPS_SIZE_1_0 END_OF(hg_connector_ops, command)
#define PROCESSOR_OPS_SIZE_1_0 END_OF(hg_processor_ops, command)
#define PORT_DECL_SIZE_1_0 END_OF(hg_port_decl, flags)

/* Bounds that no sane descriptor reaches; past them the counts are garbage. */
#define MAX_ENGINES 4096u
#define MAX_PORTS 1024u

const char *hg__kind_name(uint32_t kind)
{
    switch (kind) {
    case HG_KIND_RUNTIME_MODE: return "runtime_mode";
    case HG_KIND_PIPELINE: return "pipeline";
    case HG_KIND_CONNECTOR: return "connector";
    case HG_KIND_PROCESSOR: return "processor";
    default: return "unknown";
    }
}

int hg__engine_name_valid(const char *name)
{
    if (!name || !*name)
        return 0;
    for (const char *p = name; *p; p++) {
        int ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-';
        if (!ok)
            return 0;
    }
    return 1;
}

/* Copies n bytes of a plugin struct into a zeroed host struct of size cap. */
static void copy_by_size(void *dst, size_t cap, const void *src, uint32_t struct_size)
{
    size_t n = struct_size < cap ? struct_size : cap;
    memset(dst, 0, cap);
    memcpy(dst, src, n);
}

void hg__descriptor_engine(const hg_plugin *desc, uint32_t i, hg_engine *out)
{
    const char *base = (const char *)desc->engines;
    uint32_t stride = desc->engines[0].struct_size;
    const hg_engine *e = (const hg_engine *)(const void *)(base + (size_t)i * stride);
    copy_by_size(out, sizeof(*out), e, e->struct_size);
}

/* Appends the names of the NULL members among n function pointers. Returns how many. */
static int list_missing(char *buf, size_t cap, const char *const *names, void *const *fns,
                        uint32_t n)
{
    int missing = 0;
    buf[0] = '\0';
    for (uint32_t i = 0; i < n; i++) {
        if (fns[i])
            continue;
        if (missing++)
            strncat(buf, ", ", cap - strlen(buf) - 1);
        strncat(buf, names[i], cap - strlen(buf) - 1);
    }
    return missing;
}

/* The ports of a processor: static declarations, read by their own struct_size. */
static int check_ports(const char *path, const char *ename, const hg_processor_ops *ops,
                       hg__diag *d)
{
    const char *base = (const char *)ops->ports;
    uint32_t stride;

    if (ops->n_ports == 0)
        return 0;
    if (!ops->ports) {
        hg__diag_add(d, path, 0, 0, "engine '%s': n_ports is %u but ports is NULL", ename,
                     ops->n_ports);
        return HG_EINVAL;
    }
    if (ops->n_ports > MAX_PORTS) {
        hg__diag_add(d, path, 0, 0, "engine '%s': n_ports %u is more than %u", ename,
                     ops->n_ports, MAX_PORTS);
        return HG_EINVAL;
    }
    stride = ops->ports[0].struct_size;
    if (stride < PORT_DECL_SIZE_1_0 || stride % _Alignof(hg_port_decl) != 0) {
        hg__diag_add(d, path, 0, 0, "engine '%s': hg_port_decl struct_size %u is invalid "
                     "(ABI 1.0's is %zu)", ename, stride, (size_t)PORT_DECL_SIZE_1_0);
        return HG_EABI;
    }
    for (uint32_t i = 0; i < ops->n_ports; i++) {
        const hg_port_decl *p = (const hg_port_decl *)(const void *)(base + (size_t)i * stride);
        if (!hg__engine_name_valid(p->name)) {
            hg__diag_add(d, path, 0, 0, "engine '%s': port #%u: invalid name '%s' "
                         "(must match [a-z0-9_-]+)", ename, i + 1, p->name ? p->name : "(null)");
            return HG_EINVAL;
        }
        if (p->direction != HG_PORT_IN && p->direction != HG_PORT_OUT) {
            hg__diag_add(d, path, 0, 0, "engine '%s': port '%s': unknown direction %u", ename,
                         p->name, p->direction);
            return HG_EINVAL;
        }
    }
    return 0;
}

/* Checks an engine's ops table: present, large enough, mandatory callbacks set. */
static int check_ops(const char *path, const hg_engine *e, hg__diag *d)
{
    static const char *const rt_names[] = {"create", "destroy", "start", "request_stop", "join",
                                           "net_open", "net_close"};
    static const char *const pl_names[] = {"create", "destroy", "start", "stop"};
    static const char *const co_names[] = {"create", "destroy", "stream_open", "stream_run",
                                           "stream_close"};
    static const char *const pr_names[] = {"create", "destroy", "process"};
    const char *kind = hg__kind_name(e->kind);
    uint32_t size = *(const uint32_t *)e->ops;
    size_t need = 0;
    char missing[160];
    int n = 0;

    switch (e->kind) {
    case HG_KIND_RUNTIME_MODE: need = RUNTIME_OPS_SIZE_1_0; break;
    case HG_KIND_PIPELINE: need = PIPELINE_OPS_SIZE_1_0; break;
    case HG_KIND_CONNECTOR: need = CONNECTOR_OPS_SIZE_1_0; break;
    default: need = PROCESSOR_OPS_SIZE_1_0; break;
    }
    if (size < need) {
        hg__diag_add(d, path, 0, 0, "engine '%s': %s ops struct_size %u is smaller than ABI "
                     "1.0's %zu", e->name, kind, size, need);
        return HG_EABI;
    }
    if (e->kind == HG_KIND_RUNTIME_MODE) {
        const hg_runtime_mode_ops *o = e->ops;
        void *const fns[] = {(void *)o->create, (void *)o->destroy, (void *)o->start,
                             (void *)o->request_stop, (void *)o->join, (void *)o->net_open,
                             (void *)o->net_close};
        n = list_missing(missing, sizeof missing, rt_names, fns, 7);
    } else if (e->kind == HG_KIND_PIPELINE) {
        const hg_pipeline_ops *o = e->ops;
        void *const fns[] = {(void *)o->create, (void *)o->destroy, (void *)o->start,
                             (void *)o->stop};
        n = list_missing(missing, sizeof missing, pl_names, fns, 4);
    } else if (e->kind == HG_KIND_CONNECTOR) {
        const hg_connector_ops *o = e->ops;
        void *const fns[] = {(void *)o->create, (void *)o->destroy, (void *)o->stream_open,
                             (void *)o->stream_run, (void *)o->stream_close};
        n = list_missing(missing, sizeof missing, co_names, fns, 5);
    } else {
        const hg_processor_ops *o = e->ops;
        void *const fns[] = {(void *)o->create, (void *)o->destroy, (void *)o->process};
        n = list_missing(missing, sizeof missing, pr_names, fns, 3);
    }
    if (n > 0) {
        hg__diag_add(d, path, 0, 0, "engine '%s': mandatory %s callback%s NULL: %s", e->name,
                     kind, n > 1 ? "s are" : " is", missing);
        return HG_EINVAL;
    }
    if (e->kind == HG_KIND_PROCESSOR)
        return check_ports(path, e->name, e->ops, d);
    return 0;
}

/* Checks engine i (already known to have the first engine's struct_size). */
static int check_engine(const char *path, const hg_plugin *desc, uint32_t i, hg__diag *d)
{
    hg_engine e;

    hg__descriptor_engine(desc, i, &e);
    if (e.struct_size != desc->engines[0].struct_size) {
        hg__diag_add(d, path, 0, 0, "engine #%u: struct_size %u differs from the first "
                     "engine's %u", i + 1, e.struct_size, desc->engines[0].struct_size);
        return HG_EABI;
    }
    if (!e.name) {
        hg__diag_add(d, path, 0, 0, "engine #%u has no name", i + 1);
        return HG_EINVAL;
    }
    if (!hg__engine_name_valid(e.name)) {
        hg__diag_add(d, path, 0, 0, "engine #%u: invalid name '%s' (must match [a-z0-9_-]+)",
                     i + 1, e.name);
        return HG_EINVAL;
    }
    if (e.kind < HG_KIND_RUNTIME_MODE || e.kind > HG_KIND_PROCESSOR) {
        hg__diag_add(d, path, 0, 0, "engine '%s': unknown kind %u", e.name, e.kind);
        return HG_EINVAL;
    }
    if (!e.ops) {
        hg__diag_add(d, path, 0, 0, "engine '%s': ops is NULL", e.name);
        return HG_EINVAL;
    }
    for (uint32_t j = 0; j < i; j++) {
        hg_engine prev;
        hg__descriptor_engine(desc, j, &prev);
        if (strcmp(prev.name, e.name) == 0) {
            hg__diag_add(d, path, 0, 0, "engine '%s' is listed twice", e.name);
            return HG_EINVAL;
        }
    }
    return check_ops(path, &e, d);
}

/* The descriptor's header and engine array, before any engine is read. */
static int check_header(const char *path, const hg_plugin *p, hg__diag *d)
{
    if (p->struct_size < END_OF(hg_plugin, abi_minor)) {
        hg__diag_add(d, path, 0, 0, "hg_plugin struct_size %u is smaller than ABI 1.0's %zu",
                     p->struct_size, (size_t)HG_PLUGIN_SIZE_1_0);
        return HG_EABI;
    }
    if (p->abi_major != HG_ABI_MAJOR) {
        hg__diag_add(d, path, 0, 0, "built for ABI %u.%u, this host speaks ABI %d.%d",
                     p->abi_major, p->abi_minor, HG_ABI_MAJOR, HG_ABI_MINOR);
        return HG_EABI;
    }
    if (p->struct_size < HG_PLUGIN_SIZE_1_0 || p->struct_size % _Alignof(hg_plugin) != 0) {
        hg__diag_add(d, path, 0, 0, "hg_plugin struct_size %u is smaller than ABI 1.0's %zu",
                     p->struct_size, (size_t)HG_PLUGIN_SIZE_1_0);
        return HG_EABI;
    }
    if (!p->id || !*p->id) {
        hg__diag_add(d, path, 0, 0, "the descriptor has no id");
        return HG_EINVAL;
    }
    if (!p->version) {
        hg__diag_add(d, path, 0, 0, "the descriptor has no version");
        return HG_EINVAL;
    }
    if (p->n_engines > 0 && !p->engines) {
        hg__diag_add(d, path, 0, 0, "n_engines is %u but engines is NULL", p->n_engines);
        return HG_EINVAL;
    }
    if (p->n_engines > MAX_ENGINES) {
        hg__diag_add(d, path, 0, 0, "n_engines %u is more than %u", p->n_engines, MAX_ENGINES);
        return HG_EINVAL;
    }
    if (p->n_engines > 0 && (p->engines[0].struct_size < HG_ENGINE_SIZE_1_0 ||
                             p->engines[0].struct_size % _Alignof(hg_engine) != 0)) {
        hg__diag_add(d, path, 0, 0, "engine #1: hg_engine struct_size %u is smaller than ABI "
                     "1.0's %zu", p->engines[0].struct_size, (size_t)HG_ENGINE_SIZE_1_0);
        return HG_EABI;
    }
    return 0;
}

int hg__check_descriptor(const char *path, const hg_plugin *desc, hg__diag *d)
{
    hg_plugin p;
    int rc;

    if (!desc) {
        hg__diag_add(d, path, 0, 0, "symbol '%s' is NULL", HG_ENTRY_SYMBOL);
        return HG_EINVAL;
    }
    /* The 8-byte version header is read in place; the rest only after struct_size allows. */
    if (desc->struct_size < HG_PLUGIN_SIZE_1_0) {
        return check_header(path, desc, d);
    }
    copy_by_size(&p, sizeof p, desc, desc->struct_size);
    rc = check_header(path, &p, d);
    for (uint32_t i = 0; rc == 0 && i < p.n_engines; i++)
        rc = check_engine(path, &p, i, d);
    return rc;
}

/* ---- process-wide init/deinit reference counts (the loader's one global state) ---- */

typedef struct refcount {
    const hg_plugin *key;
    uint32_t refs;
    void (*deinit)(void);
} refcount;

static pthread_mutex_t refs_lock = PTHREAD_MUTEX_INITIALIZER;
static refcount *refs;
static uint32_t n_refs, cap_refs;

static refcount *refs_find(const hg_plugin *key)
{
    for (uint32_t i = 0; i < n_refs; i++)
        if (refs[i].key == key)
            return &refs[i];
    return NULL;
}

/* Takes a reference on the plugin; the first one calls init (under the lock, so a second host
 * waits until init has returned). Returns 0, HG_ENOMEM, or init's error. */
static int plugin_acquire(hg__plugin *pl)
{
    refcount *r;
    int rc = 0;

    pthread_mutex_lock(&refs_lock);
    r = refs_find(pl->sym);
    if (r) {
        r->refs++;
        goto out;
    }
    if (n_refs == cap_refs) {
        uint32_t cap = cap_refs ? cap_refs * 2 : 8;
        refcount *t = realloc(refs, cap * sizeof(*t));
        if (!t) {
            rc = HG_ENOMEM;
            goto out;
        }
        refs = t;
        cap_refs = cap;
    }
    if (pl->desc->init) {
        rc = pl->desc->init();
        if (rc > 0)
            rc = HG_EFAIL;
        if (rc != 0)
            goto out;
    }
    refs[n_refs].key = pl->sym;
    refs[n_refs].refs = 1;
    refs[n_refs].deinit = pl->desc->deinit;
    n_refs++;
out:
    pthread_mutex_unlock(&refs_lock);
    if (rc == 0)
        pl->inited = 1;
    return rc;
}

static void plugin_release(hg__plugin *pl)
{
    refcount *r;

    if (!pl->inited)
        return;
    pthread_mutex_lock(&refs_lock);
    r = refs_find(pl->sym);
    if (r && --r->refs == 0) {
        if (r->deinit)
            r->deinit();
        *r = refs[--n_refs];
    }
    pthread_mutex_unlock(&refs_lock);
    pl->inited = 0;
}

/* ---- the registry ---- */

struct hg__registry {
    hg__plugin **plugins;
    uint32_t n_plugins;
    hg__engine_def **engines;
    uint32_t n_engines;
    const char **names; /* n_engines + 1, NULL-terminated */
};

int hg__registry_new(hg__registry **out)
{
    hg__registry *r = calloc(1, sizeof(*r));
    if (!r)
        return HG_ENOMEM;
    r->names = calloc(1, sizeof(*r->names));
    if (!r->names) {
        free(r);
        return HG_ENOMEM;
    }
    *out = r;
    return 0;
}

const hg__engine_def *hg__registry_find(const hg__registry *r, const char *engine)
{
    for (uint32_t i = 0; i < r->n_engines; i++)
        if (strcmp(r->engines[i]->name, engine) == 0)
            return r->engines[i];
    return NULL;
}

const char *const *hg__registry_names(const hg__registry *r)
{
    return r->names;
}

static void plugin_close(hg__plugin *pl)
{
    if (!pl)
        return;
    plugin_release(pl);
    if (pl->dl)
        dlclose(pl->dl);
    free(pl->path);
    free(pl);
}

void hg__registry_free(hg__registry *r)
{
    if (!r)
        return;
    for (uint32_t i = 0; i < r->n_engines; i++)
        free(r->engines[i]);
    /* Last opened first, so a plugin's deinit runs after those loaded after it. */
    for (uint32_t i = r->n_plugins; i > 0; i--)
        plugin_close(r->plugins[i - 1]);
    free(r->engines);
    free(r->plugins);
    free(r->names);
    free(r);
}

/* "PATH: reason" from dlerror, whose text usually starts with the path already. */
static void add_dlerror(hg__diag *d, const char *path)
{
    const char *e = dlerror();
    size_t n = strlen(path);

    if (!e)
        e = "cannot be opened";
    if (strncmp(e, path, n) == 0 && e[n] == ':' && e[n + 1] == ' ')
        e += n + 2;
    hg__diag_add(d, path, 0, 0, "%s", e);
}

int hg__open_plugin_file(const char *path, void **dl, const hg_plugin **sym, hg__diag *d)
{
    struct stat st;
    char why[4608];

    *dl = NULL;
    *sym = NULL;
    if (hg__plugin_path_unsafe(path, why, sizeof why)) {
        hg__diag_add(d, path, 0, 0, "%s", why);
        return HG_EPERM;
    }
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        hg__diag_add(d, path, 0, 0, "not a regular file"); /* a FIFO would block dlopen */
        return HG_ELOAD;
    }
    dlerror();
    *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!*dl) {
        add_dlerror(d, path);
        return HG_ELOAD;
    }
    *sym = dlsym(*dl, HG_ENTRY_SYMBOL);
    if (!*sym) {
        hg__diag_add(d, path, 0, 0, "no symbol '%s' (not a hangar plugin, or built without "
                     "HG_EXPORT)", HG_ENTRY_SYMBOL);
        return HG_ELOAD;
    }
    return 0;
}

/* Opens and checks a file; *out is not yet in the registry. */
static int plugin_open(const char *path, hg__plugin **out, hg__diag *d)
{
    hg__plugin *pl = calloc(1, sizeof(*pl));
    int rc;

    if (!pl)
        return HG_ENOMEM;
    pl->path = strdup(path);
    if (!pl->path) {
        rc = HG_ENOMEM;
        goto fail;
    }
    rc = hg__open_plugin_file(path, &pl->dl, &pl->sym, d);
    if (rc == 0)
        rc = hg__check_descriptor(path, pl->sym, d);
    if (rc != 0)
        goto fail;
    copy_by_size(&pl->copy, sizeof pl->copy, pl->sym, pl->sym->struct_size);
    pl->desc = &pl->copy;
    *out = pl;
    return 0;
fail:
    plugin_close(pl);
    return rc;
}

static const hg__plugin *provider(const hg__registry *r, const char *engine)
{
    const hg__engine_def *def = hg__registry_find(r, engine);
    return def ? def->plugin : NULL;
}

static int grow_arrays(hg__registry *r, uint32_t more)
{
    hg__plugin **pls = realloc(r->plugins, (r->n_plugins + 1) * sizeof(*pls));
    hg__engine_def **defs;
    const char **names;

    if (!pls)
        return HG_ENOMEM;
    r->plugins = pls;
    defs = realloc(r->engines, (r->n_engines + more + 1) * sizeof(*defs));
    if (!defs)
        return HG_ENOMEM;
    r->engines = defs;
    names = realloc(r->names, (r->n_engines + more + 1) * sizeof(*names));
    if (!names)
        return HG_ENOMEM;
    r->names = names;
    return 0;
}

/* Adds a checked plugin's engines. On error nothing is added and pl stays the caller's. */
static int registry_add(hg__registry *r, hg__plugin *pl, hg__diag *d)
{
    uint32_t n = pl->desc->n_engines, i;
    hg__engine_def **defs = calloc(n + 1, sizeof(*defs));
    int rc = 0;

    if (!defs)
        return HG_ENOMEM;
    for (i = 0; i < n && rc == 0; i++) {
        hg_engine e;
        const hg__plugin *other;

        hg__descriptor_engine(pl->desc, i, &e);
        other = provider(r, e.name);
        if (other) {
            hg__diag_add(d, pl->path, 0, 0, "engine '%s' is already provided by %s", e.name,
                         other->path);
            rc = HG_EEXIST;
            break;
        }
        defs[i] = malloc(sizeof(**defs));
        if (!defs[i]) {
            rc = HG_ENOMEM;
            break;
        }
        *defs[i] = (hg__engine_def){e.name, e.kind, e.summary, e.ops, e.config_keys, pl};
    }
    if (rc == 0)
        rc = grow_arrays(r, n);
    if (rc == 0)
        rc = plugin_acquire(pl);
    if (rc != 0) {
        if (rc != HG_EEXIST && rc != HG_ENOMEM)
            hg__diag_add(d, pl->path, 0, 0, "init failed: %s (%s)", hg_strerror(rc),
                         hg_err_name(rc));
        for (uint32_t j = 0; j < n; j++)
            free(defs[j]);
        free(defs);
        return rc;
    }
    r->plugins[r->n_plugins++] = pl;
    for (i = 0; i < n; i++) {
        r->names[r->n_engines] = defs[i]->name;
        r->engines[r->n_engines++] = defs[i];
    }
    r->names[r->n_engines] = NULL;
    free(defs);
    return 0;
}

int hg__registry_load_file(hg__registry *r, const char *path, hg__diag *d)
{
    hg__plugin *pl = NULL;
    int rc = plugin_open(path, &pl, d);

    if (rc != 0)
        return rc;
    rc = registry_add(r, pl, d);
    if (rc != 0)
        plugin_close(pl);
    return rc;
}

static int probe_provides(const hg__probe *p, const char *const *needed)
{
    for (uint32_t i = 0; i < p->n_engines; i++)
        for (const char *const *n = needed; *n; n++)
            if (strcmp(p->engines[i].name, *n) == 0)
                return 1;
    return 0;
}

static int registry_has_path(const hg__registry *r, const char *path)
{
    for (uint32_t i = 0; i < r->n_plugins; i++)
        if (strcmp(r->plugins[i]->path, path) == 0)
            return 1;
    return 0;
}

int hg__registry_load_needed(hg__registry *r, const hg__probe_set *probes,
                             const char *const *needed, hg__diag *d)
{
    int rc = 0;

    for (uint32_t i = 0; i < probes->n; i++) {
        const hg__probe *p = &probes->items[i];
        int one;

        if (p->status != 0 || !probe_provides(p, needed) || registry_has_path(r, p->path))
            continue;
        one = hg__registry_load_file(r, p->path, d);
        if (one == HG_ENOMEM)
            return one;
        if (one != 0)
            rc = HG_ELOAD;
    }
    return rc;
}
