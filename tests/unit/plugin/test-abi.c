/* test-abi.c - the `abi` suite: the frozen layout of every public SDK struct and constant (the
 * ABI check of ABI.md), HG_HAS_FIELD on old-size structs, and the loader refusing each
 * deliberately broken fixture plugin with its own message while the good ones still load. */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hangar/hangar.h>

#include "loader.h"
#include "tap.h"

#ifndef HG_FIXTURE_DIR
#error "HG_FIXTURE_DIR must name the build directory of tests/plugins"
#endif

/* ---- the frozen layout (LP64). Offsets never change; a struct may only grow. ---- */

typedef struct layout {
    const char *type, *field; /* field NULL: the struct's size */
    size_t got, want;
} layout;

#define S(T, n) {#T, NULL, sizeof(T), n}
#define F(T, f, n) {#T, #f, offsetof(T, f), n}

static const layout frozen[] = {
    S(hg_engine, 40),
    F(hg_engine, struct_size, 0), F(hg_engine, kind, 4), F(hg_engine, name, 8),
    F(hg_engine, summary, 16), F(hg_engine, ops, 24), F(hg_engine, config_keys, 32),
    S(hg_plugin, 64),
    F(hg_plugin, struct_size, 0), F(hg_plugin, abi_major, 4), F(hg_plugin, abi_minor, 6),
    F(hg_plugin, id, 8), F(hg_plugin, version, 16), F(hg_plugin, summary, 24),
    F(hg_plugin, n_engines, 32), F(hg_plugin, engines, 40), F(hg_plugin, init, 48),
    F(hg_plugin, deinit, 56),
    S(hg_counter, 8),
    F(hg_counter, value, 0),
    S(hg_perf, 40),
    F(hg_perf, struct_size, 0), F(hg_perf, reserved, 4), F(hg_perf, busy_ns, 8),
    F(hg_perf, idle_ns, 16), F(hg_perf, turns, 24), F(hg_perf, events, 32),
    S(hg_conn_record, 208),
    F(hg_conn_record, struct_size, 0), F(hg_conn_record, worker, 4), F(hg_conn_record, id, 8),
    F(hg_conn_record, t_open_ns, 16), F(hg_conn_record, t_established_ns, 24),
    F(hg_conn_record, t_first_byte_ns, 32), F(hg_conn_record, t_close_ns, 40),
    F(hg_conn_record, bytes_in, 48), F(hg_conn_record, bytes_out, 56),
    F(hg_conn_record, close_cause, 64), F(hg_conn_record, status, 68),
    F(hg_conn_record, outgoing, 72), F(hg_conn_record, pad, 73), F(hg_conn_record, peer, 80),
    F(hg_conn_record, local, 144),
    S(hg_host, 280),
    F(hg_host, struct_size, 0), F(hg_host, abi_major, 4), F(hg_host, abi_minor, 6),
    F(hg_host, host_data, 8), F(hg_host, name, 16), F(hg_host, log, 24), F(hg_host, log_level, 32),
    F(hg_host, now_ns, 40), F(hg_host, cfg_root, 48), F(hg_host, cfg_type, 56),
    F(hg_host, cfg_child, 64), F(hg_host, cfg_count, 72), F(hg_host, cfg_at, 80),
    F(hg_host, cfg_string, 88), F(hg_host, cfg_int, 96), F(hg_host, cfg_double, 104),
    F(hg_host, cfg_bool, 112), F(hg_host, cfg_size, 120), F(hg_host, cfg_duration, 128),
    F(hg_host, cfg_error, 136), F(hg_host, counter, 144), F(hg_host, set_info, 152),
    F(hg_host, set_state, 160), F(hg_host, record, 168), F(hg_host, perf_register, 176),
    F(hg_host, thread_spawn, 184), F(hg_host, thread_join, 192), F(hg_host, cancel_token, 200),
    F(hg_host, cancel_child, 208), F(hg_host, cancel, 216), F(hg_host, is_cancelled, 224),
    F(hg_host, cancel_wait, 232), F(hg_host, cancel_subscribe, 240),
    F(hg_host, cancel_unsubscribe, 248), F(hg_host, cancel_release, 256),
    F(hg_host, resolve_address, 264), F(hg_host, get_extension, 272),
    S(hg_conn_handler, 64),
    F(hg_conn_handler, struct_size, 0), F(hg_conn_handler, on_accept, 8),
    F(hg_conn_handler, on_connected, 16), F(hg_conn_handler, on_data, 24),
    F(hg_conn_handler, on_writable, 32), F(hg_conn_handler, on_peer_shutdown, 40),
    F(hg_conn_handler, on_timeout, 48), F(hg_conn_handler, on_closed, 56),
    S(hg_net, 176),
    F(hg_net, struct_size, 0), F(hg_net, self, 8), F(hg_net, workers, 16),
    F(hg_net, current_worker, 24), F(hg_net, post, 32), F(hg_net, listen, 40),
    F(hg_net, listener_address, 48), F(hg_net, listener_close, 56), F(hg_net, connect, 64),
    F(hg_net, write, 72), F(hg_net, queued, 80), F(hg_net, set_water, 88),
    F(hg_net, read_pause, 96), F(hg_net, read_resume, 104), F(hg_net, shutdown_write, 112),
    F(hg_net, close, 120), F(hg_net, set_timeouts, 128), F(hg_net, conn_info, 136),
    F(hg_net, set_conn_ud, 144), F(hg_net, conn_worker, 152), F(hg_net, timer_start, 160),
    F(hg_net, timer_stop, 168),
    S(hg_frame, 48),
    F(hg_frame, struct_size, 0), F(hg_frame, type, 4), F(hg_frame, buf, 8), F(hg_frame, data, 16),
    F(hg_frame, len, 24), F(hg_frame, reserved, 28), F(hg_frame, ts_ns, 32), F(hg_frame, seq, 40),
    S(hg_runtime_mode_ops, 88),
    F(hg_runtime_mode_ops, struct_size, 0), F(hg_runtime_mode_ops, create, 8),
    F(hg_runtime_mode_ops, destroy, 16), F(hg_runtime_mode_ops, start, 24),
    F(hg_runtime_mode_ops, request_stop, 32), F(hg_runtime_mode_ops, join, 40),
    F(hg_runtime_mode_ops, bytes_sent, 48), F(hg_runtime_mode_ops, bytes_received, 56),
    F(hg_runtime_mode_ops, net_open, 64), F(hg_runtime_mode_ops, net_close, 72),
    F(hg_runtime_mode_ops, command, 80),
    S(hg_pipeline_ops, 48),
    F(hg_pipeline_ops, struct_size, 0), F(hg_pipeline_ops, create, 8),
    F(hg_pipeline_ops, destroy, 16), F(hg_pipeline_ops, start, 24), F(hg_pipeline_ops, stop, 32),
    F(hg_pipeline_ops, command, 40),
    S(hg_stream_desc, 40),
    F(hg_stream_desc, struct_size, 0), F(hg_stream_desc, policy, 4), F(hg_stream_desc, name, 8),
    F(hg_stream_desc, cfg, 16), F(hg_stream_desc, max_pending_events, 24),
    F(hg_stream_desc, max_pending_actions, 28), F(hg_stream_desc, core, 32),
    F(hg_stream_desc, healthy_at_start, 36), F(hg_stream_desc, pad, 37),
    S(hg_connector_ops, 56),
    F(hg_connector_ops, struct_size, 0), F(hg_connector_ops, create, 8),
    F(hg_connector_ops, destroy, 16), F(hg_connector_ops, stream_open, 24),
    F(hg_connector_ops, stream_run, 32), F(hg_connector_ops, stream_close, 40),
    F(hg_connector_ops, command, 48),
    S(hg_stream_api, 56),
    F(hg_stream_api, struct_size, 0), F(hg_stream_api, token, 8), F(hg_stream_api, buf_alloc, 16),
    F(hg_stream_api, emit, 24), F(hg_stream_api, next_action, 32), F(hg_stream_api, publish, 40),
    F(hg_stream_api, buf_unref, 48),
    S(hg_port_decl, 24),
    F(hg_port_decl, struct_size, 0), F(hg_port_decl, direction, 4), F(hg_port_decl, name, 8),
    F(hg_port_decl, type, 16), F(hg_port_decl, flags, 20),
    S(hg_processor_ops, 64),
    F(hg_processor_ops, struct_size, 0), F(hg_processor_ops, n_ports, 4),
    F(hg_processor_ops, ports, 8), F(hg_processor_ops, create, 16),
    F(hg_processor_ops, destroy, 24), F(hg_processor_ops, setup, 32),
    F(hg_processor_ops, process, 40), F(hg_processor_ops, teardown, 48),
    F(hg_processor_ops, command, 56),
    S(hg_graph_api, 56),
    F(hg_graph_api, struct_size, 0), F(hg_graph_api, pop, 8), F(hg_graph_api, push, 16),
    F(hg_graph_api, buf_alloc, 24), F(hg_graph_api, buf_ref, 32), F(hg_graph_api, buf_unref, 40),
    F(hg_graph_api, commit, 48),
};

