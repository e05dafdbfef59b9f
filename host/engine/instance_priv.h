/* instance_priv.h - the inside of an instance (hg__inst), shared by instance.c (the hg_host
 * table) and instance_read.c (what the host reads back: counters, facts, records, JSON). */
#ifndef HG_INSTANCE_PRIV_H
#define HG_INSTANCE_PRIV_H

#include "instance.h"
#include "thread.h"

typedef struct counter_entry {
    char *name;
    uint32_t type;
    hg_counter *cell;
} counter_entry;

typedef struct info_entry {
    char *key;
    char *value;
} info_entry;

typedef struct hist_entry {
    char *name;
    double scale;
    hg_histogram *cell; /* with its bounds and counts in the same allocation */
} hist_entry;

typedef struct perf_entry {
    char *thread;
    hg_perf *cell;
} perf_entry;

struct hg__inst {
    hg_host table; /* handed to the plugin; table.host_data points back here */
    char *name;
    const hg__node *cfg;
    hg__logger *lg;
    int own_lg;
    /* Where config getters record errors, under diag_mu: the list of create (any thread), then
     * NULL (errors are logged as warnings), or a `call`'s list while the hub runs the engine's
     * command (that thread only; others log theirs). */
    hg__diag *diag;
    hg__diag own_diag;
    pthread_mutex_t *diag_mu;
    pthread_t diag_thread; /* the only thread whose errors go to diag, unless diag_any_thread */
    uint8_t diag_any_thread;
    hg__inst_hooks hooks;
    hg_cancel *token;
    hg_cancel *own_root; /* standalone: the root our token hangs off */

    pthread_mutex_t mu; /* counters, info, state, records, perf */
    counter_entry *counters;
    uint32_t n_counters, cap_counters;
    info_entry *info;
    uint32_t n_info, cap_info;
    perf_entry *perf;
    uint32_t n_perf, cap_perf;
    hist_entry *hists;  /* instance_hist.c */
    uint32_t n_hists, cap_hists;
    uint32_t state;
    int status;
    char *error;
    uint64_t started_ns, stopped_ns;
    uint32_t state_refusals; /* set_state reports refused so far (the first one is a warning) */

    hg_conn_record *ring;
    uint32_t ring_cap, ring_head, ring_count;
    uint64_t ring_dropped;
    uint64_t record_seq; /* the last record id the host handed out (ids start at 1) */
};

/* The keys hg__inst_json writes itself into an instance's object (instance_read.c), NULL-terminated: a
 * plugin's fact or counter of one of these names is refused (instance.c). */
extern const char *const hg__inst_host_keys[];

/* instance_hist.c: the "hangar.histogram/1" service table, and freeing the histograms. */
const void *hg__inst_hist_api(void);
void hg__inst_hists_free(hg__inst *in);

/* instance_thread.c: thread_spawn and thread_join behind the table. */
int hg__inst_svc_thread_spawn(const hg_host *h, const char *name, int32_t core,
                              void (*fn)(void *), void *arg, hg_thread **out);
int hg__inst_svc_thread_join(const hg_host *h, hg_thread *t);
/* The thread check: aborts, naming the service (fn is the svc_ function's __func__) and the
 * instance, unless the calling thread is the control thread of the instance's host (or the
 * instance is standalone). */
void hg__inst_check_control(const hg__inst *in, const char *fn);

/* Put at the top of each [control-thread] service: checked in builds without NDEBUG (debug,
 * debugoptimized), nothing in release builds. */
#ifndef NDEBUG
#define HG__CONTROL_ONLY(in) hg__inst_check_control((in), __func__)
#else
#define HG__CONTROL_ONLY(in) ((void)(in))
#endif

#endif
