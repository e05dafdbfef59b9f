/* test-config.c - the config tree, the typed view and the host schema: good configs, defaults,
 * --set overrides, each limit, did-you-mean, duplicate names and keys, and that every error of a
 * file is collected with its position. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <hangar/frame.h>
#include <hangar/host.h>
#include <hangar/plugin.h>
#include <hangar/status.h>

#include "cfgtree.h"
#include "cfgview.h"
#include "config.h"
#include "tap.h"

/* All messages of d joined with '\n' (a static buffer, enough for these tests). */
static const char *joined(const hg__diag *d)
{
    static char buf[8192];
    size_t used = 0;

    buf[0] = '\0';
    for (uint32_t i = 0; i < d->n; i++) {
        char *s = hg__diag_format(d, i);
        used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s%s", i ? "\n" : "",
                                 s ? s : "(null)");
        free(s);
        if (used >= sizeof(buf))
            break;
    }
    return buf;
}

/* Loads inline YAML (NULL: the default) with --set overrides; *out may be NULL to free at once. */
static int load(const char *yaml, const char *const *sets, uint32_t n_sets, hg__config **out,
                hg__diag *d)
{
    hg__config_src src;
    hg__config *cfg = NULL;
    int rc;

    memset(&src, 0, sizeof(src));
    src.yaml = yaml;
    src.sets = sets;
    src.n_sets = n_sets;
    hg__diag_init(d);
    rc = hg__config_load(&src, &cfg, d);
    if (out)
        *out = cfg;
    else
        hg__config_free(cfg);
    return rc;
}

static const char full_yaml[] =
    "hangar: 1\n"
    "plugin_path: [plugins, /opt/hangar]\n"
    "log: { level: debug }\n"
    "runtime:\n"
    "  mode: blocking\n"
    "  workers: 3\n"
    "  cores: [0, 1]\n"
    "  stack_size: 1MiB\n"
    "control: { socket: hangar.sock, shutdown_timeout: 250ms }\n"
    "pipelines:\n"
    "  - { name: echo, engine: tcp-echo, listen: \"127.0.0.1:0\", records: true, "
    "records_max: 16 }\n"
    "  - { name: load, engine: tcp-gen, connect: echo, core: 1 }\n"
    "connectors:\n"
    "  - name: clock\n"
    "    engine: ticker\n"
    "    streams:\n"
    "      - { name: tick, interval: 10ms, max_pending_events: 64, core: any, "
    "policy: drop_newest, healthy_at_start: yes }\n"
    "graph:\n"
    "  processors:\n"
    "    - { name: src, engine: gen, rate: 0 }\n"
    "    - { name: up, engine: upper }\n"
    "  links:\n"
    "    - { from: src.out, to: up.in, capacity: 8, policy: drop_oldest }\n"
    "    - { from: clock.tick, to: up.ctl }\n";

static void test_config_default(void)
{
    hg__config *cfg = NULL;
    hg__diag d;
    const hg__instance_cfg *load_inst;

    is_int(load(NULL, NULL, 0, &cfg, &d), 0, "the built-in default config loads");
    is_str(cfg ? cfg->file : NULL, "<default>", "the default is named <default>");
    is_int(cfg->n_instances, 5, "the default has two pipelines and three processors");
    is_str(cfg->runtime_mode, "uv", "the default runtime mode is uv");
    is_int(cfg->workers, 2, "the default has two workers");
    is_int(cfg->log_level, HG_LOG_INFO, "the log level defaults to info");
    ok(cfg->shutdown_timeout_ns == 5000000000ull, "shutdown_timeout defaults to 5 s");
    load_inst = hg__config_find(cfg, "load");
    ok(load_inst && strcmp(load_inst->engine, "tcp-gen") == 0, "config_find finds 'load'");
    ok(hg__config_find(cfg, "nope") == NULL, "config_find returns NULL for an unknown name");
    is_int(load_inst->core, HG_CORE_AUTO, "core defaults to auto");
    is_int(load_inst->records_max, 4096, "records_max defaults to 4096");
    is_int(load_inst->records, 0, "records defaults to off");
    hg__config_free(cfg);
    hg__diag_free(&d);
}

