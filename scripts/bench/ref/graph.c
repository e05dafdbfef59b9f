/* graph.c - the graph bench's driver (scripts/bench/graph): frames through a real graph
 * (host/graph, processors defined here on the hangar.graph/1 service), a bare ck_ring SPSC loop,
 * commit latency and idle CPU, one measurement per run:
 *   bench-graph flow LINKS N      -> frames/s of N 64-byte frames gen -> (LINKS-1 pass) -> sink
 *   bench-graph ckring N          -> messages/s of N pointers through a bare two-thread ck_ring
 *   bench-graph commit N          -> "p50_ns p99_ns" of N commits adding one sink and one link
 *                                    to a running graph (each removed again, untimed)
 *   bench-graph idle SECS         -> percent of one core a running graph with no traffic uses */
#define _GNU_SOURCE
#include <ck_ring.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hangar/status.h>

#include "cfgtree.h"
#include "clock.h"
#include "graph.h"
#include "park.h"

static const hg_graph_api *A;
static uint64_t sink_got; /* frames every sink took (atomic) */

/* ---- processors: gen (n frames, 0: no end; keep: stays after them), pass, sink ---- */

typedef struct bp {
    uint64_t n, sent, got;
    int keep; /* gen: stays (idle) after its n frames instead of ending its stream */
} bp;

static int b_create(const hg_host *h, const hg_config *cfg, void **out)
{
    const hg__node *v = hg__node_get((const hg__node *)cfg, "n");
    bp *b = calloc(1, sizeof *b);
    (void)h;
    if (b == NULL)
        return HG_ENOMEM;
    b->n = v != NULL && v->value != NULL ? strtoull(v->value, NULL, 10) : 0;
    b->keep = hg__node_get((const hg__node *)cfg, "keep") != NULL;
    *out = b;
    return 0;
}

static void b_destroy(void *inst)
{
    free(inst);
}

static int b_setup(void *inst, hg_proc *p)
{
    (void)inst, (void)p;
    return 0;
}

static int gen_process(void *inst, hg_proc *p)
{
    bp *b = inst;
    uint64_t limit = b->n ? b->n : UINT64_MAX;
    for (int k = 0; k < 64 && b->sent < limit; k++) {
        hg_frame f = { sizeof f, HG_TYPE_BYTES, NULL, NULL, 0, 0, 0, 0 };
        int rc = A->buf_alloc(p, 64, &f);
        if (rc != 0)
            return 0; /* the pool is empty for a moment: the sink gives buffers back */
        memcpy(f.data, &b->sent, sizeof b->sent);
        if ((rc = A->push(p, 0, &f, UINT64_MAX)) != 0) {
            A->buf_unref(f.buf);
            return rc == HG_ECANCELED || rc == HG_ECLOSED ? HG_PROCESS_DONE : rc;
        }
        b->sent++;
    }
    return b->sent < limit ? 0 : b->keep ? HG_PROCESS_IDLE : HG_PROCESS_DONE;
}

static int pass_process(void *inst, hg_proc *p)
{
    hg_frame f = { sizeof f, 0, NULL, NULL, 0, 0, 0, 0 };
    int rc, did = 0;
    (void)inst;
    while ((rc = A->pop(p, 0, &f, 0)) == 0) {
        if (A->push(p, 1, &f, UINT64_MAX) != 0)
            A->buf_unref(f.buf);
        f.struct_size = sizeof f;
        did = 1;
    }
    if (rc == HG_ECLOSED)
        return HG_PROCESS_DONE;
    return did ? 0 : HG_PROCESS_IDLE;
}

static int sink_process(void *inst, hg_proc *p)
{
    bp *b = inst;
    hg_frame f = { sizeof f, 0, NULL, NULL, 0, 0, 0, 0 };
    uint64_t n = 0;
    int rc;
    while ((rc = A->pop(p, 0, &f, 0)) == 0) {
        A->buf_unref(f.buf);
        f.struct_size = sizeof f;
        n++;
    }
    if (n > 0) {
        b->got += n;
        __atomic_add_fetch(&sink_got, n, __ATOMIC_RELAXED);
    }
    if (rc == HG_ECLOSED)
        return HG_PROCESS_IDLE; /* stays for the next commit */
    return n > 0 ? 0 : HG_PROCESS_IDLE;
}

static const hg_port_decl gen_ports[] = {
    { sizeof(hg_port_decl), HG_PORT_OUT, "out", HG_TYPE_BYTES, HG_PORT_MULTI } };
static const hg_port_decl sink_ports[] = {
    { sizeof(hg_port_decl), HG_PORT_IN, "in", HG_TYPE_ANY, HG_PORT_MULTI } };
static const hg_port_decl pass_ports[] = {
    { sizeof(hg_port_decl), HG_PORT_IN, "in", HG_TYPE_ANY, 0 },
    { sizeof(hg_port_decl), HG_PORT_OUT, "out", HG_TYPE_ANY, 0 } };

#define OPS(ports, proc) { sizeof(hg_processor_ops), sizeof ports / sizeof *ports, ports,        \
                           b_create, b_destroy, b_setup, proc, NULL, NULL }