typedef struct konst {
    const char *name;
    long long got, want;
} konst;

#define K(name, n) {#name, (long long)(name), n}

static const konst frozen_constants[] = {
    K(HG_OK, 0), K(HG_EINVAL, -1), K(HG_ENOMEM, -2), K(HG_ENOENT, -3), K(HG_EEXIST, -4),
    K(HG_EAGAIN, -5), K(HG_ETIMEDOUT, -6), K(HG_ECANCELED, -7), K(HG_ECONFIG, -8), K(HG_EABI, -9),
    K(HG_ENOTSUP, -10), K(HG_ESTATE, -11), K(HG_EIO, -12), K(HG_ENOSPC, -13),
    K(HG_ECONNREFUSED, -14), K(HG_ECONNRESET, -15), K(HG_EADDRINUSE, -16),
    K(HG_EADDRNOTAVAIL, -17), K(HG_EPIPE, -18), K(HG_ECLOSED, -19), K(HG_EPROTO, -20),
    K(HG_EFAIL, -21), K(HG_ELOAD, -22), K(HG_EPERM, -23), K(HG_EOVERFLOW, -24),
    K(HG_ENETUNREACH, -25), K(HG_EHOSTUNREACH, -26), K(HG_EMFILE, -27),
    K(HG_KIND_RUNTIME_MODE, 1),
    K(HG_KIND_PIPELINE, 2), K(HG_KIND_CONNECTOR, 3), K(HG_KIND_PROCESSOR, 4),
    K(HG_STATE_CREATED, 1), K(HG_STATE_READY, 2), K(HG_STATE_RUNNING, 3), K(HG_STATE_PAUSED, 4),
    K(HG_STATE_STOPPING, 5), K(HG_STATE_STOPPED, 6), K(HG_STATE_FAILED, 7), K(HG_LOG_ERROR, 1),
    K(HG_LOG_WARN, 2), K(HG_LOG_INFO, 3), K(HG_LOG_DEBUG, 4), K(HG_LOG_TRACE, 5),
    K(HG_COUNTER_SUM, 1), K(HG_COUNTER_GAUGE, 2), K(HG_CFG_NONE, 0), K(HG_CFG_SCALAR, 1),
    K(HG_CFG_MAP, 2), K(HG_CFG_SEQ, 3), K(HG_CORE_ANY, -1), K(HG_CORE_AUTO, -2),
    K(HG_CLOSE_NONE, 0), K(HG_CLOSE_ACTIVE, 1), K(HG_CLOSE_PASSIVE, 2),
    K(HG_CLOSE_ACTIVE_RESET, 3), K(HG_CLOSE_PASSIVE_RESET, 4), K(HG_CLOSE_TIMEOUT, 5),
    K(HG_CLOSE_CONNECT_FAILED, 6), K(HG_CLOSE_ERROR, 7), K(HG_CLOSE_SHUTDOWN, 8),
    K(HG_CLOSE_GRACEFUL, 1), K(HG_CLOSE_RESET, 2), K(HG_TIMEOUT_IDLE, 1), K(HG_TIMEOUT_READ, 2),
    K(HG_TIMEOUT_WRITE, 3), K(HG_POLICY_BLOCK, 1), K(HG_POLICY_DROP_NEWEST, 2),
    K(HG_POLICY_DROP_OLDEST, 3), K(HG_TYPE_ANY, 0), K(HG_TYPE_BYTES, 1), K(HG_TYPE_TEXT, 2),
    K(HG_TYPE_TICK, 3), K(HG_TYPE_USER, 0x10000), K(HG_STOP_GRACEFUL, 1), K(HG_STOP_NOW, 2),
    K(HG_PORT_IN, 1), K(HG_PORT_OUT, 2), K(HG_PROCESS_IDLE, 1), K(HG_PROCESS_DONE, 2),
};