static void test_config_full(void)
{
    hg__config *cfg = NULL;
    hg__diag d;
    const hg__instance_cfg *clock, *echo;

    is_int(load(full_yaml, NULL, 0, &cfg, &d), 0, "a config with every section loads");
    if (!cfg) {
        tap_diag("%s", joined(&d));
        hg__diag_free(&d);
        return;
    }
    is_int(cfg->n_instances, 5, "pipelines, connectors and processors become five instances");
    is_int(cfg->instances[0].section, HG__SEC_PIPELINE, "pipelines come first");
    is_int(cfg->instances[2].section, HG__SEC_CONNECTOR, "then connectors");
    is_int(cfg->instances[4].section, HG__SEC_PROCESSOR, "then processors");
    is_int(cfg->n_plugin_path, 2, "plugin_path takes a list");
    is_str(cfg->plugin_path[1], "/opt/hangar", "an absolute plugin path stays as it is");
    is_int(cfg->log_level, HG_LOG_DEBUG, "log level debug is read");
    is_str(cfg->runtime_mode, "blocking", "runtime.mode is read");
    is_int(cfg->workers, 3, "runtime.workers is read");
    ok(cfg->n_cores == 2 && cfg->cores[1] == 1, "runtime.cores is read");
    ok(hg__node_get(cfg->runtime_node, "stack_size") != NULL,
       "the runtime mode's own keys are kept for it");
    is_str(cfg->control_socket, "hangar.sock", "control.socket is read");
    ok(cfg->shutdown_timeout_ns == 250000000ull, "control.shutdown_timeout is read");
    echo = hg__config_find(cfg, "echo");
    ok(echo->records == 1 && echo->records_max == 16, "records and records_max are read");
    is_int(hg__config_find(cfg, "load")->core, 1, "core: 1 pins");
    clock = hg__config_find(cfg, "clock");
    is_int(clock->n_streams, 1, "the connector has its stream");
    is_str(clock->streams[0].name, "tick", "the stream is named");
    is_int(clock->streams[0].max_pending_events, 64, "max_pending_events is read");
    is_int(clock->streams[0].core, HG_CORE_ANY, "core: any means no pinning");
    is_int(clock->streams[0].policy, HG_POLICY_DROP_NEWEST, "a stream's policy is read");
    is_int(clock->streams[0].healthy_at_start, 1, "healthy_at_start is read");
    is_int(cfg->n_links, 2, "both links are read");
    ok(strcmp(cfg->links[0].from_node, "src") == 0 && strcmp(cfg->links[0].to_port, "in") == 0,
       "link ends are split into node and port");
    ok(cfg->links[0].capacity == 8 && cfg->links[0].policy == HG_POLICY_DROP_OLDEST,
       "a link's capacity and policy are read");
    ok(cfg->links[1].capacity == 1024 && cfg->links[1].policy == HG_POLICY_BLOCK,
       "a link's capacity and policy default to 1024 and block");
    hg__config_free(cfg);
    hg__diag_free(&d);
}

