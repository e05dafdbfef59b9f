/* test-graph.c - the graph runtime with processors defined here: commit validation (each bad input
 * named, graph unchanged), flow and accounting, drop policies and seq gaps, drains at unlink,
 * removal and shutdown, modes, pause/resume, failures (EOS to neighbours), commits from setup and
 * process including removing the caller, and add/remove cycles of a middle processor under load
 * (argument `stress`: 1,000 cycles). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hangar/status.h>

#include "cfgtree.h"
#include "clock.h"
#include "graph.h"
#include "tap.h"

static const hg_graph_api *A;

/* ---- test processors: their parameters are keys of their own item ---- */

typedef struct tp {
    const hg__node *item;
    uint64_t n, sent, got, next_seq, gaps, bad;
    int eos;
} tp;

static uint64_t key_u(const hg__node *item, const char *k, uint64_t dflt)
{
    const hg__node *v = hg__node_get(item, k);
    return v != NULL && v->value != NULL ? strtoull(v->value, NULL, 10) : dflt;
}

static const char *key_s(const hg__node *item, const char *k)
{
    const hg__node *v = hg__node_get(item, k);
    return v != NULL ? v->value : NULL;
}

/* Totals the sinks add to (atomics: read by the test thread). */
static uint64_t sink_got, sink_gaps, sink_eos, sink_bad;

static int t_create(const hg_host *h, const hg_config *cfg, void **out)
{
    tp *t = calloc(1, sizeof *t);
    (void)h;
    t->item = (const hg__node *)cfg;
    t->n = key_u(t->item, "n", 0);
    if (key_s(t->item, "fail") && strcmp(key_s(t->item, "fail"), "create") == 0) {
        free(t);
        return HG_EFAIL;
    }
    *out = t;
    return 0;
}

static void t_destroy(void *inst)
{
    free(inst);
}

static int t_setup(void *inst, hg_proc *p)
{
    tp *t = inst;
    const char *f = key_s(t->item, "fail"), *c = key_s(t->item, "commit_setup");
    if (f && strcmp(f, "setup") == 0)
        return HG_EFAIL;
    if (c)
        A->commit(p, c);
    return 0;
}

static int src_process(void *inst, hg_proc *p)
{
    tp *t = inst;
    uint64_t limit = t->n ? t->n : UINT64_MAX;
    for (int k = 0; k < 64 && t->sent < limit; k++) {
        hg_frame f = { sizeof f, HG_TYPE_BYTES, NULL, NULL, 0, 0, 0, 0 };
        int rc = A->buf_alloc(p, 64, &f);
        if (rc != 0)
            return HG_PROCESS_IDLE;
        memcpy(f.data, &t->sent, sizeof t->sent);
        rc = A->push(p, 0, &f, UINT64_MAX);
        if (rc != 0)
            A->buf_unref(f.buf);
        if (rc == HG_ECANCELED || rc == HG_ECLOSED)
            return rc == HG_ECLOSED && !key_s(t->item, "keep") ? HG_PROCESS_DONE
                                                                : HG_PROCESS_IDLE;
        t->sent++;
    }
    return t->sent < limit ? 0 : HG_PROCESS_DONE;
}

static int sink_process(void *inst, hg_proc *p)
{
    tp *t = inst;
    hg_frame f = { sizeof f, 0, NULL, NULL, 0, 0, 0, 0 };
    int rc, did = 0;
    const char *f_ = key_s(t->item, "fail");
    uint64_t fail_after = f_ && strcmp(f_, "process") == 0 ? key_u(t->item, "after", 0) : 0;

    while ((rc = A->pop(p, 0, &f, 0)) == 0) {
        if (f.seq != t->next_seq)
            t->gaps++, __atomic_add_fetch(&sink_gaps, 1, __ATOMIC_RELAXED);
        if (f.seq < t->next_seq && t->next_seq != 0)
            __atomic_add_fetch(&sink_bad, 1, __ATOMIC_RELAXED);
        t->next_seq = f.seq + 1;
        A->buf_unref(f.buf);
        t->got++;
        __atomic_add_fetch(&sink_got, 1, __ATOMIC_RELAXED);
        did = 1;
        if (fail_after && t->got >= fail_after)
            return HG_EPROTO;
        f.struct_size = sizeof f;
    }
    if (rc == HG_ECLOSED) {
        __atomic_add_fetch(&sink_eos, 1, __ATOMIC_RELAXED);
        return key_s(t->item, "keep") ? HG_PROCESS_IDLE : HG_PROCESS_DONE;
    }
    return did ? 0 : HG_PROCESS_IDLE;
}