static void test_layout(void)
{
    size_t n = sizeof frozen / sizeof frozen[0];

    if (sizeof(void *) != 8 || sizeof(uint64_t) != 8 || _Alignof(uint64_t) != 8) {
        printf("ok %d - # SKIP the frozen layout table is for LP64 targets\n", ++tap_n);
        return;
    }
    for (size_t i = 0; i < n;) {
        const char *type = frozen[i].type;
        int bad = 0, fields = 0;
        for (; i < n && strcmp(frozen[i].type, type) == 0; i++) {
            const layout *l = &frozen[i];
            int wrong = l->field ? l->got != l->want : l->got < l->want;
            fields += l->field != NULL;
            if (wrong) {
                bad++;
                tap_diag("%s%s%s is %zu, frozen at %zu", l->field ? "offsetof " : "sizeof ",
                         type, l->field ? "." : "", l->got, l->want);
                if (l->field)
                    tap_diag("  (field %s)", l->field);
            }
        }
        ok(!bad, "%s keeps its frozen layout (%d fields at their 1.x offsets)", type, fields);
    }
    is_int(HG_ENGINE_SIZE_1_0, 32, "HG_ENGINE_SIZE_1_0 is 32 bytes, as in ABI 1.0");
    is_int(HG_PLUGIN_SIZE_1_0, 64, "HG_PLUGIN_SIZE_1_0 is 64 bytes, as in ABI 1.0");
}

