/* proc.c - a processor's own thread (create, ready, wait for the wiring, setup, the process loop
 * in its mode, teardown, destroy) and the data-plane service "hangar.graph/1" it calls. */
#define _GNU_SOURCE
#include <poll.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hangar/status.h>

#include "clock.h"
#include "graph_priv.h"

#define LD(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define ST(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

/* The processor whose thread this is (commit uses it to recognise its caller). */
static __thread struct hg_proc *self;

struct hg_proc *hg__proc_self(void)
{
    return self;
}

void hg__proc_kick(struct hg_proc *p)
{
    __atomic_fetch_add(&p->ctl.seq, 0, __ATOMIC_SEQ_CST);
    hg__park_wake(&p->ctl);
}

int hg__proc_port(const struct hg_proc *p, const char *port)
{
    for (uint32_t i = 0; i < p->n_ports; i++)
        if (strcmp(p->ops->ports[i].name, port) == 0)
            return (int)i;
    return -1;
}

static void set_state(struct hg_proc *p, uint32_t st)
{
    pthread_mutex_lock(&p->g->mu);
    ST(&p->state, st);
    pthread_cond_broadcast(&p->g->cv);
    pthread_mutex_unlock(&p->g->mu);
}

/* The error is kept under g->mu, where `graph` and hg__graph_state read it. */
static void fail(struct hg_proc *p, int rc, const char *where)
{
    pthread_mutex_lock(&p->g->mu);
    p->err = rc;
    snprintf(p->errmsg, sizeof p->errmsg, "%s returned %s", where, hg_err_name(rc));
    ST(&p->state, HG__PST_FAILED);
    pthread_cond_broadcast(&p->g->cv);
    pthread_mutex_unlock(&p->g->mu);
}

