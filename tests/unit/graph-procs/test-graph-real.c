/* test-graph-real.c - the graph plugin's processors in the real graph runtime (host/graph) with
 * real instance tables (engine/instance.c): gen -> map -> filter -> count-sink, tee to two
 * sinks, merge of two generators, a batch -> unbatch round trip, delay timing, lua scripts that
 * transform and that fail, tcp-source and tcp-writer on a host's uv runtime through
 * "hangar.net/1", config errors at FILE:LINE:COL, and gen -> count-sink throughput. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#pragma GCC diagnostic ignored "-Wunused-function"
#include "tcp_harness.h"

#include "clock.h"
#include "graph.h"
#include "host_priv.h"
#include "instance.h"

typedef struct ent {
    char name[32];
    hg__inst *in;
} ent;

static ent ents[64];
static uint32_t n_ents;
static hg__logger *lg;
static hg__diag diag;
static const hg_plugin *plugin;
static const hg_net_ext *net_ext; /* the running host's, for the tcp processors */

static const void *ext_hook(void *ud, hg__inst *in, const char *id)
{
    (void)ud;
    (void)in;
    if (strcmp(id, HG_GRAPH_EXTENSION) == 0)
        return hg__graph_api();
    if (strcmp(id, HG_NET_EXTENSION) == 0)
        return net_ext;
    return NULL;
}

static int resolve(void *ud, const char *name, const char *engine, const hg__node *item,
                   hg__proc_def *out, char *err, uint32_t cap)
{
    hg__inst_hooks hooks = {NULL, NULL, ext_hook, NULL, NULL};
    (void)ud;
    memset(out, 0, sizeof *out);
    for (uint32_t i = 0; i < plugin->n_engines; i++) {
        const hg_engine *e = &plugin->engines[i];
        if (strcmp(e->name, engine) != 0)
            continue;
        if (n_ents == 64 || hg__inst_new(name, item, lg, &diag, NULL, NULL, &hooks,
                                         &ents[n_ents].in) != 0)
            return HG_ENOMEM;
        snprintf(ents[n_ents].name, sizeof ents[n_ents].name, "%s", name);
        out->ops = e->ops;
        out->host = hg__inst_host(ents[n_ents].in);
        out->cfg = (const hg_config *)item;
        n_ents++;
        return 0;
    }
    snprintf(err, cap, "unknown processor engine '%s'", engine);
    return HG_ENOENT;
}

static hg__graph *graph_new(uint32_t buffers)
{
    hg__graph_opts o = {.pool_buffers = buffers, .pool_size = 2048,
                        .shutdown_timeout_ns = 2000000000ull, .resolve = resolve,
                        .file = "graph.yaml"};
    hg__graph *g = NULL;
    hg__diag_init(&diag);
    if (hg__graph_create(&o, &g) != 0)
        return NULL;
    return g;
}

static void graph_end(hg__graph *g)
{
    hg__graph_destroy(g, 2000000000ull);
    for (uint32_t i = 0; i < n_ents; i++)
        hg__inst_free(ents[i].in);
    n_ents = 0;
    hg__diag_free(&diag);
}

static int commit(hg__graph *g, const char *yaml)
{
    char *reply = NULL;
    int rc = hg__graph_commit(g, yaml, &reply);
    if (rc != 0)
        tap_diag("commit: %s", reply ? reply : "(no reply)");
    free(reply);
    return rc;
}

static uint64_t cnt(const char *name, const char *key)
{
    uint64_t v = UINT64_MAX;
    for (uint32_t i = 0; i < n_ents; i++)
        if (strcmp(ents[i].name, name) == 0)
            hg__inst_counter(ents[i].in, key, &v);
    return v;
}

static hg__inst *inst_of(const char *name)
{
    for (uint32_t i = 0; i < n_ents; i++)
        if (strcmp(ents[i].name, name) == 0)
            return ents[i].in;
    return NULL;
}

/* Waits (up to ms) until processor name is in state st. */
static int wait_pst(hg__graph *g, const char *name, uint32_t st, unsigned ms)
{
    uint64_t t0 = now_ms();
    /* no error code asked for: the runtime writes it outside its lock as a processor fails */
    while (hg__graph_state(g, name, NULL) != st && now_ms() - t0 < ms)
        sleep_ms(2);
    return hg__graph_state(g, name, NULL) == st;
}

