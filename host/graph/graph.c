/* graph.c - the graph object and its commit: validate the whole change against the live graph,
 * then apply it in phases (create the new processors on their own threads; drain, stop and join
 * the removed ones and the unlinked links with no lock held; wire; release), and shutdown. */
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

/* ---- edges ---- */

static void edge_free(hg__graph *g, hg__edge *e)
{
    hg__link_stats s;
    hg__edge **pp;

    pthread_mutex_lock(&g->mu);
    for (pp = &g->edges; *pp != NULL && *pp != e; pp = &(*pp)->next)
        ;
    if (*pp == e)
        *pp = e->next;
    hg__link_discard(e->link); /* nobody reads it any more: anything left is dropped, counted */
    hg__link_stats_get(e->link, &s);
    g->retired.pushed += s.pushed;
    g->retired.delivered += s.delivered;
    g->retired.dropped += s.dropped;
    g->retired.queued += s.queued;
    pthread_mutex_unlock(&g->mu);
    hg__park_fini(hg__link_data_park(e->link));
    hg__link_destroy(e->link);
    hg__ring_destroy(e->free);
    free(e->cells);
    free(e->stash);
    free(e->from_name);
    free(e->to_name);
    free(e);
}

void hg__edge_unref(hg__graph *g, hg__edge *e)
{
    if (__atomic_sub_fetch(&e->refs, 1, __ATOMIC_ACQ_REL) == 0)
        edge_free(g, e);
}

/* A frame the link drops: its buffer goes back, and its cell: to the producer's stash when the
 * producer evicted it (drop-oldest, on its own thread), else to the free ring (the consumer's
 * discard, or the edge's end when nobody uses it any more). */
static void cell_release(void *item, void *ud)
{
    hg__cell *c = item;
    hg__edge *e = ud;
    if (c->f.buf != NULL)
        hg__buf_unref(c->f.buf);
    c->f.buf = NULL;
    if (e->from != NULL && hg__proc_self() == e->from)
        e->stash[e->n_stash++] = c;
    else
        hg__ring_try_push(e->free, c);
}

static void edge_undo(hg__edge *e)
{
    if (e->link != NULL) {
        hg__park_fini(hg__link_data_park(e->link));
        hg__link_destroy(e->link);
    }
    if (e->free != NULL)
        hg__ring_destroy(e->free);
    free(e->cells);
    free(e->stash);
    free(e->from_name);
    free(e->to_name);
    free(e);
}

int hg__edge_new(hg__graph *g, const hg__chg_link *l, struct hg_proc *from,
                 struct hg_proc *to, hg__edge **out)
{
    hg__link_opts lo = { l->capacity, l->policy, 0, cell_release, NULL };
    hg__edge *e = calloc(1, sizeof *e);
    int rc;

    (void)g;
    if (e == NULL)
        return HG_ENOMEM;
    lo.release_ud = e;
    /* the consumer returns each cell as it pops and the producer holds one: a cell to spare
     * whenever the link has room */
    e->n_cells = l->capacity + 64;
    e->cells = calloc(e->n_cells, sizeof *e->cells);
    e->stash = calloc(e->n_cells, sizeof *e->stash);
    rc = e->cells == NULL || e->stash == NULL ? HG_ENOMEM : hg__link_create(&lo, &e->link);
    if (rc == 0)
        rc = hg__ring_create(e->n_cells, &e->free);
    if (rc == 0 && hg__park_fd(hg__link_data_park(e->link)) < 0)
        rc = HG_EIO;
    if (rc != 0 || asprintf(&e->from_name, "%s.%s", l->fn, l->fp) < 0 ||
        asprintf(&e->to_name, "%s.%s", l->tn, l->tp) < 0) {
        edge_undo(e);
        return rc != 0 ? rc : HG_ENOMEM;
    }
    for (uint32_t i = 0; i < e->n_cells; i++)
        hg__ring_try_push(e->free, &e->cells[i]);
    e->from = from, e->to = to;
    e->fport = (uint32_t)l->fport, e->tport = (uint32_t)l->tport;
    e->capacity = hg__link_capacity(e->link);
    e->policy = l->policy;
    e->live = 1;
    e->rate_ns = hg__now_ns();
    *out = e;
    return 0;
}

int hg__pport_del(hg__pport *pp, hg__edge *e)
{
    for (uint32_t i = 0; i < pp->n; i++)
        if (pp->e[i] == e) {
            memmove(&pp->e[i], &pp->e[i + 1], (pp->n - i - 1) * sizeof *pp->e);
            pp->n--;
            return 1;
        }
    return 0;
}

int hg__pport_add(hg__pport *pp, hg__edge *e)
{
    if (pp->n == pp->cap) {
        uint32_t cap = pp->cap ? pp->cap * 2 : 2;
        hg__edge **ne = realloc(pp->e, cap * sizeof *ne);
        if (ne == NULL)
            return HG_ENOMEM;
        pp->e = ne, pp->cap = cap;
    }
    pp->e[pp->n++] = e;
    pp->had = 1;
    __atomic_fetch_add(&e->refs, 1, __ATOMIC_RELAXED);
    return 0;
}

void hg__proc_touch(struct hg_proc *p)
{
    __atomic_fetch_add(&p->gen, 1, __ATOMIC_RELEASE);
    hg__proc_kick(p);
}

/* ---- create, destroy ---- */

