/* instance.c - the hg_host table behind every engine instance: identity, logging, time, the
 * config view, counters, facts, state, records, perf cells and cancel tokens (threads and the
 * thread check: instance_thread.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cancel.h"
#include "clock.h"
#include "cfgview.h"
#include "instance_priv.h"

static hg__inst *self_of(const hg_host *h)
{
    return (hg__inst *)h->host_data;
}

static int grow(void **arr, uint32_t *cap, uint32_t n, size_t elem)
{
    void *p;
    uint32_t nc;
    if (n < *cap)
        return 0;
    nc = *cap ? *cap * 2 : 8;
    p = realloc(*arr, (size_t)nc * elem);
    if (p == NULL)
        return HG_ENOMEM;
    *arr = p;
    *cap = nc;
    return 0;
}

static const char *svc_name(const hg_host *h)
{
    return self_of(h)->name;
}

static void svc_log(const hg_host *h, uint32_t level, const char *msg)
{
    hg__inst *in = self_of(h);
    hg__log_msg(in->lg, level, in->name, msg ? msg : "");
}

static uint32_t svc_log_level(const hg_host *h)
{
    return hg__logger_level_for(self_of(h)->lg, self_of(h)->name);
}

static uint64_t svc_now_ns(const hg_host *h)
{
    (void)h;
    return hg__now_ns();
}

/* --- config view: each getter runs under the host's diag lock, as errors append to it --- */

/* The list the calling thread's errors go to: the instance's own, or tmp (logged after). */
static hg__diag *diag_for_caller(hg__inst *in, hg__diag *tmp)
{
    if (in->diag != NULL && (in->diag_any_thread || pthread_equal(in->diag_thread, pthread_self())))
        return in->diag;
    return tmp;
}

/* Errors nobody collects (after create, outside a call) are warnings: "FILE:L:C: message". */
static void log_as_warnings(hg__inst *in, hg__diag *d)
{
    size_t who = strlen(in->name);
    for (uint32_t i = 0; i < d->n; i++) {
        const hg__diag_item *it = &d->items[i];
        const char *msg = it->msg;
        if (strncmp(msg, in->name, who) == 0 && msg[who] == ':' && msg[who + 1] == ' ')
            msg += who + 2; /* the line names the instance already */
        if (it->file && it->line > 0)
            hg__log(in->lg, HG_LOG_WARN, in->name, "%s:%u:%u: %s", it->file, it->line, it->col,
                    msg);
        else
            hg__log(in->lg, HG_LOG_WARN, in->name, "%s", msg);
    }
    hg__diag_free(d);
}

#define CFG_CALL(h, expr)                                                                    \
    do {                                                                                     \
        hg__inst *in_ = self_of(h);                                                          \
        hg__diag tmp_;                                                                       \
        HG__CONTROL_ONLY(in_);                                                               \
        hg__cfgctx ctx_ = {NULL, in_->name};                                                 \
        int rc_;                                                                             \
        hg__diag_init(&tmp_);                                                                \
        if (in_->diag_mu)                                                                    \
            pthread_mutex_lock(in_->diag_mu);                                                \
        ctx_.diag = diag_for_caller(in_, &tmp_);                                             \
        rc_ = (expr);                                                                        \
        if (in_->diag_mu)                                                                    \
            pthread_mutex_unlock(in_->diag_mu);                                              \
        log_as_warnings(in_, &tmp_);                                                         \
        return rc_;                                                                          \
    } while (0)

void hg__inst_set_diag(hg__inst *in, hg__diag *d)
{
    if (in->diag_mu)
        pthread_mutex_lock(in->diag_mu);
    in->diag = d;
    in->diag_thread = pthread_self();
    in->diag_any_thread = 0;
    if (in->diag_mu)
        pthread_mutex_unlock(in->diag_mu);
}

static const hg_config *svc_cfg_root(const hg_host *h)
{
    HG__CONTROL_ONLY(self_of(h));
    return (const hg_config *)self_of(h)->cfg;
}