/* in -> out; optionally commits a change from process once (commit_process). */
static int pass_process(void *inst, hg_proc *p)
{
    tp *t = inst;
    hg_frame f = { sizeof f, 0, NULL, NULL, 0, 0, 0, 0 };
    int rc, did = 0;
    const char *c = key_s(t->item, "commit_process");

    if (c && !t->eos) {
        t->eos = 1;
        t->bad = (uint64_t)(A->commit(p, c) != 0);
    }
    while ((rc = A->pop(p, 0, &f, 0)) == 0) {
        if ((rc = A->push(p, 1, &f, UINT64_MAX)) != 0)
            A->buf_unref(f.buf);
        f.struct_size = sizeof f;
        did = 1;
    }
    if (rc == HG_ECLOSED)
        return HG_PROCESS_DONE;
    return did ? 0 : HG_PROCESS_IDLE;
}

static int tick_process(void *inst, hg_proc *p)
{
    tp *t = inst;
    (void)p;
    __atomic_add_fetch(&t->got, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&sink_got, 1, __ATOMIC_RELAXED);
    return 0;
}

static const hg_port_decl src_ports[] = { { sizeof(hg_port_decl), HG_PORT_OUT, "out",
                                            HG_TYPE_BYTES, 0 } };
static const hg_port_decl sink_ports[] = { { sizeof(hg_port_decl), HG_PORT_IN, "in",
                                             HG_TYPE_ANY, HG_PORT_MULTI } };
static const hg_port_decl text_ports[] = { { sizeof(hg_port_decl), HG_PORT_IN, "in",
                                             HG_TYPE_TEXT, 0 } };
static const hg_port_decl pass_ports[] = {
    { sizeof(hg_port_decl), HG_PORT_IN, "in", HG_TYPE_ANY, 0 },
    { sizeof(hg_port_decl), HG_PORT_OUT, "out", HG_TYPE_ANY, HG_PORT_MULTI } };

#define OPS(ports, proc) { sizeof(hg_processor_ops), sizeof ports / sizeof *ports, ports,        \
                           t_create, t_destroy, t_setup, proc, NULL, NULL }
static const hg_processor_ops src_ops = OPS(src_ports, src_process);
static const hg_processor_ops sink_ops = OPS(sink_ports, sink_process);
static const hg_processor_ops text_ops = OPS(text_ports, sink_process);
static const hg_processor_ops pass_ops = OPS(pass_ports, pass_process);
static const hg_processor_ops tick_ops = { sizeof(hg_processor_ops), 0, NULL, t_create,
                                           t_destroy, t_setup, tick_process, NULL, NULL };

static int resolve(void *ud, const char *name, const char *engine, const hg__node *item,
                   hg__proc_def *out, char *err, uint32_t cap)
{
    (void)ud, (void)name;
    memset(out, 0, sizeof *out);
    out->cfg = (const hg_config *)item;
    if (strcmp(engine, "src") == 0)
        out->ops = &src_ops;
    else if (strcmp(engine, "sink") == 0)
        out->ops = &sink_ops;
    else if (strcmp(engine, "text-sink") == 0)
        out->ops = &text_ops;
    else if (strcmp(engine, "pass") == 0)
        out->ops = &pass_ops;
    else if (strcmp(engine, "tick") == 0)
        out->ops = &tick_ops;
    else if (strcmp(engine, "echo") == 0)
        snprintf(err, cap, "engine 'echo' is a pipeline, not a processor");
    else
        snprintf(err, cap, "unknown processor engine '%s'", engine);
    return out->ops ? 0 : HG_ENOENT;
}

static hg__graph *mk(uint64_t timeout_ns)
{
    hg__graph_opts o = { .pool_buffers = 1024, .pool_size = 128, .shutdown_timeout_ns = timeout_ns,
                         .resolve = resolve, .file = "<test>" };
    hg__graph *g = NULL;
    if (hg__graph_create(&o, &g) != 0)
        abort();
    __atomic_store_n(&sink_got, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&sink_gaps, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&sink_eos, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&sink_bad, 0, __ATOMIC_RELAXED);
    return g;
}

static int commit(hg__graph *g, const char *yaml, char **reply)
{
    char *r = NULL;
    int rc = hg__graph_commit(g, yaml, &r);
    if (reply)
        *reply = r;
    else
        free(r);
    return rc;
}

