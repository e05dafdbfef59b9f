/* instance.h - the host side of one engine instance: the hg_host table handed to the plugin and
 * what stands behind it (counters, facts, state, records ring, perf cells, cancel token, config
 * node). Usable without a whole host (standalone) so plugin tests can drive an engine directly. */
#ifndef HG_INSTANCE_H
#define HG_INSTANCE_H

#include <pthread.h>
#include <stdint.h>

#include <hangar/histogram.h>
#include <hangar/host.h>

#include "cfgtree.h"
#include "diag.h"
#include "log.h"
#include "thread.h"

typedef struct hg__inst hg__inst;

/* What an instance asks its host for; every member optional (standalone defaults). */
typedef struct hg__inst_hooks {
    /* Passed to every hook; also the host's identity for threads: the instance's [control-thread]
     * services must be called on a thread marked HG__THREAD_CONTROL for ud (hg__thread_enter,
     * hg__inst_enter_control), and its spawned threads carry ud as their owner. NULL
     * (standalone): calls are not checked. */
    void *ud;
    /* resolve_address for names (literal addresses never reach it). */
    int (*resolve)(void *ud, const char *text, char *buf, uint32_t cap);
    const void *(*extension)(void *ud, hg__inst *in, const char *id);
    /* The core for HG_CORE_AUTO (HG_CORE_ANY for none). */
    int32_t (*auto_core)(void *ud, hg__inst *in);
    /* Called (on the reporting thread) after set_state changed the state. */
    void (*state_changed)(void *ud, hg__inst *in);
} hg__inst_hooks;

/* An instance of a host: config errors go to d under diag_mu, its cancel token is a child of
 * parent. Everything borrowed must outlive the instance. */
int hg__inst_new(const char *name, const hg__node *cfg, hg__logger *lg, hg__diag *d,
                 pthread_mutex_t *diag_mu, hg_cancel *parent, const hg__inst_hooks *hooks,
                 hg__inst **out);
const char *hg__inst_name(const hg__inst *in);
/* Where the calling thread's config getter errors go from now on: d (borrowed until the next
 * call), or NULL to log them as warnings. The host detaches the create-time list after create
 * and lends a list to an engine command for its duration. Under the instance's diag lock. */
void hg__inst_set_diag(hg__inst *in, hg__diag *d);
/* Marks the calling thread as the control thread of the instance's host until
 * hg__thread_leave(mark): the host calls create and destroy on its caller's thread. */
hg__thread_mark hg__inst_enter_control(const hg__inst *in);
/* Sets the state from the host's side (also stamps started/stopped times). */
void hg__inst_set_state(hg__inst *in, uint32_t state, int status, const char *message);
/* The instance as a JSON object (counters, facts, state, error, times): a json_t * (jansson),
 * new reference. kind_name/engine are added as "kind"/"engine". */
void *hg__inst_json(hg__inst *in, const char *engine, const char *kind_name);
/* Records as a JSON array (json_t *, new reference), oldest first: the newest `limit` of them
 * (0: all), and the count dropped from the ring. */
void *hg__inst_records_json(hg__inst *in, uint32_t limit, uint64_t *dropped);
/* Appends this instance's perf cells to a JSON array (json_t *). */
void hg__inst_perf_json(hg__inst *in, const char *engine_label, void *array);
hg_cancel *hg__inst_token(hg__inst *in);
/* The hooks' ud (the host) of the instance behind a table this host handed out, or NULL.
 * [any-thread] */
void *hg__inst_owner_of(const hg_host *table);
/* "HOST:PORT" with a port 0..65535 and a non-empty host ("[v6]" allowed). */
int hg__addr_is_literal(const char *text);
const char *hg__state_name(uint32_t state);
const char *hg__close_cause_name(uint32_t cause);

/* A standalone instance: logs to lg (or stderr when NULL), its own root cancel token, config node
 * cfg (borrowed; may be NULL), config errors into d (may be NULL). resolve_address accepts only
 * literal addresses. Returns 0 and *out. */
int hg__inst_new_standalone(const char *name, const hg__node *cfg, hg__logger *lg, hg__diag *d,
                            hg__inst **out);
void hg__inst_free(hg__inst *in);
/* The table to hand to the plugin; valid until hg__inst_free. */
const hg_host *hg__inst_host(hg__inst *in);
/* Reads a counter by name; HG_ENOENT when not registered. */
int hg__inst_counter(hg__inst *in, const char *name, uint64_t *out);
/* A published fact (copy into buf); HG_ENOENT when absent. */
int hg__inst_info(hg__inst *in, const char *key, char *buf, uint32_t cap);
/* The state reported so far (HG_STATE_*), with its status. */
uint32_t hg__inst_state(hg__inst *in, int *status);
/* Number of records kept, and record i (0 = oldest). */
uint32_t hg__inst_records(hg__inst *in);
int hg__inst_record_at(hg__inst *in, uint32_t i, hg_conn_record *out);
/* Calls fn for every counter of the instance with its type (HG_COUNTER_*) and value, in
 * registration order, under the instance's lock: fn must not call back into the instance.
 * [any-thread] */
void hg__inst_counter_each(hg__inst *in, void (*fn)(void *ud, const char *name, uint32_t type,
                                                    uint64_t value), void *ud);
/* Calls fn for every histogram registered through "hangar.histogram/1" (histogram.h), under the
 * instance's lock; fn reads the cells with atomic loads. [any-thread] */
void hg__inst_hist_each(hg__inst *in, void (*fn)(void *ud, const char *name, double scale,
                                                 const hg_histogram *cell), void *ud);
/* Turns the records ring on with room for max records (standalone tests). */
void hg__inst_enable_records(hg__inst *in, uint32_t max);

#endif
