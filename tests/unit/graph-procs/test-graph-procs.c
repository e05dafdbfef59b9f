/* test-graph-procs.c - the graph plugin's processors driven through the fake graph service
 * (fake_graph.h): what each makes of its input, its counters, its config errors, and that every
 * buffer reference it took was released exactly once. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_graph.h"
#include "tap.h"

static fk F;

static const hg_processor_ops *ops_of(const char *engine)
{
    const hg_engine *e = fk_engine(engine);
    return e ? e->ops : NULL;
}

/* Creates engine on the fake's current keys. Returns create's code. */
static int make(const char *engine, void **inst)
{
    *inst = NULL;
    return ops_of(engine)->create(&F.host, F.host.cfg_root(&F.host), inst);
}

static void finish(const char *engine, void *inst)
{
    hg_proc p = {&F};
    const hg_processor_ops *o = ops_of(engine);
    if (o->teardown)
        o->teardown(inst, &p);
    o->destroy(inst);
}

/* Releases every frame left on port (what a consumer would do). Returns how many. */
static uint32_t drain(uint32_t port)
{
    hg_frame f;
    uint32_t n = 0;
    while (fk_take(&F, port, &f) == 0) {
        if (f.buf)
            F.api.buf_unref(f.buf);
        n++;
    }
    return n;
}

/* Every buffer was released exactly once. */
static void accounted(const char *what)
{
    is_int(fk_leaked(&F), 0, "%s: every buffer reference was released", what);
    is_int(F.bad_unrefs, 0, "%s: no buffer was released twice", what);
}

static void test_gen_count_and_pattern(void)
{
    void *g;
    hg_frame f;
    int rc, seq_ok = 1;
    fk_init(&F);
    fk_set(&F, "size", "16B");
    fk_set(&F, "count", "100");
    fk_set(&F, "pattern", "seq");
    is_int(make("gen", &g), 0, "gen with size, count and pattern seq is created");
    rc = fk_run(&F, ops_of("gen"), g, 1000);
    is_int(rc, HG_PROCESS_DONE, "gen is done after count frames");
    is_int(F.ports[0].n, 100, "gen pushed exactly count frames");
    is_int(fk_counter(&F, "frames"), 100, "gen counts 100 frames");
    is_int(fk_counter(&F, "bytes"), 1600, "gen counts 1600 bytes");
    for (uint64_t i = 0; fk_take(&F, 0, &f) == 0; i++) {
        uint64_t n;
        memcpy(&n, f.data, 8);
        seq_ok &= f.len == 16 && n == i && f.data[8] == 8 && f.data[15] == 15;
        F.api.buf_unref(f.buf);
    }
    ok(seq_ok, "pattern seq starts each frame with its number, then byte i = i");
    finish("gen", g);
    accounted("gen");
    fk_free(&F);
}

static void test_gen_zero_random_and_rate(void)
{
    void *g;
    hg_frame a, b;
    uint64_t t0;
    fk_init(&F);
    fk_set(&F, "count", "2");
    make("gen", &g);
    fk_run(&F, ops_of("gen"), g, 10);
    fk_take(&F, 0, &a);
    ok(a.len == 64 && a.data[0] == 0 && a.data[63] == 0,
       "gen's default is 64-byte zero frames, written over the pool's old bytes");
    F.api.buf_unref(a.buf);
    drain(0);
    finish("gen", g);
    fk_free(&F);

    fk_init(&F);
    fk_set(&F, "count", "2");
    fk_set(&F, "pattern", "random");
    make("gen", &g);
    fk_run(&F, ops_of("gen"), g, 10);
    fk_take(&F, 0, &a);
    fk_take(&F, 0, &b);
    ok(memcmp(a.data, b.data, 64) != 0, "pattern random makes frames that differ");
    F.api.buf_unref(a.buf);
    F.api.buf_unref(b.buf);
    finish("gen", g);
    fk_free(&F);

    fk_init(&F);
    fk_set(&F, "count", "50");
    fk_set(&F, "rate", "1000");
    make("gen", &g);
    t0 = F.now;
    is_int(fk_run(&F, ops_of("gen"), g, 10000), HG_PROCESS_DONE, "a rate-limited gen ends");
    ok(F.now - t0 >= 49000000ull && F.now - t0 < 60000000ull,
       "50 frames at 1000/s take 49 ms of the clock (took %llu us)",
       (unsigned long long)((F.now - t0) / 1000));
    drain(0);
    finish("gen", g);
    accounted("rate-limited gen");
    fk_free(&F);
}

