/* commit.c - one graph change as one commit: validate all of it against the live graph (every
 * error with its position, nothing applied when there is one), then apply it in phases: the new
 * processors create their instances on their own threads and wait; the removed ones drain their
 * inputs (bounded), stop and are joined with no lock held; unlinked links drain into their
 * consumers; new links are wired; the new threads are released. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <hangar/status.h>

#include "change.h"
#include "clock.h"
#include "graph_priv.h"

#define LD(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define ST(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define ERR(n, ...) hg__diag_add(&c->d, (n)->file, (n)->line, (n)->col, __VA_ARGS__)

static const hg__node *at(const hg__node *map, const char *key)
{
    const hg__node *v = hg__node_get(map, key);
    return v != NULL ? v : map;
}

static struct hg_proc *find(hg__graph *g, const char *name)
{
    for (struct hg_proc *p = g->procs; p != NULL; p = p->next)
        if (strcmp(p->name, name) == 0)
            return p;
    return NULL;
}

static int is_removed(const hg__change *c, const struct hg_proc *p)
{
    for (uint32_t i = 0; i < c->n_rm; i++)
        if (c->rm[i].p == p)
            return 1;
    return 0;
}

static int is_unlinked(const hg__change *c, const hg__edge *e)
{
    for (uint32_t i = 0; i < c->n_un; i++)
        if (c->un[i].e == e)
            return 1;
    return 0;
}

static int add_index(const hg__change *c, const char *name)
{
    for (uint32_t i = 0; i < c->n_add; i++)
        if (c->add[i].name != NULL && strcmp(c->add[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* ---- validation ---- */

static void check_adds(hg__graph *g, hg__change *c)
{
    char err[256];
    for (uint32_t i = 0; i < c->n_add; i++) {
        hg__chg_add *a = &c->add[i];
        struct hg_proc *old;
        if (a->name == NULL || a->engine == NULL)
            continue;
        if (add_index(c, a->name) != (int)i)
            ERR(at(a->item, "name"), "processor '%s' is added twice", a->name);
        else if ((old = find(g, a->name)) != NULL && !is_removed(c, old))
            ERR(at(a->item, "name"), "processor '%s' already exists", a->name);
        if (a->interval_ns != 0 && a->mode != HG__MODE_MANUAL)
            ERR(at(a->item, "interval"), "'interval' applies to mode: manual only");
        err[0] = 0;
        if (g->o.resolve == NULL) {
            ERR(at(a->item, "engine"), "this graph has no processor engines");
            continue;
        }
        if (g->o.resolve(g->o.ud, a->name, a->engine, a->item, &a->def, err, sizeof err) != 0) {
            ERR(at(a->item, "engine"), "%s", err[0] ? err : "unknown processor engine");
            continue;
        }
        a->resolved = 1;
        if (a->def.ops == NULL || a->def.ops->create == NULL || a->def.ops->process == NULL) {
            ERR(at(a->item, "engine"), "engine '%s' has no create or process", a->engine);
            a->resolved = 0;
        }
        if (a->mode == 0)
            a->mode = HG__MODE_REACTIVE;
    }
}

static void check_removes(hg__graph *g, hg__change *c)
{
    for (uint32_t i = 0; i < c->n_rm; i++) {
        c->rm[i].p = find(g, c->rm[i].name);
        if (c->rm[i].p == NULL)
            ERR(c->rm[i].item, "remove: no processor named '%s'", c->rm[i].name);
    }
}

static void check_unlinks(hg__graph *g, hg__change *c)
{
    for (uint32_t i = 0; i < c->n_un; i++) {
        hg__chg_link *u = &c->un[i];
        char f[256], t[256];
        if (u->bad)
            continue;
        snprintf(f, sizeof f, "%s.%s", u->fn, u->fp);
        snprintf(t, sizeof t, "%s.%s", u->tn, u->tp);
        for (hg__edge *e = g->edges; e != NULL && u->e == NULL; e = e->next)
            if (e->live && strcmp(e->from_name, f) == 0 && strcmp(e->to_name, t) == 0)
                u->e = e;
        if (u->e == NULL)
            ERR(u->item, "unlink: no link from %s to %s", f, t);
    }
}

