/* reload_graph.c - the graph section of a reload as one graph commit: the difference between
 * the running section and the new one, as {remove, add, unlink, link}, checked with the rest of
 * the file and applied after the pipelines (reload.c). */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "graph.h"
#include "host_priv.h"
#include "reload_graph.h"

static const hg__node *seq_of(const hg__node *sec, const char *key)
{
    const hg__node *s = hg__node_get(sec, key);
    return s != NULL && s->type == HG_CFG_SEQ ? s : NULL;
}

static const char *text_of(const hg__node *item, const char *key)
{
    const hg__node *v = hg__node_get(item, key);
    return v != NULL && v->type == HG_CFG_SCALAR && v->value ? v->value : "";
}

/* The item of seq whose `name` is name, or NULL. */
static const hg__node *named(const hg__node *seq, const char *name)
{
    for (uint32_t i = 0; seq != NULL && i < seq->n; i++)
        if (strcmp(text_of(seq->items[i], "name"), name) == 0)
            return seq->items[i];
    return NULL;
}

/* The link of seq from->to, or NULL. */
static const hg__node *link_of(const hg__node *seq, const hg__node *l)
{
    for (uint32_t i = 0; seq != NULL && i < seq->n; i++)
        if (strcmp(text_of(seq->items[i], "from"), text_of(l, "from")) == 0 &&
            strcmp(text_of(seq->items[i], "to"), text_of(l, "to")) == 0)
            return seq->items[i];
    return NULL;
}

/* The processors a change replaces (removes, and adds again when the new section has them). */
typedef struct repl {
    const char **names;
    uint32_t n;
} repl;

/* The processor name of the end "PROC.PORT" into buf. */
static const char *proc_of(const char *end, char *buf, size_t cap)
{
    const char *dot = strchr(end, '.');
    snprintf(buf, cap, "%.*s", (int)(dot ? (size_t)(dot - end) : strlen(end)), end);
    return buf;
}

static int has(const repl *r, const char *name)
{
    for (uint32_t i = 0; i < r->n; i++)
        if (strcmp(r->names[i], name) == 0)
            return 1;
    return 0;
}

/* 1 when the link l touches a replaced processor: it ends with it. */
static int ends_with(const hg__node *l, const repl *r)
{
    char a[128], b[128];
    return has(r, proc_of(text_of(l, "from"), a, sizeof a)) ||
           has(r, proc_of(text_of(l, "to"), b, sizeof b));
}

/* 1 when every link of wl out of processor name goes to a replaced processor (and there is one):
 * it would lose all its consumers, and a producer without consumers stops, so it is replaced
 * too. */
static int starved(const hg__node *wl, const char *name, const repl *r)
{
    char f[128], t[128];
    uint32_t outs = 0;
    for (uint32_t i = 0; wl != NULL && i < wl->n; i++) {
        if (strcmp(proc_of(text_of(wl->items[i], "from"), f, sizeof f), name) != 0)
            continue;
        if (!has(r, proc_of(text_of(wl->items[i], "to"), t, sizeof t)))
            return 0;
        outs++;
    }
    return outs > 0;
}

/* Fills r: the processors of wp that differ in np (removed or changed), then, until none is
 * added, the ones whose consumers are all replaced. Returns 0 or HG_ENOMEM. */
static int replaced(const hg__node *wp, const hg__node *np, const hg__node *wl, repl *r)
{
    int more = 1;
    r->names = calloc(wp ? wp->n + 1 : 1, sizeof *r->names);
    if (r->names == NULL)
        return HG_ENOMEM;
    for (uint32_t i = 0; wp != NULL && i < wp->n; i++)
        if (!hg__node_equal(wp->items[i], named(np, text_of(wp->items[i], "name"))))
            r->names[r->n++] = text_of(wp->items[i], "name");
    while (more) {
        more = 0;
        for (uint32_t i = 0; wp != NULL && i < wp->n; i++) {
            const char *name = text_of(wp->items[i], "name");
            if (!has(r, name) && starved(wl, name, r)) {
                r->names[r->n++] = name;
                more = 1;
            }
        }
    }
    return 0;
}

/* Appends item (borrowed) to the list key of change, creating it. Returns 0 or HG_ENOMEM. */
static int put(hg__node *change, const char *key, hg__node *item)
{
    hg__node *seq = hg__node_get(change, key);
    if (seq == NULL) {
        hg__node *k = hg__node_new(HG_CFG_SCALAR, key), *s = hg__node_new(HG_CFG_SEQ, NULL);
        if (k == NULL || s == NULL || hg__node_append(change, k, s) != 0) {
            hg__node_free(k);
            hg__node_free(s);
            return HG_ENOMEM;
        }
        seq = s;
    }
    return hg__node_append(seq, NULL, item);
}

/* A new {from, to} map of link l (unlink takes only these). */
static hg__node *ends_of(const hg__node *l)
{
    hg__node *m = hg__node_new(HG_CFG_MAP, NULL);
    const char *keys[2] = {"from", "to"};
    for (int k = 0; m != NULL && k < 2; k++) {
        hg__node *key = hg__node_new(HG_CFG_SCALAR, keys[k]);
        hg__node *v = hg__node_new(HG_CFG_SCALAR, text_of(l, keys[k]));
        if (key == NULL || v == NULL || hg__node_append(m, key, v) != 0) {
            hg__node_free(key);
            hg__node_free(v);
            hg__node_free(m);
            return NULL;
        }
    }
    return m;
}