static void test_config_set(void)
{
    static const char *const sets[] = { "pipelines.echo.listen=10.0.0.1:7", "runtime.cores=[0,1]",
                                        "graph.links.0.capacity=32", "log.level=trace",
                                        "pipelines.1.core=any" };
    static const char *const bad_item[] = { "pipelines.nope.listen=1" };
    static const char *const bad_type[] = { "runtime.workers=two" };
    static const char *const no_eq[] = { "runtime.workers" };
    static const char *const through_scalar[] = { "runtime.mode.x=1" };
    hg__config *cfg = NULL;
    hg__diag d;
    const char *listen = NULL;
    hg__cfgctx ctx = { NULL, "echo" };

    is_int(load(full_yaml, sets, 5, &cfg, &d), 0, "--set overrides apply");
    if (!cfg) {
        tap_diag("%s", joined(&d));
        hg__diag_free(&d);
        return;
    }
    ctx.diag = &d;
    hg__cfg_string(&ctx, hg__config_find(cfg, "echo")->node, "listen", &listen);
    is_str(listen, "10.0.0.1:7", "--set names a sequence item by its name");
    ok(cfg->n_cores == 2 && cfg->cores[0] == 0 && cfg->cores[1] == 1,
       "--set takes a flow list value");
    is_int(cfg->links[0].capacity, 32, "--set names a sequence item by its index");
    is_int(cfg->log_level, HG_LOG_TRACE, "--set replaces a value");
    is_int(hg__config_find(cfg, "load")->core, HG_CORE_ANY, "--set adds a missing key");
    hg__config_free(cfg);
    hg__diag_free(&d);

    is_int(load("hangar: 1\n", (const char *const[]){ "log.level=warn" }, 1, &cfg, &d), 0,
           "--set creates a missing section");
    is_int(cfg ? cfg->log_level : 0, HG_LOG_WARN, "the created section is read");
    hg__config_free(cfg);
    hg__diag_free(&d);

    is_int(load(NULL, bad_item, 1, NULL, &d), HG_ECONFIG, "--set to a missing item fails");
    is_str(joined(&d), "--set pipelines.nope.listen: no item named 'nope' in 'pipelines'",
           "--set names the path that does not resolve");
    hg__diag_free(&d);
    is_int(load(NULL, bad_type, 1, NULL, &d), HG_ECONFIG, "--set with a wrong type fails");
    is_str(joined(&d),
           "--set runtime.workers: runtime: 'workers' must be an integer, got \"two\"",
           "a --set value's error names the --set");
    hg__diag_free(&d);
    is_int(load(NULL, no_eq, 1, NULL, &d), HG_ECONFIG, "--set without '=' fails");
    is_str(joined(&d), "--set runtime.workers: expected PATH=VALUE", "and says what it wants");
    hg__diag_free(&d);
    load(NULL, through_scalar, 1, NULL, &d);
    is_str(joined(&d),
           "--set runtime.mode.x: 'runtime.mode' is a single value, not a map or a list",
           "--set through a scalar is refused");
    hg__diag_free(&d);
}

/* Reads pipeline `name`'s listen after loading yaml with one --set; NULL when it fails. */
static const char *listen_after(const char *yaml, const char *set, const char *name,
                                hg__config **cfg, hg__diag *d)
{
    hg__cfgctx ctx = { NULL, name };
    const hg__instance_cfg *ic;
    const char *listen = NULL;

    if (load(yaml, (const char *const[]){ set }, 1, cfg, d) != 0 || !*cfg)
        return NULL;
    ic = hg__config_find(*cfg, name);
    ctx.diag = d;
    if (ic)
        hg__cfg_string(&ctx, ic->node, "listen", &listen);
    return listen;
}

