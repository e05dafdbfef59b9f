/* instance_read.c - reading an instance back: counters, facts, state, records and perf cells, for the
 * command channel (as JSON) and for tests; plus the names of states and close causes. */
#define _GNU_SOURCE
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "instance_priv.h"

const char *hg__state_name(uint32_t state)
{
    static const char *const names[] = {"none",    "created",  "ready",   "running",
                                        "paused",  "stopping", "stopped", "failed"};
    return state <= HG_STATE_FAILED ? names[state] : "unknown";
}

const char *hg__close_cause_name(uint32_t cause)
{
    static const char *const names[] = {"none",          "active",  "passive",
                                        "active_reset",  "passive_reset", "timeout",
                                        "connect_failed", "error", "shutdown"};
    return cause <= HG_CLOSE_SHUTDOWN ? names[cause] : "unknown";
}

int hg__addr_is_literal(const char *text)
{
    const char *colon, *p;
    long port = 0;
    if (text == NULL || *text == '\0')
        return 0;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL || close == text + 1 || close[1] != ':')
            return 0;
        colon = close + 1;
    } else {
        colon = strrchr(text, ':');
        if (colon == NULL || colon == text || memchr(text, ':', (size_t)(colon - text)))
            return 0;
    }
    p = colon + 1;
    if (*p == '\0' || strlen(p) > 5)
        return 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return 0;
        port = port * 10 + (*p - '0');
    }
    return port <= 65535;
}

/* --- identity, logging, time --- */

const hg_host *hg__inst_host(hg__inst *in)
{
    return &in->table;
}

const char *hg__inst_name(const hg__inst *in)
{
    return in->name;
}

void *hg__inst_owner_of(const hg_host *table)
{
    const hg__inst *in = table != NULL ? table->host_data : NULL;
    return in != NULL ? in->hooks.ud : NULL;
}

hg_cancel *hg__inst_token(hg__inst *in)
{
    return in->token;
}

int hg__inst_counter(hg__inst *in, const char *name, uint64_t *out)
{
    int rc = HG_ENOENT;
    pthread_mutex_lock(&in->mu);
    for (uint32_t i = 0; i < in->n_counters; i++) {
        if (strcmp(in->counters[i].name, name) == 0) {
            *out = hg_counter_get(in->counters[i].cell);
            rc = 0;
            break;
        }
    }
    pthread_mutex_unlock(&in->mu);
    return rc;
}

int hg__inst_info(hg__inst *in, const char *key, char *buf, uint32_t cap)
{
    int rc = HG_ENOENT;
    pthread_mutex_lock(&in->mu);
    for (uint32_t i = 0; i < in->n_info; i++) {
        if (strcmp(in->info[i].key, key) == 0) {
            rc = strlen(in->info[i].value) < cap ? 0 : HG_ENOSPC;
            if (rc == 0)
                strcpy(buf, in->info[i].value);
            break;
        }
    }
    pthread_mutex_unlock(&in->mu);
    return rc;
}

uint32_t hg__inst_state(hg__inst *in, int *status)
{
    uint32_t s;
    pthread_mutex_lock(&in->mu);
    s = in->state;
    if (status)
        *status = in->status;
    pthread_mutex_unlock(&in->mu);
    return s;
}

void hg__inst_enable_records(hg__inst *in, uint32_t max)
{
    hg_conn_record *ring = max ? calloc(max, sizeof *ring) : NULL;
    pthread_mutex_lock(&in->mu);
    free(in->ring);
    in->ring = ring;
    in->ring_cap = ring ? max : 0;
    in->ring_head = in->ring_count = 0;
    pthread_mutex_unlock(&in->mu);
}

uint32_t hg__inst_records(hg__inst *in)
{
    uint32_t n;
    pthread_mutex_lock(&in->mu);
    n = in->ring_count;
    pthread_mutex_unlock(&in->mu);
    return n;
}

int hg__inst_record_at(hg__inst *in, uint32_t i, hg_conn_record *out)
{
    int rc = HG_ENOENT;
    pthread_mutex_lock(&in->mu);
    if (i < in->ring_count) {
        *out = in->ring[(in->ring_head + i) % in->ring_cap];
        rc = 0;
    }
    pthread_mutex_unlock(&in->mu);
    return rc;
}

/* Keep in step with hg__inst_json below: every key it writes before the facts and counters. */
const char *const hg__inst_host_keys[] = {"engine",     "kind",       "state", "error",
                                          "started_ns", "stopped_ns", NULL};