static const hg_processor_ops *ops_of(hg__change *c, struct hg_proc *p, uint32_t add1)
{
    return p != NULL ? p->ops : add1 && c->add[add1 - 1].resolved ? c->add[add1 - 1].def.ops : NULL;
}

/* One end of a new link: a live processor (not removed) or an added one, and its port. */
static int resolve_end(hg__graph *g, hg__change *c, hg__chg_link *l, int out)
{
    const char *node = out ? l->fn : l->tn, *port = out ? l->fp : l->tp;
    const char *key = out ? "from" : "to";
    struct hg_proc *p = find(g, node);
    int ai = add_index(c, node), pi = -1;
    const hg_processor_ops *ops;

    if (ai >= 0)
        p = NULL;
    else if (p != NULL && is_removed(c, p))
        p = NULL;
    if (p == NULL && ai < 0) {
        /* Connector streams (CONNECTOR.STREAM) are wired here once the stream connectors run
         * (the host's hook hg__host.stream_link gives the link of a stream). */
        ERR(at(l->item, key), "link '%s' refers to unknown processor '%s'", key, node);
        return -1;
    }
    if ((ops = ops_of(c, p, ai >= 0 ? (uint32_t)ai + 1 : 0)) == NULL)
        return -1; /* its engine did not resolve: reported there */
    for (uint32_t i = 0; i < ops->n_ports; i++)
        if (strcmp(ops->ports[i].name, port) == 0)
            pi = (int)i;
    if (pi < 0) {
        char names[200] = "";
        for (uint32_t i = 0; i < ops->n_ports; i++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                     i ? ", " : "", ops->ports[i].name);
        ERR(at(l->item, key), "processor '%s' has no port '%s' (its ports: %s)", node, port,
            ops->n_ports ? names : "none");
        return -1;
    }
    if (ops->ports[pi].direction != (out ? HG_PORT_OUT : HG_PORT_IN)) {
        ERR(at(l->item, key), "port '%s.%s' is an %s: a link goes from an output to an input",
            node, port, out ? "input" : "output");
        return -1;
    }
    if (out)
        l->from = p, l->from_add = ai >= 0 ? (uint32_t)ai + 1 : 0, l->fport = pi;
    else
        l->to = p, l->to_add = ai >= 0 ? (uint32_t)ai + 1 : 0, l->tport = pi;
    return 0;
}

/* Links a port would have after the change (existing live ones kept plus new ones). */
static uint32_t port_links(hg__graph *g, hg__change *c, struct hg_proc *p, uint32_t add1,
                           int port, int out, uint32_t upto)
{
    uint32_t n = 0;
    for (hg__edge *e = g->edges; p != NULL && e != NULL; e = e->next)
        if (e->live && !is_unlinked(c, e) && (out ? e->from == p && (int)e->fport == port
                                                  : e->to == p && (int)e->tport == port))
            n++;
    for (uint32_t i = 0; i < upto; i++) {
        hg__chg_link *l = &c->link[i];
        if (l->bad)
            continue;
        if (out ? l->from == p && l->from_add == add1 && l->fport == port
                : l->to == p && l->to_add == add1 && l->tport == port)
            n++;
    }
    return n;
}

/* Node ids for the cycle check: listed processors 0..k-1, added ones k + index. */
static int node_id(hg__graph *g, struct hg_proc *p, uint32_t add1)
{
    int i = 0;
    if (add1)
        for (struct hg_proc *q = g->procs; q != NULL; q = q->next)
            i++;
    else
        for (struct hg_proc *q = g->procs; q != NULL && q != p; q = q->next)
            i++;
    return add1 ? i + (int)add1 - 1 : i;
}

