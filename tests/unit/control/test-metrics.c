/* test-metrics.c - the histogram service an engine registers through (hangar.histogram/1) and
 * what it refuses, the Prometheus exposition of instances (names, types, labels escaped,
 * cumulative buckets, a name claimed by two types), and the logger's per-instance levels,
 * formats and file reopen. */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "metrics.h"
#include "tap.h"

static const uint64_t bounds3[] = {10, 100, 1000};

static const hg_histogram_api *api_of(hg__inst *in)
{
    const hg_host *h = hg__inst_host(in);
    return h->get_extension(h, HG_HISTOGRAM_EXT);
}

static void test_histogram_service_refuses(void)
{
    hg__inst *in = NULL;
    const hg_histogram_api *api;
    hg_histogram *a = NULL, *b = NULL;
    hg_counter *c = NULL;
    const uint64_t unsorted[] = {10, 10}, many[HG_HISTOGRAM_MAX_BOUNDS + 1] = {0};
    const hg_host *h;
    hg__inst_new_standalone("hist", NULL, NULL, NULL, &in);
    h = hg__inst_host(in);
    api = api_of(in);
    ok(api != NULL && api->struct_size == sizeof *api, "every instance offers hangar.histogram/1");
    is_int(api->histogram(h, "Bad-Name", bounds3, 3, 1e-9, &a), HG_EINVAL,
           "a name outside [a-z0-9_] is refused");
    is_int(api->histogram(h, "lat", unsorted, 2, 0, &a), HG_EINVAL,
           "bounds that are not strictly ascending are refused");
    is_int(api->histogram(h, "lat", bounds3, 0, 0, &a), HG_EINVAL, "no bounds are refused");
    is_int(api->histogram(h, "lat", many, HG_HISTOGRAM_MAX_BOUNDS + 1, 0, &a), HG_EINVAL,
           "more than HG_HISTOGRAM_MAX_BOUNDS bounds are refused");
    h->counter(h, "taken", HG_COUNTER_SUM, &c);
    is_int(api->histogram(h, "taken", bounds3, 3, 0, &a), HG_EEXIST,
           "a name a counter has is refused");
    is_int(api->histogram(h, "state", bounds3, 3, 0, &a), HG_EEXIST,
           "a key the host writes itself is refused");
    is_int(api->histogram(h, "lat", bounds3, 3, 1e-9, &a), 0, "a histogram registers");
    is_int(api->histogram(h, "lat", bounds3, 3, 1e-9, &b), 0, "  and again with the same bounds");
    ok(a == b, "  giving the same cells");
    is_int(api->histogram(h, "lat", bounds3, 2, 1e-9, &b), HG_EEXIST,
           "  other bounds under that name are refused");
    is_int(hg_histogram_bucket(a, 10), 0, "a value equal to a bound falls in that bound's bucket");
    is_int(hg_histogram_bucket(a, 11), 1, "one above it in the next");
    is_int(hg_histogram_bucket(a, 5000), 3, "one above the last bound in the +Inf bucket");
    hg__inst_free(in);
}

/* A fake entry around a standalone instance (the exposition reads def and in only). */
typedef struct fake {
    hg__engine_def def;
    hg__entry e;
    json_t *obj;
} fake;

static void fake_init(fake *f, const char *name, const char *engine, uint32_t kind)
{
    memset(f, 0, sizeof *f);
    f->def.name = engine;
    f->def.kind = kind;
    f->e.def = &f->def;
    hg__inst_new_standalone(name, NULL, NULL, NULL, &f->e.in);
}

static void test_metrics_exposition(void)
{
    fake a, b;
    hg__entry *entries[2] = {&a.e, &b.e};
    void *objs[2];
    hg__metrics_src src = {entries, objs, 2, 2500000000ull, 2, 0, 3, NULL};
    hg_counter *c;
    hg_histogram *hi = NULL;
    const hg_host *ha, *hb;
    char *text;
    fake_init(&a, "quote\"back\\slash", "eng-a", HG_KIND_PIPELINE);
    fake_init(&b, "b", "eng-b", HG_KIND_PIPELINE);
    ha = hg__inst_host(a.e.in);
    hb = hg__inst_host(b.e.in);
    ha->counter(ha, "bytes_in", HG_COUNTER_SUM, &c);
    hg_counter_set(c, 42);
    ha->counter(ha, "wait_ns", HG_COUNTER_GAUGE, &c);
    hg_counter_set(c, 1500000000);
    hb->counter(hb, "bytes_in", HG_COUNTER_SUM, &c);
    hg_counter_set(c, 7);
    hb->counter(hb, "bytes_in_total", HG_COUNTER_GAUGE, &c); /* the counter's name, as a gauge */
    api_of(a.e.in)->histogram(ha, "lat_seconds", bounds3, 3, 0.001, &hi);
    hg_histogram_observe(hi, 5);
    hg_histogram_observe(hi, 50);
    hg_histogram_observe(hi, 5000);
    hb->set_info(hb, "address", "127.0.0.1:1");
    objs[0] = hg__inst_json(a.e.in, "eng-a", "pipeline");
    objs[1] = hg__inst_json(b.e.in, "eng-b", "pipeline");
    text = hg__metrics_text(&src);
    ok(text != NULL, "the exposition is built");
    like_str(text, "# TYPE hangar_pipeline_bytes_in_total counter\n"
                   "hangar_pipeline_bytes_in_total{instance_name=\"quote\\\"back\\\\slash\","
                   "engine=\"eng-a\"} 42\n"
                   "hangar_pipeline_bytes_in_total{instance_name=\"b\",engine=\"eng-b\"} 7\n",
             "a SUM is NAME_total, both instances under one # TYPE, label values escaped");
    like_str(text, "# TYPE hangar_pipeline_wait_seconds gauge\nhangar_pipeline_wait_seconds{"
                   "instance_name=\"quote\\\"back\\\\slash\",engine=\"eng-a\"} 1.5\n",
             "a GAUGE in ns is exported in seconds");
    like_str(text, "le=\"0.01\"} 1\n", "histogram: bucket 10 (x 0.001) holds one");
    like_str(text, "le=\"0.1\"} 2\n", "  bucket 100 is cumulative");
    like_str(text, "le=\"1\"} 2\n", "  bucket 1000 too");
    like_str(text, "le=\"+Inf\"} 3\n", "  +Inf holds all three");
    like_str(text, "hangar_pipeline_lat_seconds_sum{instance_name=\"quote\\\"back\\\\slash\","
                   "engine=\"eng-a\"} 5.055\n", "  _sum scaled");
    like_str(text, "_count{instance_name=\"quote\\\"back\\\\slash\",engine=\"eng-a\"} 3\n",
             "  _count equals the +Inf bucket");
    ok(strstr(text, "hangar_pipeline_bytes_in_total{instance_name=\"b\",engine=\"eng-b\"} 7\n") &&
           !strstr(text, "# TYPE hangar_pipeline_bytes_in_total gauge"),
       "a gauge whose name a counter has already is left out, not typed twice");
    like_str(text, "\nhangar_metrics_conflicts 1\n", "  and counted");
    like_str(text, "hangar_instance_info{instance_name=\"b\",engine=\"eng-b\",kind=\"pipeline\","
                   "state=\"created\",address=\"127.0.0.1:1\"} 1\n",
             "facts and state are labels of hangar_instance_info");
    like_str(text, "\nhangar_uptime_seconds 2.5\n", "the host's uptime in seconds");
    like_str(text, "\nhangar_connections_cut_total 3\n", "the host's cut connections, a counter");
    free(text);
    json_decref(objs[0]);
    json_decref(objs[1]);
    hg__inst_free(a.e.in);
    hg__inst_free(b.e.in);
}