static void test_gen_output_closed_and_dropped(void)
{
    void *g;
    fk_init(&F);
    fk_set(&F, "count", "10");
    F.ports[0].drop = 1;
    make("gen", &g);
    fk_run(&F, ops_of("gen"), g, 100);
    is_int(fk_counter(&F, "dropped"), 10, "frames the link's drop policy refused are counted");
    finish("gen", g);
    accounted("gen into a dropping link");
    fk_free(&F);

    fk_init(&F);
    fk_set(&F, "count", "3");
    F.ports[0].full_for = 4;
    make("gen", &g);
    uint64_t t0 = F.now;
    is_int(fk_run(&F, ops_of("gen"), g, 100), HG_PROCESS_DONE, "gen ends after its link was full");
    is_int(F.ports[0].n, 3, "a full link delays frames, never drops them");
    is_int(fk_counter(&F, "dropped"), 0, "and nothing is counted dropped");
    ok(F.now - t0 >= 300000ull, "gen napped 20, 40, 80 and 160 us while the link was full (%llu us)",
       (unsigned long long)((F.now - t0) / 1000));
    drain(0);
    finish("gen", g);
    accounted("gen into a full link");
    fk_free(&F);

    fk_init(&F);
    F.ports[0].closed = 1;
    make("gen", &g);
    is_int(fk_run(&F, ops_of("gen"), g, 100), HG_PROCESS_DONE,
           "an unbounded gen is done when nobody reads its output");
    finish("gen", g);
    accounted("gen without a consumer");
    fk_free(&F);
}

