/* test-order.c - the start and stop order computed from a configuration's wiring: references to
 * other instances and graph links give dependency levels, servers start before the clients that
 * use them and stop after them, and pipelines that name each other in a cycle are refused. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "order.h"
#include "registry.h"
#include "tap.h"

typedef struct fixture {
    hg__config *cfg;
    hg__engines *reg;
    hg__entry *v[16];
    uint32_t n;
    hg__diag d;
} fixture;

/* Entries for every instance of the YAML, as the host makes them (no plugin needed). */
static int load(fixture *f, const char *yaml)
{
    hg__config_src src;
    memset(f, 0, sizeof *f);
    memset(&src, 0, sizeof src);
    src.yaml = yaml;
    src.limits = (hg__cfg_limits)HG__CFG_LIMITS_DEFAULT;
    hg__diag_init(&f->d);
    if (hg__config_load(&src, &f->cfg, &f->d) != 0 || hg__engines_new(&f->reg) != 0)
        return -1;
    for (uint32_t i = 0; i < f->cfg->n_instances && i < 16; i++) {
        const hg__instance_cfg *ic = &f->cfg->instances[i];
        hg__entry *e = calloc(1, sizeof *e);
        hg__inst_new_standalone(ic->name, ic->node, NULL, NULL, &e->in);
        e->cfg = ic;
        e->seq = i;
        e->originates = ic->section == HG__SEC_PIPELINE && hg__node_get(ic->node, "listen") == NULL;
        hg__engines_add(f->reg, e);
        f->v[f->n++] = e;
    }
    return hg__order_compute(f->reg, f->cfg->links, f->cfg->n_links, &f->d);
}

static void unload(fixture *f)
{
    for (uint32_t i = 0; i < f->n; i++) {
        hg__inst_free(f->v[i]->in);
        free(f->v[i]);
    }
    hg__engines_free(f->reg);
    hg__config_free(f->cfg);
    hg__diag_free(&f->d);
}

static uint32_t level_of(fixture *f, const char *name)
{
    hg__entry *e = hg__engines_find(f->reg, name);
    return e ? e->level : 999;
}

/* The names of v in order, space-separated. */
static const char *names(hg__entry **v, uint32_t n)
{
    static char buf[256];
    size_t len = 0;
    buf[0] = '\0';
    for (uint32_t i = 0; i < n; i++)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s", i ? " " : "",
                                hg__inst_name(v[i]->in));
    return buf;
}

static void test_order_chain(void)
{
    fixture f;
    hg__entry *v[16];
    int rc = load(&f, "hangar: 1\n"
                      "pipelines:\n"
                      "  - {name: load, engine: tcp-gen, connect: front}\n"
                      "  - {name: front, engine: tcp-proxy, listen: '127.0.0.1:0', upstream: mid}\n"
                      "  - {name: mid, engine: tcp-proxy, listen: '127.0.0.1:0', upstream: echo}\n"
                      "  - {name: echo, engine: tcp-echo, listen: '127.0.0.1:0'}\n"
                      "  - {name: solo, engine: tcp-gen, connect: '127.0.0.1:9'}\n");
    is_int(rc, 0, "a proxy chain orders without error");
    ok(level_of(&f, "echo") == 0 && level_of(&f, "mid") == 1 && level_of(&f, "front") == 2 &&
           level_of(&f, "load") == 3 && level_of(&f, "solo") == 0,
       "levels follow the references: echo 0, mid 1, front 2, load 3, solo 0");
    memcpy(v, f.v, f.n * sizeof *v);
    hg__order_sort(v, f.n);
    is_str(names(v, f.n), "echo mid front solo load",
           "start order: servers up the chain, then the clients");
    ok(hg__order_same_group(v[0], v[0]) && !hg__order_same_group(v[0], v[1]),
       "engines of one level and role stop together, others apart");
    unload(&f);
}

static void test_order_cycle(void)
{
    fixture f;
    int rc = load(&f, "hangar: 1\n"
                      "pipelines:\n"
                      "  - {name: a, engine: tcp-proxy, listen: '127.0.0.1:0', upstream: b}\n"
                      "  - {name: b, engine: tcp-proxy, listen: '127.0.0.1:0', upstream: a}\n");
    is_int(rc, HG_ECONFIG, "two proxies naming each other are a config error");
    ok(f.d.n == 1 && strstr(f.d.items[0].msg, "cycle (a -> b -> a)") != NULL &&
           f.d.items[0].line == 4 && f.d.items[0].col > 1,
       "  reported once, at the reference that closes the cycle, with the path (%s at %u:%u)",
       f.d.n ? f.d.items[0].msg : "none", f.d.n ? f.d.items[0].line : 0,
       f.d.n ? f.d.items[0].col : 0);
    unload(&f);
}

static void test_order_self(void)
{
    fixture f;
    int rc = load(&f, "hangar: 1\n"
                      "pipelines:\n"
                      "  - {name: a, engine: tcp-proxy, listen: '127.0.0.1:0', upstream: a}\n");
    is_int(rc, HG_ECONFIG, "a proxy whose upstream is itself is a config error");
    ok(f.d.n == 1 && strstr(f.d.items[0].msg, "a: a pipeline names itself ('a')") != NULL &&
           f.d.items[0].line == 3,
       "  reported at the reference (%s at line %u)", f.d.n ? f.d.items[0].msg : "none",
       f.d.n ? f.d.items[0].line : 0);
    unload(&f);
}

static void test_order_links(void)
{
    fixture f;
    int rc = load(&f, "hangar: 1\n"
                      "graph:\n"
                      "  processors:\n"
                      "    - {name: src, engine: gen}\n"
                      "    - {name: mid, engine: map}\n"
                      "    - {name: sink, engine: count-sink}\n"
                      "  links:\n"
                      "    - {from: src.out, to: mid.in}\n"
                      "    - {from: mid.out, to: sink.in}\n"
                      "    - {from: sink.out, to: mid.in2}\n");
    is_int(rc, 0, "a graph with a cycle of links orders without error (the graph checks it)");
    ok(level_of(&f, "src") > level_of(&f, "mid") && level_of(&f, "sink") == 0,
       "a link's consumer comes before its producer (src %u, mid %u, sink %u)",
       level_of(&f, "src"), level_of(&f, "mid"), level_of(&f, "sink"));
    unload(&f);
}

static void test_order_not_a_reference(void)
{
    fixture f;
    int rc = load(&f, "hangar: 1\n"
                      "pipelines:\n"
                      "  - {name: echo, engine: tcp-echo, listen: '127.0.0.1:0'}\n"
                      "  - {name: other, engine: tcp-echo, listen: '127.0.0.1:0'}\n"
                      "  - {name: stream, engine: tcp-gen, connect: echo, pattern: stream}\n"
                      "  - {name: g2, engine: tcp-gen, connect: echo, pattern: stream}\n");
    is_int(rc, 0, "instances that name no other order without error");
    ok(level_of(&f, "echo") == 0 && level_of(&f, "other") == 0,
       "  all at level 0 (a name or engine key is not a reference)");
    ok(level_of(&f, "stream") == 1 && level_of(&f, "g2") == 1,
       "a value naming a pipeline that does not listen is no reference ('pattern: stream')");
    unload(&f);
}

int main(void)
{
    test_order_chain();
    test_order_cycle();
    test_order_self();
    test_order_links();
    test_order_not_a_reference();
    return tap_done();
}