static void accounted(hg__graph *g, const char *what)
{
    hg__graph_acc a;
    hg__graph_accounted(g, &a);
    ok(a.pushed == a.delivered + a.dropped + a.queued,
       "%s: every frame pushed was delivered, dropped or is queued (%llu = %llu + %llu + %llu)",
       what, (unsigned long long)a.pushed, (unsigned long long)a.delivered,
       (unsigned long long)a.dropped, (unsigned long long)a.queued);
}

static void test_real_chain(void)
{
    hg__graph *g = graph_new(4096);
    is_int(commit(g, "{add: [{name: g, engine: gen, count: 1000, size: 16, pattern: seq},\n"
                     "       {name: m, engine: map, transform: upper},\n"
                     "       {name: f, engine: filter, contains: \"\\x05\"},\n"
                     "       {name: s, engine: count-sink}],\n"
                     " link: [{from: g.out, to: m.in}, {from: m.out, to: f.in},\n"
                     "        {from: f.out, to: s.in}]}"),
           0, "gen -> map -> filter -> count-sink commits");
    ok(wait_pst(g, "s", HG__PST_STOPPED, 10000), "the sink stops once the generator is done");
    is_int(cnt("g", "frames"), 1000, "gen made 1000 frames");
    is_int(cnt("m", "frames"), 1000, "map transformed 1000");
    is_int(cnt("f", "filtered"), 996, "filter dropped the 996 without a byte 5, counted");
    is_int(cnt("s", "frames"), 4, "the sink got the 4 that have one");
    is_int(cnt("s", "gaps"), 0, "with no gap in the sequence");
    accounted(g, "chain");
    graph_end(g);
}

static void test_real_tee_merge(void)
{
    hg__graph *g = graph_new(4096);
    is_int(commit(g, "{add: [{name: g, engine: gen, count: 500},\n"
                     "       {name: t, engine: tee},\n"
                     "       {name: a, engine: count-sink}, {name: b, engine: count-sink}],\n"
                     " link: [{from: g.out, to: t.in}, {from: t.out0, to: a.in},\n"
                     "        {from: t.out1, to: b.in}]}"),
           0, "gen -> tee -> two sinks commits");
    ok(wait_pst(g, "a", HG__PST_STOPPED, 10000) && wait_pst(g, "b", HG__PST_STOPPED, 10000),
       "both sinks stop");
    ok(cnt("a", "frames") == 500 && cnt("b", "frames") == 500, "each sink got all 500 frames");
    is_int(cnt("t", "dropped"), 0, "tee dropped nothing");
    accounted(g, "tee");
    graph_end(g);

    g = graph_new(4096);
    is_int(commit(g, "{add: [{name: g1, engine: gen, count: 200}, {name: g2, engine: gen, count: 300},\n"
                     "       {name: m, engine: merge}, {name: s, engine: count-sink}],\n"
                     " link: [{from: g1.out, to: m.in}, {from: g2.out, to: m.in},\n"
                     "        {from: m.out, to: s.in}]}"),
           0, "two generators -> merge -> sink commits");
    ok(wait_pst(g, "s", HG__PST_STOPPED, 10000), "the sink stops once both inputs ended");
    is_int(cnt("s", "frames"), 500, "the sink got 200 + 300 frames");
    is_int(cnt("s", "gaps"), 0, "merge's output has no gap");
    accounted(g, "merge");
    graph_end(g);
}