void *hg__inst_json(hg__inst *in, const char *engine, const char *kind_name)
{
    json_t *o = json_object();
    pthread_mutex_lock(&in->mu);
    json_object_set_new(o, "engine", json_string(engine ? engine : ""));
    json_object_set_new(o, "kind", json_string(kind_name ? kind_name : ""));
    json_object_set_new(o, "state", json_string(hg__state_name(in->state)));
    json_object_set_new(o, "error", in->error ? json_string(in->error) : json_null());
    json_object_set_new(o, "started_ns", json_integer((json_int_t)in->started_ns));
    json_object_set_new(o, "stopped_ns", json_integer((json_int_t)in->stopped_ns));
    for (uint32_t i = 0; i < in->n_info; i++)
        json_object_set_new(o, in->info[i].key, json_string(in->info[i].value));
    for (uint32_t i = 0; i < in->n_counters; i++)
        json_object_set_new(o, in->counters[i].name,
                            json_integer((json_int_t)hg_counter_get(in->counters[i].cell)));
    pthread_mutex_unlock(&in->mu);
    return o;
}

void *hg__inst_records_json(hg__inst *in, uint32_t limit, uint64_t *dropped)
{
    json_t *a = json_array();
    uint32_t first;
    pthread_mutex_lock(&in->mu);
    first = limit != 0 && limit < in->ring_count ? in->ring_count - limit : 0;
    for (uint32_t i = first; i < in->ring_count; i++) {
        const hg_conn_record *r = &in->ring[(in->ring_head + i) % in->ring_cap];
        json_t *o = json_object();
        json_object_set_new(o, "id", json_integer((json_int_t)r->id));
        json_object_set_new(o, "worker", json_integer(r->worker));
        json_object_set_new(o, "outgoing", json_boolean(r->outgoing));
        json_object_set_new(o, "peer", json_string(r->peer));
        json_object_set_new(o, "local", json_string(r->local));
        json_object_set_new(o, "t_open_ns", json_integer((json_int_t)r->t_open_ns));
        json_object_set_new(o, "t_established_ns", json_integer((json_int_t)r->t_established_ns));
        json_object_set_new(o, "t_first_byte_ns", json_integer((json_int_t)r->t_first_byte_ns));
        json_object_set_new(o, "t_close_ns", json_integer((json_int_t)r->t_close_ns));
        json_object_set_new(o, "bytes_in", json_integer((json_int_t)r->bytes_in));
        json_object_set_new(o, "bytes_out", json_integer((json_int_t)r->bytes_out));
        json_object_set_new(o, "close_cause", json_string(hg__close_cause_name(r->close_cause)));
        json_object_set_new(o, "status", json_string(hg_err_name(r->status)));
        json_array_append_new(a, o);
    }
    if (dropped)
        *dropped = in->ring_dropped;
    pthread_mutex_unlock(&in->mu);
    return a;
}

void hg__inst_perf_json(hg__inst *in, const char *engine_label, void *array)
{
    pthread_mutex_lock(&in->mu);
    for (uint32_t i = 0; i < in->n_perf; i++) {
        const hg_perf *p = in->perf[i].cell;
        uint64_t busy = __atomic_load_n(&p->busy_ns, __ATOMIC_RELAXED);
        uint64_t idle = __atomic_load_n(&p->idle_ns, __ATOMIC_RELAXED);
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(in->perf[i].thread));
        json_object_set_new(o, "instance", json_string(in->name));
        json_object_set_new(o, "engine", json_string(engine_label ? engine_label : ""));
        json_object_set_new(o, "busy_ns", json_integer((json_int_t)busy));
        json_object_set_new(o, "idle_ns", json_integer((json_int_t)idle));
        json_object_set_new(o, "busy_pct",
                            json_real(busy + idle ? 100.0 * (double)busy / (double)(busy + idle)
                                                  : 0.0));
        json_object_set_new(o, "turns",
                            json_integer((json_int_t)__atomic_load_n(&p->turns, __ATOMIC_RELAXED)));
        json_object_set_new(o, "events", json_integer(
                                             (json_int_t)__atomic_load_n(&p->events,
                                                                         __ATOMIC_RELAXED)));
        json_array_append_new((json_t *)array, o);
    }
    pthread_mutex_unlock(&in->mu);
}
