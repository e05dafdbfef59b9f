/* order.c - dependency levels from the configuration's wiring, reference cycles as config errors,
 * and the start/stop order built from them. */
#include <stdlib.h>
#include <string.h>

#include "order.h"

typedef struct edge {
    uint32_t from, to;     /* instance indexes: from depends on to */
    const hg__node *at;    /* where the reference is written */
    uint8_t is_link;       /* a graph link (cycles allowed here) */
} edge;

typedef struct graph {
    hg__entry **v;         /* the entries, by index */
    uint32_t nv;
    edge *e;
    uint32_t n, cap;
    uint8_t *mark;         /* 0 new, 1 on the DFS stack, 2 done */
    uint32_t *level;
    uint32_t *stack;       /* the DFS path, for the cycle message */
    uint32_t depth;
    hg__diag *d;
    int rc;
} graph;

static int index_of(const graph *g, const hg__engines *reg, const char *name)
{
    hg__entry *e = hg__engines_find(reg, name);
    for (uint32_t i = 0; e != NULL && i < g->nv; i++)
        if (g->v[i] == e)
            return (int)i;
    return -1;
}

static uint32_t section_of(const hg__entry *e)
{
    return e->cfg ? e->cfg->section : 0;
}

/* 1 for an entry others can name as an address: a pipeline that listens. A value that equals
 * the name of anything else (`pattern: stream` in a pipeline named stream) is no reference. */
static int serves(const hg__entry *e)
{
    return section_of(e) == HG__SEC_PIPELINE && hg__node_get(e->cfg->node, "listen") != NULL;
}

static int add_edge(graph *g, uint32_t from, uint32_t to, const hg__node *at, uint8_t is_link)
{
    for (uint32_t i = 0; i < g->n; i++)
        if (g->e[i].from == from && g->e[i].to == to)
            return 0;
    if (g->n == g->cap) {
        uint32_t nc = g->cap ? g->cap * 2 : 16;
        edge *ne = realloc(g->e, nc * sizeof *ne);
        if (ne == NULL)
            return HG_ENOMEM;
        g->e = ne;
        g->cap = nc;
    }
    g->e[g->n++] = (edge){from, to, at, is_link};
    return 0;
}

/* Every scalar below node that names another instance is a reference from instance i. */
static int scan(graph *g, const hg__engines *reg, uint32_t i, const hg__node *node, int top)
{
    int rc = 0;
    if (node == NULL)
        return 0;
    if (node->type == HG_CFG_SCALAR) {
        int j = node->value && !node->is_null ? index_of(g, reg, node->value) : -1;
        if (j >= 0 && !serves(g->v[j]))
            return 0;
        if (j >= 0 && (uint32_t)j == i) {
            /* a proxy whose upstream is itself connects to itself for ever */
            g->rc = HG_ECONFIG;
            if (g->d != NULL)
                hg__diag_add(g->d, node->file, node->line, node->col,
                             "%s: a pipeline names itself ('%s'): connections would go round "
                             "for ever", node->value, node->value);
            return 0;
        }
        return j >= 0 && (uint32_t)j != i ? add_edge(g, i, (uint32_t)j, node, 0) : 0;
    }
    for (uint32_t k = 0; k < node->n && rc == 0; k++) {
        if (top && node->type == HG_CFG_MAP && node->keys[k]->value &&
            (strcmp(node->keys[k]->value, "name") == 0 ||
             strcmp(node->keys[k]->value, "engine") == 0))
            continue;
        rc = scan(g, reg, i, node->items[k], 0);
    }
    return rc;
}

static void report_cycle(graph *g, uint32_t to, const edge *closing)
{
    char path[512] = "";
    size_t len = 0;
    uint32_t k = 0;
    while (k < g->depth && g->stack[k] != to)
        k++;
    for (; k < g->depth && len < sizeof path; k++)
        len += (size_t)snprintf(path + len, sizeof path - len, "%s -> ",
                                hg__inst_name(g->v[g->stack[k]]->in));
    if (len < sizeof path)
        snprintf(path + len, sizeof path - len, "%s", hg__inst_name(g->v[to]->in));
    g->rc = HG_ECONFIG;
    if (g->d == NULL)
        return;
    hg__diag_add(g->d, closing->at->file, closing->at->line, closing->at->col,
                 "%s: the pipelines name each other in a cycle (%s): connections would go round "
                 "for ever", hg__inst_name(g->v[closing->from]->in), path);
}