static const hg_processor_ops gen_ops = OPS(gen_ports, gen_process);
static const hg_processor_ops sink_ops = OPS(sink_ports, sink_process);
static const hg_processor_ops pass_ops = OPS(pass_ports, pass_process);

static int resolve(void *ud, const char *name, const char *engine, const hg__node *item,
                   hg__proc_def *out, char *err, uint32_t cap)
{
    (void)ud, (void)name;
    memset(out, 0, sizeof *out);
    out->cfg = (const hg_config *)item;
    out->ops = strcmp(engine, "gen") == 0    ? &gen_ops
               : strcmp(engine, "sink") == 0 ? &sink_ops
               : strcmp(engine, "pass") == 0 ? &pass_ops
                                             : NULL;
    if (out->ops == NULL)
        snprintf(err, cap, "unknown processor engine '%s'", engine);
    return out->ops ? 0 : HG_ENOENT;
}

static hg__graph *mk(uint64_t drain_ns)
{
    hg__graph_opts o = { .pool_buffers = 4096, .pool_size = 64,
                         .shutdown_timeout_ns = drain_ns, .resolve = resolve,
                         .file = "<bench>" };
    hg__graph *g = NULL;
    A = hg__graph_api();
    if (hg__graph_create(&o, &g) != 0) {
        fprintf(stderr, "bench-graph: cannot create the graph\n");
        exit(1);
    }
    return g;
}

static void must(hg__graph *g, const char *yaml)
{
    char *r = NULL;
    if (hg__graph_commit(g, yaml, &r) != 0) {
        fprintf(stderr, "bench-graph: commit %s: %s\n", yaml, r ? r : "?");
        exit(1);
    }
    free(r);
}

/* Checks the accounting after a drained run: every frame pushed was delivered. */
static void check_acc(hg__graph *g, uint64_t links, uint64_t n)
{
    hg__graph_acc a;
    hg__graph_accounted(g, &a);
    if (a.pushed != a.delivered + a.dropped + a.queued || a.delivered != links * n) {
        fprintf(stderr, "bench-graph: accounting off: pushed %llu delivered %llu dropped %llu "
                "queued %llu (want %llu delivered)\n", (unsigned long long)a.pushed,
                (unsigned long long)a.delivered, (unsigned long long)a.dropped,
                (unsigned long long)a.queued, (unsigned long long)(links * n));
        exit(1);
    }
}

/* gen -> pass x (links - 1) -> sink, n frames; prints frames/s from the commit to the last. */
static void run_flow(uint32_t links, uint64_t n)
{
    hg__graph *g = mk(5000000000ull);
    char yaml[2048], *w = yaml;
    const char *end = yaml + sizeof yaml;
    uint64_t t0, t1;

    w += snprintf(w, (size_t)(end - w), "{add: [{name: g, engine: gen, mode: continuous, n: %llu}, "
                  "{name: k, engine: sink}", (unsigned long long)n);
    for (uint32_t i = 1; i < links; i++)
        w += snprintf(w, (size_t)(end - w), ", {name: p%u, engine: pass}", i);
    w += snprintf(w, (size_t)(end - w), "], link: [");
    for (uint32_t i = 0; i < links; i++)
        w += snprintf(w, (size_t)(end - w), "%s{from: %s%.0u.out, to: %s%.0u.in}", i ? ", " : "",
                      i == 0 ? "g" : "p", i, i + 1 == links ? "k" : "p", i + 1 == links ? 0 : i + 1);
    snprintf(w, (size_t)(end - w), "]}");
    t0 = hg__now_ns();
    must(g, yaml);
    while (__atomic_load_n(&sink_got, __ATOMIC_RELAXED) < n)
        usleep(200);
    t1 = hg__now_ns();
    hg__graph_shutdown(g, 5000000000ull);
    check_acc(g, links, n);
    hg__graph_destroy(g, 1000000000ull);
    printf("%.0f\n", (double)n * 1e9 / (double)(t1 - t0));
}

/* ---- the bare ck_ring loop: one producer thread, one consumer thread, spinning ---- */

#define CK_CAP 1024
static ck_ring_t ck;
static ck_ring_buffer_t ckbuf[CK_CAP];
static uint64_t ck_n;

static void *ck_producer(void *arg)
{
    (void)arg;
    for (uint64_t i = 1; i <= ck_n; i++)
        while (!ck_ring_enqueue_spsc(&ck, ckbuf, (void *)(uintptr_t)i))
            hg__cpu_relax();
    return NULL;
}

static void run_ckring(uint64_t n)
{
    pthread_t th;
    uint64_t t0, t1, sum = 0;
    void *v;
    ck_n = n;
    ck_ring_init(&ck, CK_CAP);
    t0 = hg__now_ns();
    pthread_create(&th, NULL, ck_producer, NULL);
    for (uint64_t got = 0; got < n;) {
        if (ck_ring_dequeue_spsc(&ck, ckbuf, &v))
            sum += (uintptr_t)v, got++;
        else
            hg__cpu_relax();
    }
    t1 = hg__now_ns();
    pthread_join(th, NULL);
    if (sum != n * (n + 1) / 2) {
        fprintf(stderr, "bench-graph: ck_ring lost messages\n");
        exit(1);
    }
    printf("%.0f\n", (double)n * 1e9 / (double)(t1 - t0));
}