static uint32_t svc_cfg_type(const hg_host *h, const hg_config *node)
{
    HG__CONTROL_ONLY(self_of(h));
    return node ? ((const hg__node *)node)->type : HG_CFG_NONE;
}

static int svc_cfg_child(const hg_host *h, const hg_config *node, const char *key,
                         const hg_config **out)
{
    HG__CONTROL_ONLY(self_of(h));
    return hg__cfg_child((const hg__node *)node, key, (const hg__node **)out);
}

static uint32_t svc_cfg_count(const hg_host *h, const hg_config *node)
{
    const hg__node *n = (const hg__node *)node;
    HG__CONTROL_ONLY(self_of(h));
    return (n && n->type != HG_CFG_SCALAR) ? n->n : 0;
}

static int svc_cfg_at(const hg_host *h, const hg_config *node, uint32_t i, const hg_config **out,
                      const char **key_out)
{
    HG__CONTROL_ONLY(self_of(h));
    return hg__cfg_at((const hg__node *)node, i, (const hg__node **)out, key_out);
}

static int svc_cfg_string(const hg_host *h, const hg_config *n, const char *k, const char **o)
{
    CFG_CALL(h, hg__cfg_string(&ctx_, (const hg__node *)n, k, o));
}
static int svc_cfg_int(const hg_host *h, const hg_config *n, const char *k, int64_t *o)
{
    CFG_CALL(h, hg__cfg_int(&ctx_, (const hg__node *)n, k, o));
}
static int svc_cfg_double(const hg_host *h, const hg_config *n, const char *k, double *o)
{
    CFG_CALL(h, hg__cfg_double(&ctx_, (const hg__node *)n, k, o));
}
static int svc_cfg_bool(const hg_host *h, const hg_config *n, const char *k, uint8_t *o)
{
    CFG_CALL(h, hg__cfg_bool(&ctx_, (const hg__node *)n, k, o));
}
static int svc_cfg_size(const hg_host *h, const hg_config *n, const char *k, uint64_t *o)
{
    CFG_CALL(h, hg__cfg_size(&ctx_, (const hg__node *)n, k, o));
}
static int svc_cfg_duration(const hg_host *h, const hg_config *n, const char *k, uint64_t *o)
{
    CFG_CALL(h, hg__cfg_duration(&ctx_, (const hg__node *)n, k, o));
}
static int svc_cfg_error(const hg_host *h, const hg_config *n, const char *k, const char *msg)
{
    CFG_CALL(h, hg__cfg_error(&ctx_, (const hg__node *)n, k, msg));
}

/* --- counters, facts, state, records, perf --- */