static void test_constants(void)
{
    size_t n = sizeof frozen_constants / sizeof frozen_constants[0];
    int bad = 0;

    for (size_t i = 0; i < n; i++) {
        if (frozen_constants[i].got != frozen_constants[i].want) {
            bad++;
            tap_diag("%s is %lld, frozen at %lld", frozen_constants[i].name,
                     frozen_constants[i].got, frozen_constants[i].want);
        }
    }
    ok(!bad, "all %zu enum constants of the SDK keep their fixed values", n);
    is_int(HG_ABI_MAJOR, 1, "the SDK speaks ABI major 1");
    is_str(HG_ENTRY_SYMBOL, "hangar_plugin", "the entry symbol is hangar_plugin");
}

static void test_has_field(void)
{
    hg_engine e;
    hg_plugin p;

    memset(&e, 0, sizeof e);
    e.struct_size = (uint32_t)HG_ENGINE_SIZE_1_0;
    ok(HG_HAS_FIELD(&e, hg_engine, ops), "HG_HAS_FIELD sees ops in a 1.0-size hg_engine");
    ok(!HG_HAS_FIELD(&e, hg_engine, config_keys),
       "HG_HAS_FIELD does not see config_keys in a 1.0-size hg_engine");
    e.struct_size = sizeof(hg_engine);
    ok(HG_HAS_FIELD(&e, hg_engine, config_keys),
       "HG_HAS_FIELD sees config_keys in a 1.1-size hg_engine");
    memset(&p, 0, sizeof p);
    p.struct_size = 8;
    ok(HG_HAS_FIELD(&p, hg_plugin, abi_minor) && !HG_HAS_FIELD(&p, hg_plugin, id),
       "HG_HAS_FIELD on an 8-byte hg_plugin sees the version header and nothing more");
}

/* ---- descriptors built in memory, checked by hg__check_descriptor ---- */

static int nop_create(const hg_host *h, const hg_config *c, void **out)
{
    (void)h;
    (void)c;
    *out = NULL;
    return 0;
}
static void nop_destroy(void *i) { (void)i; }
static int nop_pl_start(void *i, const hg_net *n) { (void)i; (void)n; return 0; }
static void nop_pl_stop(void *i, uint32_t how) { (void)i; (void)how; }
static int nop_process(void *i, hg_proc *p) { (void)i; (void)p; return HG_PROCESS_DONE; }

static const hg_pipeline_ops good_pl = {sizeof(hg_pipeline_ops), nop_create, nop_destroy,
                                        nop_pl_start, nop_pl_stop, NULL};

/* Checks a one-engine descriptor; returns the first message (static buffer) and *rc. */
static const char *check_one(const hg_plugin *p, int *rc)
{
    static char buf[512];
    hg__diag d;
    char *s;

    hg__diag_init(&d);
    *rc = hg__check_descriptor("mem.so", p, &d);
    s = d.n ? hg__diag_format(&d, 0) : NULL;
    snprintf(buf, sizeof buf, "%s", s ? s : "");
    free(s);
    hg__diag_free(&d);
    return buf;
}

static hg_plugin plugin_of(const hg_engine *engines, uint32_t n)
{
    hg_plugin p = {HG_PLUGIN_INIT, "org.test.mem", "1.0.0", NULL, n, engines, NULL, NULL};
    return p;
}

static void test_descriptor_header(void)
{
    hg_engine e = {sizeof(hg_engine), HG_KIND_PIPELINE, "ok-engine", NULL, &good_pl, NULL};
    hg_plugin p = plugin_of(&e, 1);
    char want[160];
    int rc;

    is_str(check_one(&p, &rc), "", "a well-formed in-memory descriptor passes the check");
    is_int(rc, 0, "and the check returns 0");
    p.abi_major = 2;
    p.abi_minor = 0;
    is_str(check_one(&p, &rc), "mem.so: built for ABI 2.0, this host speaks ABI 1.3",
           "a descriptor for ABI 2.0 is refused, naming both versions");
    is_int(rc, HG_EABI, "with HG_EABI");
    p = plugin_of(&e, 1);
    p.abi_minor = 0;
    is_str(check_one(&p, &rc), "", "a descriptor of an older minor (1.0) is accepted");
    p.abi_minor = HG_ABI_MINOR + 5;
    is_str(check_one(&p, &rc), "", "a descriptor of a newer minor is accepted (sizes decide)");
    p = plugin_of(&e, 1);
    p.struct_size = 8;
    snprintf(want, sizeof want, "mem.so: hg_plugin struct_size 8 is smaller than ABI 1.0's %zu",
             (size_t)HG_PLUGIN_SIZE_1_0);
    is_str(check_one(&p, &rc), want, "an 8-byte hg_plugin is refused");
    p.struct_size = 2;
    like_str(check_one(&p, &rc), "hg_plugin struct_size 2 is smaller",
             "a 2-byte hg_plugin is refused before its version is read");
    p = plugin_of(NULL, 3);
    is_str(check_one(&p, &rc), "mem.so: n_engines is 3 but engines is NULL",
           "a NULL engines array with n_engines 3 is refused");
    is_int(rc, HG_EINVAL, "with HG_EINVAL");
    p = plugin_of(&e, 1);
    p.id = NULL;
    is_str(check_one(&p, &rc), "mem.so: the descriptor has no id", "a descriptor without id is refused");
    e.struct_size = 16;
    p = plugin_of(&e, 1);
    is_str(check_one(&p, &rc),
           "mem.so: engine #1: hg_engine struct_size 16 is smaller than ABI 1.0's 32",
           "an engine whose struct_size is below ABI 1.0's is refused");
}

