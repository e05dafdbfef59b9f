/* commands.c - the command channel's verbs: each returns one JSON object with "ok" (see
 * docs/CONTROL.md). The hub parses every line and answers the verbs that only read; the verbs
 * that call into engines or wait for them run on the control thread as jobs. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cfgtree.h"
#include "graph_host.h"
#include "host_priv.h"
#include "metrics.h"

typedef json_t *(*verb_fn)(hg__host *h, const char *arg);

/* Where a verb runs: on the hub (it only reads, or refuses at once) or on the control thread (it
 * calls into engines or waits for them). */
enum { ON_HUB, ON_CONTROL };

/* What a verb takes after it: nothing, an optional instance name, one name, one name and
 * options (the verb checks them), or free text. */
enum { ARGS_NONE, ARGS_NAME_OPT, ARGS_NAME, ARGS_NAME_OPTS, ARGS_TEXT };

static json_t *fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static json_t *fail(int code, const char *fmt, ...)
{
    char msg[1024];
    json_t *o = json_object(), *err;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_object_set_new(o, "ok", json_false());
    /* json_string refuses text that is not UTF-8 (a hostile command echoed in the message) */
    err = json_string(msg);
    json_object_set_new(o, "error", err ? err : json_string("the command is not valid UTF-8"));
    json_object_set_new(o, "code", json_string(hg_err_name(code)));
    return o;
}

static json_t *okay(void)
{
    json_t *o = json_object();
    json_object_set_new(o, "ok", json_true());
    return o;
}

static hg__entry *need_entry(hg__host *h, const char *arg, json_t **err)
{
    hg__entry *e;
    if (arg == NULL || *arg == '\0') {
        *err = fail(HG_EINVAL, "this command needs an instance name");
        return NULL;
    }
    e = hg__host_find(h, arg);
    if (e == NULL && h->runtime && strcmp(arg, "runtime") == 0)
        e = h->runtime;
    if (e == NULL)
        *err = fail(HG_ENOENT, "unknown instance '%s'", arg);
    return e;
}

static json_t *host_json(hg__host *h)
{
    json_t *o = json_object();
    uint64_t now = hg__now_ns(), started_ns;
    uint32_t cut;
    const char *state;
    pthread_mutex_lock(&h->mu);
    state = h->stopped ? "stopped" : h->stopping ? "stopping" : h->started ? "running" : "created";
    started_ns = h->started_ns;
    cut = h->cut;
    pthread_mutex_unlock(&h->mu);
    json_object_set_new(o, "kind", json_string("host"));
    json_object_set_new(o, "state", json_string(state));
    pthread_mutex_lock(&h->list_mu);
    {
        uint32_t procs, failed;
        hg__host_graph_counts(h, &procs, &failed);
        json_object_set_new(o, "instances", json_integer(hg__engines_count(h->engines) + procs));
    }
    pthread_mutex_unlock(&h->list_mu);
    json_object_set_new(o, "failed", json_integer(hg__host_failed_count(h)));
    json_object_set_new(o, "uptime_ns",
                        json_integer(started_ns ? (json_int_t)(now - started_ns) : 0));
    if (h->runtime) {
        json_object_set_new(o, "runtime_mode", json_string(h->runtime->def->name));
        /* Optional in the ABI: a runtime mode that does not total its bytes shows none. */
        h->runtime->ad->show(h->runtime, o, &h->actx);
    }
    json_object_set_new(o, "connections_cut", json_integer(cut));
    hg__host_ops_show(h, o);
    return o;
}

json_t *hg__entry_json(hg__host *h, hg__entry *e)
{
    json_t *o = hg__inst_json(e->in, e->def->name, hg__kind_name(e->def->kind));
    if (e->ad->show != NULL && e != h->runtime)
        e->ad->show(e, o, &h->actx);
    return o;
}