typedef struct seen {
    uint32_t n;
    char who[64];
} seen;

static void sink(void *ud, uint32_t level, const char *who, const char *msg)
{
    seen *s = ud;
    (void)level;
    (void)msg;
    s->n++;
    snprintf(s->who, sizeof s->who, "%s", who);
}

static void test_log_levels_per_instance(void)
{
    hg__logger *lg = NULL;
    seen s = {0};
    hg__logger_new(HG_LOG_WARN, &lg);
    hg__logger_set_stderr(lg, 0);
    hg__logger_add_sink(lg, sink, &s);
    hg__log(lg, HG_LOG_DEBUG, "echo", "hidden");
    is_int(s.n, 0, "a debug line is below the logger's level");
    is_int(hg__logger_set_who_level(lg, "echo", HG_LOG_DEBUG), 0, "one instance gets debug");
    hg__log(lg, HG_LOG_DEBUG, "echo", "shown");
    hg__log(lg, HG_LOG_DEBUG, "other", "hidden");
    is_int(s.n, 1, "  its debug lines pass, another's do not");
    is_int(hg__logger_level_for(lg, "echo"), HG_LOG_DEBUG, "  level_for says so");
    is_int(hg__logger_set_who_level(lg, "echo", 0), 0, "0 gives it the logger's level again");
    is_int(hg__logger_level_for(lg, "echo"), HG_LOG_WARN, "  level_for follows the logger");
    is_int(hg__logger_set_who_level(lg, "", HG_LOG_INFO), HG_EINVAL, "an empty name is refused");
    hg__logger_free(lg);
}

static void test_log_file_reopen(void)
{
    char dir[] = "/tmp/hg-log-XXXXXX", path[64], moved[64], err[256], buf[512];
    hg__logger *lg = NULL;
    FILE *f;
    size_t n;
    mkdtemp(dir);
    snprintf(path, sizeof path, "%s/h.log", dir);
    snprintf(moved, sizeof moved, "%s/h.log.1", dir);
    hg__logger_new(HG_LOG_INFO, &lg);
    is_int(hg__logger_reopen(lg, err, sizeof err), HG_ENOENT, "reopen without a file: ENOENT");
    is_int(hg__logger_set_file(lg, "/nonexistent-dir/x.log", err, sizeof err), HG_ENOENT,
           "a file that cannot be opened is an error");
    like_str(err, "cannot open the log file '/nonexistent-dir/x.log'", "  naming it");
    is_int(hg__logger_set_file(lg, path, err, sizeof err), 0, "the log file opens");
    hg__logger_set_format(lg, HG__LOG_FORMAT_JSON);
    hg__log(lg, HG_LOG_INFO, "a", "before \"quoted\"");
    rename(path, moved);
    is_int(hg__logger_reopen(lg, err, sizeof err), 0, "reopen after the file moved");
    hg__log(lg, HG_LOG_INFO, "a", "after");
    f = fopen(path, "r");
    n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    buf[n] = '\0';
    if (f)
        fclose(f);
    like_str(buf, "\"engine\":\"a\",\"msg\":\"after\"}", "  new lines go to a new file, as JSON");
    f = fopen(moved, "r");
    n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    buf[n] = '\0';
    if (f)
        fclose(f);
    like_str(buf, "\"msg\":\"before \\\"quoted\\\"\"}", "  old lines stay in the moved one");
    hg__logger_free(lg);
    unlink(path);
    unlink(moved);
    rmdir(dir);
}

int main(void)
{
    test_histogram_service_refuses();
    test_metrics_exposition();
    test_log_levels_per_instance();
    test_log_file_reopen();
    return tap_done();
}