static void test_real_batch_delay(void)
{
    hg__graph *g = graph_new(4096);
    uint64_t t0;
    is_int(commit(g, "{add: [{name: g, engine: gen, count: 1000, pattern: seq},\n"
                     "       {name: b, engine: batch, frames: 7}, {name: u, engine: unbatch},\n"
                     "       {name: s, engine: count-sink}],\n"
                     " link: [{from: g.out, to: b.in}, {from: b.out, to: u.in},\n"
                     "        {from: u.out, to: s.in}]}"),
           0, "gen -> batch -> unbatch -> sink commits");
    ok(wait_pst(g, "s", HG__PST_STOPPED, 10000), "the sink stops");
    is_int(cnt("s", "frames"), 1000, "all 1000 frames come out of unbatch");
    is_int(cnt("s", "bytes"), 64000, "with all their bytes");
    is_int(cnt("u", "malformed"), 0, "no batch was malformed");
    ok(cnt("b", "batches") >= 143 && cnt("b", "dropped") == 0,
       "batch made at least 1000/7 batches and dropped nothing (%llu)",
       (unsigned long long)cnt("b", "batches"));
    accounted(g, "batch round trip");
    graph_end(g);

    g = graph_new(4096);
    t0 = hg__now_ns();
    is_int(commit(g, "{add: [{name: g, engine: gen, count: 5}, {name: d, engine: delay, "
                     "duration: 80ms}, {name: s, engine: count-sink}],\n"
                     " link: [{from: g.out, to: d.in}, {from: d.out, to: s.in}]}"),
           0, "gen -> delay 80ms -> sink commits");
    ok(wait_pst(g, "s", HG__PST_STOPPED, 10000), "the sink stops");
    ok(hg__now_ns() - t0 >= 80000000ull, "not before 80 ms (%llu ms)",
       (unsigned long long)((hg__now_ns() - t0) / 1000000));
    is_int(cnt("s", "frames"), 5, "the 5 frames arrive");
    graph_end(g);
}

static const char *write_script(const char *body, const char *tag)
{
    static char path[2][96];
    char *p = path[tag[0] == 'b'];
    FILE *fp;
    snprintf(p, sizeof path[0], "/tmp/gp-real-%d-%s.lua", (int)getpid(), tag);
    fp = fopen(p, "w");
    fputs(body, fp);
    fclose(fp);
    return p;
}

static void test_real_lua(void)
{
    char yaml[1024];
    const char *good = write_script("function process(d)\n  return d:upper(), d\nend\n", "a");
    const char *bad = write_script("function process(d)\n  error('no way')\nend\n", "b");
    hg__graph *g = graph_new(4096);
    int st;
    snprintf(yaml, sizeof yaml,
             "{add: [{name: g, engine: gen, count: 100, size: 8}, {name: l, engine: lua, "
             "script: \"%s\"}, {name: s, engine: count-sink}],\n"
             " link: [{from: g.out, to: l.in}, {from: l.out, to: s.in}]}", good);
    is_int(commit(g, yaml), 0, "gen -> lua -> sink commits");
    ok(wait_pst(g, "s", HG__PST_STOPPED, 10000), "the sink stops");
    is_int(cnt("s", "frames"), 200, "two frames per frame the script returned two values for");
    graph_end(g);

    g = graph_new(4096);
    snprintf(yaml, sizeof yaml,
             "{add: [{name: g, engine: gen, count: 100}, {name: l, engine: lua, "
             "script: \"%s\"}, {name: s, engine: count-sink}],\n"
             " link: [{from: g.out, to: l.in}, {from: l.out, to: s.in}]}", bad);
    is_int(commit(g, yaml), 0, "gen -> failing lua -> sink commits");
    ok(wait_pst(g, "l", HG__PST_FAILED, 10000), "the lua processor fails");
    ok(wait_pst(g, "s", HG__PST_STOPPED, 10000), "its failure ends the sink's input");
    is_int(hg__inst_state(inst_of("l"), &st), HG_STATE_FAILED, "its instance reports failed");
    accounted(g, "failed lua");
    graph_end(g);
    unlink(good);
    unlink(bad);
}

static void test_real_config_error(void)
{
    hg__graph *g = graph_new(64);
    char *text;
    ok(commit(g, "{add: [{name: g, engine: gen,\n  size: lots}]}") != 0,
       "a gen with a bad size is refused");
    text = diag.n ? hg__diag_format(&diag, 0) : NULL;
    like_str(text, "graph.yaml:2:9:", "the error is at FILE:LINE:COL of the value");
    like_str(text, "'size'", "and names the key");
    free(text);
    graph_end(g);
}