/* The graph's processors as `counters` shows instances: {name: {engine, kind, state, mode,
 * frames_in, frames_out, error, ...its counters}} (a new object; empty without a graph). */
static json_t *processors_json(hg__host *h)
{
    hg__graph *g = __atomic_load_n(&h->graph, __ATOMIC_ACQUIRE);
    json_t *all = json_object(), *j, *procs;
    char *text;
    size_t i;
    json_t *p;
    if (g == NULL)
        return all;
    text = hg__graph_json(g);
    j = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    procs = json_object_get(j, "processors");
    json_array_foreach(procs, i, p) {
        json_t *o = json_object(), *c = json_object_get(p, "counters");
        const char *name = json_string_value(json_object_get(p, "name"));
        if (name == NULL) {
            json_decref(o);
            continue;
        }
        json_object_set(o, "engine", json_object_get(p, "engine"));
        json_object_set_new(o, "kind", json_string("processor"));
        json_object_set(o, "state", json_object_get(p, "state"));
        json_object_set(o, "error", json_object_get(p, "error") ? json_object_get(p, "error")
                                                                 : json_null());
        json_object_set(o, "mode", json_object_get(p, "mode"));
        json_object_set(o, "frames_in", json_object_get(p, "frames_in"));
        json_object_set(o, "frames_out", json_object_get(p, "frames_out"));
        if (json_is_object(c))
            json_object_update_missing(o, c);
        json_object_set_new(all, name, o);
    }
    json_decref(j);
    return all;
}

static json_t *cmd_counters(hg__host *h, const char *arg)
{
    json_t *o = okay(), *all = json_object(), *err = NULL;
    if (arg && *arg) {
        json_t *procs = processors_json(h), *p = json_object_get(procs, arg);
        hg__entry *e = p == NULL ? need_entry(h, arg, &err) : NULL;
        if (p == NULL && e == NULL) {
            json_decref(procs);
            json_decref(o);
            json_decref(all);
            return err;
        }
        json_object_set_new(all, arg, p ? json_incref(p) : hg__entry_json(h, e));
        json_decref(procs);
    } else {
        uint32_t n = 0;
        hg__entry **v = hg__host_entries(h, &n);
        for (uint32_t i = 0; i < n; i++)
            json_object_set_new(all, hg__inst_name(v[i]->in), hg__entry_json(h, v[i]));
        free(v);
        json_object_update_missing_new(all, processors_json(h));
        if (h->runtime)
            json_object_set_new(all, "runtime", hg__entry_json(h, h->runtime));
        json_object_set_new(all, "host", host_json(h));
    }
    json_object_set_new(o, "counters", all);
    return o;
}

static json_t *cmd_state(hg__host *h, const char *arg)
{
    json_t *err = NULL, *o, *inst, *procs = processors_json(h);
    hg__entry *e = json_object_get(procs, arg) ? NULL : need_entry(h, arg, &err);
    if (e == NULL && json_object_get(procs, arg) == NULL) {
        json_decref(procs);
        return err;
    }
    o = okay();
    inst = e ? hg__entry_json(h, e) : json_incref(json_object_get(procs, arg));
    json_decref(procs);
    json_object_set_new(o, "name", json_string(arg));
    json_object_set(o, "state", json_object_get(inst, "state"));
    json_object_set(o, "error", json_object_get(inst, "error"));
    json_decref(inst);
    return o;
}

/* `records NAME [--limit N]` (the option before or after the name): the words of arg into
 * name and *limit (0: every record). Returns NULL, or the refusal. */