/* Fills change from the processors and links of was and now. Returns 0 or HG_ENOMEM. */
static int fill(hg__node *change, const hg__node *was, const hg__node *now)
{
    const hg__node *wp = seq_of(was, "processors"), *np = seq_of(now, "processors");
    const hg__node *wl = seq_of(was, "links"), *nl = seq_of(now, "links");
    repl r = {NULL, 0};
    int rc = replaced(wp, np, wl, &r);
    for (uint32_t i = 0; wp != NULL && i < wp->n && rc == 0; i++)
        if (has(&r, text_of(wp->items[i], "name")))
            rc = put(change, "remove", hg__node_get(wp->items[i], "name"));
    for (uint32_t i = 0; np != NULL && i < np->n && rc == 0; i++)
        if (has(&r, text_of(np->items[i], "name")) || named(wp, text_of(np->items[i], "name")) == NULL)
            rc = put(change, "add", np->items[i]);
    for (uint32_t i = 0; wl != NULL && i < wl->n && rc == 0; i++) {
        hg__node *e;
        if (hg__node_equal(wl->items[i], link_of(nl, wl->items[i])) || ends_with(wl->items[i], &r))
            continue;
        e = ends_of(wl->items[i]);
        rc = e == NULL ? HG_ENOMEM : put(change, "unlink", e);
        if (rc != 0)
            hg__node_free(e);
    }
    for (uint32_t i = 0; nl != NULL && i < nl->n && rc == 0; i++)
        if (!hg__node_equal(nl->items[i], link_of(wl, nl->items[i])) || ends_with(nl->items[i], &r))
            rc = put(change, "link", nl->items[i]);
    free(r.names);
    return rc;
}

void hg__reload_graph_free(hg__node *change)
{
    /* add, remove and link borrow the file's nodes; unlink's maps are the change's own */
    for (uint32_t i = 0; change != NULL && i < change->n; i++)
        if (strcmp(change->keys[i]->value, "unlink") != 0)
            change->items[i]->n = 0;
    hg__node_free(change);
}

int hg__reload_graph_plan(hg__host *h, const hg__config *nc, hg__node **out, hg__diag *d)
{
    const hg__node *was = hg__node_get(h->current->doc->root, "graph");
    const hg__node *now = hg__node_get(nc->doc->root, "graph");
    hg__node *change;
    *out = NULL;
    if (h->graph != NULL && hg__graph_commits(h->graph) != h->graph_seen) {
        /* The diff is between the files; the live graph no longer is the last file's. */
        if (hg__node_equal(was, now))
            return 0; /* the graph is left as it runs (reload.c says so in its reply) */
        hg__diag_add(d, now ? now->file : nc->file, now ? now->line : 0, now ? now->col : 0,
                     "graph: changed at run time by %llu commit(s) since the file was applied, "
                     "so a reload cannot tell what to undo: commit the change you want instead, "
                     "or restart the host with the file",
                     (unsigned long long)(hg__graph_commits(h->graph) - h->graph_seen));
        return HG_ECONFIG;
    }
    if (hg__node_equal(was, now))
        return 0;
    if (!hg__node_equal(hg__node_get(was, "pool"), hg__node_get(now, "pool"))) {
        const hg__node *at = hg__node_get(now, "pool") ? hg__node_get(now, "pool") : now;
        hg__diag_add(d, at ? at->file : nc->file, at ? at->line : 0, at ? at->col : 0,
                     "graph.pool: cannot change while the host runs (the pool is allocated at "
                     "start; restart the host to change it)");
        return HG_ECONFIG;
    }
    if (h->graph == NULL) {
        hg__diag_add(d, now ? now->file : nc->file, now ? now->line : 0, now ? now->col : 0,
                     "graph: this host has no graph to change");
        return HG_ECONFIG;
    }
    change = hg__node_new(HG_CFG_MAP, NULL);
    if (change == NULL || fill(change, was, now) != 0) {
        hg__reload_graph_free(change);
        return HG_ENOMEM;
    }
    if (change->n > 0 && hg__graph_check_node(h->graph, change, d) != 0) {
        hg__reload_graph_free(change);
        return HG_ECONFIG;
    }
    *out = change;
    return 0;
}

int hg__reload_graph_commit(hg__host *h, const hg__node *change, json_t *what, hg__diag *d)
{
    char *reply = NULL;
    json_t *j;
    int rc;
    if (change == NULL || change->n == 0)
        return 0;
    rc = hg__graph_commit_node(h->graph, change, &reply);
    if (rc == 0)
        h->graph_seen = hg__graph_commits(h->graph);
    j = reply ? json_loads(reply, 0, NULL) : NULL;
    if (rc == 0 && j != NULL)
        json_object_update(what, j);
    for (size_t i = 0; rc != 0 && i < json_array_size(json_object_get(j, "errors")); i++)
        hg__diag_add(d, NULL, 0, 0, "graph: %s",
                     json_string_value(json_array_get(json_object_get(j, "errors"), i)));
    if (rc != 0 && json_array_size(json_object_get(j, "errors")) == 0)
        hg__diag_add(d, NULL, 0, 0, "graph: the commit failed: %s", hg_strerror(rc));
    json_decref(j);
    free(reply);
    return rc;
}
