/* host_priv.h - the inside of a host, shared by host.c (create/destroy), hub.c (the hub thread
 * and the command channel), lifecycle.c (the control thread: start, stop, shutdown) and
 * commands.c (the verbs).
 *
 * Threads and what each owns:
 *   hub thread      the registry (adds and removes entries), the command queue; answers the
 *                   verbs that only read (counters, state, records, perf, help) itself and hands
 *                   the rest to the control thread. It never calls an engine's lifecycle
 *                   callbacks and never waits for one, so it always answers.
 *   control thread  every call into an engine's lifecycle (create, start, stop, command,
 *                   destroy, the runtime's net_open/net_close/join): the SDK's [control-thread].
 *                   Runs one job at a time, including the bounded waits of stop and shutdown.
 *   any thread      clients: queue a message and wait for its reply, each with its own bound.
 *   metrics thread  libmicrohttpd's (metrics_http.c): reads entries for /metrics as the hub's read
 *                   verbs do, under list_mu; /healthz is a client of the hub.
 *
 * Locks, in the order they may be taken:
 *   hub_mu    the message queue, each message's reply/done/abandoned, hub_quit.
 *   job_mu    the control thread's job queue, ctl_quit.
 *   list_mu   the registry and the entries in it (recursive). The control thread adds and
 *             removes entries under it; a thread that reads an entry it did not create holds it
 *             for as long as it reads (the hub's read verbs, hg__host_done), so an entry is never
 *             freed under a reader. May be held when taking mu, never the other way round.
 *   mu        lifecycle flags (started, stopping, stopped, cut, not_stopped, shutdown_since_ns,
 *             gen); cv is broadcast on every change and on every engine state change.
 *   busy.mu   the engine call the control thread is inside (engine/entry.h).
 *   net_mu    the runtime mode's net_open/net_close, from the control thread (pipelines) or an
 *             engine's own thread ("hangar.net/1", net_ext.c); taken with no other host lock
 *             held, since net_close waits for the runtime's callbacks.
 * An instance's own mutex (engine/instance.c) is a leaf: taken under any of these, it takes
 * none itself, and engine state changes call back into the host only after releasing it. */
#ifndef HG_HOST_PRIV_H
#define HG_HOST_PRIV_H

#include <pthread.h>
#include <stdint.h>

#include <hangar/hangar.h>

#include "clock.h"
#include "config.h"
#include "crash.h"
#include "ctl_socket.h"
#include "entry.h"
#include "graph.h"
#include "host_api.h"
#include "instance.h"
#include "loader.h"
#include "registry.h"

/* A job the host itself hands the control thread (hg__host_add, hg__host_remove): runs there and
 * returns the reply, a JSON text (malloc'd). It owns arg; called with h NULL, it only frees arg
 * (the job will not run). */
typedef char *(*hg__job_fn)(hg__host *h, void *arg);

/* A command on its way: queued by a client, answered by the hub or by a job on the control
 * thread. */
typedef struct hg__msg {
    struct hg__msg *next;
    hg__job_fn fn;     /* an internal job, run as it is on the control thread; NULL: text */
    void *fn_arg;
    char *text;        /* the command line */
    char *call_name;   /* `call`: the instance; text is then the JSON */
    char *reply;       /* set when answered */
    uint8_t done;      /* answered (under hub_mu) */
    uint8_t abandoned; /* its sender stopped waiting: whoever answers frees it */
} hg__msg;

/* A job for the control thread: one lifecycle verb of a message. */
typedef struct hg__job {
    struct hg__job *next;
    hg__msg *msg;
    int verb;          /* index into the verb table (commands.c) */
    char *arg;         /* the verb's argument, trimmed */
} hg__job;

/* The "hangar.net/1" table this host hands out (net_ext.c). */
typedef struct hg__net_ext {
    hg_net_ext pub;
    hg__host *h;
} hg__net_ext;

struct hg__host {
    hg__config *cfg;
    hg__logger *lg;
    hg__diag *diag;            /* create-time errors (the caller's list); NULL after create */
    pthread_mutex_t diag_mu;
    hg__registry *reg;         /* the engines the plugins provide */
    hg_cancel *root;
    hg__entry *runtime;        /* NULL: no runtime mode loaded */
    hg__engines *engines;      /* every other entry, by name */
    pthread_mutex_t list_mu;
    hg__busy busy;
    hg__actx actx;             /* what adapters get: the runtime, the config, busy */
    uint32_t next_core;

    pthread_t hub;
    uint8_t hub_running;
    pthread_mutex_t hub_mu;
    pthread_cond_t hub_cv;
    hg__msg *head, *tail;
    uint8_t hub_quit;