static void test_config_set_messages(void)
{
    static const char numbered[] = "hangar: 1\n"
                                   "pipelines:\n"
                                   "  - { name: a, engine: tcp-echo, listen: \"127.0.0.1:1\" }\n"
                                   "  - { name: \"7\", engine: tcp-echo, listen: \"127.0.0.1:2\" }\n";
    hg__config *cfg = NULL;
    hg__diag d;

    is_int(load(NULL, (const char *const[]){ "pipelines.echo.listen=[::1]:0" }, 1, NULL, &d),
           HG_ECONFIG, "--set with a value that is not valid YAML fails");
    is_str(joined(&d),
           "--set pipelines.echo.listen=[::1]:0: the value is not valid YAML (did not find "
           "expected node content at column 2); to pass it as text, quote it: "
           "--set 'pipelines.echo.listen=\"[::1]:0\"'",
           "and shows the quoted form to type instead");
    hg__diag_free(&d);
    is_int(load(NULL, (const char *const[]){ "pipelines.echo.listen=[it's\"]:0" }, 1, NULL, &d),
           HG_ECONFIG, "a value with quotes of its own fails the same way");
    like_str(joined(&d), "quote it: --set 'pipelines.echo.listen=\"[it'\\''s\\\"]:0\"'",
             "its quoted form escapes them for YAML and for the shell");
    hg__diag_free(&d);
    is_str(listen_after(NULL, "pipelines.echo.listen=\"[::1]:0\"", "echo", &cfg, &d), "[::1]:0",
           "the quoted form the hint shows sets the text");
    hg__config_free(cfg);
    hg__diag_free(&d);

    is_int(load(NULL, (const char *const[]){ "pipelines.2.listen=127.0.0.1:1" }, 1, NULL, &d),
           HG_ECONFIG, "--set with an index past the end fails");
    is_str(joined(&d),
           "--set pipelines.2.listen: no item named '2' in 'pipelines', and index 2 is past its "
           "end (2 items)", "and says the index is past the end, with the count");
    hg__diag_free(&d);
    is_str(listen_after(numbered, "pipelines.1.listen=127.0.0.1:9", "7", &cfg, &d), "127.0.0.1:9",
           "an index within the list addresses the item at that index");
    hg__config_free(cfg);
    hg__diag_free(&d);
    is_str(listen_after(numbered, "pipelines.7.listen=127.0.0.1:9", "7", &cfg, &d), "127.0.0.1:9",
           "a number past the end names an item called so");
    hg__config_free(cfg);
    hg__diag_free(&d);
    is_str(listen_after(numbered, "pipelines.0.listen=127.0.0.1:9", "a", &cfg, &d), "127.0.0.1:9",
           "index 0 is the first item");
    hg__config_free(cfg);
    hg__diag_free(&d);
}

static void test_config_limits(void)
{
    static const char big[] = "hangar: 1\n"
                              "# this comment makes the text seventy bytes long..........\n\n";
    hg__cfg_limits lim = { 64, 4, 50 };
    hg__doc *doc = NULL;
    hg__diag d;
    char bomb[1024];
    struct timespec t0, t1;
    int rc;

    hg__diag_init(&d);
    rc = hg__doc_load_string("big", big, strlen(big), &lim, &doc, &d);
    is_int(rc, HG_ECONFIG, "text over the size limit is refused");
    is_str(joined(&d), "big: config is 70 bytes, over the limit of 64 bytes",
           "the size message names the size and the limit");
    hg__diag_free(&d);
    lim.max_file_bytes = 70;
    hg__diag_init(&d);
    is_int(hg__doc_load_string("big", big, strlen(big), &lim, &doc, &d), 0,
           "text exactly at the size limit is read");
    hg__doc_free(doc);
    hg__diag_free(&d);

    lim.max_file_bytes = 1 << 20;
    hg__diag_init(&d);
    rc = hg__doc_load_string("deep", "a: [[[[1]]]]\n", 13, &lim, &doc, &d);
    is_int(rc, HG_ECONFIG, "nesting past the depth limit is refused");
    is_str(joined(&d), "deep:1:7: nesting is deeper than the limit of 4 levels",
           "the depth message is at the first level too deep");
    hg__diag_free(&d);
    hg__diag_init(&d);
    rc = hg__doc_load_string("deep", "a: [[[1]]]\n", 11, &lim, &doc, &d);
    is_int(rc, 0, "nesting at the depth limit is accepted");
    hg__doc_free(doc);
    hg__diag_free(&d);

    snprintf(bomb, sizeof(bomb), "a: &a [x, x, x, x, x, x, x, x, x]\n"
                                 "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                                 "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                                 "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                                 "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                                 "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
                                 "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
                                 "h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
                                 "i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]\n");
    lim.max_alias_nodes = 10000;
    lim.max_depth = 64;
    hg__diag_init(&d);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = hg__doc_load_string("bomb", bomb, strlen(bomb), &lim, &doc, &d);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    is_int(rc, HG_ECONFIG, "an alias bomb is refused");
    is_str(joined(&d), "bomb:5:8: alias '*d' expands past the limit of 10000 nodes made by aliases",
           "the alias message is at the alias that crosses the limit");
    ok((t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec) < 100000000L,
       "the alias bomb is refused within 100 ms");
    hg__diag_free(&d);

    hg__diag_init(&d);
    rc = hg__doc_load_string("ok", "a: &a {x: 1, y: [2, 3]}\nb: *a\n", 29, NULL, &doc, &d);
    is_int(rc, 0, "a modest alias is expanded");
    ok(rc == 0 && hg__node_get(hg__node_get(doc->root, "b"), "y")->n == 2,
       "the alias's copy has the anchored content");
    hg__doc_free(doc);
    hg__diag_free(&d);
}

