/* view.c - the graph read back (`graph`: processors, links, accounted; `graph dot`: Graphviz) and
 * the per-processor controls (pause, resume, step), plus the config's graph section as a commit. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <hangar/status.h>

#include "clock.h"
#include "graph_priv.h"

#define LD(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)

static const char *const state_names[] = { "?", "created", "ready", "running", "paused",
                                           "stopping", "stopped", "failed" };
static const char *const mode_names[] = { "?", "reactive", "continuous", "manual" };
static const char *const policy_names[] = { "?", "block", "drop_newest", "drop_oldest" };

static struct hg_proc *find(hg__graph *g, const char *name)
{
    for (struct hg_proc *p = g->procs; p != NULL; p = p->next)
        if (strcmp(p->name, name) == 0)
            return p;
    return NULL;
}

void hg__graph_accounted(hg__graph *g, hg__graph_acc *out)
{
    pthread_mutex_lock(&g->mu);
    *out = g->retired;
    for (hg__edge *e = g->edges; e != NULL; e = e->next) {
        hg__link_stats s;
        hg__link_stats_get(e->link, &s);
        out->pushed += s.pushed, out->delivered += s.delivered;
        out->dropped += s.dropped, out->queued += s.queued;
    }
    pthread_mutex_unlock(&g->mu);
}

uint32_t hg__graph_state(hg__graph *g, const char *name, int *err)
{
    struct hg_proc *p;
    uint32_t st = 0;
    pthread_mutex_lock(&g->mu);
    if ((p = find(g, name)) != NULL) {
        st = LD(&p->state);
        if (err != NULL)
            *err = p->err;
    }
    pthread_mutex_unlock(&g->mu);
    return st;
}

int hg__graph_pause(hg__graph *g, const char *name, int pause)
{
    struct hg_proc *p;
    int rc = 0;
    pthread_mutex_lock(&g->mu);
    if ((p = find(g, name)) == NULL) {
        rc = HG_ENOENT;
    } else {
        uint32_t st = LD(&p->state);
        if (st != HG__PST_RUNNING && st != HG__PST_PAUSED && st != HG__PST_READY)
            rc = HG_ESTATE;
        else
            __atomic_store_n(&p->pause, pause ? 1u : 0u, __ATOMIC_RELEASE), hg__proc_kick(p);
    }
    pthread_mutex_unlock(&g->mu);
    return rc;
}

int hg__graph_step(hg__graph *g, const char *name)
{
    struct hg_proc *p;
    int rc = 0;
    pthread_mutex_lock(&g->mu);
    if ((p = find(g, name)) == NULL)
        rc = HG_ENOENT;
    else if (p->mode != HG__MODE_MANUAL)
        rc = HG_ESTATE;
    else
        __atomic_fetch_add(&p->steps, 1, __ATOMIC_ACQ_REL), hg__proc_kick(p);
    pthread_mutex_unlock(&g->mu);
    return rc;
}

static json_t *proc_json(hg__graph *g, struct hg_proc *p)
{
    uint32_t st = LD(&p->state);
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "name", p->name, "engine", p->engine,
                          "state", state_names[st <= HG__PST_FAILED ? st : 0], "mode",
                          mode_names[p->mode <= 3 ? p->mode : 0], "frames_in",
                          (json_int_t)__atomic_load_n(&p->frames_in, __ATOMIC_RELAXED),
                          "frames_out",
                          (json_int_t)__atomic_load_n(&p->frames_out, __ATOMIC_RELAXED));
    if (st == HG__PST_FAILED)
        json_object_set_new(o, "error", json_string(p->errmsg));
    if (g->o.describe != NULL)
        g->o.describe(g->o.ud, &p->def, o);
    return o;
}

static json_t *edge_json(hg__edge *e, hg__link_stats *s)
{
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:b}", "from", e->from_name,
                     "to", e->to_name, "policy", policy_names[e->policy <= 3 ? e->policy : 0],
                     "capacity", (json_int_t)e->capacity, "pushed", (json_int_t)s->pushed,
                     "delivered", (json_int_t)s->delivered, "dropped", (json_int_t)s->dropped,
                     "queued", (json_int_t)s->queued, "high_water", (json_int_t)s->high_water,
                     "live", e->live);
}

char *hg__graph_json(hg__graph *g)
{
    json_t *r = json_object(), *ps = json_array(), *ls = json_array();
    hg__graph_acc acc;
    char *out;

    pthread_mutex_lock(&g->mu);
    acc = g->retired;
    for (struct hg_proc *p = g->procs; p != NULL; p = p->next)
        json_array_append_new(ps, proc_json(g, p));
    for (hg__edge *e = g->edges; e != NULL; e = e->next) {
        hg__link_stats s;
        hg__link_stats_get(e->link, &s);
        acc.pushed += s.pushed, acc.delivered += s.delivered;
        acc.dropped += s.dropped, acc.queued += s.queued;
        json_array_append_new(ls, edge_json(e, &s));
    }
    pthread_mutex_unlock(&g->mu);
    json_object_set_new(r, "ok", json_true());
    json_object_set_new(r, "processors", ps);
    json_object_set_new(r, "links", ls);
    json_object_set_new(r, "accounted",
                        json_pack("{s:I, s:I, s:I, s:I}", "pushed", (json_int_t)acc.pushed,
                                  "delivered", (json_int_t)acc.delivered, "dropped",
                                  (json_int_t)acc.dropped, "queued", (json_int_t)acc.queued));
    out = json_dumps(r, JSON_COMPACT);
    json_decref(r);
    return out;
}

/* Appends to a growing string; keeps *s NULL after a failure. */
static void cat(char **s, size_t *len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void cat(char **s, size_t *len, const char *fmt, ...)
{
    va_list ap;
    char *piece, *grown;
    int n;
    if (*s == NULL)
        return;
    va_start(ap, fmt);
    n = vasprintf(&piece, fmt, ap);
    va_end(ap);
    grown = n < 0 ? NULL : realloc(*s, *len + (size_t)n + 1);
    if (grown == NULL) {
        free(*s), *s = NULL;
        if (n >= 0)
            free(piece);
        return;
    }
    memcpy(grown + *len, piece, (size_t)n + 1);
    *len += (size_t)n;
    *s = grown;
    free(piece);
}

/* Frames per second pushed since the last DOT of this edge. Under g->mu. */
static double edge_rate(hg__edge *e, const hg__link_stats *s)
{
    uint64_t now = hg__now_ns();
    if (now - e->rate_ns >= 100000000u) {
        e->rate = (double)(s->pushed - e->rate_pushed) * 1e9 / (double)(now - e->rate_ns);
        e->rate_ns = now, e->rate_pushed = s->pushed;
    }
    return e->rate;
}

char *hg__graph_dot(hg__graph *g)
{
    char *s = strdup("");
    size_t len = 0;

    cat(&s, &len, "digraph hangar {\n  rankdir=LR;\n  node [shape=box];\n");
    pthread_mutex_lock(&g->mu);
    for (struct hg_proc *p = g->procs; p != NULL; p = p->next) {
        uint32_t st = LD(&p->state);
        cat(&s, &len, "  \"%s\" [label=\"%s\\n%s (%s)\"%s];\n", p->name, p->name, p->engine,
            state_names[st <= HG__PST_FAILED ? st : 0],
            st == HG__PST_FAILED ? ", color=red" : st == HG__PST_PAUSED ? ", style=dashed" : "");
    }
    for (hg__edge *e = g->edges; e != NULL; e = e->next) {
        hg__link_stats s2;
        if (!e->live || e->from == NULL || e->to == NULL)
            continue;
        hg__link_stats_get(e->link, &s2);
        cat(&s, &len, "  \"%s\" -> \"%s\" [taillabel=\"%s\", headlabel=\"%s\", "
                      "label=\"%llu/%u, %.0f/s\"];\n", e->from->name, e->to->name,
            e->from->ops->ports[e->fport].name, e->to->ops->ports[e->tport].name,
            (unsigned long long)s2.queued, e->capacity, edge_rate(e, &s2));
    }
    pthread_mutex_unlock(&g->mu);
    cat(&s, &len, "}\n");
    return s;
}

/* The config's section {processors, links} is the change {add: processors, link: links}: a map
 * borrowing the section's lists, handed to fn, then freed shallowly. */
static int as_change(const hg__node *section, int (*fn)(hg__graph *, const hg__node *, void *),
                     hg__graph *g, void *arg)
{
    hg__node *m = hg__node_new(HG_CFG_MAP, NULL);
    const hg__node *ps = hg__node_get(section, "processors"), *ls = hg__node_get(section, "links");
    int rc = HG_ENOMEM;

    if (m == NULL)
        return rc;
    if ((ps == NULL || hg__node_append(m, hg__node_new(HG_CFG_SCALAR, "add"), (hg__node *)ps) == 0) &&
        (ls == NULL || hg__node_append(m, hg__node_new(HG_CFG_SCALAR, "link"), (hg__node *)ls) == 0))
        rc = fn(g, m, arg);
    for (uint32_t i = 0; i < m->n; i++) {
        hg__node_free(m->keys[i]);
        m->items[i] = NULL;
    }
    m->n = 0;
    hg__node_free(m);
    return rc;
}

static int do_commit(hg__graph *g, const hg__node *m, void *arg)
{
    return hg__graph_commit_node(g, m, arg);
}

static int do_check(hg__graph *g, const hg__node *m, void *arg)
{
    return hg__graph_check_node(g, m, arg);
}

int hg__graph_commit_section(hg__graph *g, const hg__node *section, char **reply)
{
    *reply = NULL;
    return as_change(section, do_commit, g, reply);
}

int hg__graph_check_section(hg__graph *g, const hg__node *section, hg__diag *d)
{
    return as_change(section, do_check, g, d);
}