static json_t *records_args(const char *arg, char *name, size_t cap, uint32_t *limit)
{
    static const char usage[] = "(usage: records NAME [--limit N])";
    char word[128], *end;
    int have_limit = 0;
    name[0] = '\0';
    *limit = 0;
    for (const char *p = arg; *p;) {
        size_t n = strcspn(p, " \t");
        if (n >= sizeof word)
            return fail(HG_EINVAL, "`records`: '%.*s...' is too long %s", 32, p, usage);
        memcpy(word, p, n);
        word[n] = '\0';
        p += n + strspn(p + n, " \t");
        if (strcmp(word, "--limit") == 0 && !have_limit) {
            unsigned long v;
            n = strcspn(p, " \t");
            errno = 0;
            v = strtoul(p, &end, 10);
            if (n == 0 || end != p + n || *p == '-' || errno != 0 || v == 0 || v > UINT32_MAX)
                return fail(HG_EINVAL, "`records`: --limit takes a count from 1, not '%.*s' %s",
                            (int)n, p, usage);
            *limit = (uint32_t)v;
            have_limit = 1;
            p += n + strspn(p + n, " \t");
        } else if (name[0] == '\0' && word[0] != '-' && n < cap) {
            memcpy(name, word, n + 1);
        } else {
            return fail(HG_EINVAL, "`records` takes one instance name and --limit N, not '%s' %s",
                        arg, usage);
        }
    }
    if (name[0] == '\0')
        return fail(HG_EINVAL, "`records` needs an instance name %s", usage);
    return NULL;
}

static json_t *cmd_records(hg__host *h, const char *arg)
{
    json_t *err, *o;
    uint64_t dropped = 0;
    uint32_t limit;
    char name[128];
    hg__entry *e;
    if ((err = records_args(arg, name, sizeof name, &limit)) != NULL)
        return err;
    if ((e = need_entry(h, name, &err)) == NULL)
        return err;
    o = okay();
    json_object_set_new(o, "records", hg__inst_records_json(e->in, limit, &dropped));
    json_object_set_new(o, "dropped", json_integer((json_int_t)dropped));
    json_object_set_new(o, "enabled", json_boolean(e->cfg && e->cfg->records));
    return o;
}

static json_t *cmd_perf(hg__host *h, const char *arg)
{
    json_t *o = okay(), *threads = json_array();
    uint32_t n = 0;
    hg__entry **v = hg__host_entries(h, &n);
    (void)arg;
    if (h->runtime)
        hg__inst_perf_json(h->runtime->in, h->runtime->def->name, threads);
    for (uint32_t i = 0; i < n; i++)
        hg__inst_perf_json(v[i]->in, v[i]->def->name, threads);
    free(v);
    json_object_set_new(o, "threads", threads);
    return o;
}

static int shutting_down(hg__host *h)
{
    int r;
    pthread_mutex_lock(&h->mu);
    r = h->stopped || h->stopping;
    pthread_mutex_unlock(&h->mu);
    return r;
}

static json_t *cmd_start(hg__host *h, const char *arg)
{
    json_t *err = NULL;
    int rc;
    if (shutting_down(h))
        return fail(HG_ESTATE, "the host is shutting down");
    if (arg == NULL || *arg == '\0') {
        rc = hg__lc_start_all(h);
        return rc == 0 ? okay() : fail(rc, "some engines did not start (see `counters`)");
    }
    {
        hg__entry *e = need_entry(h, arg, &err);
        if (e == NULL)
            return err;
        if (e == h->runtime)
            return fail(HG_ENOTSUP, "the runtime mode starts and stops with the host");
        if (e->started)
            return fail(HG_ESTATE, "'%s' is already started", arg);
        rc = hg__lc_start_entry(h, e);
        return rc == 0 ? okay() : fail(rc, "'%s' did not start (see `state`)", arg);
    }
}

static json_t *cmd_shutdown(hg__host *h, const char *arg);

/* `stop NAME` stops one pipeline; `stop` alone is `shutdown`, reply included. */
static json_t *cmd_stop(hg__host *h, const char *arg)
{
    json_t *err = NULL, *o;
    hg__entry *e;
    if (arg == NULL || *arg == '\0')
        return cmd_shutdown(h, arg);
    e = need_entry(h, arg, &err);
    if (e == NULL)
        return err;
    if (e == h->runtime)
        return fail(HG_ENOTSUP, "the runtime mode starts and stops with the host");
    o = okay();
    json_object_set_new(o, "cut", json_integer(hg__lc_stop_entry(h, e)));
    return o;
}