/* 1 when dst reaches src over the resulting graph's edges (pairs, n of them). */
static int reaches(const int *pairs, uint32_t n, int from, int to, uint32_t nodes)
{
    uint8_t *seen = calloc(nodes + 1, 1);
    int *stack = calloc(nodes + 1, sizeof *stack), sp = 0, found = 0;
    if (seen == NULL || stack == NULL)
        goto out;
    stack[sp++] = from;
    seen[from] = 1;
    while (sp > 0 && !found) {
        int u = stack[--sp];
        for (uint32_t i = 0; i < n; i++)
            if (pairs[2 * i] == u && !seen[pairs[2 * i + 1]]) {
                if (pairs[2 * i + 1] == to)
                    found = 1;
                seen[pairs[2 * i + 1]] = 1;
                stack[sp++] = pairs[2 * i + 1];
            }
    }
out:
    free(seen);
    free(stack);
    return found || from == to;
}

static void check_cycles(hg__graph *g, hg__change *c)
{
    uint32_t n = 0, cap = c->n_link, nodes = (uint32_t)node_id(g, NULL, 1) + c->n_add;
    int *pairs;

    for (hg__edge *e = g->edges; e != NULL; e = e->next)
        cap++;
    if ((pairs = calloc(2 * (cap + 1), sizeof *pairs)) == NULL)
        return;
    for (hg__edge *e = g->edges; e != NULL; e = e->next)
        if (e->live && !is_unlinked(c, e) && e->from && e->to && !is_removed(c, e->from) &&
            !is_removed(c, e->to)) {
            pairs[2 * n] = node_id(g, e->from, 0), pairs[2 * n + 1] = node_id(g, e->to, 0);
            n++;
        }
    for (uint32_t i = 0; i < c->n_link; i++) {
        hg__chg_link *l = &c->link[i];
        int f, t;
        if (l->bad || l->fport < 0 || l->tport < 0 || (!l->from && !l->from_add) ||
            (!l->to && !l->to_add))
            continue;
        f = node_id(g, l->from, l->from_add), t = node_id(g, l->to, l->to_add);
        if (reaches(pairs, n, t, f, nodes)) {
            ERR(l->item, "link %s.%s -> %s.%s would close a cycle (%s already reaches %s); "
                "graphs are acyclic", l->fn, l->fp, l->tn, l->tp, l->tn, l->fn);
            continue;
        }
        pairs[2 * n] = f, pairs[2 * n + 1] = t;
        n++;
    }
    free(pairs);
}

static const char *type_name(uint32_t t, char buf[24])
{
    static const char *const names[] = { "any", "bytes", "text", "tick" };
    if (t < 4)
        return names[t];
    snprintf(buf, 24, "type %u", t);
    return buf;
}

static void check_links(hg__graph *g, hg__change *c)
{
    for (uint32_t i = 0; i < c->n_link; i++) {
        hg__chg_link *l = &c->link[i];
        const hg_processor_ops *fo, *to;
        l->fport = l->tport = -1;
        if (l->bad)
            continue;
        if ((resolve_end(g, c, l, 1) | resolve_end(g, c, l, 0)) != 0) {
            l->bad = 1;
            continue;
        }
        fo = ops_of(c, l->from, l->from_add), to = ops_of(c, l->to, l->to_add);
        uint32_t ft = fo->ports[l->fport].type, tt = to->ports[l->tport].type;
        if (ft != HG_TYPE_ANY && tt != HG_TYPE_ANY && ft != tt) {
            char a[24], b[24];
            ERR(l->item, "port type mismatch: %s.%s gives %s frames, %s.%s takes %s", l->fn, l->fp,
                type_name(ft, a), l->tn, l->tp, type_name(tt, b));
        }
        if (!(fo->ports[l->fport].flags & HG_PORT_MULTI) &&
            port_links(g, c, l->from, l->from_add, l->fport, 1, i) > 0)
            ERR(l->item, "port %s.%s takes one link and already has one (a tee fans out)", l->fn,
                l->fp);
        if (!(to->ports[l->tport].flags & HG_PORT_MULTI) &&
            port_links(g, c, l->to, l->to_add, l->tport, 0, i) > 0)
            ERR(l->item, "port %s.%s takes one link and already has one (a merge fans in)", l->tn,
                l->tp);
    }
    if (c->d.n == 0)
        check_cycles(g, c);
}