static void test_config_did_you_mean(void)
{
    static const char *const keys[] = { "listen", "max_open", "idle_timeout" };
    static const char *const engines[] = { "tcp-echo", "tcp-gen", "tcp-proxy", "tcp-sink" };

    is_str(hg__did_you_mean("lisen", keys, 3), "listen", "'lisen' suggests 'listen'");
    is_str(hg__did_you_mean("idle_timout", keys, 3), "idle_timeout",
           "'idle_timout' suggests 'idle_timeout'");
    is_str(hg__did_you_mean("tcp-ecko", engines, 4), "tcp-echo", "'tcp-ecko' suggests 'tcp-echo'");
    ok(hg__did_you_mean("frobnicate", keys, 3) == NULL, "a far word suggests nothing");
    ok(hg__did_you_mean("x", keys, 0) == NULL, "no candidates suggest nothing");
}

static void test_config_errors(void)
{
    hg__diag d;
    int rc;

    rc = load("hangar: 1\n"
              "pipline: []\n"
              "pipelines:\n"
              "  - { name: echo, engine: tcp-echo }\n"
              "  - { name: echo, engine: tcp-gen }\n"
              "  - { name: Bad!, engine: tcp-gen }\n"
              "  - { name: gen }\n",
              NULL, 0, NULL, &d);
    is_int(rc, HG_ECONFIG, "a config with several errors fails");
    is_str(joined(&d),
           "<inline>:2:1: unknown key 'pipline' (did you mean 'pipelines'?)\n"
           "<inline>:5:13: echo: name 'echo' is already used (line 4)\n"
           "<inline>:6:13: pipelines[2]: 'name' must use only a-z, 0-9, '_' and '-'\n"
           "<inline>:7:5: gen: missing required key 'engine'",
           "every error is collected, in file order");
    hg__diag_free(&d);

    rc = load("hangar: 1\n"
              "runtime: { workers: 2, workers: 3 }\n"
              "log: { level: loud }\n",
              NULL, 0, NULL, &d);
    is_int(rc, HG_ECONFIG, "a duplicate key fails");
    is_str(joined(&d),
           "<inline>:2:24: duplicate key 'workers' (first given at line 2)\n"
           "<inline>:3:15: log: 'level' must be error, warn, info, debug or trace, got \"loud\"",
           "a duplicate key is reported at the second and the schema is still checked");
    hg__diag_free(&d);

    rc = load("hangar: 1\n"
              "pipelines: [ { name: p, engine: tcp-echo } ]\n"
              "graph:\n"
              "  processors: [ { name: p, engine: upper }, { name: q, engine: upper } ]\n"
              "  links:\n"
              "    - { from: nosuch.out, to: q.in }\n"
              "    - { from: q.out, to: p.in, policy: drop_newst }\n",
              NULL, 0, NULL, &d);
    is_int(rc, HG_ECONFIG, "bad links fail");
    is_str(joined(&d),
           "<inline>:4:25: p: name 'p' is already used (line 2)\n"
           "<inline>:6:15: graph.links[0]: link 'from' refers to unknown processor or stream "
           "'nosuch'\n"
           "<inline>:7:40: graph.links[1]: 'policy' must be block, drop_newest or drop_oldest, got "
           "\"drop_newst\" (did you mean 'drop_newest'?)",
           "names are unique across sections and link ends must exist");
    hg__diag_free(&d);

    rc = load("hangar: 2\n", NULL, 0, NULL, &d);
    is_str(joined(&d),
           "<inline>:1:9: 'hangar' must be 1 (the schema version this hangar reads), got 2",
           "a wrong schema version is refused");
    hg__diag_free(&d);
    rc = load("", NULL, 0, NULL, &d);
    is_str(joined(&d), "<inline>: the config is empty (it needs at least 'hangar: 1')",
           "an empty config is refused");
    hg__diag_free(&d);
    rc = load("hangar: 1\n---\nhangar: 1\n", NULL, 0, NULL, &d);
    is_str(joined(&d),
           "<inline>:2:1: a config file holds one YAML document; a second one starts here",
           "a second document is refused");
    hg__diag_free(&d);
    rc = load("hangar: 1\nruntime: { mode: uv\n", NULL, 0, NULL, &d);
    like_str(joined(&d), "<inline>:3:1: invalid YAML: ", "a syntax error has its position");
    hg__diag_free(&d);
}