/* Waits up to 10 s for cond. */
#define WAIT_FOR(cond)                                                                         \
    do {                                                                                       \
        uint64_t t0_ = hg__now_ns();                                                           \
        while (!(cond) && hg__now_ns() - t0_ < 10000000000ull)                                 \
            usleep(1000);                                                                      \
    } while (0)

static uint64_t got(void)
{
    return __atomic_load_n(&sink_got, __ATOMIC_RELAXED);
}

static int balanced(hg__graph *g, int idle)
{
    hg__graph_acc a;
    hg__graph_accounted(g, &a);
    if (a.pushed != a.delivered + a.dropped + a.queued)
        return 0;
    return !idle || a.queued == 0;
}

/* ---- the tests ---- */

/* The graph's shape: its processors and links by name (not their changing counters). */
static char *shape(hg__graph *g)
{
    char *j = hg__graph_json(g), *out = calloc(1, 4096), *q = j;
    while (out && (q = strstr(q, "\"name\":\"")) != NULL) {
        q += 8;
        strncat(out, q, (size_t)(strchr(q, '"') - q) + 1);
    }
    for (q = j; out && (q = strstr(q, "\"to\":\"")) != NULL;) {
        q += 6;
        strncat(out, q, (size_t)(strchr(q, '"') - q) + 1);
    }
    free(j);
    return out;
}

static void bad(hg__graph *g, const char *yaml, const char *want, const char *what)
{
    char *r = NULL, *before = shape(g), *after;
    int rc = commit(g, yaml, &r);
    after = shape(g);
    ok(rc == HG_ECONFIG && r && strstr(r, want) && strstr(r, "<test>:1:"),
       "a commit with %s is refused, naming it with its position", what);
    if (!(r && strstr(r, want)))
        tap_diag("reply: %s", r ? r : "(null)");
    ok(strcmp(before, after) == 0, "  and the graph is unchanged");
    free(r), free(before), free(after);
}

static void test_graph_commit_validation(void)
{
    hg__graph *g = mk(1000000000ull);
    char *r;
    is_int(commit(g, "{add: [{name: s, engine: src}, {name: k, engine: sink}, "
                     "{name: t, engine: text-sink}, {name: p, engine: pass}, {name: s2, engine: src}], "
                     "link: [{from: s.out, to: p.in}]}", &r), 0,
           "a change adding five processors and a link is applied");
    ok(r && strstr(r, "\"ok\":true") && strstr(r, "\"added\":[\"s\",\"k\",\"t\",\"p\",\"s2\"]"),
       "  its reply lists what changed");
    free(r);
    bad(g, "{link: [{from: nope.out, to: k.in}]}", "unknown processor 'nope'",
        "a link to a missing processor");
    bad(g, "{link: [{from: p.out, to: k.inn}]}", "has no port 'inn'", "a missing port");
    bad(g, "{link: [{from: p.in, to: k.in}]}", "is an input", "a link from an input port");
    bad(g, "{link: [{from: s2.out, to: t.in}]}", "port type mismatch", "a port type mismatch");
    bad(g, "{link: [{from: s.out, to: k.in}]}", "takes one link", "a single-link port linked twice");
    bad(g, "{link: [{from: p.out, to: k.in, capacity: 0}]}", "'capacity' must be",
        "capacity: 0");
    bad(g, "{link: [{from: p.out, to: k.in, policy: drop_all}]}", "unknown policy",
        "an unknown policy");
    bad(g, "{add: [{name: e, engine: echo}]}", "is a pipeline, not a processor",
        "a pipeline engine as a processor (kind mismatch)");
    bad(g, "{add: [{name: s, engine: src}]}", "already exists", "a duplicate name");
    bad(g, "{remove: [ghost]}", "no processor named 'ghost'", "removing a missing processor");
    bad(g, "{unlink: [{from: s.out, to: k.in}]}", "no link from s.out to k.in",
        "unlinking a missing link");
    bad(g, "{add: [{name: q, engine: pass}, {name: r, engine: pass}], "
           "link: [{from: q.out, to: r.in}, {from: r.out, to: q.in}]}",
        "would close a cycle", "a cycle");
    bad(g, "{add: [{name: m, engine: tick, mode: sometimes}]}", "unknown mode", "an unknown mode");
    bad(g, "{frobnicate: 1}", "unknown key 'frobnicate'", "an unknown key");
    bad(g, "{link: [{from: p.out, to: k.in}], remove: [ghost]}", "no processor named",
        "one bad part among good ones");
    hg__graph_destroy(g, 1000000000ull);
}

