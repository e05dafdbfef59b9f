/* test-instance.c - what the hg_host table lets an engine do to its instance, and what it
 * refuses: record ids across restarts, the host's own keys and name clashes between facts and
 * counters, state reports the lifecycle does not allow, and log lines a plugin cannot break. */
#define _GNU_SOURCE
#include <jansson.h>
#include <string.h>

#include "instance.h"
#include "tap.h"

/* What a log sink saw: every line's level and the last message. */
typedef struct seen {
    uint32_t n;
    uint32_t level;
    char msg[512];
} seen;

static void sink(void *ud, uint32_t level, const char *who, const char *msg)
{
    seen *s = ud;
    (void)who;
    s->n++;
    s->level = level;
    snprintf(s->msg, sizeof s->msg, "%s", msg);
}

/* A standalone instance logging at `level` into s only (nothing on stderr). */
static hg__inst *inst_with_sink(uint32_t level, seen *s, hg__logger **lg)
{
    hg__inst *in = NULL;
    memset(s, 0, sizeof *s);
    if (hg__logger_new(level, lg) != 0)
        return NULL;
    hg__logger_set_stderr(*lg, 0);
    hg__logger_add_sink(*lg, sink, s);
    if (hg__inst_new_standalone("svc", NULL, *lg, NULL, &in) != 0) {
        hg__logger_free(*lg);
        return NULL;
    }
    return in;
}

static void done_with(hg__inst *in, hg__logger *lg)
{
    hg__inst_free(in);
    hg__logger_free(lg);
}

/* One start as a runtime mode makes it: a new net whose own ids begin at 1 again. */
static void one_start(hg__inst *in, uint32_t conns)
{
    const hg_host *h = hg__inst_host(in);
    hg_conn_record rec;
    hg__inst_set_state(in, HG_STATE_RUNNING, 0, NULL);
    for (uint32_t i = 1; i <= conns; i++) {
        memset(&rec, 0, sizeof rec);
        rec.struct_size = sizeof rec;
        rec.id = i;
        rec.bytes_in = i;
        h->record(h, &rec);
    }
    hg__inst_set_state(in, HG_STATE_STOPPING, 0, NULL);
    hg__inst_set_state(in, HG_STATE_STOPPED, 0, NULL);
}

static void test_services_record_ids(void)
{
    hg__inst *in = NULL;
    hg_conn_record rec;
    json_t *a;
    uint64_t dropped = 0;
    int unique = 1;

    is_int(hg__inst_new_standalone("ids", NULL, NULL, NULL, &in), 0, "an instance is created");
    hg__inst_enable_records(in, 16);
    one_start(in, 3);
    one_start(in, 3);
    one_start(in, 2);
    is_int(hg__inst_records(in), 8, "three starts keep all eight records");
    for (uint32_t i = 0; i < 8; i++) {
        hg__inst_record_at(in, i, &rec);
        if (rec.id != i + 1)
            unique = 0;
    }
    ok(unique, "the ids are 1..8 in the order stored, across the restarts");
    hg__inst_record_at(in, 3, &rec);
    is_int(rec.bytes_in, 1, "record 4 is the second start's first, kept as the runtime wrote it");

    a = hg__inst_records_json(in, 0, &dropped);
    is_int(json_integer_value(json_object_get(json_array_get(a, 7), "id")), 8,
           "`records` reports the host's id");
    json_decref(a);
    a = hg__inst_records_json(in, 3, &dropped);
    is_int((int64_t)json_array_size(a), 3, "`records --limit 3` gives three records");
    is_int(json_integer_value(json_object_get(json_array_get(a, 0), "id")), 6,
           "and they are the newest three, oldest first (6, 7, 8)");
    json_decref(a);
    a = hg__inst_records_json(in, 100, &dropped);
    is_int((int64_t)json_array_size(a), 8, "a limit above the count gives every record");
    json_decref(a);

    hg__inst_enable_records(in, 2);
    one_start(in, 3);
    hg__inst_record_at(in, 1, &rec);
    is_int(rec.id, 11, "ids go on over the instance's life, ring turned over or not");
    hg__inst_free(in);
}