static void test_real_tcp(void)
{
    hg__host *h = host_up("uv", "  - { name: side, engine: tcp-sink, listen: \"127.0.0.1:0\" }\n");
    const hg_host *hh;
    hg__graph *g;
    char addr[64] = "", yaml[1024], src_addr[96] = "";
    int fd;
    if (h == NULL) {
        ok(0, "a host with the uv runtime starts");
        return;
    }
    hh = hg__inst_host(hg__host_find(h, "side")->in);
    net_ext = hh->get_extension(hh, HG_NET_EXTENSION);
    address_of(h, "side", addr, sizeof addr);
    g = graph_new(4096);
    snprintf(yaml, sizeof yaml,
             "{add: [{name: g, engine: gen, count: 100, size: 100},\n"
             "       {name: w, engine: tcp-writer, connect: \"%s\"},\n"
             "       {name: r, engine: tcp-source, listen: \"127.0.0.1:0\", framing: line},\n"
             "       {name: s, engine: count-sink}],\n"
             " link: [{from: g.out, to: w.in}, {from: r.out, to: s.in}]}", addr);
    is_int(commit(g, yaml), 0, "gen -> tcp-writer and tcp-source -> sink commit");
    ok(wait_pst(g, "w", HG__PST_STOPPED, 10000), "tcp-writer is done once it wrote everything");
    is_int(wait_counter(h, "side", "bytes_in", 10000, 5000), 10000,
           "the tcp-sink pipeline read the 100 frames of 100 bytes");
    is_int(cnt("w", "frames"), 100, "tcp-writer counts 100 frames written");
    for (int i = 0; i < 200 && hg__inst_info(inst_of("r"), "address", src_addr,
                                             sizeof src_addr) != 0; i++)
        sleep_ms(5);
    fd = tcp_connect(src_addr);
    ok(fd >= 0 && send(fd, "one\ntwo\nthr", 11, 0) == 11 && send(fd, "ee\n", 3, 0) == 3,
       "a client sends three lines to tcp-source, one cut across two writes");
    for (int i = 0; i < 500 && cnt("s", "frames") < 3; i++)
        sleep_ms(5);
    is_int(cnt("s", "frames"), 3, "framing line makes one frame per line");
    is_int(cnt("s", "bytes"), 11, "without the newlines");
    if (fd >= 0)
        close(fd);
    graph_end(g);
    ok(hg__inst_state(hg__host_find(h, "side")->in, NULL) == HG_STATE_RUNNING,
       "the host's pipeline still runs after the graph closed its nets");
    host_end(h);
    net_ext = NULL;
}

static void test_real_throughput(void)
{
    hg__graph *g = graph_new(4096);
    uint64_t t0 = hg__now_ns(), dt;
    const char *env = getenv("GP_BENCH_FRAMES");
    const uint64_t n = env ? strtoull(env, NULL, 10) : 3000000;
    char yaml[256];
    snprintf(yaml, sizeof yaml, "{add: [{name: g, engine: gen, count: %llu, size: 64}, "
             "{name: s, engine: count-sink, spin: 50us}], link: [{from: g.out, to: s.in}]}",
             (unsigned long long)n);
    is_int(commit(g, yaml), 0, "gen -> count-sink of 64-byte frames commits");
    ok(wait_pst(g, "s", HG__PST_STOPPED, 60000), "the sink stops");
    dt = hg__now_ns() - t0;
    is_int(cnt("s", "frames"), n, "every frame arrives");
    tap_diag("gen -> count-sink, 64-byte frames: %.2f M frames/s (%llu frames in %.3f s)",
             (double)n / ((double)dt / 1e9) / 1e6, (unsigned long long)n, (double)dt / 1e9);
    graph_end(g);
}

int main(void)
{
    void *so = dlopen(GRAPH_PLUGIN, RTLD_NOW | RTLD_LOCAL);
    if (so == NULL || (plugin = dlsym(so, HG_ENTRY_SYMBOL)) == NULL) {
        printf("Bail out! cannot load %s\n", GRAPH_PLUGIN);
        return 1;
    }
    split_dirs();
    hg__logger_new(HG_LOG_WARN, &lg);
    if (getenv("GP_BENCH_FRAMES") != NULL) { /* the throughput figure alone */
        test_real_throughput();
        hg__logger_free(lg);
        return tap_done();
    }
    test_real_chain();
    test_real_tee_merge();
    test_real_batch_delay();
    test_real_lua();
    test_real_config_error();
    test_real_tcp();
    test_real_throughput();
    hg__logger_free(lg);
    return tap_done();
}