static void test_descriptor_engines(void)
{
    hg_engine two[2] = {
        {sizeof(hg_engine), HG_KIND_PIPELINE, "same", NULL, &good_pl, NULL},
        {sizeof(hg_engine), HG_KIND_PIPELINE, "same", NULL, &good_pl, NULL},
    };
    hg_engine e = {sizeof(hg_engine), HG_KIND_PIPELINE, NULL, NULL, &good_pl, NULL};
    hg_plugin p = plugin_of(&e, 1);
    int rc;

    is_str(check_one(&p, &rc), "mem.so: engine #1 has no name", "an engine without a name is refused");
    e.name = "Bad Name";
    is_str(check_one(&p, &rc),
           "mem.so: engine #1: invalid name 'Bad Name' (must match [a-z0-9_-]+)",
           "an engine named 'Bad Name' is refused");
    e.name = "e1";
    e.kind = 9;
    is_str(check_one(&p, &rc), "mem.so: engine 'e1': unknown kind 9", "an unknown kind is refused");
    e.kind = HG_KIND_PIPELINE;
    e.ops = NULL;
    is_str(check_one(&p, &rc), "mem.so: engine 'e1': ops is NULL", "NULL ops are refused");
    p = plugin_of(two, 2);
    is_str(check_one(&p, &rc), "mem.so: engine 'same' is listed twice",
           "two engines of one plugin with the same name are refused");
    two[1].name = "other";
    two[1].struct_size = (uint32_t)HG_ENGINE_SIZE_1_0;
    is_str(check_one(&p, &rc), "mem.so: engine #2: struct_size 32 differs from the first engine's 40",
           "engines of one array with different struct_size are refused");
}

static void test_descriptor_ops(void)
{
    hg_runtime_mode_ops rt = {.struct_size = sizeof(hg_runtime_mode_ops)};
    hg_pipeline_ops pl = good_pl;
    hg_connector_ops co = {sizeof(hg_connector_ops), nop_create, nop_destroy, NULL, NULL, NULL, NULL};
    hg_processor_ops pr = {sizeof(hg_processor_ops), 2, NULL, nop_create, nop_destroy, NULL,
                           nop_process, NULL, NULL};
    hg_engine e = {sizeof(hg_engine), HG_KIND_RUNTIME_MODE, "k", NULL, &rt, NULL};
    hg_plugin p = plugin_of(&e, 1);
    char want[200];
    int rc;

    is_str(check_one(&p, &rc), "mem.so: engine 'k': mandatory runtime_mode callbacks are NULL: "
           "create, destroy, start, request_stop, join, net_open, net_close",
           "a runtime mode without its mandatory callbacks is refused, naming each");
    rt.struct_size = 8;
    snprintf(want, sizeof want, "mem.so: engine 'k': runtime_mode ops struct_size 8 is smaller "
             "than ABI 1.0's %zu", sizeof(hg_runtime_mode_ops));
    is_str(check_one(&p, &rc), want, "a runtime-mode ops table that is too small is refused");
    is_int(rc, HG_EABI, "with HG_EABI");
    e.kind = HG_KIND_PIPELINE;
    e.ops = &pl;
    pl.stop = NULL;
    is_str(check_one(&p, &rc), "mem.so: engine 'k': mandatory pipeline callback is NULL: stop",
           "a pipeline without stop is refused");
    pl.stop = nop_pl_stop;
    pl.command = NULL;
    is_str(check_one(&p, &rc), "", "a pipeline without the optional command is accepted");
    e.kind = HG_KIND_CONNECTOR;
    e.ops = &co;
    is_str(check_one(&p, &rc), "mem.so: engine 'k': mandatory connector callbacks are NULL: "
           "stream_open, stream_run, stream_close", "a connector without its stream callbacks is refused");
    e.kind = HG_KIND_PROCESSOR;
    e.ops = &pr;
    is_str(check_one(&p, &rc), "mem.so: engine 'k': n_ports is 2 but ports is NULL",
           "a processor declaring 2 ports with a NULL ports array is refused");
    pr.n_ports = 0;
    is_str(check_one(&p, &rc), "", "a processor without ports, setup or teardown is accepted");
    pr.process = NULL;
    is_str(check_one(&p, &rc), "mem.so: engine 'k': mandatory processor callback is NULL: process",
           "a processor without process is refused");
}