/* ---- commit latency and idle CPU ---- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* A running graph (a source sending 64 frames each millisecond to a sink); n times: add a sink
 * and a link from the source (timed), then remove it (untimed). */
static void run_commit(uint32_t n)
{
    /* A removed sink whose input was unlinked can wait for the drain bound (see BENCHMARKS.md):
     * 10 ms keeps the untimed removals short. */
    hg__graph *g = mk(10000000ull);
    uint64_t *lat = calloc(n, sizeof *lat);
    char add[256], ul[128], rm[64];
    must(g, "{add: [{name: g, engine: gen, mode: manual, interval: 1ms}, {name: k, engine: sink}], "
            "link: [{from: g.out, to: k.in}]}");
    for (uint32_t i = 0; i < n; i++) {
        uint64_t t0;
        snprintf(add, sizeof add, "{add: [{name: x%u, engine: sink}], "
                 "link: [{from: g.out, to: x%u.in}]}", i, i);
        snprintf(ul, sizeof ul, "{unlink: [{from: g.out, to: x%u.in}]}", i);
        snprintf(rm, sizeof rm, "{remove: [x%u]}", i);
        t0 = hg__now_ns();
        must(g, add);
        lat[i] = hg__now_ns() - t0;
        t0 = hg__now_ns();
        must(g, ul); /* its input ends, so the removal need not wait for a drain */
        if (getenv("BENCH_DEBUG"))
            fprintf(stderr, "unlink %llu\n", (unsigned long long)(hg__now_ns() - t0));
        t0 = hg__now_ns();
        must(g, rm);
        if (getenv("BENCH_DEBUG"))
            fprintf(stderr, "remove %llu\n", (unsigned long long)(hg__now_ns() - t0));
    }
    qsort(lat, n, sizeof *lat, cmp_u64);
    printf("%llu %llu\n", (unsigned long long)lat[n / 2],
           (unsigned long long)lat[(uint64_t)n * 99 / 100]);
    hg__graph_destroy(g, 1000000000ull);
    free(lat);
}

/* utime + stime of this process in clock ticks. */
static uint64_t cpu_ticks(void)
{
    char buf[2048], *q;
    unsigned long long ut = 0, st = 0;
    FILE *f = fopen("/proc/self/stat", "r");
    size_t len = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[len] = 0;
    q = strrchr(buf, ')'); /* fields after the command name: state is field 3 */
    if (q == NULL || sscanf(q + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
                            &st) != 2) {
        fprintf(stderr, "bench-graph: cannot read /proc/self/stat\n");
        exit(1);
    }
    return ut + st;
}

/* gen (sends 1000 frames, then stays idle) -> pass -> pass -> pass -> sink, all running. */
static void run_idle(uint32_t secs)
{
    hg__graph *g = mk(5000000000ull);
    uint64_t c0, c1, t0, t1;
    must(g, "{add: [{name: g, engine: pass}, {name: p1, engine: pass}, {name: p2, engine: pass}, "
            "{name: k, engine: sink}, {name: s, engine: gen, mode: continuous, n: 1000, keep: 1}], "
            "link: [{from: s.out, to: g.in}, {from: g.out, to: p1.in}, {from: p1.out, to: p2.in}, "
            "{from: p2.out, to: k.in}]}");
    while (__atomic_load_n(&sink_got, __ATOMIC_RELAXED) < 1000)
        usleep(1000);
    usleep(100000); /* every processor sleeps on its inputs (the source on its controls) */
    t0 = hg__now_ns();
    c0 = cpu_ticks();
    sleep(secs);
    c1 = cpu_ticks();
    t1 = hg__now_ns();
    printf("%.3f\n", (double)(c1 - c0) * 1e9 / (double)sysconf(_SC_CLK_TCK) * 100.0 /
                         (double)(t1 - t0));
    hg__graph_destroy(g, 1000000000ull);
}

int main(int argc, char **argv)
{
    const char *m = argc > 1 ? argv[1] : "";
    if (strcmp(m, "flow") == 0 && argc == 4)
        run_flow((uint32_t)atoi(argv[2]), strtoull(argv[3], NULL, 10));
    else if (strcmp(m, "ckring") == 0 && argc == 3)
        run_ckring(strtoull(argv[2], NULL, 10));
    else if (strcmp(m, "commit") == 0 && argc == 3)
        run_commit((uint32_t)atoi(argv[2]));
    else if (strcmp(m, "idle") == 0 && argc == 3)
        run_idle((uint32_t)atoi(argv[2]));
    else {
        fprintf(stderr, "usage: bench-graph flow LINKS N | ckring N | commit N | idle SECS\n");
        return 2;
    }
    return 0;
}