static void test_graph_flow_accounting(void)
{
    hg__graph *g = mk(5000000000ull);
    is_int(commit(g, "{add: [{name: s, engine: src, mode: continuous, n: 20000}, "
                     "{name: p, engine: pass}, {name: k, engine: sink}], "
                     "link: [{from: s.out, to: p.in, capacity: 64}, {from: p.out, to: k.in, "
                     "capacity: 64}]}", NULL), 0, "src -> pass -> sink is committed");
    WAIT_FOR(got() == 20000);
    is_int(got(), 20000, "every one of 20000 frames reaches the sink through a block link");
    is_int(__atomic_load_n(&sink_gaps, __ATOMIC_RELAXED), 0, "  in order, no seq gap");
    ok(balanced(g, 0), "  pushed = delivered + dropped + queued while it runs");
    WAIT_FOR(hg__graph_state(g, "k", NULL) == HG__PST_STOPPED);
    is_int(hg__graph_state(g, "k", NULL), HG__PST_STOPPED,
           "the end of the source reaches the sink as end-of-stream (it stops)");
    hg__graph_shutdown(g, 5000000000ull);
    ok(balanced(g, 1), "after shutdown queued = 0 and pushed = delivered + dropped");
    hg__graph_destroy(g, 1000000000ull);
}

static void test_graph_drop_policy_gaps(void)
{
    hg__graph *g = mk(5000000000ull);
    hg__graph_acc a;
    is_int(commit(g, "{add: [{name: s, engine: src, mode: continuous, keep: 1}, "
                     "{name: k, engine: sink}], link: [{from: s.out, to: k.in, capacity: 4, "
                     "policy: drop_newest}]}", NULL), 0, "a drop_newest link of 4 is committed");
    hg__graph_pause(g, "k", 1);
    do
        hg__graph_accounted(g, &a);
    while (a.dropped < 1000 && (usleep(1000), 1));
    hg__graph_pause(g, "k", 0);
    WAIT_FOR(got() >= 100);
    commit(g, "{remove: [s]}", NULL);
    WAIT_FOR(hg__graph_state(g, "k", NULL) == HG__PST_STOPPED);
    hg__graph_accounted(g, &a);
    ok(a.dropped >= 1000, "the link dropped frames (%llu) while its consumer was paused",
       (unsigned long long)a.dropped);
    is_int(got() + a.dropped, a.pushed, "  delivered + dropped = pushed");
    ok(__atomic_load_n(&sink_gaps, __ATOMIC_RELAXED) > 0, "  the sink saw gaps in seq");
    is_int(__atomic_load_n(&sink_bad, __ATOMIC_RELAXED), 0, "  seq never went backwards");
    hg__graph_destroy(g, 1000000000ull);
}

static void test_graph_unlink_drains(void)
{
    hg__graph *g = mk(5000000000ull);
    hg__graph_acc a;
    commit(g, "{add: [{name: k, engine: sink}]}", NULL);
    hg__graph_pause(g, "k", 1);
    WAIT_FOR(hg__graph_state(g, "k", NULL) == HG__PST_PAUSED);
    commit(g, "{add: [{name: s, engine: src, mode: continuous, n: 100}], "
              "link: [{from: s.out, to: k.in, capacity: 1000}]}", NULL);
    WAIT_FOR(hg__graph_state(g, "s", NULL) == HG__PST_STOPPED);
    is_int(got(), 0, "a paused sink takes nothing");
    is_int(hg__graph_state(g, "k", NULL), HG__PST_PAUSED, "  and reads as paused");
    hg__graph_accounted(g, &a);
    is_int(a.queued, 100, "  its link holds the 100 frames");
    is_int(commit(g, "{unlink: [{from: s.out, to: k.in}]}", NULL), 0, "the link is unlinked");
    hg__graph_pause(g, "k", 0);
    WAIT_FOR(got() == 100);
    is_int(got(), 100, "an unlinked link first drains into its consumer");
    hg__graph_accounted(g, &a);
    ok(a.pushed == 100 && a.delivered == 100 && a.queued == 0, "  accounted: 100 pushed, "
       "100 delivered, none queued");
    hg__graph_destroy(g, 1000000000ull);
}