static void validate(hg__graph *g, hg__change *c)
{
    check_removes(g, c); /* first: an add may reuse the name of a processor removed here */
    check_adds(g, c);
    check_unlinks(g, c);
    check_links(g, c);
}

/* ---- apply ---- */

static struct hg_proc *proc_new(hg__chg_add *a, hg__docref *doc)
{
    struct hg_proc *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    p->name = strdup(a->name);
    p->engine = strdup(a->engine);
    p->def = a->def;
    p->ops = a->def.ops;
    p->n_ports = p->ops->n_ports;
    p->mode = a->mode;
    p->interval_ns = a->interval_ns;
    p->spin_ns = a->spin_ns;
    p->core = a->core;
    if ((p->doc = doc) != NULL)
        __atomic_fetch_add(&doc->refs, 1, __ATOMIC_RELAXED);
    p->pports = calloc(p->n_ports ? p->n_ports : 1, sizeof *p->pports);
    if (p->name == NULL || p->engine == NULL || p->pports == NULL) {
        free(p->name), free(p->engine), free(p->pports), free(p);
        if (doc != NULL)
            hg__docref_unref(doc);
        return NULL;
    }
    return p;
}

/* Phase 1: every new processor creates its instance on its own thread. On a failure the
 * created ones are told to quit and are joined: nothing changed. */
static int create_all(hg__graph *g, hg__change *c, hg__docref *doc)
{
    int failed = 0;
    for (uint32_t i = 0; i < c->n_add; i++) {
        hg__chg_add *a = &c->add[i];
        int rc;
        a->p = proc_new(a, doc);
        a->resolved = 0; /* the definition now belongs to the processor */
        if (a->p == NULL) {
            ERR(a->item, "processor '%s': out of memory", a->name);
            failed = 1;
            continue;
        }
        a->p->g = g;
        if ((rc = hg__proc_start(g, a->p)) != 0) {
            ERR(at(a->item, "engine"), "processor '%s' (engine %s): %s", a->name, a->engine,
                a->p->errmsg[0] ? a->p->errmsg : hg_err_name(rc));
            failed = 1;
        }
    }
    if (!failed)
        return 0;
    pthread_mutex_lock(&g->mu);
    for (uint32_t i = 0; i < c->n_add; i++)
        if (c->add[i].p != NULL)
            c->add[i].p->quit_early = 1;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
    for (uint32_t i = 0; i < c->n_add; i++)
        if (c->add[i].p != NULL) {
            hg__proc_join_free(g, c->add[i].p);
            c->add[i].p = NULL;
        }
    return HG_ECONFIG;
}

/* The edge stops taking frames from its producer (the producer's copy refreshes; a push that
 * raced gets HG_ECLOSED) and ends: its consumer drains it, then sees the end. Under g->mu. */
static void cut_edge(hg__graph *g, hg__edge *e)
{
    e->live = 0;
    if (e->from != NULL && hg__pport_del(&e->from->pports[e->fport], e)) {
        __atomic_fetch_add(&e->from->gen, 1, __ATOMIC_RELEASE);
        hg__proc_kick(e->from);
        hg__edge_unref(g, e);
    }
    hg__link_close(e->link);
}

/* Phase 2: removed processors leave the list, their inputs end and they drain; unlinked links
 * end. Under g->mu. */
static void mark_removals(hg__graph *g, hg__change *c)
{
    uint64_t deadline = hg__now_ns() + g->o.shutdown_timeout_ns;
    for (uint32_t i = 0; i < c->n_un; i++)
        cut_edge(g, c->un[i].e);
    for (uint32_t i = 0; i < c->n_rm; i++) {
        struct hg_proc *p = c->rm[i].p, **pp;
        if (p == NULL || !p->listed)
            continue;
        for (pp = &g->procs; *pp != p; pp = &(*pp)->next)
            ;
        *pp = p->next;
        p->listed = 0;
        for (uint32_t k = 0; k < p->n_ports; k++)
            for (uint32_t j = 0; p->ops->ports[k].direction == HG_PORT_IN && j < p->pports[k].n;
                 j++)
                if (p->pports[k].e[j]->live)
                    cut_edge(g, p->pports[k].e[j]);
        p->drain_deadline = deadline;
        ST(&p->drain, 1);
        hg__proc_kick(p);
    }
}