static int valid_ident(const char *s, int allow_dash)
{
    if (s == NULL || *s == '\0' || strlen(s) > 63)
        return 0;
    for (; *s; s++) {
        int ok = (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' ||
                 (allow_dash && (*s == '-' || *s == '.'));
        if (!ok)
            return 0;
    }
    return 1;
}

static int is_host_key(const char *name)
{
    for (const char *const *k = hg__inst_host_keys; *k != NULL; k++)
        if (strcmp(*k, name) == 0)
            return 1;
    return 0;
}

/* The index of counter `name`, or -1. Called with in->mu held. */
static int find_counter(const hg__inst *in, const char *name)
{
    for (uint32_t i = 0; i < in->n_counters; i++)
        if (strcmp(in->counters[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* The index of fact `key`, or -1. Called with in->mu held. */
static int find_info(const hg__inst *in, const char *key)
{
    for (uint32_t i = 0; i < in->n_info; i++)
        if (strcmp(in->info[i].key, key) == 0)
            return (int)i;
    return -1;
}

/* Appends a new zeroed counter. Called with in->mu held. */
static int add_counter(hg__inst *in, const char *name, uint32_t type, hg_counter **out)
{
    counter_entry *e;
    int rc = grow((void **)&in->counters, &in->cap_counters, in->n_counters,
                  sizeof(counter_entry));
    if (rc != 0)
        return rc;
    e = &in->counters[in->n_counters];
    e->name = strdup(name);
    e->cell = calloc(1, sizeof *e->cell);
    e->type = type;
    if (e->name == NULL || e->cell == NULL) {
        free(e->name);
        free(e->cell);
        return HG_ENOMEM;
    }
    in->n_counters++;
    *out = e->cell;
    return 0;
}

/* A counter and a fact share one JSON object per instance (`counters NAME`), so a name is
 * either, never both, and never one of the keys the host writes there itself. A name already
 * registered (by the engine or, for a pipeline, by the runtime mode) returns the same cell. */
static int svc_counter(const hg_host *h, const char *name, uint32_t type, hg_counter **out)
{
    hg__inst *in = self_of(h);
    int rc, i;
    HG__CONTROL_ONLY(in);
    if (!valid_ident(name, 0) || (type != HG_COUNTER_SUM && type != HG_COUNTER_GAUGE) ||
        out == NULL || is_host_key(name))
        return HG_EINVAL;
    pthread_mutex_lock(&in->mu);
    i = find_counter(in, name);
    if (i >= 0) {
        *out = in->counters[i].cell;
        rc = 0;
    } else if (find_info(in, name) >= 0) {
        rc = HG_EEXIST;
    } else {
        rc = add_counter(in, name, type, out);
    }
    pthread_mutex_unlock(&in->mu);
    return rc;
}

/* Appends fact key = v, taking v on success. Called with in->mu held. */
static int add_info(hg__inst *in, const char *key, char *v)
{
    char *k;
    int rc = grow((void **)&in->info, &in->cap_info, in->n_info, sizeof(info_entry));
    if (rc != 0)
        return rc;
    k = strdup(key);
    if (k == NULL)
        return HG_ENOMEM;
    in->info[in->n_info].key = k;
    in->info[in->n_info].value = v;
    in->n_info++;
    return 0;
}

static int svc_set_info(const hg_host *h, const char *key, const char *value)
{
    hg__inst *in = self_of(h);
    char *v;
    int rc = 0, i;
    if (!valid_ident(key, 0) || value == NULL || is_host_key(key))
        return HG_EINVAL;
    v = strdup(value);
    if (v == NULL)
        return HG_ENOMEM;
    pthread_mutex_lock(&in->mu);
    i = find_info(in, key);
    if (i >= 0) {
        free(in->info[i].value);
        in->info[i].value = v;
        v = NULL;
    } else if (find_counter(in, key) >= 0) {
        rc = HG_EEXIST;
    } else {
        rc = add_info(in, key, v);
        if (rc == 0)
            v = NULL;
    }
    pthread_mutex_unlock(&in->mu);
    free(v);
    return rc;
}

/* Whether an engine may report state `to` while its instance is in `from` (the rules are in
 * host.h). The host's own changes (start, stop, restart) are not checked. */
static int engine_may_report(uint32_t from, uint32_t to)
{
    switch (to) {
    case HG_STATE_FAILED:
        return 1;
    case HG_STATE_STOPPED:
        return from != HG_STATE_FAILED;
    case HG_STATE_STOPPING:
        return from != HG_STATE_STOPPED && from != HG_STATE_FAILED;
    case HG_STATE_READY:
    case HG_STATE_RUNNING:
    case HG_STATE_PAUSED:
        return from == HG_STATE_CREATED || from == HG_STATE_READY ||
               from == HG_STATE_RUNNING || from == HG_STATE_PAUSED;
    default: /* CREATED is where the host puts an instance, never a report; or no state at all */
        return 0;
    }
}

/* Stores the state and stamps the times. Called with in->mu held; takes *err. */
static void store_state(hg__inst *in, uint32_t state, int status, char **err)
{
    in->state = state;
    if (state == HG_STATE_RUNNING && (in->started_ns == 0 || in->stopped_ns != 0)) {
        in->started_ns = hg__now_ns(); /* the latest start: a restart begins the times anew */
        in->stopped_ns = 0;
    }
    if ((state == HG_STATE_STOPPED || state == HG_STATE_FAILED) && in->stopped_ns == 0)
        in->stopped_ns = hg__now_ns();
    if (state == HG_STATE_FAILED || *err != NULL) {
        free(in->error);
        in->error = *err;
        *err = NULL;
        in->status = status;
    }
}

static void log_refusal(hg__inst *in, uint32_t from, uint32_t to, uint32_t n_before)
{
    /* A plugin that keeps reporting the wrong state would flood the log: warn once. */
    hg__log(in->lg, n_before == 0 ? HG_LOG_WARN : HG_LOG_DEBUG, in->name,
            "set_state(%s) refused while %s (%s): the state stays %s", hg__state_name(to),
            hg__state_name(from), hg_err_name(HG_ESTATE), hg__state_name(from));
}

/* Sets the state; an engine's report (checked) is refused when the rules forbid it. Returns 0
 * or HG_ESTATE. */
static int change_state(hg__inst *in, uint32_t state, int status, const char *message,
                        int checked)
{
    char *err = message ? strdup(message) : NULL;
    uint32_t old, refusals = 0;
    int rc = 0;
    if (state == HG_STATE_FAILED && status == 0)
        status = HG_EFAIL; /* "failed: success (OK)" says nothing */
    pthread_mutex_lock(&in->mu);
    old = in->state;
    if (checked && !engine_may_report(old, state)) {
        refusals = in->state_refusals++;
        rc = HG_ESTATE;
    } else {
        store_state(in, state, status, &err);
    }
    pthread_mutex_unlock(&in->mu);
    free(err);
    if (rc != 0) {
        log_refusal(in, old, state, refusals);
        return rc;
    }
    if (state == HG_STATE_FAILED && old != HG_STATE_FAILED)
        hg__log(in->lg, HG_LOG_ERROR, in->name, "failed: %s (%s)",
                message ? message : hg_strerror(status), hg_err_name(status));
    if (in->hooks.state_changed && old != state)
        in->hooks.state_changed(in->hooks.ud, in);
    return 0;
}

void hg__inst_set_state(hg__inst *in, uint32_t state, int status, const char *message)
{
    change_state(in, state, status, message, 0);
}

static void svc_set_state(const hg_host *h, uint32_t state, int status, const char *message)
{
    change_state(self_of(h), state, status, message, 1);
}

/* The host numbers records itself as it stores them: an id the runtime mode gives restarts
 * with every start of the pipeline (a new net), the host's does not. */
static int svc_record(const hg_host *h, const hg_conn_record *rec)
{
    hg__inst *in = self_of(h);
    hg_conn_record copy;
    size_t n;
    if (rec == NULL || rec->struct_size < offsetof(hg_conn_record, peer))
        return HG_EINVAL;
    if (in->ring_cap == 0)
        return 0;
    /* Read what the plugin's struct_size says it has; default the rest. */
    memset(&copy, 0, sizeof copy);
    n = rec->struct_size < sizeof copy ? rec->struct_size : sizeof copy;
    memcpy(&copy, rec, n);
    copy.struct_size = sizeof copy;
    copy.peer[sizeof copy.peer - 1] = '\0';
    copy.local[sizeof copy.local - 1] = '\0';
    pthread_mutex_lock(&in->mu);
    copy.id = ++in->record_seq;
    in->ring[(in->ring_head + in->ring_count) % in->ring_cap] = copy;
    if (in->ring_count < in->ring_cap) {
        in->ring_count++;
    } else {
        in->ring_head = (in->ring_head + 1) % in->ring_cap;
        in->ring_dropped++;
    }
    pthread_mutex_unlock(&in->mu);
    return 0;
}

static int svc_perf_register(const hg_host *h, const char *thread_name, hg_perf **out)
{
    hg__inst *in = self_of(h);
    int rc;
    if (thread_name == NULL || out == NULL)
        return HG_EINVAL;
    pthread_mutex_lock(&in->mu);
    rc = grow((void **)&in->perf, &in->cap_perf, in->n_perf, sizeof(perf_entry));
    if (rc == 0) {
        perf_entry *e = &in->perf[in->n_perf];
        e->thread = strdup(thread_name);
        e->cell = calloc(1, sizeof *e->cell);
        if (e->thread == NULL || e->cell == NULL) {
            free(e->thread);
            free(e->cell);
            rc = HG_ENOMEM;
        } else {
            e->cell->struct_size = sizeof *e->cell;
            in->n_perf++;
            *out = e->cell;
        }
    }
    pthread_mutex_unlock(&in->mu);
    return rc;
}

/* --- cancel tokens --- */

static hg_cancel *svc_cancel_token(const hg_host *h)
{
    return self_of(h)->token;
}
static int svc_cancel_child(const hg_host *h, hg_cancel *parent, hg_cancel **out)
{
    (void)h;
    return hg__cancel_child(parent, out);
}
static void svc_cancel(const hg_host *h, hg_cancel *t)
{
    (void)h;
    hg__cancel_fire(t);
}
static uint8_t svc_is_cancelled(const hg_host *h, hg_cancel *t)
{
    (void)h;
    return hg__cancel_is_set(t);
}
static int svc_cancel_wait(const hg_host *h, hg_cancel *t, uint64_t timeout_ns)
{
    (void)h;
    return hg__cancel_wait(t, timeout_ns);
}
static int svc_cancel_subscribe(const hg_host *h, hg_cancel *t, void (*fn)(void *), void *arg,
                                uint64_t *sub)
{
    (void)h;
    return hg__cancel_subscribe(t, fn, arg, sub);
}
static void svc_cancel_unsubscribe(const hg_host *h, hg_cancel *t, uint64_t sub)
{
    (void)h;
    hg__cancel_unsubscribe(t, sub);
}
static void svc_cancel_release(const hg_host *h, hg_cancel *t)
{
    (void)h;
    if (t != NULL && t != self_of(h)->token)
        hg__cancel_release(t);
}

/* --- addresses, extensions --- */

static int svc_resolve_address(const hg_host *h, const char *text, char *buf, uint32_t cap)
{
    hg__inst *in = self_of(h);
    if (text == NULL || buf == NULL || cap == 0)
        return HG_EINVAL;
    if (hg__addr_is_literal(text)) {
        if (strlen(text) >= cap)
            return HG_ENOSPC;
        strcpy(buf, text);
        return 0;
    }
    if (in->hooks.resolve)
        return in->hooks.resolve(in->hooks.ud, text, buf, cap);
    return HG_EINVAL;
}

static const void *svc_get_extension(const hg_host *h, const char *id)
{
    hg__inst *in = self_of(h);
    if (id != NULL && strcmp(id, HG_HISTOGRAM_EXT) == 0)
        return hg__inst_hist_api(); /* every kind, standalone instances too */
    if (id == NULL || in->hooks.extension == NULL)
        return NULL;
    return in->hooks.extension(in->hooks.ud, in, id);
}

static void fill_table(hg__inst *in)
{
    hg_host *t = &in->table;
    t->struct_size = sizeof *t;
    t->abi_major = HG_ABI_MAJOR;
    t->abi_minor = HG_ABI_MINOR;
    t->host_data = in;
    t->name = svc_name;
    t->log = svc_log;
    t->log_level = svc_log_level;
    t->now_ns = svc_now_ns;
    t->cfg_root = svc_cfg_root;
    t->cfg_type = svc_cfg_type;
    t->cfg_child = svc_cfg_child;
    t->cfg_count = svc_cfg_count;
    t->cfg_at = svc_cfg_at;
    t->cfg_string = svc_cfg_string;
    t->cfg_int = svc_cfg_int;
    t->cfg_double = svc_cfg_double;
    t->cfg_bool = svc_cfg_bool;
    t->cfg_size = svc_cfg_size;
    t->cfg_duration = svc_cfg_duration;
    t->cfg_error = svc_cfg_error;
    t->counter = svc_counter;
    t->set_info = svc_set_info;
    t->set_state = svc_set_state;
    t->record = svc_record;
    t->perf_register = svc_perf_register;
    t->thread_spawn = hg__inst_svc_thread_spawn;
    t->thread_join = hg__inst_svc_thread_join;
    t->cancel_token = svc_cancel_token;
    t->cancel_child = svc_cancel_child;
    t->cancel = svc_cancel;
    t->is_cancelled = svc_is_cancelled;
    t->cancel_wait = svc_cancel_wait;
    t->cancel_subscribe = svc_cancel_subscribe;
    t->cancel_unsubscribe = svc_cancel_unsubscribe;
    t->cancel_release = svc_cancel_release;
    t->resolve_address = svc_resolve_address;
    t->get_extension = svc_get_extension;
}

int hg__inst_new(const char *name, const hg__node *cfg, hg__logger *lg, hg__diag *d,
                 pthread_mutex_t *diag_mu, hg_cancel *parent, const hg__inst_hooks *hooks,
                 hg__inst **out)
{
    hg__inst *in = calloc(1, sizeof *in);
    int rc = HG_ENOMEM;
    if (in == NULL)
        return HG_ENOMEM;
    pthread_mutex_init(&in->mu, NULL);
    hg__diag_init(&in->own_diag);
    in->name = strdup(name ? name : "instance");
    if (in->name == NULL)
        goto fail_name;
    in->cfg = cfg;
    if (lg == NULL) {
        rc = hg__logger_new(0, &in->lg);
        if (rc != 0)
            goto fail_lg;
        in->own_lg = 1;
    } else {
        in->lg = lg;
    }
    in->diag = d ? d : &in->own_diag;
    in->diag_any_thread = 1;
    in->diag_mu = diag_mu;
    if (hooks)
        in->hooks = *hooks;
    if (parent == NULL) {
        rc = hg__cancel_root(&in->own_root);
        if (rc != 0)
            goto fail_root;
        parent = in->own_root;
    }
    rc = hg__cancel_child(parent, &in->token);
    if (rc != 0)
        goto fail_token;
    in->state = HG_STATE_CREATED;
    fill_table(in);
    *out = in;
    return 0;

fail_token:
    hg__cancel_release(in->own_root);
fail_root:
    if (in->own_lg)
        hg__logger_free(in->lg);
fail_lg:
    free(in->name);
fail_name:
    pthread_mutex_destroy(&in->mu);
    free(in);
    return rc;
}

int hg__inst_new_standalone(const char *name, const hg__node *cfg, hg__logger *lg, hg__diag *d,
                            hg__inst **out)
{
    return hg__inst_new(name, cfg, lg, d, NULL, NULL, NULL, out);
}

void hg__inst_free(hg__inst *in)
{
    if (in == NULL)
        return;
    hg__cancel_release(in->token);
    hg__cancel_release(in->own_root);
    for (uint32_t i = 0; i < in->n_counters; i++) {
        free(in->counters[i].name);
        free(in->counters[i].cell);
    }
    for (uint32_t i = 0; i < in->n_info; i++) {
        free(in->info[i].key);
        free(in->info[i].value);
    }
    for (uint32_t i = 0; i < in->n_perf; i++) {
        free(in->perf[i].thread);
        free(in->perf[i].cell);
    }
    hg__inst_hists_free(in);
    free(in->counters);
    free(in->info);
    free(in->perf);
    free(in->ring);
    free(in->error);
    if (in->own_lg)
        hg__logger_free(in->lg);
    hg__diag_free(&in->own_diag);
    free(in->name);
    pthread_mutex_destroy(&in->mu);
    free(in);
}