/* ---- fixture files, probed in a child process ---- */

#define BROKEN HG_FIXTURE_DIR "/broken"
#define GOOD HG_FIXTURE_DIR "/good"

static double ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Probes the given path entries; returns the set (caller frees). */
static hg__probe_set probe(const char *a, const char *b, uint32_t timeout_ms)
{
    char *path[3] = {(char *)a, (char *)b, NULL};
    hg__probe_set set = {0};
    int rc = hg__probe_path_timeout(path, timeout_ms, &set);
    if (rc != 0)
        tap_diag("hg__probe_path failed: %s", hg_strerror(rc));
    return set;
}

static const hg__probe *find_probe(const hg__probe_set *s, const char *suffix)
{
    size_t n = strlen(suffix);
    for (uint32_t i = 0; i < s->n; i++) {
        size_t m = strlen(s->items[i].path);
        if (m >= n && strcmp(s->items[i].path + m - n, suffix) == 0)
            return &s->items[i];
    }
    return NULL;
}

/* Probes one file and checks its refusal message. */
static void refused(const char *file, const char *reason, int status, const char *what)
{
    hg__probe_set s = probe(file, NULL, HG__PROBE_TIMEOUT_MS);
    char want[512];

    snprintf(want, sizeof want, "%s: %s", file, reason);
    is_str(s.n == 1 ? s.items[0].error : NULL, want, "loader refuses %s", what);
    if (status)
        is_int(s.n == 1 ? s.items[0].status : 0, status, "  with %s", hg_err_name(status));
    hg__probe_set_free(&s);
}

static void test_fixture_refusals(void)
{
    char small[128];

    refused(BROKEN "/abi-major.so", "built for ABI 2.0, this host speaks ABI 1.3", HG_EABI,
            "a plugin built for ABI 2");
    refused(BROKEN "/no-symbol.so", "no symbol 'hangar_plugin' (not a hangar plugin, or built "
            "without HG_EXPORT)", HG_ELOAD, "a plugin without the hangar_plugin symbol");
    snprintf(small, sizeof small, "hg_plugin struct_size 8 is smaller than ABI 1.0's %zu",
             (size_t)HG_PLUGIN_SIZE_1_0);
    refused(BROKEN "/small-struct.so", small, HG_EABI, "a plugin whose descriptor is 8 bytes");
    refused(BROKEN "/null-ops.so", "engine 'fixture-noops': ops is NULL", HG_EINVAL,
            "a plugin whose engine has NULL ops");
    refused(BROKEN "/bad-name.so", "engine #1: invalid name 'Bad Name' (must match [a-z0-9_-]+)",
            HG_EINVAL, "a plugin whose engine is named 'Bad Name'");
    refused(BROKEN "/ctor-crash.so", "crashed while loading (signal 11, Segmentation fault)",
            HG_ELOAD, "a plugin whose constructor crashes, and lives");
    refused(BROKEN "/not-so.so", "invalid ELF header", HG_ELOAD, "a text file named *.so");
    refused(BROKEN "/missing.so", "cannot open shared object file: No such file or directory",
            HG_ELOAD, "a missing file named on the path");
}

/* As root, chmod 000 does not stop reading: probe in a child that drops to uid/gid 65534. */
static void unreadable_as_nobody(const char *dir, const char *file)
{
    char want[512], got[512] = "";
    int fds[2], status = 0;
    ssize_t n = 0;
    pid_t pid;

    snprintf(want, sizeof want, "%s: cannot open shared object file: Permission denied", file);
    if (chmod(dir, 0755) != 0 || pipe(fds) != 0) {
        printf("ok %d - # SKIP cannot set up the unprivileged probe\n", ++tap_n);
        return;
    }
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        char *path[] = {(char *)file, NULL};
        hg__probe_set s = {0};
        close(fds[0]);
        if (setgid(65534) != 0 || setuid(65534) != 0)
            _exit(3);
        if (hg__probe_path(path, &s) != 0 || s.n != 1 || !s.items[0].error)
            _exit(4);
        if (write(fds[1], s.items[0].error, strlen(s.items[0].error)) < 0)
            _exit(5);
        _exit(0);
    }
    close(fds[1]);
    if (pid > 0)
        n = read(fds[0], got, sizeof got - 1);
    close(fds[0]);
    if (pid > 0)
        waitpid(pid, &status, 0);
    got[n > 0 ? n : 0] = '\0';
    if (pid < 0 || (WIFEXITED(status) && WEXITSTATUS(status) == 3)) {
        printf("ok %d - # SKIP running as root and cannot drop to uid 65534\n", ++tap_n);
        return;
    }
    is_str(got, want, "loader refuses a plugin file it may not read (probed as uid 65534)");
}