static void test_services_host_keys(void)
{
    static const char *const host_keys[] = {"engine", "kind", "state", "error", "started_ns",
                                            "stopped_ns"};
    hg__inst *in = NULL;
    const hg_host *h;
    hg_counter *c = NULL, *c2 = NULL;
    char buf[64];
    json_t *o;
    int refused = 1;

    hg__inst_new_standalone("keys", NULL, NULL, NULL, &in);
    h = hg__inst_host(in);
    for (size_t i = 0; i < sizeof host_keys / sizeof host_keys[0]; i++) {
        if (h->set_info(h, host_keys[i], "hacked") != HG_EINVAL ||
            h->counter(h, host_keys[i], HG_COUNTER_SUM, &c) != HG_EINVAL) {
            refused = 0;
            tap_diag("'%s' was accepted", host_keys[i]);
        }
    }
    ok(refused, "set_info and counter refuse every key the host writes itself (HG_EINVAL)");
    o = hg__inst_json(in, "tcp-echo", "pipeline");
    is_str(json_string_value(json_object_get(o, "state")), "created", "the state stays the host's");
    is_str(json_string_value(json_object_get(o, "engine")), "tcp-echo", "and so does the engine");
    json_decref(o);

    is_int(h->counter(h, "done", HG_COUNTER_SUM, &c), 0, "a counter 'done' registers");
    is_int(h->set_info(h, "done", "yes"), HG_EEXIST, "a fact of the same name is HG_EEXIST");
    is_int(hg__inst_info(in, "done", buf, sizeof buf), HG_ENOENT, "and is not kept");
    is_int(h->set_info(h, "phase", "warmup"), 0, "a fact 'phase' is published");
    is_int(h->counter(h, "phase", HG_COUNTER_GAUGE, &c2), HG_EEXIST,
           "a counter of the same name is HG_EEXIST");
    is_int(h->set_info(h, "phase", "steady"), 0, "the fact itself can be published again");
    hg__inst_info(in, "phase", buf, sizeof buf);
    is_str(buf, "steady", "with the new value");
    is_int(h->counter(h, "done", HG_COUNTER_GAUGE, &c2), 0, "registering 'done' again succeeds");
    ok(c2 == c, "and gives the cell already there");
    hg__inst_free(in);
}

static void test_services_failed(void)
{
    hg__logger *lg = NULL;
    seen s;
    hg__inst *in = inst_with_sink(HG_LOG_DEBUG, &s, &lg);
    const hg_host *h;
    int st = 0;

    if (in == NULL) {
        ok(0, "an instance with a log sink");
        return;
    }
    h = hg__inst_host(in);
    hg__inst_set_state(in, HG_STATE_RUNNING, 0, NULL);
    h->set_state(h, HG_STATE_FAILED, 0, NULL);
    is_int(hg__inst_state(in, &st), HG_STATE_FAILED, "FAILED with status 0 is a failure");
    is_int(st, HG_EFAIL, "with status HG_EFAIL");
    is_str(s.msg, "failed: engine failed (EFAIL)", "and a log line that says so");

    h->set_state(h, HG_STATE_RUNNING, 0, NULL);
    is_int(hg__inst_state(in, NULL), HG_STATE_FAILED, "RUNNING after FAILED is refused");
    is_int(s.level, HG_LOG_WARN, "the refusal is a warning");
    is_str(s.msg, "set_state(running) refused while failed (ESTATE): the state stays failed",
           "naming the states and HG_ESTATE");
    h->set_state(h, HG_STATE_STOPPED, 0, NULL);
    is_int(hg__inst_state(in, &st), HG_STATE_FAILED, "STOPPED after FAILED is refused too");
    is_int(st, HG_EFAIL, "the failure's status stays");
    is_int(s.level, HG_LOG_DEBUG, "a second refusal is logged at debug only");

    hg__inst_set_state(in, HG_STATE_RUNNING, 0, NULL);
    is_int(hg__inst_state(in, NULL), HG_STATE_RUNNING, "the host starts a failed engine again");
    h->set_state(h, HG_STATE_FAILED, HG_EIO, "disk on fire");
    is_str(s.msg, "failed: disk on fire (EIO)", "a failure with a status keeps it");
    done_with(in, lg);
}