/* Phase 4: links are wired and the new processors listed and released. Under g->mu. */
static int wire(hg__graph *g, hg__change *c)
{
    int rc = 0;
    for (uint32_t i = 0; i < c->n_link; i++) {
        hg__chg_link *l = &c->link[i];
        struct hg_proc *f = l->from ? l->from : c->add[l->from_add - 1].p;
        struct hg_proc *t = l->to ? l->to : c->add[l->to_add - 1].p;
        hg__edge *e;
        if ((rc = hg__edge_new(g, l, f, t, &e)) != 0)
            break;
        e->next = g->edges, g->edges = e;
        if (hg__pport_add(&f->pports[l->fport], e) != 0 ||
            hg__pport_add(&t->pports[l->tport], e) != 0) {
            rc = HG_ENOMEM;
            break;
        }
        hg__proc_touch(f);
        hg__proc_touch(t);
    }
    for (uint32_t i = 0; i < c->n_add; i++) {
        struct hg_proc *p = c->add[i].p, **pp;
        for (pp = &g->procs; *pp != NULL; pp = &(*pp)->next)
            ;
        *pp = p;
        p->listed = 1;
        p->go = 1;
    }
    pthread_cond_broadcast(&g->cv);
    return rc;
}

static char *reply_ok(hg__change *c)
{
    json_t *r = json_pack("{s:b}", "ok", 1), *a = json_array(), *rm = json_array(),
           *ln = json_array(), *un = json_array();
    char *s;
    for (uint32_t i = 0; i < c->n_add; i++)
        json_array_append_new(a, json_string(c->add[i].name));
    for (uint32_t i = 0; i < c->n_rm; i++)
        json_array_append_new(rm, json_string(c->rm[i].name));
    for (uint32_t i = 0; i < c->n_link; i++)
        json_array_append_new(ln, json_pack("{s:s++, s:s++}", "from", c->link[i].fn, ".",
                                            c->link[i].fp, "to", c->link[i].tn, ".",
                                            c->link[i].tp));
    for (uint32_t i = 0; i < c->n_un; i++)
        json_array_append_new(un, json_pack("{s:s++, s:s++}", "from", c->un[i].fn, ".",
                                            c->un[i].fp, "to", c->un[i].tn, ".", c->un[i].tp));
    json_object_set_new(r, "added", a);
    json_object_set_new(r, "removed", rm);
    json_object_set_new(r, "linked", ln);
    json_object_set_new(r, "unlinked", un);
    s = json_dumps(r, JSON_COMPACT);
    json_decref(r);
    return s;
}

static char *reply_errors(hg__change *c)
{
    json_t *r = json_pack("{s:b}", "ok", 0), *e = json_array();
    char *s;
    hg__diag_sort(&c->d);
    for (uint32_t i = 0; i < c->d.n; i++) {
        char *m = hg__diag_format(&c->d, i);
        json_array_append_new(e, json_string(m ? m : "out of memory"));
        free(m);
    }
    json_object_set_new(r, "errors", e);
    s = json_dumps(r, JSON_COMPACT);
    json_decref(r);
    return s;
}

static void release_defs(hg__graph *g, hg__change *c)
{
    for (uint32_t i = 0; i < c->n_add; i++)
        if (c->add[i].resolved && g->o.release != NULL)
            g->o.release(g->o.ud, &c->add[i].def);
}