int hg__graph_create(const hg__graph_opts *o, hg__graph **out)
{
    hg__graph *g = calloc(1, sizeof *g);
    pthread_mutexattr_t ma;
    pthread_condattr_t ca;
    hg__pool_class pc;
    int rc;

    if (g == NULL)
        return HG_ENOMEM;
    g->o = *o;
    pc.count = o->pool_buffers ? o->pool_buffers : 4096;
    pc.size = o->pool_size ? o->pool_size : 2048;
    if (g->o.shutdown_timeout_ns == 0)
        g->o.shutdown_timeout_ns = 5000000000ull;
    g->file = strdup(o->file ? o->file : "<commit>");
    rc = g->file == NULL ? HG_ENOMEM : hg__pool_create(&pc, 1, &g->pool);
    if (rc != 0) {
        free(g->file);
        free(g);
        return rc;
    }
    /* Recursive: an edge's last reference may drop under the lock (edge_free takes it). */
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&g->mu, &ma);
    pthread_mutexattr_destroy(&ma);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g->cv, &ca);
    pthread_condattr_destroy(&ca);
    *out = g;
    return 0;
}

/* Waits (no lock held on return... the caller holds g->mu) until p's thread returned or the
 * deadline; returns 1 when it did. */
static int wait_exit(hg__graph *g, struct hg_proc *p, uint64_t deadline)
{
    while (!p->exited) {
        struct timespec ts = hg__timespec_of(deadline);
        if (hg__now_ns() >= deadline)
            return 0;
        pthread_cond_timedwait(&g->cv, &g->mu, &ts);
    }
    return 1;
}

static void stop_now(struct hg_proc *p)
{
    ST(&p->stop, 1);
    hg__cancel_fire(p->cancel);
    hg__proc_kick(p);
}

/* Joins removed processors: each drains until its deadline, is then stopped, and is joined.
 * One still running after a second bound is left as a zombie (joined at destroy). Called with
 * g->mu held; releases it while waiting. Returns how many had to be cut. */
uint32_t hg__graph_reap(hg__graph *g, struct hg_proc **list, uint32_t n)
{
    uint32_t cut = 0;
    for (uint32_t i = 0; i < n; i++) {
        struct hg_proc *p = list[i];
        if (!wait_exit(g, p, p->drain_deadline)) {
            cut++;
            stop_now(p);
            if (!wait_exit(g, p, hg__now_ns() + g->o.shutdown_timeout_ns)) {
                p->zombie = 1, p->next = g->zombies, g->zombies = p;
                continue;
            }
        }
        pthread_mutex_unlock(&g->mu);
        hg__proc_join_free(g, p);
        pthread_mutex_lock(&g->mu);
    }
    return cut;
}

/* Zombies whose threads have returned. Called with g->mu held. */
void hg__graph_reap_zombies(hg__graph *g, int wait)
{
    struct hg_proc **pp = &g->zombies;
    while (*pp != NULL) {
        struct hg_proc *p = *pp;
        if (!p->exited && wait) {
            stop_now(p);
            wait_exit(g, p, hg__now_ns() + g->o.shutdown_timeout_ns);
        }
        if (!p->exited && !wait) {
            pp = &p->next;
            continue;
        }
        *pp = p->next;
        pthread_mutex_unlock(&g->mu);
        if (p->exited)
            hg__proc_join_free(g, p); /* else leaked on purpose: its thread still runs */
        pthread_mutex_lock(&g->mu);
    }
}

/* Takes the commit (busy); a processor that a running commit joins gets HG_ECANCELED. */
int hg__graph_begin(hg__graph *g, struct hg_proc *caller)
{
    pthread_mutex_lock(&g->mu);
    while (g->busy && !(caller != NULL && (caller->joining || LD(&caller->stop))))
        pthread_cond_wait(&g->cv, &g->mu);
    if (g->busy) {
        pthread_mutex_unlock(&g->mu);
        return HG_ECANCELED;
    }
    if (g->closing) {
        pthread_mutex_unlock(&g->mu);
        return HG_ESTATE;
    }
    g->busy = 1;
    return 0;
}

void hg__graph_end(hg__graph *g)
{
    g->busy = 0;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

uint32_t hg__graph_shutdown(hg__graph *g, uint64_t timeout_ns)
{
    uint64_t deadline = hg__now_ns() + timeout_ns;
    struct hg_proc **all;
    uint32_t n = 0, cut;

    if (hg__graph_begin(g, NULL) != 0)
        return 0;
    g->closing = 1;
    for (struct hg_proc *p = g->procs; p != NULL; p = p->next)
        n++;
    all = calloc(n + 1, sizeof *all);
    n = 0;
    /* Every processor drains: one with no input ended stops at once (the sources), the others
     * once their producers ended and they took what was queued: dependency order. */
    for (struct hg_proc *p = g->procs; p != NULL; p = p->next) {
        p->drain_deadline = deadline;
        ST(&p->drain, 1);
        hg__proc_kick(p);
        if (all != NULL)
            all[n++] = p;
    }
    g->procs = NULL;
    cut = all != NULL ? hg__graph_reap(g, all, n) : 0;
    hg__graph_reap_zombies(g, 1);
    free(all);
    hg__graph_end(g);
    return cut;
}

void hg__graph_destroy(hg__graph *g, uint64_t timeout_ns)
{
    if (g == NULL)
        return;
    hg__graph_shutdown(g, timeout_ns);
    pthread_mutex_lock(&g->mu);
    hg__graph_reap_zombies(g, 1);
    pthread_mutex_unlock(&g->mu);
    if (g->edges == NULL && g->zombies == NULL)
        hg__pool_destroy(g->pool);
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->cv);
    free(g->file);
    free(g);
}