static void test_config_errors(void)
{
    static const struct { const char *engine, *key, *val, *want; } cases[] = {
        {"gen", "size", "lots", "'size' must be a size"},
        {"gen", "size", "0", "'size' must be from 1"},
        {"gen", "pattern", "ones", "'pattern' must be one of zero, seq, random; got \"ones\""},
        {"gen", "count", "-1", "'count' must be from 0"},
        {"gen", "rate", "-5", "'rate' must be a number of frames per second"},
        {"map", "transform", "rot13", "'transform' must be one of upper, lower, xor"},
        {"map", "key", "300", "'key' must be from 0 to 255"},
        {"filter", "min_size", "big", "'min_size' must be a size"},
        {"filter", "contains", "", "'contains' must not be empty"},
        {"batch", "frames", "0", "'frames' must be from 1 to 65536"},
        {"batch", "max_wait", "soon", "'max_wait' must be a duration"},
        {"delay", "duration", "2x", "'duration' must be a duration"},
        {"delay", "max_held", "0", "'max_held' must be from 1"},
        {"count-sink", "rate", "fast", "'rate' must be a number"},
        {"lua", "memory", "1KiB", "'memory' must be from 1048576"},
        {"tcp-source", "framing", "json", "'framing' must be one of raw, line"},
        {"tcp-source", "listen", "nowhere", "'listen' must be an address HOST:PORT"},
        {"tcp-writer", "connect_timeout", "later", "'connect_timeout' must be a duration"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        void *inst;
        int rc;
        fk_init(&F);
        if (strcmp(cases[i].engine, "map") == 0 && strcmp(cases[i].key, "key") == 0)
            fk_set(&F, "transform", "xor");
        if (strcmp(cases[i].engine, "lua") == 0 ||
            (strcmp(cases[i].engine, "tcp-source") == 0 && strcmp(cases[i].key, "listen") != 0))
            fk_set(&F, strcmp(cases[i].engine, "lua") == 0 ? "script" : "listen",
                   strcmp(cases[i].engine, "lua") == 0 ? "/dev/null" : "127.0.0.1:0");
        if (strcmp(cases[i].engine, "tcp-writer") == 0)
            fk_set(&F, "connect", "127.0.0.1:1");
        if (strcmp(cases[i].engine, "delay") == 0 && strcmp(cases[i].key, "duration") != 0)
            fk_set(&F, "duration", "1ms");
        fk_set(&F, cases[i].key, cases[i].val);
        rc = make(cases[i].engine, &inst);
        is_int(rc, HG_ECONFIG, "%s: %s: %s is refused with HG_ECONFIG", cases[i].engine,
               cases[i].key, cases[i].val);
        like_str(F.errors, cases[i].want, "%s: the error names the key and what it must be",
                 cases[i].engine);
        ok(strstr(F.errors, cases[i].key) != NULL && strncmp(F.errors, "cfg:", 4) == 0,
           "%s: the error is recorded at the key's position", cases[i].engine);
        if (rc == 0)
            ops_of(cases[i].engine)->destroy(inst);
        fk_free(&F);
    }
    fk_init(&F);
    {
        void *inst;
        is_int(make("map", &inst), HG_ECONFIG, "map without transform is refused");
        like_str(F.errors, "missing required key 'transform'", "map names the missing key");
        F.errors[0] = 0;
        fk_set(&F, "transform", "xor");
        is_int(make("map", &inst), HG_ECONFIG, "map xor without key is refused");
        like_str(F.errors, "transform xor needs 'key'", "map says xor needs a key");
        F.errors[0] = 0;
        is_int(make("delay", &inst), HG_ECONFIG, "delay without duration is refused");
        like_str(F.errors, "missing required key 'duration'", "delay names the missing key");
        F.errors[0] = 0;
        is_int(make("tcp-writer", &inst), HG_ECONFIG, "tcp-writer without connect is refused");
        like_str(F.errors, "missing required key 'connect'", "tcp-writer names the missing key");
    }
    fk_free(&F);
}

static void feed_text(uint32_t port, const char *s, uint64_t seq)
{
    fk_feed(&F, port, s, (uint32_t)strlen(s), HG_TYPE_TEXT, seq);
}

static int take_text(uint32_t port, char *buf, size_t cap, hg_buf **b)
{
    hg_frame f;
    if (fk_take(&F, port, &f) != 0)
        return -1;
    size_t n = f.len < cap - 1 ? f.len : cap - 1;
    memcpy(buf, f.data, n); /* bytes as they are, NULs included */
    buf[n] = '\0';
    if (b)
        *b = f.buf;
    else if (f.buf)
        F.api.buf_unref(f.buf);
    return (int)f.type;
}

static void test_map_transforms(void)
{
    static const char *const tr[][3] = {
        {"upper", NULL, "HELLO, WORLD 42"}, {"lower", NULL, "hello, world 42"},
        {"xor", "32", "HELLO\x0c\0wORLD\0\x14\x12"}};
    for (int i = 0; i < 3; i++) {
        void *m;
        char out[64];
        hg_buf *ob = NULL;
        hg_frame in;
        int type;
        fk_init(&F);
        fk_set(&F, "transform", tr[i][0]);
        if (tr[i][1])
            fk_set(&F, "key", tr[i][1]);
        is_int(make("map", &m), 0, "map %s is created", tr[i][0]);
        feed_text(0, "hello, World 42", 0);
        in = F.ports[0].q[0];
        F.ports[0].closed = 1;
        is_int(fk_run(&F, ops_of("map"), m, 10), HG_PROCESS_DONE, "map is done at the end of its input");
        type = take_text(1, out, sizeof out, &ob);
        ok(memcmp(out, tr[i][2], 15) == 0, "map %s transforms the bytes", tr[i][0]);
        is_int(type, HG_TYPE_TEXT, "map keeps the frame's type");
        ok(ob != in.buf && in.buf->refs == 0, "map writes a new buffer and releases the input's");
        if (ob)
            F.api.buf_unref(ob);
        finish("map", m);
        accounted("map");
        fk_free(&F);
    }
}

static void test_filter(void)
{
    void *fl;
    char out[64];
    hg_buf *b;
    fk_init(&F);
    fk_set(&F, "min_size", "3");
    fk_set(&F, "max_size", "10B");
    fk_set(&F, "contains", "ab");
    is_int(make("filter", &fl), 0, "filter with min_size, max_size and contains is created");
    feed_text(0, "ab", 0);           /* too short */
    feed_text(0, "xxabyy", 1);       /* passes */
    feed_text(0, "xxxxxxxxxxab", 2); /* too long */
    feed_text(0, "nothing", 3);      /* no 'ab' */
    feed_text(0, "abc", 4);          /* passes */
    hg_buf *first = F.ports[0].q[1].buf;
    F.ports[0].closed = 1;
    is_int(fk_run(&F, ops_of("filter"), fl, 10), HG_PROCESS_DONE, "filter is done at the end");
    is_int(F.ports[1].n, 2, "two frames pass");
    take_text(1, out, sizeof out, &b);
    is_str(out, "xxabyy", "the first that passes is xxabyy");
    ok(b == first, "a passing frame goes on in its own buffer (no copy)");
    F.api.buf_unref(b);
    take_text(1, out, sizeof out, NULL);
    is_str(out, "abc", "the second is abc");
    is_int(fk_counter(&F, "filtered"), 3, "filter counts the 3 it dropped as filtered");
    is_int(fk_counter(&F, "passed"), 2, "and 2 passed");
    finish("filter", fl);
    accounted("filter");
    fk_free(&F);
}

static void test_tee_by_reference(void)
{
    void *t;
    hg_frame a, b;
    fk_init(&F);
    is_int(make("tee", &t), 0, "tee is created");
    F.ports[3].closed = F.ports[4].closed = 1; /* out2, out3 not linked */
    for (int i = 0; i < 5; i++)
        feed_text(0, "frame", (uint64_t)i);
    F.ports[0].closed = 1;
    is_int(fk_run(&F, ops_of("tee"), t, 10), HG_PROCESS_DONE, "tee is done at the end");
    is_int(F.ports[1].n, 5, "out0 got every frame");
    is_int(F.ports[2].n, 5, "out1 got every frame");
    fk_take(&F, 1, &a);
    fk_take(&F, 2, &b);
    ok(a.buf == b.buf && a.buf->refs == 2, "both outputs hold one buffer, a reference each");
    F.api.buf_unref(a.buf);
    F.api.buf_unref(b.buf);
    drain(1);
    drain(2);
    is_int(fk_counter(&F, "dropped"), 0, "unlinked outputs are not counted as drops");
    finish("tee", t);
    accounted("tee");
    fk_free(&F);

    fk_init(&F);
    make("tee", &t);
    F.ports[2].closed = F.ports[3].closed = F.ports[4].closed = 1;
    F.ports[1].drop = 1;
    feed_text(0, "x", 0);
    fk_run(&F, ops_of("tee"), t, 3);
    is_int(fk_counter(&F, "dropped"), 1, "a frame an output's drop policy refused is counted");
    finish("tee", t);
    accounted("tee into a dropping link");
    fk_free(&F);
}

static void test_merge(void)
{
    void *m;
    const hg_engine *e = fk_engine("merge");
    const hg_processor_ops *o = e->ops;
    fk_init(&F);
    ok(o->n_ports == 2 && o->ports[0].direction == HG_PORT_IN &&
       (o->ports[0].flags & HG_PORT_MULTI) && o->ports[1].direction == HG_PORT_OUT,
       "merge has one input that takes several links (HG_PORT_MULTI) and one output");
    is_int(make("merge", &m), 0, "merge is created");
    feed_text(0, "a1", 0);
    feed_text(0, "b1", 0);
    feed_text(0, "a2", 1);
    is_int(fk_run(&F, ops_of("merge"), m, 10), HG_PROCESS_IDLE,
           "merge idles while its input is open and empty");
    is_int(F.ports[1].n, 3, "merge pushed what came in");
    F.ports[0].closed = 1;
    is_int(fk_run(&F, ops_of("merge"), m, 10), HG_PROCESS_DONE,
           "merge is done once its input ended");
    is_int(fk_counter(&F, "frames"), 3, "merge counts 3 frames");
    ok(F.ports[1].q[F.ports[1].head + 2].seq == 2, "the output's sequence is its own, stamped on push");
    drain(1);
    finish("merge", m);
    accounted("merge");
    fk_free(&F);
}

static void test_batch_unbatch_round_trip(void)
{
    void *b, *u;
    char want[10][32], got[32];
    hg_frame bf[8];
    uint32_t nb = 0;
    int same = 1;
    fk_init(&F);
    fk_set(&F, "frames", "4");
    is_int(make("batch", &b), 0, "batch of 4 frames is created");
    for (int i = 0; i < 10; i++) {
        snprintf(want[i], sizeof want[i], "frame-%d-%.*s", i, i, "xxxxxxxxxx");
        fk_feed(&F, 0, want[i], (uint32_t)strlen(want[i]), HG_TYPE_USER + (uint32_t)i, 0);
    }
    fk_feed(&F, 0, "", 0, HG_TYPE_BYTES, 0); /* an empty frame survives too */
    F.ports[0].closed = 1;
    is_int(fk_run(&F, ops_of("batch"), b, 20), HG_PROCESS_DONE, "batch is done at the end");
    is_int(F.ports[1].n, 3, "11 frames make batches of 4, 4 and 3 (the last at end of input)");
    is_int(fk_counter(&F, "frames"), 11, "batch counts 11 frames in");
    is_int(fk_counter(&F, "batches"), 3, "and 3 batches out");
    while (fk_take(&F, 1, &bf[nb]) == 0)
        nb++;
    ok(bf[0].len == 4 + 4 * 8 + 8 + 9 + 10 + 11 && bf[0].data[0] == 4,
       "a batch is u32 count, then u32 len, u32 type and the bytes per frame");
    finish("batch", b);

    /* the batches into unbatch */
    F.n_keys = 0;
    for (uint32_t i = 0; i < F.n_counters; i++)
        free(F.counters[i].c);
    F.n_counters = 0;
    F.ports[0].closed = 0;
    F.ports[1].closed = 0;
    is_int(make("unbatch", &u), 0, "unbatch is created");
    for (uint32_t i = 0; i < nb; i++)
        F.ports[0].q[(F.ports[0].head + F.ports[0].n++) % FK_FRAMES] = bf[i];
    fk_feed(&F, 0, "\x05\0\0\0junk", 8, HG_TYPE_BYTES, 0); /* claims 5 records: malformed */
    F.ports[0].closed = 1;
    is_int(fk_run(&F, ops_of("unbatch"), u, 20), HG_PROCESS_DONE, "unbatch is done at the end");
    is_int(F.ports[1].n, 11, "unbatch gives back all 11 frames");
    for (int i = 0; i < 10; i++) {
        hg_buf *ob = NULL;
        int type = take_text(1, got, sizeof got, &ob);
        same &= strcmp(got, want[i]) == 0 && type == HG_TYPE_USER + i;
        if (ob)
            F.api.buf_unref(ob);
    }
    ok(same, "each frame comes back with its bytes and type, in order");
    ok(take_text(1, got, sizeof got, NULL) == HG_TYPE_BYTES && got[0] == 0,
       "the empty frame comes back empty");
    is_int(fk_counter(&F, "malformed"), 1, "a frame that is not a batch is counted malformed");
    is_int(fk_counter(&F, "frames"), 11, "unbatch counts 11 frames out");
    finish("unbatch", u);
    accounted("batch and unbatch");
    fk_free(&F);
}

static void test_batch_max_wait(void)
{
    void *b;
    fk_init(&F);
    fk_set(&F, "frames", "100");
    fk_set(&F, "max_wait", "5ms");
    make("batch", &b);
    feed_text(0, "one", 0);
    feed_text(0, "two", 1);
    uint64_t t0 = F.now;
    fk_run(&F, ops_of("batch"), b, 50);
    is_int(F.ports[1].n, 1, "a partial batch goes out after max_wait");
    ok(F.now - t0 >= 5000000ull, "not before max_wait passed");
    drain(1);
    finish("batch", b);
    accounted("batch max_wait");
    fk_free(&F);
}

static void test_delay_holds_frames(void)
{
    void *d;
    uint64_t t0;
    fk_init(&F);
    fk_set(&F, "duration", "10ms");
    is_int(make("delay", &d), 0, "delay of 10ms is created");
    feed_text(0, "a", 0);
    feed_text(0, "b", 1);
    t0 = F.now;
    hg_proc p = {&F};
    ops_of("delay")->setup(d, &p);
    ops_of("delay")->process(d, &p);
    is_int(F.ports[1].n, 0, "nothing goes out at once");
    while (F.ports[1].n < 2 && F.now - t0 < 1000000000ull)
        ops_of("delay")->process(d, &p);
    is_int(F.ports[1].n, 2, "both frames go out");
    ok(F.now - t0 >= 10000000ull && F.now - t0 < 20000000ull,
       "after 10 ms of the clock (took %llu us)", (unsigned long long)((F.now - t0) / 1000));
    drain(1);
    feed_text(0, "held", 2);
    ops_of("delay")->process(d, &p);
    finish("delay", d); /* stopped with a frame held */
    is_int(fk_counter(&F, "dropped"), 1, "a frame still held at teardown is counted dropped");
    accounted("delay");
    fk_free(&F);
}

static void test_count_sink(void)
{
    void *s;
    static const uint64_t seqs[] = {0, 1, 2, 5, 6, 10, 11};
    uint64_t t0;
    fk_init(&F);
    is_int(make("count-sink", &s), 0, "count-sink is created");
    for (size_t i = 0; i < sizeof seqs / sizeof seqs[0]; i++)
        feed_text(0, "12345", seqs[i]);
    F.ports[0].closed = 1;
    is_int(fk_run(&F, ops_of("count-sink"), s, 10), HG_PROCESS_DONE, "count-sink is done at the end");
    is_int(fk_counter(&F, "frames"), 7, "count-sink counts 7 frames");
    is_int(fk_counter(&F, "bytes"), 35, "and 35 bytes");
    is_int(fk_counter(&F, "gaps"), 2, "two jumps in the sequence are 2 gaps");
    is_int(fk_counter(&F, "missing"), 5, "which skipped 5 frames");
    finish("count-sink", s);
    accounted("count-sink");
    fk_free(&F);

    fk_init(&F);
    fk_set(&F, "rate", "100");
    make("count-sink", &s);
    for (uint64_t i = 0; i < 11; i++)
        feed_text(0, "x", i);
    F.ports[0].closed = 1;
    t0 = F.now;
    is_int(fk_run(&F, ops_of("count-sink"), s, 1000), HG_PROCESS_DONE, "a slow count-sink ends");
    ok(F.now - t0 >= 100000000ull && F.now - t0 < 150000000ull,
       "11 frames at 100/s take 100 ms of the clock (took %llu us)",
       (unsigned long long)((F.now - t0) / 1000));
    finish("count-sink", s);
    accounted("slow count-sink");
    fk_free(&F);
}

static char *script(const char *body)
{
    static char path[64];
    FILE *fp;
    snprintf(path, sizeof path, "/tmp/gp-test-%d.lua", (int)getpid());
    fp = fopen(path, "w");
    fputs(body, fp);
    fclose(fp);
    return path;
}

static void test_lua(void)
{
    void *l;
    char got[64];
    fk_init(&F);
    fk_set(&F, "script", script("local n = 0\n"
                                "function setup() commit('add: x') end\n"
                                "function process(d)\n"
                                "  n = n + 1\n"
                                "  if d == 'skip' then return nil end\n"
                                "  if d == 'two' then return 'a', 'b' end\n"
                                "  return d:upper() .. n\n"
                                "end\n"));
    is_int(make("lua", &l), 0, "lua with a script that defines process is created");
    feed_text(0, "hi", 0);
    feed_text(0, "skip", 1);
    feed_text(0, "two", 2);
    F.ports[0].closed = 1;
    is_int(fk_run(&F, ops_of("lua"), l, 10), HG_PROCESS_DONE, "lua is done at the end");
    is_str(F.commits, "add: x\n", "setup() ran and commit() reached the graph service");
    is_int(F.ports[1].n, 3, "nil pushes nothing, two values push two frames");
    take_text(1, got, sizeof got, NULL);
    is_str(got, "HI1", "process(data) transforms the payload");
    take_text(1, got, sizeof got, NULL);
    is_str(got, "a", "the first of two values");
    take_text(1, got, sizeof got, NULL);
    is_str(got, "b", "the second of two values");
    finish("lua", l);
    accounted("lua");
    fk_free(&F);

    fk_init(&F);
    fk_set(&F, "script", script("function process(d)\n"
                                "  local t = nil\n"
                                "  return t.field\n"
                                "end\n"));
    make("lua", &l);
    feed_text(0, "x", 0);
    feed_text(0, "y", 1);
    ok(fk_run(&F, ops_of("lua"), l, 10) < 0, "an error in process fails the processor");
    is_int(F.state, HG_STATE_FAILED, "the state is failed");
    like_str(F.message, ".lua:3: attempt to index a nil value", "with Lua's message and line");
    finish("lua", l);
    accounted("failed lua");
    fk_free(&F);

    fk_init(&F);
    fk_set(&F, "script", script("function process(d)\n  return {}\nend\n"));
    make("lua", &l);
    feed_text(0, "x", 0);
    ok(fk_run(&F, ops_of("lua"), l, 10) < 0, "a table returned fails the processor");
    like_str(F.message, "process returned a table", "naming what it returned");
    finish("lua", l);
    accounted("lua returning a table");
    fk_free(&F);

    fk_init(&F);
    fk_set(&F, "script", script("function process(d)\n  return (\nend\n"));
    is_int(make("lua", &l), HG_ECONFIG, "a script that does not compile is a config error");
    like_str(F.errors, "script: ", "at the script key");
    like_str(F.errors, ".lua:3:", "with the script's line");
    fk_free(&F);

    fk_init(&F);
    fk_set(&F, "script", script("x = 1\n"));
    is_int(make("lua", &l), HG_ECONFIG, "a script without process is a config error");
    like_str(F.errors, "defines no function process(data)", "saying what is missing");
    fk_free(&F);

    fk_init(&F);
    fk_set(&F, "script", script("function process(d)\n  os.exit(3)\nend\n"));
    make("lua", &l);
    feed_text(0, "x", 0);
    ok(fk_run(&F, ops_of("lua"), l, 10) < 0, "os.exit in a script fails the processor");
    like_str(F.message, "attempt to call a nil value (field 'exit')", "instead of ending the host");
    finish("lua", l);
    accounted("lua calling os.exit");
    fk_free(&F);

    fk_init(&F);
    fk_set(&F, "script", "/nonexistent/x.lua");
    is_int(make("lua", &l), HG_ECONFIG, "a missing script file is a config error");
    like_str(F.errors, "cannot open /nonexistent/x.lua", "naming the file");
    fk_free(&F);

    fk_init(&F);
    fk_set(&F, "memory", "2MiB");
    fk_set(&F, "script", script("function process(d)\n  return string.rep(d, 4 * 1024 * 1024)\nend\n"));
    make("lua", &l);
    feed_text(0, "xy", 0);
    ok(fk_run(&F, ops_of("lua"), l, 10) < 0, "a script past its memory cap fails");
    like_str(F.message, "not enough memory", "with Lua's memory error");
    finish("lua", l);
    accounted("lua over its memory cap");
    fk_free(&F);
}

int main(void)
{
    test_gen_count_and_pattern();
    test_gen_zero_random_and_rate();
    test_gen_output_closed_and_dropped();
    test_config_errors();
    test_map_transforms();
    test_filter();
    test_tee_by_reference();
    test_merge();
    test_batch_unbatch_round_trip();
    test_batch_max_wait();
    test_delay_holds_frames();
    test_count_sink();
    test_lua();
    unlink(script("")); /* the scripts' one file */
    return tap_done();
}