static void visit(graph *g, uint32_t i)
{
    uint32_t lvl = 0;
    g->mark[i] = 1;
    g->stack[g->depth++] = i;
    for (uint32_t k = 0; k < g->n; k++) {
        const edge *ed = &g->e[k];
        if (ed->from != i)
            continue;
        if (g->mark[ed->to] == 1) { /* a back edge: a cycle */
            if (!ed->is_link && section_of(g->v[i]) == HG__SEC_PIPELINE &&
                section_of(g->v[ed->to]) == HG__SEC_PIPELINE)
                report_cycle(g, ed->to, ed);
            continue;
        }
        if (g->mark[ed->to] == 0)
            visit(g, ed->to);
        if (g->level[ed->to] + 1 > lvl)
            lvl = g->level[ed->to] + 1;
    }
    g->level[i] = lvl;
    g->depth--;
    g->mark[i] = 2;
}

static int build(graph *g, const hg__engines *reg, const hg__link_cfg *links, uint32_t n_links)
{
    int rc = 0;
    for (uint32_t i = 0; i < g->nv && rc == 0; i++)
        if (g->v[i]->cfg != NULL)
            rc = scan(g, reg, i, g->v[i]->cfg->node, 1);
    /* A link's producer depends on its consumer: the consumer is running before the first
     * frame arrives, and stops after the last. */
    for (uint32_t k = 0; k < n_links && rc == 0; k++) {
        const hg__link_cfg *l = &links[k];
        int from = l->from_node ? index_of(g, reg, l->from_node) : -1;
        int to = l->to_node ? index_of(g, reg, l->to_node) : -1;
        if (from >= 0 && to >= 0 && from != to)
            rc = add_edge(g, (uint32_t)from, (uint32_t)to, l->node, 1);
    }
    return rc;
}

int hg__order_compute(const hg__engines *reg, const hg__link_cfg *links, uint32_t n_links,
                      hg__diag *d)
{
    uint32_t n = hg__engines_count(reg);
    graph g = {NULL, n, NULL, 0, 0, NULL, NULL, NULL, 0, d, 0};
    int rc;
    g.v = calloc(n ? n : 1, sizeof *g.v);
    g.mark = calloc(n ? n : 1, 1);
    g.level = calloc(n ? n : 1, sizeof *g.level);
    g.stack = calloc(n ? n : 1, sizeof *g.stack);
    rc = g.v && g.mark && g.level && g.stack ? 0 : HG_ENOMEM;
    for (uint32_t i = 0; i < n && rc == 0; i++)
        g.v[i] = hg__engines_at(reg, i);
    if (rc == 0)
        rc = build(&g, reg, links, n_links);
    for (uint32_t i = 0; i < n && rc == 0; i++)
        if (g.mark[i] == 0)
            visit(&g, i);
    for (uint32_t i = 0; i < n && rc == 0; i++)
        g.v[i]->level = g.level[i];
    free(g.e);
    free(g.v);
    free(g.mark);
    free(g.level);
    free(g.stack);
    return rc != 0 ? rc : g.rc;
}

static int cmp_start(const void *pa, const void *pb)
{
    const hg__entry *a = *(hg__entry *const *)pa, *b = *(hg__entry *const *)pb;
    if (a->originates != b->originates)
        return a->originates - b->originates;
    if (a->level != b->level)
        return a->level < b->level ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

void hg__order_sort(hg__entry **v, uint32_t n)
{
    qsort(v, n, sizeof *v, cmp_start);
}

int hg__order_same_group(const hg__entry *a, const hg__entry *b)
{
    return a->originates == b->originates && a->level == b->level;
}