    pthread_t ctl_thread;
    uint8_t ctl_running;
    pthread_mutex_t job_mu;
    pthread_cond_t job_cv;
    hg__job *jhead, *jtail;
    uint8_t ctl_quit;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint8_t started;
    uint8_t stopping;
    uint8_t stopped;
    uint8_t kill_flag;         /* atomic: a kill was asked; every wait gives up at once */
    uint32_t cut;              /* connections cut at shutdown */
    char *not_stopped;         /* JSON array text of engines that overran the bound */
    uint64_t started_ns;
    uint64_t shutdown_since_ns;
    uint64_t gen;              /* grows on every broadcast of cv: waiters that look at engine
                                * states outside mu see whether they missed one */
    hg__config **parts;        /* configurations added at run time (hg__host_add); owned */
    uint32_t n_parts;
    hg__ctl *ctl;              /* control.socket, when configured */
    hg__graph *graph;          /* the processors and their links (graph_host.c); read with an
                                * acquire load, set once at create */
    /* The stream connectors' hook: the link of stream CONNECTOR.STREAM for a graph link end (dir
     * HG_PORT_OUT: its events feed a processor; HG_PORT_IN: a processor feeds its actions).
     * NULL until the connectors set it; the graph then refuses such ends. */
    int (*stream_link)(hg__host *h, const char *connector, const char *stream, int dir,
                       hg__link **out);
    uint64_t graph_seen;       /* hg__graph_commits when the current file's graph was applied
                                * (at start, at each reload): more means commits at run time */
    struct hg__metrics_http *metrics; /* control.metrics, when configured (host_ops.c) */

    /* reload.c (control thread only, but for free_host): cfg stays the configuration the host
     * was created from (host-wide settings, the runtime mode's node); current is the one the
     * running set came from last (cfg, or the last reload's); loaded holds the configurations
     * reloads brought in that entries still borrow nodes from. */
    hg__config *current;
    hg__config **loaded;
    uint32_t n_loaded;
    hg__config **pinned;       /* of loaded, those graph processors were added from (kept) */
    uint32_t n_pinned;
    char **sets;               /* the --set overrides given at create, applied again on reload */
    uint32_t n_sets;
    hg__cfg_limits limits;
    uint8_t log_from_cfg;      /* the log level follows the config's log.level */
    uint64_t reloads;          /* reloads applied */
    pthread_mutex_t net_mu;    /* the runtime mode's net_open/net_close, whoever calls */
    hg__net_ext net_ext;
};

/* hub.c */
int hg__hub_start(hg__host *h);
void hg__hub_stop(hg__host *h);
/* Answers m with reply (taken): wakes its sender, or frees both when it was abandoned.
 * [hub or control thread] */
void hg__msg_answer(hg__host *h, hg__msg *m, char *reply);
/* Wakes everything waiting on the lifecycle condition variable. [any-thread] */
void hg__host_broadcast(hg__host *h);
/* A snapshot of the entries in start order (malloc'd; *n set), under list_mu. NULL on OOM with
 * *n = 0. [any-thread] */
hg__entry **hg__host_entries(hg__host *h, uint32_t *n);

/* lifecycle.c: control thread */
int hg__lc_start(hg__host *h);
void hg__lc_stop(hg__host *h);
/* Queues a job (taken). [hub thread] */
void hg__lc_submit(hg__host *h, hg__job *j);
/* Starts every engine not yet started, in start order. Returns 0 or the first error. */
int hg__lc_start_all(hg__host *h);
int hg__lc_start_entry(hg__host *h, hg__entry *e);
/* Stops one engine: graceful within the shutdown bound, then at once. Returns connections cut. */
uint32_t hg__lc_stop_entry(hg__host *h, hg__entry *e);
/* The graceful (or, immediate, the kill) shutdown sequence. */
void hg__lc_shutdown(hg__host *h, int immediate);
void hg__entry_destroy(hg__host *h, hg__entry *e);

/* An internal job fn(arg) on the control thread; its reply in *reply. Bound as `shutdown`.
 * [any-thread but the hub's and the control thread's] */
int hg__host_job(hg__host *h, hg__job_fn fn, void *arg, char **reply);

/* host.c: a new instance (hg_host table, config view, log) named name over node. */
int hg__host_new_inst(hg__host *h, const char *name, const hg__node *node, hg__inst **out);
/* host.c: creates the entry of ic (errors into d); *out set when an entry exists. */
int hg__host_create_entry(hg__host *h, const hg__instance_cfg *ic, uint32_t seq, hg__diag *d,
                          hg__entry **out);

/* net_ext.c: sets up h->net_ext and h->net_mu (destroyed by the host's free). */
void hg__net_ext_init(hg__host *h);

/* commands.c */
/* Parses and runs one message on the hub: answers it, or queues a job for the control thread. */
void hg__command_dispatch(hg__host *h, hg__msg *m);
/* Runs a job's verb on the control thread and answers its message. */
void hg__command_run_job(hg__host *h, hg__job *j);
/* 1 when the verb of text needs the control thread (it calls into engines or waits). */
int hg__command_needs_control(const char *text, const char *call_name);

/* host.c */
hg__entry *hg__host_find(hg__host *h, const char *name);

/* change.c: orders every entry anew from the links of the configuration and of every part added
 * (plus extra, a part not added yet). Under list_mu. Returns hg__order_compute's code. */
int hg__host_relevel(hg__host *h, const hg__config *extra, hg__diag *d);

/* reload.c: `reload [FILE]` on the control thread: reads FILE (default: the file the running set
 * came from) whole, refuses it with every error when it is not valid or changes what cannot
 * change at run time, else applies only the difference (new instances start, removed ones stop,
 * changed ones restart), rolling back to the previous set when a new one does not start.
 * Returns the reply, a JSON text (malloc'd). [control-thread] */
char *hg__reload_run(hg__host *h, const char *file);
/* Frees the configurations reloads loaded (host destroy). */
void hg__reload_free(hg__host *h);

#endif