/* `restart NAME`: stop's reply (with its cut) once the start succeeded, or the start's error. */
static json_t *cmd_restart(hg__host *h, const char *arg)
{
    json_t *r, *started;
    if (hg__host_find(h, arg) != NULL)
        hg__log(h->lg, HG_LOG_INFO, arg, "restart: stop, then start");
    r = cmd_stop(h, arg);
    if (!json_is_true(json_object_get(r, "ok")))
        return r;
    started = cmd_start(h, arg);
    if (!json_is_true(json_object_get(started, "ok"))) {
        json_decref(r);
        return started;
    }
    json_decref(started);
    return r;
}

static json_t *pause_verb(hg__host *h, const char *arg, int pause)
{
    json_t *err = NULL, *r;
    hg__entry *e;
    int handled = 0;
    if ((r = hg__cmd_proc_pause(h, arg, pause, &handled)) != NULL || handled)
        return r;
    if ((e = need_entry(h, arg, &err)) == NULL)
        return err;
    return fail(HG_ENOTSUP, "'%s' has no pause gate: pause and resume act on graph processors",
                arg);
}

static json_t *cmd_pause(hg__host *h, const char *arg)
{
    return pause_verb(h, arg, 1);
}

static json_t *cmd_resume(hg__host *h, const char *arg)
{
    return pause_verb(h, arg, 0);
}

/* `reload [FILE]`: reload.c does it; its reply is the verb's. */
static json_t *cmd_reload(hg__host *h, const char *arg)
{
    char *text = hg__reload_run(h, arg);
    json_t *o = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    return o ? o : fail(HG_ENOMEM, "out of memory");
}

static json_t *cmd_shutdown(hg__host *h, const char *arg)
{
    json_t *o;
    (void)arg;
    hg__lc_shutdown(h, 0);
    o = okay();
    pthread_mutex_lock(&h->mu);
    json_object_set_new(o, "cut", json_integer(h->cut));
    json_object_set_new(o, "not_stopped",
                        h->not_stopped ? json_loads(h->not_stopped, 0, NULL) : json_array());
    pthread_mutex_unlock(&h->mu);
    return o;
}

static json_t *cmd_kill(hg__host *h, const char *arg)
{
    (void)arg;
    __atomic_store_n(&h->kill_flag, 1, __ATOMIC_RELEASE);
    hg__lc_shutdown(h, 1);
    return okay();
}

static json_t *cmd_help(hg__host *h, const char *arg);

static json_t *cmd_metrics(hg__host *h, const char *arg)
{
    return hg__ops_metrics(h, arg);
}

static json_t *cmd_log_level(hg__host *h, const char *arg)
{
    return hg__ops_log_level(h, arg);
}