static void test_unreadable(void)
{
    char dir[] = "/tmp/hg-abi-XXXXXX";
    char file[64], fifo[64], cmd[256];
    int made = mkdtemp(dir) != NULL;

    snprintf(file, sizeof file, "%s/unreadable.so", dir);
    snprintf(fifo, sizeof fifo, "%s/fifo.so", dir);
    snprintf(cmd, sizeof cmd, "cp %s/fixture-good.so %s && chmod 000 %s", GOOD, file, file);
    ok(made && system(cmd) == 0, "an unreadable copy of a good plugin is made");
    if (geteuid() == 0) {
        unreadable_as_nobody(dir, file);
    } else {
        refused(file, "cannot open shared object file: Permission denied", HG_ELOAD,
                "a plugin file it may not read");
    }
    ok(mkfifo(fifo, 0600) == 0, "a FIFO named fifo.so is made");
    refused(fifo, "not a regular file", HG_ELOAD, "a FIFO named *.so without opening it");
    unlink(fifo);
    unlink(file);
    rmdir(dir);
}

static void test_duplicates(void)
{
    hg__probe_set s = probe(BROKEN "/dup-a.so", BROKEN "/dup-b.so", HG__PROBE_TIMEOUT_MS);
    hg__probe_set r = probe(BROKEN "/dup-b.so", BROKEN "/dup-a.so", HG__PROBE_TIMEOUT_MS);

    is_int(s.n == 2 ? s.items[0].status : -99, 0, "of two plugins providing one engine, the first loads");
    is_str(s.n == 2 ? s.items[1].error : NULL,
           BROKEN "/dup-b.so: engine 'fixture-dup' is already provided by " BROKEN "/dup-a.so",
           "loader refuses the later plugin providing an engine name already taken");
    is_int(s.n == 2 ? s.items[1].status : 0, HG_EEXIST, "  with EEXIST");
    is_str(r.n == 2 ? r.items[1].error : NULL,
           BROKEN "/dup-a.so: engine 'fixture-dup' is already provided by " BROKEN "/dup-b.so",
           "in the other search order the other file is refused");
    hg__probe_set_free(&s);
    hg__probe_set_free(&r);
}

static void test_scan_with_crash(void)
{
    hg__probe_set s = probe(BROKEN, GOOD, HG__PROBE_TIMEOUT_MS);
    const hg__probe *crash = find_probe(&s, "/ctor-crash.so");
    const hg__probe *good = find_probe(&s, "/fixture-good.so");
    const hg__probe *nosym = find_probe(&s, "/no-symbol.so");
    const hg__probe *small = find_probe(&s, "/small-struct.so");
    const hg__probe *dupa = find_probe(&s, "/dup-a.so");
    int ok_count = 0;

    is_int(s.n, 12, "a scan of broken/ and good/ finds all 12 candidates");
    for (uint32_t i = 0; i < s.n; i++)
        ok_count += s.items[i].status == 0;
    is_int(ok_count, 4, "four of them load (dup-a, fixture-good, fixture-graph, old-minor)");
    like_str(crash ? crash->error : NULL, "crashed while loading (signal 11",
             "the crashing plugin is reported in the scan");
    like_str(nosym ? nosym->error : NULL, "no symbol 'hangar_plugin'",
             "a file after the crash in the same directory gets its own verdict");
    like_str(small ? small->error : NULL, "hg_plugin struct_size 8",
             "so does the last file of the directory");
    ok(dupa && dupa->status == 0, "a good plugin after the crash still lists");
    ok(good && good->status == 0 && good->n_engines == 4, "fixture-good lists with 4 engines");
    if (good && good->n_engines == 4) {
        is_str(good->id, "org.hangar.test.fixture-good", "  its id is read");
        is_str(good->version, "1.2.3", "  its version is read");
        is_int(good->abi_major * 100 + good->abi_minor, HG_ABI_MAJOR * 100 + HG_ABI_MINOR,
               "  its ABI is the current one");
        is_str(good->engines[3].name, "fixture-pass", "  its fourth engine is fixture-pass");
        is_int(good->engines[3].kind, HG_KIND_PROCESSOR, "  which is a processor");
    }
    hg__probe_set_free(&s);
}