static void test_config_view(void)
{
    static const char text[] = "workers: two\n"
                               "quoted: \"5\"\n"
                               "n: 5\n"
                               "ratio: 0.25\n"
                               "flag: on\n"
                               "qflag: \"yes\"\n"
                               "payload: 64XB\n"
                               "size: 4KiB\n"
                               "wait: 1.5s\n"
                               "nothing: ~\n"
                               "list: [a, b]\n"
                               "lisen: x\n"
                               "qratio: \"0.5\"\n"
                               "qword: \"maybe\"\n";
    static const char *const allowed[] = { "workers", "quoted", "n", "ratio", "flag", "qflag",
                                           "payload", "size", "wait", "nothing", "list",
                                           "qratio", "qword", NULL };
    static const char *const engine_keys[] = { "listen", NULL };
    hg__doc *doc = NULL;
    hg__diag d;
    hg__cfgctx ctx = { &d, "echo" };
    int64_t i = -1;
    double x = 0;
    uint8_t b = 9;
    uint64_t u = 0;
    const char *s = NULL;
    const hg__node *item = NULL;
    const char *key = NULL;

    hg__diag_init(&d);
    is_int(hg__doc_load_string("v.yaml", text, strlen(text), NULL, &doc, &d), 0,
           "a document for the view loads");
    if (!doc)
        return;
    is_int(hg__cfg_int(&ctx, doc->root, "workers", &i), HG_ECONFIG, "'two' is not an integer");
    is_str(joined(&d), "v.yaml:1:10: echo: 'workers' must be an integer, got \"two\"",
           "a type error has the value's position, the instance and the value");
    hg__diag_free(&d);
    is_int(hg__cfg_int(&ctx, doc->root, "quoted", &i), HG_ECONFIG,
           "a quoted scalar is never a number");
    is_str(joined(&d),
           "v.yaml:2:9: echo: 'quoted' must be an integer without quotes (\"5\" in quotes is a "
           "string)", "a quoted integer is told to lose its quotes");
    hg__diag_free(&d);
    is_int(hg__cfg_double(&ctx, doc->root, "qratio", &x), HG_ECONFIG,
           "a quoted \"0.5\" is no number");
    is_str(joined(&d),
           "v.yaml:13:9: echo: 'qratio' must be a number without quotes (\"0.5\" in quotes is a "
           "string)", "and is told to lose its quotes");
    hg__diag_free(&d);
    is_int(hg__cfg_int(&ctx, doc->root, "n", &i), 0, "a plain 5 is an integer");
    is_int(i, 5, "and is 5");
    is_int(hg__cfg_double(&ctx, doc->root, "ratio", &x), 0, "0.25 is a number");
    ok(x == 0.25, "and is 0.25");
    is_int(hg__cfg_bool(&ctx, doc->root, "flag", &b), 0, "on is a bool");
    is_int(b, 1, "on is true");
    is_int(hg__cfg_bool(&ctx, doc->root, "qflag", &b), HG_ECONFIG, "a quoted \"yes\" is no bool");
    is_str(joined(&d),
           "v.yaml:6:8: echo: 'qflag' must be true or false without quotes (\"yes\" in quotes is "
           "a string)", "a quoted bool is told to lose its quotes, not that it is wrong");
    hg__diag_free(&d);
    is_int(hg__cfg_bool(&ctx, doc->root, "qword", &b), HG_ECONFIG, "a quoted \"maybe\" is no bool");
    is_str(joined(&d), "v.yaml:14:8: echo: 'qword' must be true or false, got \"maybe\"",
           "a quoted word that is no bool either is just wrong");
    hg__diag_free(&d);
    is_int(hg__cfg_size(&ctx, doc->root, "payload", &u), HG_ECONFIG, "64XB is not a size");
    is_str(joined(&d),
           "v.yaml:7:10: echo: 'payload': bad size \"64XB\" (use B, KiB, MiB, GiB, kB, MB, GB)",
           "a bad unit lists the units");
    hg__diag_free(&d);
    is_int(hg__cfg_size(&ctx, doc->root, "size", &u), 0, "4KiB is a size");
    ok(u == 4096, "4KiB is 4096 bytes");
    is_int(hg__cfg_duration(&ctx, doc->root, "wait", &u), 0, "1.5s is a duration");
    ok(u == 1500000000ull, "1.5s is 1.5e9 ns");
    u = 77;
    is_int(hg__cfg_duration(&ctx, doc->root, "nothing", &u), HG_ENOENT, "a null value is absent");
    is_int(hg__cfg_string(&ctx, doc->root, "missing", &s), HG_ENOENT, "a missing key is absent");
    ok(u == 77 && s == NULL, "absent values leave *out untouched");
    is_int(hg__cfg_string(&ctx, doc->root, "list", &s), HG_ECONFIG, "a list is not a string");
    hg__diag_free(&d);
    is_int(hg__cfg_at(hg__node_get(doc->root, "list"), 1, &item, &key), 0, "cfg_at reads item 1");
    ok(item && strcmp(item->value, "b") == 0 && key == NULL, "a list item has no key");
    is_int(hg__cfg_at(doc->root, 2, &item, &key), 0, "cfg_at reads map entry 2");
    is_str(key, "n", "a map entry has its key");
    is_int(hg__cfg_at(doc->root, 99, &item, &key), HG_ENOENT, "cfg_at past the end is ENOENT");
    is_int(hg__cfg_check_keys(&ctx, doc->root, allowed, engine_keys), HG_ECONFIG,
           "check_keys rejects an unknown key");
    is_str(joined(&d), "v.yaml:12:1: echo: unknown key 'lisen' (did you mean 'listen'?)",
           "check_keys suggests from both lists");
    hg__diag_free(&d);
    is_int(hg__cfg_error(&ctx, doc->root, "size", "too big for me"), HG_ECONFIG,
           "cfg_error returns HG_ECONFIG");
    is_str(joined(&d), "v.yaml:8:7: echo: too big for me", "cfg_error is at the key's value");
    hg__diag_free(&d);
    hg__doc_free(doc);
}