static const struct {
    const char *verb;
    verb_fn fn;
    const char *usage;
    int args;
    int where;
} verbs[] = {
    {"counters", cmd_counters, "counters [NAME]", ARGS_NAME_OPT, ON_HUB},
    {"state", cmd_state, "state NAME", ARGS_NAME, ON_HUB},
    {"records", cmd_records, "records NAME [--limit N]", ARGS_NAME_OPTS, ON_HUB},
    {"perf", cmd_perf, "perf", ARGS_NONE, ON_HUB},
    {"metrics", cmd_metrics, "metrics", ARGS_NONE, ON_HUB},
    {"log-level", cmd_log_level, "log-level [NAME] LEVEL", ARGS_TEXT, ON_HUB},
    {"start", cmd_start, "start [NAME]", ARGS_NAME_OPT, ON_CONTROL},
    {"stop", cmd_stop, "stop [NAME]", ARGS_NAME_OPT, ON_CONTROL},
    {"restart", cmd_restart, "restart NAME", ARGS_NAME, ON_CONTROL},
    {"pause", cmd_pause, "pause NAME", ARGS_NAME, ON_HUB},
    {"resume", cmd_resume, "resume NAME", ARGS_NAME, ON_HUB},
    {"graph", hg__cmd_graph, "graph [dot]", ARGS_TEXT, ON_HUB},
    {"commit", hg__cmd_commit, "commit CHANGE", ARGS_TEXT, ON_CONTROL},
    {"add", hg__cmd_add, "add PROCESSOR", ARGS_TEXT, ON_CONTROL},
    {"remove", hg__cmd_remove, "remove NAME", ARGS_TEXT, ON_CONTROL},
    {"link", hg__cmd_link, "link FROM TO [policy=P] [capacity=N]", ARGS_TEXT, ON_CONTROL},
    {"unlink", hg__cmd_unlink, "unlink FROM TO", ARGS_TEXT, ON_CONTROL},
    {"step", hg__cmd_step, "step NAME", ARGS_NAME, ON_HUB},
    {"reload", cmd_reload, "reload [FILE]", ARGS_TEXT, ON_CONTROL},
    {"call", NULL, "call NAME JSON", ARGS_TEXT, ON_CONTROL},
    {"shutdown", cmd_shutdown, "shutdown", ARGS_NONE, ON_CONTROL},
    {"kill", cmd_kill, "kill", ARGS_NONE, ON_CONTROL},
    {"help", cmd_help, "help", ARGS_NONE, ON_HUB},
};

#define N_VERBS (sizeof verbs / sizeof verbs[0])

/* 1 for a verb this host answers only with ENOTSUP today: none (every verb runs). */
static int not_yet(verb_fn fn)
{
    (void)fn;
    return 0;
}

/* "commands": every usage, as before; "not_yet": the usages of the verbs that answer ENOTSUP in
 * this version, so a client can tell them apart. */
static json_t *cmd_help(hg__host *h, const char *arg)
{
    json_t *o = okay(), *a = json_array(), *later = json_array();
    (void)h;
    (void)arg;
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
        json_array_append_new(a, json_string(verbs[i].usage));
        if (not_yet(verbs[i].fn))
            json_array_append_new(later, json_string(verbs[i].usage));
    }
    json_object_set_new(o, "commands", a);
    json_object_set_new(o, "not_yet", later);
    return o;
}

/* The message a failed engine command left in its reply buffer (pipeline.h, runtime_mode.h:
 * NUL-terminated text, *len its length), trailing white space trimmed; NULL when it left none. */
static const char *error_text(char *buf, uint32_t cap, uint32_t len)
{
    size_t n;
    if (buf == NULL || cap == 0)
        return NULL;
    buf[len < cap ? len : cap - 1] = '\0';
    n = strlen(buf);
    while (n > 0 && isspace((unsigned char)buf[n - 1]))
        buf[--n] = '\0';
    return n > 0 ? buf : NULL;
}

/* Replies over this are refused without being allocated (a hostile or broken engine asking for
 * gigabytes). */
#define REPLY_MAX (16u * 1024 * 1024)

static hg__command_fn command_of(const hg__entry *e)
{
    return e->ad->command(e);
}

/* The verb of a call's JSON (a string, or an object's "verb"), args set to the parsed JSON; or
 * NULL with *err set. */