static void test_graph_remove_drains(void)
{
    hg__graph *g = mk(5000000000ull);
    hg__graph_acc a;
    commit(g, "{add: [{name: k, engine: sink}]}", NULL);
    hg__graph_pause(g, "k", 1);
    WAIT_FOR(hg__graph_state(g, "k", NULL) == HG__PST_PAUSED);
    commit(g, "{add: [{name: s, engine: src, mode: continuous, n: 300}], "
              "link: [{from: s.out, to: k.in, capacity: 1000}]}", NULL);
    WAIT_FOR(hg__graph_state(g, "s", NULL) == HG__PST_STOPPED);
    hg__graph_pause(g, "k", 0);
    is_int(commit(g, "{remove: [k]}", NULL), 0, "a sink with 300 queued frames is removed");
    hg__graph_accounted(g, &a);
    ok(a.pushed == 300 && a.delivered + a.dropped == 300 && a.queued == 0,
       "  its input drained first: %llu delivered, %llu dropped, none queued",
       (unsigned long long)a.delivered, (unsigned long long)a.dropped);
    is_int(hg__graph_state(g, "k", NULL), 0, "  and it is gone from the graph");
    hg__graph_destroy(g, 1000000000ull);
}

static void test_graph_failures(void)
{
    hg__graph *g = mk(2000000000ull);
    char *r = NULL;
    int err = 0;
    is_int(commit(g, "{add: [{name: bad, engine: sink, fail: create}]}", &r), HG_ECONFIG,
           "a processor failing in create fails the commit");
    ok(r && strstr(r, "create returned EFAIL"), "  with the reason in the reply");
    free(r);
    is_int(hg__graph_state(g, "bad", NULL), 0, "  and nothing was added");
    commit(g, "{add: [{name: k, engine: sink, fail: setup}]}", NULL);
    WAIT_FOR(hg__graph_state(g, "k", NULL) == HG__PST_FAILED);
    is_int(hg__graph_state(g, "k", &err), HG__PST_FAILED, "a processor failing in setup is failed");
    is_int(err, HG_EFAIL, "  with its error kept");
    commit(g, "{remove: [k]}", NULL);
    commit(g, "{add: [{name: s, engine: src, mode: continuous}, {name: p, engine: pass}, "
              "{name: f, engine: sink, fail: process, after: 10}, {name: k2, engine: sink}], "
              "link: [{from: s.out, to: p.in}, {from: p.out, to: f.in}, "
              "{from: p.out, to: k2.in}]}", NULL);
    WAIT_FOR(hg__graph_state(g, "f", NULL) == HG__PST_FAILED);
    is_int(hg__graph_state(g, "f", &err), HG__PST_FAILED, "a processor failing in process is failed");
    is_int(err, HG_EPROTO, "  with process's error kept");
    /* k2 may still be between ready and running when f fails (its thread not yet scheduled) */
    WAIT_FOR(hg__graph_state(g, "k2", NULL) != HG__PST_READY);
    is_int(hg__graph_state(g, "k2", NULL), HG__PST_RUNNING, "  the rest keeps running");
    commit(g, "{remove: [s]}", NULL);
    WAIT_FOR(hg__graph_state(g, "k2", NULL) == HG__PST_STOPPED);
    is_int(hg__graph_state(g, "k2", NULL), HG__PST_STOPPED,
           "removing the source ends the stream downstream (the sink sees end-of-stream)");
    hg__graph_shutdown(g, 2000000000ull);
    ok(balanced(g, 1), "  nothing unaccounted");
    hg__graph_destroy(g, 1000000000ull);
}

static void test_graph_commit_from_processor(void)
{
    hg__graph *g = mk(5000000000ull);
    uint64_t t0;
    commit(g, "{add: [{name: a, engine: tick, mode: manual, commit_setup: '{add: [{name: b, "
              "engine: tick, mode: manual}]}'}]}", NULL);
    WAIT_FOR(hg__graph_state(g, "b", NULL) == HG__PST_RUNNING);
    is_int(hg__graph_state(g, "b", NULL), HG__PST_RUNNING,
           "a processor's setup adds another processor through commit");
    commit(g, "{add: [{name: s, engine: src, mode: continuous}, {name: me, engine: pass, "
              "commit_process: '{remove: [me]}'}, {name: k, engine: sink}], "
              "link: [{from: s.out, to: me.in}, {from: me.out, to: k.in}]}", NULL);
    t0 = hg__now_ns();
    WAIT_FOR(hg__graph_state(g, "me", NULL) == 0);
    is_int(hg__graph_state(g, "me", NULL), 0, "a processor removes itself from process (no deadlock)");
    ok(hg__now_ns() - t0 < 2500000000ull, "  at once, not after the 5 s drain bound (%llu ms)",
       (unsigned long long)((hg__now_ns() - t0) / 1000000));
    WAIT_FOR(hg__graph_state(g, "k", NULL) == HG__PST_STOPPED);
    is_int(hg__graph_state(g, "k", NULL), HG__PST_STOPPED, "  its consumer sees end-of-stream");
    is_int(commit(g, "{remove: [s, a, b]}", NULL), 0, "the next commit reaps it and goes on");
    hg__graph_shutdown(g, 2000000000ull);
    ok(balanced(g, 1), "  nothing unaccounted");
    hg__graph_destroy(g, 1000000000ull);
}