static void test_timeout_and_speed(void)
{
    struct timespec t0;
    hg__probe_set s;
    double ms;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    s = probe(HG_FIXTURE_DIR "/hang", GOOD, 300);
    ms = ms_since(&t0);
    is_str(s.n == 4 ? s.items[0].error : NULL,
           HG_FIXTURE_DIR "/hang/ctor-hang.so: timed out while loading (after 300 ms)",
           "loader refuses a plugin whose constructor hangs, after the timeout");
    is_int(s.n == 4 ? s.items[0].status : 0, HG_ETIMEDOUT, "  with ETIMEDOUT");
    ok(s.n == 4 && s.items[1].status == 0 && s.items[2].status == 0 && s.items[3].status == 0,
       "the files after the hanging one are probed by a new child");
    ok(ms < 3000, "the hang costs about one timeout (%.0f ms)", ms);
    hg__probe_set_free(&s);

    clock_gettime(CLOCK_MONOTONIC, &t0);
    {
        char *path[] = {GOOD "/fixture-good.so", GOOD "/old-minor.so", BROKEN "/dup-a.so",
                        BROKEN "/abi-major.so", NULL};
        int rc = hg__probe_path(path, &s);
        ms = ms_since(&t0);
        ok(rc == 0 && s.n == 4, "four plugins are probed in one child");
        tap_diag("probing 4 plugins took %.2f ms", ms);
        ok(ms < 200, "probing four plugins is fast (%.2f ms; one fork, no exec)", ms);
        hg__probe_set_free(&s);
    }
}

static void test_old_minor(void)
{
    hg__probe_set s = probe(GOOD "/old-minor.so", NULL, HG__PROBE_TIMEOUT_MS);
    hg__registry *r = NULL;
    const hg__engine_def *first, *second;
    hg__diag d;
    int rc;

    ok(s.n == 1 && s.items[0].status == 0, "a plugin built against ABI 1.0 probes as loadable");
    if (s.n == 1 && s.items[0].n_engines == 2) {
        is_int(s.items[0].abi_minor, 0, "  its ABI minor reads as 0");
        is_str(s.items[0].engines[1].name, "fixture-old-second",
               "  its second engine is found by the plugin's own stride");
    } else {
        ok(0, "  it lists two engines");
        ok(0, "  (skipped)");
    }
    hg__probe_set_free(&s);

    hg__diag_init(&d);
    hg__registry_new(&r);
    rc = hg__registry_load_file(r, GOOD "/old-minor.so", &d);
    is_int(rc, 0, "the ABI 1.0 plugin loads in this process");
    hg__diag_print(&d, stdout);
    first = hg__registry_find(r, "fixture-old-first");
    second = hg__registry_find(r, "fixture-old-second");
    ok(first && first->config_keys == NULL, "its first engine's config_keys read as NULL");
    ok(second && second->config_keys == NULL && second->kind == HG_KIND_PIPELINE,
       "its second engine is a pipeline whose config_keys read as NULL");
    is_str(second ? second->summary : NULL, "another ABI 1.0 engine",
           "  and its summary is read from the right place");
    ok(second && second->plugin && second->plugin->desc->abi_minor == 0,
       "the registry keeps the plugin's ABI minor");
    hg__registry_free(r);
    hg__diag_free(&d);
}

static void test_registry_refusals(void)
{
    hg__registry *r = NULL;
    hg__diag d;
    char *msg;
    int rc;

    hg__diag_init(&d);
    hg__registry_new(&r);
    rc = hg__registry_load_file(r, BROKEN "/abi-major.so", &d);
    msg = d.n ? hg__diag_format(&d, 0) : NULL;
    is_str(msg, BROKEN "/abi-major.so: built for ABI 2.0, this host speaks ABI 1.3",
           "an in-process load re-checks the descriptor and refuses ABI 2");
    is_int(rc, HG_EABI, "  with EABI");
    free(msg);
    hg__diag_free(&d);
    rc = hg__registry_load_file(r, BROKEN "/dup-a.so", &d);
    rc |= hg__registry_load_file(r, BROKEN "/dup-b.so", &d);
    msg = d.n ? hg__diag_format(&d, 0) : NULL;
    is_str(msg, BROKEN "/dup-b.so: engine 'fixture-dup' is already provided by " BROKEN "/dup-a.so",
           "the registry refuses a second provider of one engine");
    is_str(hg__registry_find(r, "fixture-dup") ? hg__registry_find(r, "fixture-dup")->summary : NULL,
           "dup-a", "  and keeps the first one");
    free(msg);
    hg__registry_free(r);
    hg__diag_free(&d);
}

int main(void)
{
    test_layout();
    test_constants();
    test_has_field();
    test_descriptor_header();
    test_descriptor_engines();
    test_descriptor_ops();
    test_fixture_refusals();
    test_unreadable();
    test_duplicates();
    test_scan_with_crash();
    test_timeout_and_speed();
    test_old_minor();
    test_registry_refusals();
    return tap_done();
}