static const char *call_verb(const char *name, const char *json_text, json_t **args,
                             json_t **err)
{
    json_error_t je;
    const char *verb = NULL, *p = json_text;
    while (isspace((unsigned char)*p))
        p++;
    if (*p == '\0') {
        *err = fail(HG_EINVAL, "call %s: the JSON is missing: give the verb as a JSON string "
                               "(call %s \"summary\") or an object naming it", name, name);
        return NULL;
    }
    *args = json_loads(p, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je); /* columns of the JSON */
    if (*args == NULL) {
        *err = fail(HG_EINVAL, "call %s: the argument is not valid JSON: %s (column %d)", name,
                    je.text, je.column);
        return NULL;
    }
    if (json_is_string(*args))
        verb = json_string_value(*args);
    else if (json_is_object(*args))
        verb = json_string_value(json_object_get(*args, "verb"));
    if (verb == NULL)
        *err = fail(HG_EINVAL, "call %s: give a JSON string (the verb) or an object with a "
                               "\"verb\" member", name);
    return verb;
}

/* A config getter's message without the "NAME: " it starts with (the reply names NAME). */
static const char *diag_text(const char *name, const char *msg)
{
    size_t n = strlen(name);
    if (strncmp(msg, name, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ')
        return msg + n + 2;
    return msg;
}

/* Runs the engine's command, growing the reply buffer as it asks (at most REPLY_MAX). The
 * config getters' errors during it go to d. Returns its status; *buf, *cap, *len the reply. */
static int run_command(hg__host *h, hg__entry *e, const char *verb, const hg_config *args,
                       hg__diag *d, char **buf, uint32_t *cap, uint32_t *len)
{
    hg__command_fn command = command_of(e);
    int rc = HG_ENOMEM;
    *cap = 4096;
    for (int attempt = 0; attempt < 4; attempt++) {
        char *nb = realloc(*buf, *cap);
        hg__call m;
        if (nb == NULL)
            return HG_ENOMEM;
        *buf = nb;
        (*buf)[0] = '\0';
        *len = 0;
        hg__diag_free(d); /* only the last attempt's errors count */
        hg__inst_set_diag(e->in, d);
        m = hg__call_enter(&h->busy, hg__inst_name(e->in), "command");
        rc = command(e->obj, verb, args, *buf, *cap, len);
        hg__call_leave(m);
        hg__inst_set_diag(e->in, NULL);
        if (rc != HG_ENOSPC || *len < *cap || *len >= REPLY_MAX)
            break;
        *cap = *len + 1;
    }
    return rc;
}

/* The reply for a command that returned rc: its JSON, or the error with the engine's message,
 * else the first config error its getters recorded, else a generic one. */
static json_t *call_reply(const char *name, int rc, char *buf, uint32_t cap, uint32_t len,
                          const hg__diag *d)
{
    json_t *o, *reply_json;
    const char *text;
    if (rc == HG_ENOSPC && len >= REPLY_MAX)
        return fail(HG_ENOSPC, "'%s': reply of %u bytes is over the %u MiB limit", name, len,
                    REPLY_MAX >> 20);
    text = rc != 0 && rc != HG_ENOSPC ? error_text(buf, cap, len) : NULL;
    if (text != NULL)
        return fail(rc, "'%s': %s", name, text);
    if (rc != 0 && d->n > 0)
        return fail(rc, "'%s': %s", name, diag_text(name, d->items[0].msg));
    if (rc != 0)
        return fail(rc, rc == HG_ENOTSUP ? "'%s' does not know this verb" : "'%s': command failed",
                    name);
    reply_json = json_loadb(buf, len < cap ? len : cap, JSON_DECODE_ANY, NULL);
    if (reply_json == NULL)
        return fail(HG_EPROTO, "'%s' answered with something that is not JSON", name);
    o = okay();
    json_object_set_new(o, "reply", reply_json);
    return o;
}

/* `call NAME JSON`: the JSON is a verb string or an object whose "verb" names it. */
static json_t *cmd_call(hg__host *h, const char *name, const char *json_text)
{
    json_t *err = NULL, *args = NULL, *o;
    hg__doc *doc = NULL;
    hg__diag d;
    const char *verb;
    hg__entry *e = need_entry(h, name, &err);
    char *buf = NULL;
    uint32_t cap = 0, len = 0;
    int rc;

    if (e == NULL)
        return err;
    verb = call_verb(name, json_text, &args, &err);
    if (verb == NULL) {
        json_decref(args);
        return err;
    }
    if (command_of(e) == NULL || e->obj == NULL) {
        json_decref(args);
        return fail(HG_ENOTSUP, "'%s' takes no engine-specific commands", name);
    }
    hg__diag_init(&d);
    if (json_is_object(args) && hg__doc_from_json(json_text, &doc, &d) != 0)
        doc = NULL;
    hg__diag_free(&d);
    rc = run_command(h, e, verb, doc ? (const hg_config *)doc->root : NULL, &d, &buf, &cap,
                     &len);
    o = call_reply(name, rc, buf, cap, len, &d);
    hg__diag_free(&d); /* a command that succeeded: its getters' errors are dropped */
    free(buf);
    hg__doc_free(doc);
    json_decref(args);
    return o;
}

/* Refuses what a verb does not take: arguments to a verb that takes none, a missing name, or
 * more than one word where one name is expected. Returns NULL when arg fits. */
static json_t *check_args(int args, const char *verb, const char *usage, const char *arg)
{
    if (args == ARGS_NONE && *arg != '\0')
        return fail(HG_EINVAL, "`%s` takes no arguments, not '%s' (usage: %s)", verb, arg,
                    usage);
    if ((args == ARGS_NAME || args == ARGS_NAME_OPTS) && *arg == '\0')
        return fail(HG_EINVAL, "`%s` needs an instance name (usage: %s)", verb, usage);
    if ((args == ARGS_NAME || args == ARGS_NAME_OPT) && strpbrk(arg, " \t\r\n\v\f") != NULL)
        return fail(HG_EINVAL, "`%s` takes one instance name, not '%s' (usage: %s)", verb, arg,
                    usage);
    return NULL;
}

/* The verb of a line: its index in the table (or N_VERBS when unknown) and, in verb, its text;
 * *arg points past it and the blanks after it. */
static size_t parse_verb(const char *text, char *verb, size_t cap, const char **arg)
{
    const char *p = text;
    size_t n = 0;
    while (isspace((unsigned char)*p))
        p++;
    while (p[n] && !isspace((unsigned char)p[n]) && n < cap - 1) {
        verb[n] = p[n];
        n++;
    }
    verb[n] = '\0';
    *arg = p + n;
    while (isspace((unsigned char)**arg))
        (*arg)++;
    for (size_t i = 0; i < N_VERBS; i++)
        if (strcmp(verbs[i].verb, verb) == 0)
            return i;
    return N_VERBS;
}

static size_t verb_index(const char *name)
{
    for (size_t i = 0; i < N_VERBS; i++)
        if (strcmp(verbs[i].verb, name) == 0)
            return i;
    return N_VERBS;
}

/* The argument with trailing white space trimmed (malloc'd), or NULL on OOM. */
static char *trimmed(const char *arg)
{
    char *a = strdup(arg);
    size_t l;
    if (a == NULL)
        return NULL;
    l = strlen(a);
    while (l > 0 && isspace((unsigned char)a[l - 1]))
        a[--l] = '\0';
    return a;
}

/* `call NAME JSON` on one line: NAME is the first word, the JSON the rest. */
static json_t *run_call_line(hg__host *h, const char *arg)
{
    char name[128];
    size_t k = 0;
    while (arg[k] && !isspace((unsigned char)arg[k]) && k < sizeof name - 1) {
        name[k] = arg[k];
        k++;
    }
    name[k] = '\0';
    return cmd_call(h, name, arg + k);
}

/* 1 when s is valid UTF-8 (what jansson accepts as a string). */
static int is_utf8(const char *s)
{
    json_t *j = json_string(s);
    int valid = j != NULL;
    json_decref(j);
    return valid;
}

static char *dump(json_t *reply)
{
    /* 15 significant digits: a measured 0.397411 prints as that, not 0.39741100000000001 */
    char *out = json_dumps(reply, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(reply);
    return out;
}

int hg__command_needs_control(const char *text, const char *call_name)
{
    char verb[32];
    const char *arg;
    size_t i;
    if (call_name != NULL)
        return 1;
    i = parse_verb(text, verb, sizeof verb, &arg);
    return i < N_VERBS && verbs[i].where == ON_CONTROL;
}

/* Hands the message to the control thread as a job of verb i with argument arg. */
static json_t *submit(hg__host *h, hg__msg *m, size_t i, const char *arg)
{
    hg__job *j = calloc(1, sizeof *j);
    if (j == NULL || (arg != NULL && (j->arg = (i == verb_index("call") ? strdup(arg)
                                                                       : trimmed(arg))) == NULL)) {
        free(j);
        return fail(HG_ENOMEM, "out of memory");
    }
    if (i < N_VERBS && strcmp(verbs[i].verb, "kill") == 0) {
        /* a shutdown running on the control thread stops waiting now */
        __atomic_store_n(&h->kill_flag, 1, __ATOMIC_RELEASE);
        hg__host_broadcast(h);
    }
    j->msg = m;
    j->verb = (int)i;
    hg__lc_submit(h, j);
    return NULL;
}

/* Parses m on the hub: a reply now (an error, or a verb that runs here), or NULL when m went to
 * the control thread. */
static json_t *dispatch(hg__host *h, hg__msg *m)
{
    char verb[32];
    const char *arg;
    size_t i;
    json_t *reply;
    char *a;

    if (m->fn != NULL)
        return submit(h, m, N_VERBS, NULL);
    if (!is_utf8(m->text) || (m->call_name != NULL && !is_utf8(m->call_name)))
        return fail(HG_EINVAL, "the command is not valid UTF-8");
    if (m->call_name != NULL)
        return submit(h, m, verb_index("call"), NULL);
    i = parse_verb(m->text, verb, sizeof verb, &arg);
    if (verb[0] == '\0')
        return fail(HG_EINVAL, "empty command (try `help`)");
    if (i == N_VERBS)
        return fail(HG_ENOENT, "unknown command '%s' (try `help`)", verb);
    if (verbs[i].fn == NULL) /* call: its own parsing, on the control thread */
        return submit(h, m, i, arg);
    a = trimmed(arg);
    if (a == NULL)
        return fail(HG_ENOMEM, "out of memory");
    reply = check_args(verbs[i].args, verbs[i].verb, verbs[i].usage, a);
    if (reply == NULL && verbs[i].where == ON_HUB) {
        /* no entry is removed (and freed) while the verb reads it */
        pthread_mutex_lock(&h->list_mu);
        reply = verbs[i].fn(h, a);
        pthread_mutex_unlock(&h->list_mu);
    }
    else if (reply == NULL)
        reply = submit(h, m, i, a);
    free(a);
    return reply;
}

void hg__command_dispatch(hg__host *h, hg__msg *m)
{
    json_t *reply = dispatch(h, m);
    if (reply != NULL)
        hg__msg_answer(h, m, dump(reply));
}

void hg__command_run_job(hg__host *h, hg__job *j)
{
    json_t *reply;
    if (j->msg->fn != NULL) {
        char *text = j->msg->fn(h, j->msg->fn_arg);
        j->msg->fn_arg = NULL; /* the job owned it */
        hg__msg_answer(h, j->msg, text);
        free(j);
        return;
    }
    if (j->msg->call_name != NULL)
        reply = cmd_call(h, j->msg->call_name, j->msg->text);
    else if (verbs[j->verb].fn == NULL)
        reply = run_call_line(h, j->arg);
    else
        reply = verbs[j->verb].fn(h, j->arg);
    hg__msg_answer(h, j->msg, dump(reply));
    free(j->arg);
    free(j);
}