void hg__docref_unref(hg__docref *d)
{
    if (__atomic_sub_fetch(&d->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        hg__doc_free(d->doc);
        free(d);
    }
}

/* ---- the port copy ---- */

static void free_ports(hg__graph *g, hg__pport *pp, uint32_t n)
{
    for (uint32_t i = 0; pp != NULL && i < n; i++) {
        for (uint32_t j = 0; j < pp[i].n; j++)
            hg__edge_unref(g, pp[i].e[j]);
        free(pp[i].e);
    }
    free(pp);
}

/* Re-reads the shared port table when a commit changed it. */
static void refresh(struct hg_proc *p)
{
    hg__pport *np, *old = p->lports;
    uint32_t gen = LD(&p->gen);

    if (gen == p->seen_gen && old != NULL)
        return;
    np = calloc(p->n_ports ? p->n_ports : 1, sizeof *np);
    if (np == NULL)
        return; /* keep the old copy: retried on the next turn */
    pthread_mutex_lock(&p->g->mu);
    p->seen_gen = LD(&p->gen);
    for (uint32_t i = 0; i < p->n_ports; i++) {
        hg__pport *s = &p->pports[i];
        np[i].had = s->had;
        np[i].rr = old ? old[i].rr : 0;
        np[i].e = calloc(s->n ? s->n : 1, sizeof *np[i].e);
        for (uint32_t j = 0; np[i].e != NULL && j < s->n; j++) {
            __atomic_fetch_add(&s->e[j]->refs, 1, __ATOMIC_RELAXED);
            np[i].e[np[i].n++] = s->e[j];
        }
    }
    pthread_mutex_unlock(&p->g->mu);
    p->lports = np;
    free_ports(p->g, old, p->n_ports);
}

/* The consumer saw the end of edge i of input port: the edge leaves both copies. */
static void port_end(struct hg_proc *p, uint32_t port, uint32_t i)
{
    hg__pport *lp = &p->lports[port];
    hg__edge *e = lp->e[i];

    pthread_mutex_lock(&p->g->mu);
    e->consumer_done = 1;
    e->live = 0;
    e->to = NULL;
    if (hg__pport_del(&p->pports[port], e))
        hg__edge_unref(p->g, e); /* g->mu is recursive-free: unref only locks at zero */
    pthread_cond_broadcast(&p->g->cv);
    pthread_mutex_unlock(&p->g->mu);
    memmove(&lp->e[i], &lp->e[i + 1], (lp->n - i - 1) * sizeof *lp->e);
    lp->n--;
    hg__edge_unref(p->g, e);
}

static int inputs_ended(const struct hg_proc *p)
{
    for (uint32_t i = 0; i < p->n_ports; i++)
        if (p->ops->ports[i].direction == HG_PORT_IN && p->lports[i].n > 0)
            return 0;
    return 1;
}

/* Frames queued or the end: two loads, no counter snapshot (this runs in spin loops). */
static int edge_ready(hg__edge *e)
{
    return hg__link_ready(e->link);
}

static int wanted(struct hg_proc *p, int inputs)
{
    if (LD(&p->stop) || LD(&p->gen) != p->seen_gen || LD(&p->steps) ||
        (LD(&p->pause) != 0) != (LD(&p->state) == HG__PST_PAUSED))
        return 1;
    for (uint32_t i = 0; inputs && i < p->n_ports; i++)
        if (p->ops->ports[i].direction == HG_PORT_IN)
            for (uint32_t j = 0; j < p->lports[i].n; j++)
                if (edge_ready(p->lports[i].e[j]))
                    return 1;
    return 0;
}

/* Sleeps until an input has frames or ended (inputs), a control change, or the deadline. No CPU
 * while asleep: every source of a wake-up is an eventfd in one poll. */
static void wait_for(struct hg_proc *p, int inputs, uint64_t deadline)
{
    struct pollfd fds[64];
    hg__park *parks[64];
    uint32_t seqs[64], n = 0;
    int timeout = -1;

    /* Spin before sleeping when asked (spin:), or briefly when the last turn did work: a
     * stream in progress then costs no sleep and wake-up per frame; an idle graph never spins. */
    if (inputs && (p->spin_ns != 0 || p->busy)) {
        uint64_t until = hg__now_ns() + (p->spin_ns != 0 ? p->spin_ns : HG__AUTO_SPIN_NS);
        while (hg__now_ns() < until && deadline > hg__now_ns())
            for (int k = 0; k < 64; k++) {
                if (wanted(p, inputs))
                    return;
                hg__cpu_relax();
            }
    }

    parks[n] = &p->ctl;
    fds[n].fd = p->ctl.fd, fds[n].events = POLLIN;
    seqs[n] = hg__park_prepare(parks[n]);
    n++;
    for (uint32_t i = 0; inputs && i < p->n_ports; i++)
        for (uint32_t j = 0; p->ops->ports[i].direction == HG_PORT_IN && j < p->lports[i].n &&
                             n < 64; j++) {
            parks[n] = hg__link_data_park(p->lports[i].e[j]->link);
            fds[n].fd = parks[n]->fd, fds[n].events = POLLIN;
            seqs[n] = hg__park_prepare(parks[n]);
            n++;
        }
    if (!wanted(p, inputs)) {
        if (deadline != UINT64_MAX) {
            uint64_t now = hg__now_ns();
            timeout = now >= deadline ? 0 : (int)((deadline - now + 999999) / 1000000);
        }
        (void)poll(fds, n, timeout);
    }
    for (uint32_t i = 0; i < n; i++)
        hg__park_fd_done(parks[i], seqs[i]);
}

/* ---- the loop ---- */

/* One decision of the loop. Returns 1 to call process, 0 to look again, -1 to leave. */
static int next_turn(struct hg_proc *p, uint64_t *next_tick)
{
    refresh(p);
    if (LD(&p->stop))
        return -1;
    if (LD(&p->drain) && (inputs_ended(p) || hg__now_ns() >= p->drain_deadline))
        return -1;
    if (LD(&p->pause)) {
        if (LD(&p->state) != HG__PST_PAUSED)
            set_state(p, HG__PST_PAUSED);
        wait_for(p, 0, UINT64_MAX);
        return 0;
    }
    if (LD(&p->state) == HG__PST_PAUSED)
        set_state(p, HG__PST_RUNNING);
    if (p->mode != HG__MODE_MANUAL)
        return 1;
    if (LD(&p->steps) != 0) {
        __atomic_fetch_sub(&p->steps, 1, __ATOMIC_ACQ_REL);
        return 1;
    }
    if (p->interval_ns != 0 && hg__now_ns() >= *next_tick) {
        *next_tick = hg__now_ns() + p->interval_ns;
        return 1;
    }
    wait_for(p, 0, p->interval_ns != 0 ? *next_tick : UINT64_MAX);
    return 0;
}

static void run_loop(struct hg_proc *p)
{
    uint64_t next_tick = hg__now_ns() + p->interval_ns;

    for (;;) {
        int t = next_turn(p, &next_tick), rc;
        if (t < 0)
            return;
        if (t == 0)
            continue;
        rc = p->ops->process(p->inst, p);
        if (rc == 0)
            p->busy = 1;
        if (rc < 0) {
            fail(p, rc, "process");
            return;
        }
        if (rc == HG_PROCESS_DONE)
            return;
        if (rc == HG_PROCESS_IDLE && p->mode != HG__MODE_MANUAL) {
            refresh(p);
            wait_for(p, 1, LD(&p->drain) ? p->drain_deadline : UINT64_MAX);
            p->busy = 0; /* spin again only after a turn that did work */
        }
    }
}

/* The processor is gone: what is left in its inputs is dropped (counted), its outputs end. */
static void finish_ports(struct hg_proc *p)
{
    hg__graph *g = p->g;

    pthread_mutex_lock(&g->mu);
    for (uint32_t i = 0; i < p->n_ports; i++) {
        hg__pport *pp = &p->pports[i];
        for (uint32_t j = 0; j < pp->n; j++) {
            hg__edge *e = pp->e[j];
            if (p->ops->ports[i].direction == HG_PORT_IN) {
                e->live = 0;
                e->to = NULL;
                e->consumer_done = 1;
                hg__link_discard(e->link);
                if (e->from != NULL && hg__pport_del(&e->from->pports[e->fport], e)) {
                    __atomic_fetch_add(&e->from->gen, 1, __ATOMIC_RELEASE);
                    hg__proc_kick(e->from);
                    hg__edge_unref(g, e);
                }
            } else {
                e->from = NULL; /* the consumer drains it, then it ends */
                hg__link_close(e->link);
            }
            hg__edge_unref(g, e);
        }
        pp->n = 0;
    }
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
    free_ports(g, p->lports, p->n_ports);
    p->lports = NULL;
}

static void proc_main(void *arg)
{
    struct hg_proc *p = arg;
    hg__graph *g = p->g;
    hg__thread_mark mark;
    int rc;

    self = p;
    mark = hg__thread_enter(HG__THREAD_CONTROL, g->o.owner);
    rc = p->ops->create(p->def.host, p->def.cfg, &p->inst);
    hg__thread_leave(mark);
    pthread_mutex_lock(&g->mu);
    p->created = 1;
    if (rc != 0) {
        p->err = rc;
        snprintf(p->errmsg, sizeof p->errmsg, "create returned %s", hg_err_name(rc));
        ST(&p->state, HG__PST_FAILED);
    } else {
        ST(&p->state, HG__PST_READY);
    }
    pthread_cond_broadcast(&g->cv);
    while (rc == 0 && !p->go && !p->quit_early)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
    if (rc != 0)
        goto out;
    if (!p->quit_early) {
        refresh(p);
        set_state(p, HG__PST_RUNNING);
        rc = p->ops->setup != NULL ? p->ops->setup(p->inst, p) : 0;
        if (rc < 0)
            fail(p, rc, "setup");
        else
            run_loop(p);
        if (LD(&p->state) != HG__PST_FAILED)
            set_state(p, HG__PST_STOPPING);
        if (p->ops->teardown != NULL)
            p->ops->teardown(p->inst, p);
        finish_ports(p);
    }
    mark = hg__thread_enter(HG__THREAD_CONTROL, g->o.owner);
    if (p->ops->destroy != NULL)
        p->ops->destroy(p->inst);
    hg__thread_leave(mark);
    p->inst = NULL;
    if (LD(&p->state) != HG__PST_FAILED)
        set_state(p, HG__PST_STOPPED);
out:
    pthread_mutex_lock(&g->mu);
    p->exited = 1;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

int hg__proc_start(hg__graph *g, struct hg_proc *p)
{
    hg__thread_opts to = { p->name, p->core, HG__THREAD_ENGINE, g->o.owner, p->name, "processor" };
    int rc;

    hg__park_init(&p->ctl);
    if (hg__park_fd(&p->ctl) < 0 || hg__cancel_root(&p->cancel) != 0)
        return HG_ENOMEM;
    ST(&p->state, HG__PST_CREATED);
    rc = hg__thread_spawn(&to, proc_main, p, &p->th);
    if (rc != 0) {
        p->err = rc;
        snprintf(p->errmsg, sizeof p->errmsg, "its thread could not start: %s",
                 hg_err_name(rc));
        return rc;
    }
    pthread_mutex_lock(&g->mu);
    while (!p->created)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
    return LD(&p->state) == HG__PST_FAILED ? (p->err ? p->err : HG_EFAIL) : 0;
}

void hg__proc_join_free(hg__graph *g, struct hg_proc *p)
{
    if (p->th != NULL)
        hg__thread_join(p->th, HG__THREAD_FOREVER);
    if (g->o.release != NULL)
        g->o.release(g->o.ud, &p->def);
    free_ports(g, p->lports, p->n_ports);
    free_ports(g, p->pports, p->n_ports);
    if (p->cancel != NULL)
        hg__cancel_release(p->cancel);
    hg__park_fini(&p->ctl);
    if (p->doc != NULL)
        hg__docref_unref(p->doc);
    free(p->name);
    free(p->engine);
    free(p);
}

/* ---- the data-plane service ---- */

/* Copies the whole fields of src that fit into dst (dst->struct_size says how much). */
static void frame_out(hg_frame *dst, const hg_frame *src)
{
    static const uint32_t ends[] = { offsetof(hg_frame, buf), offsetof(hg_frame, data),
                                     offsetof(hg_frame, len), offsetof(hg_frame, ts_ns),
                                     offsetof(hg_frame, seq), sizeof(hg_frame) };
    uint32_t cap = dst->struct_size, n = 0;
    for (uint32_t i = 0; i < sizeof ends / sizeof *ends; i++)
        if (ends[i] <= cap)
            n = ends[i];
    memcpy(dst, src, n);
    dst->struct_size = n;
}

static void frame_in(hg_frame *dst, const hg_frame *src)
{
    uint32_t n = src->struct_size < sizeof *dst ? src->struct_size : sizeof *dst;
    memset(dst, 0, sizeof *dst);
    memcpy(dst, src, n);
    dst->struct_size = sizeof *dst;
}

/* The consumer copies the frame out and gives its cell back at once. */
static int take(struct hg_proc *p, hg__edge *e, hg__cell *c, hg_frame *out)
{
    frame_out(out, &c->f);
    hg__ring_try_push(e->free, c);
    __atomic_store_n(&p->frames_in, p->frames_in + 1, __ATOMIC_RELAXED);
    return 0;
}

static int api_pop(hg_proc *p, uint32_t port, hg_frame *out, uint64_t timeout_ns)
{
    uint64_t deadline = 0;
    void *item;

    if (p == NULL || out == NULL || port >= p->n_ports ||
        p->ops->ports[port].direction != HG_PORT_IN)
        return HG_EINVAL;
    if (timeout_ns != 0) /* no clock read on the fast path */
        deadline = timeout_ns >= UINT64_MAX - hg__now_ns() ? UINT64_MAX : hg__now_ns() + timeout_ns;
    for (;;) {
        hg__pport *pp = &p->lports[port];
        for (uint32_t k = 0; k < pp->n; k++) {
            uint32_t i = (pp->rr + k) % pp->n;
            int rc = hg__link_try_recv(pp->e[i]->link, &item);
            if (rc == 0) {
                pp->rr = i + 1;
                return take(p, pp->e[i], item, out);
            }
            if (rc == HG_ECLOSED) {
                port_end(p, port, i);
                k = (uint32_t)-1; /* look again from the start */
                if (pp->n == 0)
                    break;
            }
        }
        if (pp->n == 0 && pp->had && LD(&p->gen) == p->seen_gen)
            return HG_ECLOSED;
        if (LD(&p->stop))
            return HG_ECANCELED;
        if (timeout_ns == 0 || hg__now_ns() >= deadline)
            return timeout_ns == 0 ? HG_EAGAIN : HG_ETIMEDOUT;
        if (pp->n == 1) {
            int rc = hg__link_recv(pp->e[0]->link, &item, hg__time_left(deadline), p->cancel);
            if (rc == 0)
                return take(p, pp->e[0], item, out);
            if (rc == HG_ECANCELED)
                return rc;
        } else {
            wait_for(p, 1, deadline);
        }
        refresh(p);
    }
}

/* A free cell for the producer: its stash, then what the consumer gave back. With capacity + 64
 * cells one is always free (at most capacity are queued and the consumer holds none for long);
 * should one ever not be, the producer yields until it is, or until stopped. */
static hg__cell *cell_get(struct hg_proc *p, hg__edge *e)
{
    void *c;
    if (e->n_stash > 0)
        return e->stash[--e->n_stash];
    while (hg__ring_try_pop(e->free, &c) != 0) {
        if (LD(&p->stop))
            return NULL;
        sched_yield();
    }
    return c;
}

/* Sends f (its reference moves on 0) into one edge, in a cell stamped with the edge's seq. */
static int push_one(struct hg_proc *p, hg__edge *e, const hg_frame *f, uint64_t timeout_ns)
{
    hg__cell *c = cell_get(p, e);
    int rc;

    if (c == NULL)
        return HG_ECANCELED;
    frame_in(&c->f, f);
    c->f.seq = e->seq++;
    rc = hg__link_send(e->link, c, timeout_ns, p->cancel);
    if (rc != 0) {
        if (!(rc == HG_EAGAIN && e->policy == HG_POLICY_DROP_NEWEST))
            e->seq--; /* refused, not pushed: no gap */
        c->f.buf = NULL;
        e->stash[e->n_stash++] = c;
        return rc;
    }
    __atomic_store_n(&p->frames_out, p->frames_out + 1, __ATOMIC_RELAXED);
    return 0;
}

/* Fan-out: one reference per link; on partial failure the failed links' references are
 * dropped; when every link failed the caller keeps its own. */
static int push_many(struct hg_proc *p, hg__pport *pp, hg_frame *f, uint64_t timeout_ns)
{
    uint32_t ok = 0;
    int last = 0;

    for (uint32_t i = 0; i < pp->n; i++) {
        if (f->buf != NULL && i + 1 < pp->n)
            hg__buf_ref(f->buf);
        int rc = push_one(p, pp->e[i], f, timeout_ns);
        if (rc == 0)
            ok++;
        else if (f->buf != NULL && i + 1 < pp->n)
            hg__buf_unref(f->buf);
        else if (f->buf != NULL && ok > 0)
            hg__buf_unref(f->buf); /* the caller's own, on the last link, when others took it */
        if (rc != 0)
            last = rc;
    }
    return ok > 0 ? 0 : last;
}

static int api_push(hg_proc *p, uint32_t port, hg_frame *f, uint64_t timeout_ns)
{
    hg__pport *pp;

    if (p == NULL || f == NULL || port >= p->n_ports ||
        p->ops->ports[port].direction != HG_PORT_OUT)
        return HG_EINVAL;
    refresh(p);
    pp = &p->lports[port];
    if (LD(&p->stop))
        return HG_ECANCELED;
    if (pp->n == 0)
        return HG_ECLOSED;
    if (pp->n == 1)
        return push_one(p, pp->e[0], f, timeout_ns);
    return push_many(p, pp, f, timeout_ns);
}

static int api_buf_alloc(hg_proc *p, uint32_t size, hg_frame *f)
{
    hg_buf *b;
    int rc;

    if (p == NULL || f == NULL || f->struct_size < offsetof(hg_frame, reserved))
        return HG_EINVAL;
    rc = hg__pool_try_alloc(p->g->pool, size, &b);
    if (rc != 0)
        return rc;
    f->buf = b;
    f->data = b->data;
    f->len = size;
    return 0;
}

static int api_commit(hg_proc *p, const char *yaml)
{
    char *reply = NULL;
    int rc;

    if (p == NULL || yaml == NULL)
        return HG_EINVAL;
    rc = hg__graph_commit(p->g, yaml, &reply);
    if (rc != 0 && reply != NULL) {
        if (p->def.host != NULL && p->def.host->log != NULL)
            p->def.host->log(p->def.host, HG_LOG_ERROR, reply);
        else
            fprintf(stderr, "graph: %s: commit: %s\n", p->name, reply);
    }
    free(reply);
    return rc;
}

static const hg_graph_api api = {
    sizeof(hg_graph_api), api_pop, api_push, api_buf_alloc, hg__buf_ref, hg__buf_unref,
    api_commit,
};

const hg_graph_api *hg__graph_api(void)
{
    return &api;
}