static void test_graph_manual_mode(void)
{
    hg__graph *g = mk(2000000000ull);
    commit(g, "{add: [{name: m, engine: tick, mode: manual}, "
              "{name: t, engine: tick, mode: manual, interval: 5ms}]}", NULL);
    WAIT_FOR(got() >= 5);
    ok(got() >= 5, "a manual processor with an interval runs on its timer");
    hg__graph_destroy(g, 1000000000ull);
    g = mk(2000000000ull);
    commit(g, "{add: [{name: m, engine: tick, mode: manual}]}", NULL);
    usleep(20000);
    is_int(got(), 0, "a manual processor without an interval does not run by itself");
    is_int(hg__graph_step(g, "m"), 0, "a step is accepted");
    WAIT_FOR(got() == 1);
    is_int(got(), 1, "  and runs it once");
    is_int(hg__graph_step(g, "nobody"), HG_ENOENT, "a step of an unknown processor is ENOENT");
    hg__graph_destroy(g, 1000000000ull);
}

static void test_graph_views(void)
{
    hg__graph *g = mk(2000000000ull);
    char *j, *d;
    commit(g, "{add: [{name: s, engine: src, mode: continuous, keep: 1}, "
              "{name: k, engine: sink, keep: 1}], "
              "link: [{from: s.out, to: k.in, capacity: 8, policy: drop_oldest}]}", NULL);
    WAIT_FOR(got() + 0 >= 1);
    j = hg__graph_json(g);
    d = hg__graph_dot(g);
    ok(j && strstr(j, "\"name\":\"s\"") && strstr(j, "\"policy\":\"drop_oldest\"") &&
       strstr(j, "\"capacity\":8") && strstr(j, "\"accounted\":{"),
       "graph JSON lists processors, links with policy and capacity, and accounted");
    ok(d && strstr(d, "digraph") && strstr(d, "\"s\" -> \"k\"") && strstr(d, "/8, "),
       "graph DOT has the link labelled with its fill and rate");
    free(j), free(d);
    hg__graph_destroy(g, 1000000000ull);
}

/* Add/remove cycles of the middle processor while frames flow. */
static void test_graph_middle_cycles(int cycles)
{
    hg__graph *g = mk(5000000000ull);
    int fails = 0, unbalanced = 0;
    commit(g, "{add: [{name: s, engine: src, mode: continuous, keep: 1}, "
              "{name: k, engine: sink, keep: 1}]}", NULL);
    for (int i = 0; i < cycles; i++) {
        if (commit(g, "{add: [{name: mid, engine: pass}], link: [{from: s.out, to: mid.in, "
                      "capacity: 16}, {from: mid.out, to: k.in, capacity: 16}]}", NULL) != 0 ||
            commit(g, "{remove: [mid]}", NULL) != 0)
            fails++;
        unbalanced += !balanced(g, 0);
    }
    is_int(fails, 0, "%d add/remove cycles of a middle processor all commit", cycles);
    is_int(unbalanced, 0, "  the accounting adds up after every cycle");
    ok(got() > 0, "  frames flowed (%llu)", (unsigned long long)got());
    hg__graph_shutdown(g, 5000000000ull);
    ok(balanced(g, 1), "  after shutdown nothing is queued or unaccounted");
    hg__graph_destroy(g, 1000000000ull);
}

int main(int argc, char **argv)
{
    int stress = argc > 1 && strcmp(argv[1], "stress") == 0;
    A = hg__graph_api();
    test_graph_commit_validation();
    test_graph_flow_accounting();
    test_graph_drop_policy_gaps();
    test_graph_unlink_drains();
    test_graph_remove_drains();
    test_graph_failures();
    test_graph_commit_from_processor();
    test_graph_manual_mode();
    test_graph_views();
    test_graph_middle_cycles(stress ? 1000 : 50);
    return tap_done();
}