static void test_config_json(void)
{
    hg__doc *doc = NULL;
    hg__diag d;
    hg__cfgctx ctx = { &d, NULL };
    int64_t i = 0;
    const char *s = NULL;
    uint8_t b = 0;

    hg__diag_init(&d);
    is_int(hg__doc_from_json("{\"n\": 42, \"s\": \"7\", \"b\": true, \"l\": [1, {\"k\": null}]}",
                             &doc, &d),
           0, "a JSON object becomes a tree");
    if (!doc)
        return;
    is_int(hg__cfg_int(&ctx, doc->root, "n", &i), 0, "a JSON integer reads as an integer");
    is_int(i, 42, "with its value");
    is_int(hg__cfg_int(&ctx, doc->root, "s", &i), HG_ECONFIG, "a JSON string is not a number");
    is_int(hg__cfg_string(&ctx, doc->root, "s", &s), 0, "but reads as a string");
    is_int(hg__cfg_bool(&ctx, doc->root, "b", &b), 0, "a JSON true reads as a bool");
    is_int(hg__node_get(doc->root, "l")->n, 2, "a JSON array becomes a list");
    is_str(joined(&d), "'s' must be an integer without quotes (\"7\" in quotes is a string)",
           "errors in JSON trees have no position");
    hg__doc_free(doc);
    hg__diag_free(&d);
    hg__diag_init(&d);
    is_int(hg__doc_from_json("{\"a\": ", &doc, &d), HG_EINVAL, "bad JSON is HG_EINVAL");
    like_str(joined(&d), "invalid JSON: ", "with a message");
    hg__diag_free(&d);
}