/* The commit itself, with g->mu held and busy taken. */
static int apply(hg__graph *g, hg__change *c, struct hg_proc *caller, hg__docref *doc)
{
    struct hg_proc **gone = calloc(c->n_rm + 1, sizeof *gone);
    uint32_t n_gone = 0;
    int rc;

    validate(g, c);
    if (c->d.n != 0 || gone == NULL) {
        release_defs(g, c);
        free(gone);
        return gone == NULL ? HG_ENOMEM : HG_ECONFIG;
    }
    pthread_mutex_unlock(&g->mu);
    rc = create_all(g, c, doc);
    pthread_mutex_lock(&g->mu);
    if (rc != 0) {
        free(gone);
        return rc;
    }
    mark_removals(g, c);
    for (uint32_t i = 0; i < c->n_rm; i++) {
        struct hg_proc *p = c->rm[i].p;
        int dup = 0;
        for (uint32_t j = 0; j < n_gone; j++)
            dup |= gone[j] == p;
        if (dup)
            continue;
        if (p == caller)
            p->zombie = 1, p->next = g->zombies, g->zombies = p; /* joined later */
        else
            p->joining = 1, gone[n_gone++] = p;
    }
    pthread_cond_broadcast(&g->cv);
    hg__graph_reap(g, gone, n_gone);
    free(gone);
    return wire(g, c);
}

static int commit_doc(hg__graph *g, const hg__node *change, hg__docref *doc, char **reply)
{
    hg__change c = { 0 };
    struct hg_proc *caller = hg__proc_self();
    int rc;

    if (caller != NULL && caller->g != g)
        caller = NULL;
    hg__diag_init(&c.d);
    hg__change_read(&c, change); /* its errors are reported with the validation's */
    if ((rc = hg__graph_begin(g, caller)) != 0) {
        *reply = NULL;
        if (asprintf(reply, "{\"ok\":false,\"errors\":[\"%s\"]}",
                     rc == HG_ECANCELED ? "this processor is being removed by another commit"
                                        : "the graph is shutting down") < 0)
            *reply = NULL;
        hg__change_free(&c);
        return rc;
    }
    hg__graph_reap_zombies(g, 0);
    rc = apply(g, &c, caller, doc);
    if (rc == 0)
        __atomic_add_fetch(&g->commits, 1, __ATOMIC_RELEASE);
    *reply = rc == 0 ? reply_ok(&c) : reply_errors(&c);
    hg__graph_end(g);
    hg__change_free(&c);
    return rc;
}

int hg__graph_check_node(hg__graph *g, const hg__node *change, hg__diag *out)
{
    hg__change c = { 0 };
    int rc;

    hg__diag_init(&c.d);
    hg__change_read(&c, change);
    pthread_mutex_lock(&g->mu);
    validate(g, &c);
    release_defs(g, &c);
    pthread_mutex_unlock(&g->mu);
    rc = c.d.n ? HG_ECONFIG : 0;
    for (uint32_t i = 0; i < c.d.n; i++)
        hg__diag_add(out, c.d.items[i].file, c.d.items[i].line, c.d.items[i].col, "%s",
                     c.d.items[i].msg);
    hg__change_free(&c);
    return rc;
}

uint64_t hg__graph_commits(hg__graph *g)
{
    return __atomic_load_n(&g->commits, __ATOMIC_ACQUIRE);
}

int hg__graph_commit_node(hg__graph *g, const hg__node *change, char **reply)
{
    return commit_doc(g, change, NULL, reply);
}

int hg__graph_commit(hg__graph *g, const char *yaml, char **reply)
{
    hg__docref *ref;
    hg__cfg_limits lim = HG__CFG_LIMITS_DEFAULT;
    hg__doc *doc = NULL;
    hg__diag d;
    int rc;

    hg__diag_init(&d);
    *reply = NULL;
    if (hg__doc_load_string(g->file, yaml, strlen(yaml), &lim, &doc, &d) != 0) {
        hg__change c = { .d = d };
        *reply = reply_errors(&c);
        hg__diag_free(&c.d);
        return HG_ECONFIG;
    }
    hg__diag_free(&d);
    if ((ref = malloc(sizeof *ref)) == NULL) {
        hg__doc_free(doc);
        return HG_ENOMEM;
    }
    ref->doc = doc, ref->refs = 1;
    rc = commit_doc(g, doc->root, ref, reply);
    hg__docref_unref(ref);
    return rc;
}