static void test_services_stopping(void)
{
    hg__logger *lg = NULL;
    seen s;
    hg__inst *in = inst_with_sink(HG_LOG_INFO, &s, &lg);
    const hg_host *h;

    if (in == NULL) {
        ok(0, "an instance with a log sink");
        return;
    }
    h = hg__inst_host(in);
    h->set_state(h, HG_STATE_CREATED, 0, NULL);
    ok(s.n == 1 && strstr(s.msg, "set_state(created) refused") != NULL,
       "an engine cannot report CREATED");
    h->set_state(h, 99, 0, NULL);
    is_int(hg__inst_state(in, NULL), HG_STATE_CREATED, "nor a state that does not exist");
    hg__inst_set_state(in, HG_STATE_RUNNING, 0, NULL);
    h->set_state(h, HG_STATE_PAUSED, 0, NULL);
    is_int(hg__inst_state(in, NULL), HG_STATE_PAUSED, "a running engine may report PAUSED");
    h->set_state(h, HG_STATE_RUNNING, 0, NULL);
    is_int(hg__inst_state(in, NULL), HG_STATE_RUNNING, "and RUNNING again");

    hg__inst_set_state(in, HG_STATE_STOPPING, 0, NULL); /* the host asked it to stop */
    h->set_state(h, HG_STATE_RUNNING, 0, NULL);
    is_int(hg__inst_state(in, NULL), HG_STATE_STOPPING, "RUNNING after the host asked to stop "
           "is refused");
    h->set_state(h, HG_STATE_STOPPED, 0, NULL);
    is_int(hg__inst_state(in, NULL), HG_STATE_STOPPED, "STOPPED is what it may report");
    h->set_state(h, HG_STATE_RUNNING, 0, NULL);
    is_int(hg__inst_state(in, NULL), HG_STATE_STOPPED, "RUNNING after STOPPED is refused");
    h->set_state(h, HG_STATE_STOPPED, 0, NULL);
    is_int(hg__inst_state(in, NULL), HG_STATE_STOPPED, "STOPPED twice is harmless");
    hg__inst_set_state(in, HG_STATE_RUNNING, 0, NULL);
    is_int(hg__inst_state(in, NULL), HG_STATE_RUNNING, "the host starts it after the stop");
    h->set_state(h, HG_STATE_STOPPED, 0, NULL);
    is_int(hg__inst_state(in, NULL), HG_STATE_STOPPED, "a client reports STOPPED when done");
    done_with(in, lg);
}

static void test_services_log(void)
{
    hg__logger *lg = NULL;
    seen s;
    hg__inst *in = inst_with_sink(HG_LOG_INFO, &s, &lg);
    const hg_host *h;

    if (in == NULL) {
        ok(0, "an instance with a log sink");
        return;
    }
    h = hg__inst_host(in);
    h->log(h, HG_LOG_INFO, "line one\nfake 12:00:00.000 error host: pwned\r\x1b[31mred\x1b[0m"
                           "\ttab\x7f\x01");
    is_str(s.msg, "line one\\nfake 12:00:00.000 error host: pwned\\r\\x1b[31mred\\x1b[0m\\ttab"
                  "\\x7f\\x01", "newlines, ESC and other control bytes are escaped");
    h->log(h, HG_LOG_INFO, "caf\xc3\xa9 \\n stays");
    is_str(s.msg, "caf\xc3\xa9 \\n stays", "UTF-8 and a written backslash pass as they are");
    h->log(h, 0, "level zero");
    ok(s.n == 3 && s.level == HG_LOG_ERROR, "level 0 is logged as an error");
    h->log(h, 42, "level 42");
    is_int(s.n, 3, "a level above TRACE is trace, not shown at info");
    hg__logger_set_level(lg, HG_LOG_TRACE);
    h->log(h, 42, "level 42");
    ok(s.n == 4 && s.level == HG_LOG_TRACE, "and shown as trace when trace is on");
    is_str(hg__log_level_name(s.level), "trace", "so no line is labelled '?'");
    done_with(in, lg);
}

int main(void)
{
    test_services_record_ids();
    test_services_host_keys();
    test_services_failed();
    test_services_stopping();
    test_services_log();
    return tap_done();
}