static void test_config_files(void)
{
    char dir[] = "/tmp/test-config-XXXXXX";
    char path[256], sub[256];
    hg__config_src src;
    hg__config *cfg = NULL;
    hg__diag d;
    FILE *f;

    if (!mkdtemp(dir)) {
        ok(0, "a temporary directory is made");
        return;
    }
    snprintf(sub, sizeof(sub), "%s/sub.yaml", dir);
    mkdir(sub, 0700);
    snprintf(path, sizeof(path), "%s/run", dir);
    mkdir(path, 0700); /* the control socket's directory must exist */
    snprintf(path, sizeof(path), "%s/hangar.yaml", dir);
    f = fopen(path, "w");
    fputs("hangar: 1\nplugin_path: plugins\ncontrol: { socket: run/h.sock }\n", f);
    fclose(f);
    memset(&src, 0, sizeof(src));
    src.path = path;
    hg__diag_init(&d);
    is_int(hg__config_load(&src, &cfg, &d), 0, "a config file loads");
    if (cfg) {
        ok(cfg->n_plugin_path == 1 && strncmp(cfg->plugin_path[0], dir, strlen(dir)) == 0 &&
               strcmp(cfg->plugin_path[0] + strlen(dir), "/plugins") == 0,
           "a single plugin_path string resolves against the file's directory");
        ok(strcmp(cfg->control_socket + strlen(dir), "/run/h.sock") == 0,
           "the control socket resolves against the file's directory");
    }
    hg__config_free(cfg);
    hg__diag_free(&d);

    src.path = sub;
    hg__diag_init(&d);
    is_int(hg__config_load(&src, &cfg, &d), HG_ECONFIG, "a directory is refused");
    like_str(joined(&d), "sub.yaml: is a directory, not a config file", "and named");
    hg__diag_free(&d);
    snprintf(path, sizeof(path), "%s/none.yaml", dir);
    src.path = path;
    hg__diag_init(&d);
    is_int(hg__config_load(&src, &cfg, &d), HG_ECONFIG, "a missing file is refused");
    like_str(joined(&d), "none.yaml: no such config file", "and named");
    hg__diag_free(&d);
    snprintf(path, sizeof(path), "%s/hangar.yaml", dir);
    src.path = path;
    src.limits.max_file_bytes = 10;
    hg__diag_init(&d);
    is_int(hg__config_load(&src, &cfg, &d), HG_ECONFIG, "a file over the size limit is refused");
    like_str(joined(&d), "hangar.yaml: config file is 63 bytes, over the limit of 10 bytes",
             "and named with its size and the limit");
    hg__diag_free(&d);
    unlink(path);
    rmdir(sub);
    snprintf(path, sizeof(path), "%s/run", dir);
    rmdir(path);
    rmdir(dir);
}

int main(void)
{
    test_config_default();
    test_config_full();
    test_config_set();
    test_config_set_messages();
    test_config_limits();
    test_config_did_you_mean();
    test_config_errors();
    test_config_view();
    test_config_json();
    test_config_files();
    return tap_done();
}
