/* host_priv.h - the inside of a host, shared by host.c (create/destroy), hub.c (the control hub
 * thread, start and shutdown) and commands.c (the command channel). */
#ifndef HG_HOST_PRIV_H
#define HG_HOST_PRIV_H

#include <pthread.h>
#include <stdint.h>

#include <hangar/hangar.h>

#include "clock.h"
#include "config.h"
#include "crash.h"
#include "ctl_socket.h"
#include "host_api.h"
#include "loader.h"
#include "instance.h"

/* One engine instance: the runtime mode or a configured pipeline/connector/processor. */
typedef struct hg__entry {
    hg__inst *in;
    const hg__engine_def *def;
    const hg__instance_cfg *cfg; /* NULL for the runtime mode */
    void *obj;                   /* the plugin's instance */
    const hg_net *net;           /* pipelines, after start */
    uint8_t listens;             /* has a `listen:` key: started first, stopped last */
    uint8_t started;
    uint8_t stop_asked;
    uint8_t late;                /* the shutdown found it running when its bound ran out */
} hg__entry;

/* A command on its way to the hub. */
typedef struct hg__msg {
    struct hg__msg *next;
    char *text;       /* the command line */
    char *call_name;  /* `call`: the instance; text is then the JSON */
    char *reply;      /* set by the hub */
    int done;
    uint8_t taken;     /* the hub took it off the queue */
    uint8_t abandoned; /* its sender stopped waiting: the hub frees it when done */
} hg__msg;

struct hg__host {
    hg__config *cfg;
    hg__logger *lg;
    hg__diag *diag;            /* create-time errors (the caller's list); NULL after create */
    pthread_mutex_t diag_mu;
    hg__registry *reg;
    hg_cancel *root;
    hg__entry runtime;         /* runtime.in == NULL: no runtime mode loaded */
    hg__entry *ents;
    uint32_t n_ents;
    uint32_t next_core;

    pthread_t hub;
    uint8_t hub_running;
    pthread_mutex_t mu;        /* queue, lifecycle flags; cv signals both */
    pthread_cond_t cv;
    hg__msg *head, *tail;
    uint8_t hub_quit;
    uint8_t started;
    uint8_t stopping;
    uint8_t stopped;
    uint8_t kill_flag;         /* read without mu by the shutdown sequence */
    uint32_t cut;              /* connections cut at shutdown */
    char *not_stopped;         /* JSON array text of engines that overran the bound */
    uint64_t started_ns;
    uint64_t shutdown_since_ns; /* when the running shutdown began; 0: none runs (under mu) */
    /* The engine call the hub thread is inside (under mu): names an engine that does not
     * return, for commands that time out and for `hangar run`. */
    const char *busy_engine;   /* instance name (lives as long as the host); NULL: none */
    const char *busy_what;     /* "start", "stop", "command", ... */
    uint64_t busy_since_ns;
    hg__ctl *ctl;              /* control.socket, when configured */
};

/* A call from the hub into an engine: marked for crash reports and for hg__host_busy. */
typedef struct hg__hub_mark {
    hg__crash_mark crash;
    const char *engine, *what;
    uint64_t since_ns;
} hg__hub_mark;

/* hub.c */
int hg__hub_start(hg__host *h);
void hg__hub_stop(hg__host *h);
/* Runs on the hub: starts every engine not yet started. Returns 0 or the first error. */
int hg__hub_start_all(hg__host *h);
/* Runs on the hub: starts / stops one pipeline (stop returns the connections it cut). */
int hg__hub_start_entry(hg__host *h, hg__entry *e);
uint32_t hg__hub_stop_entry(hg__host *h, hg__entry *e);
/* Runs on the hub: the graceful (or, immediate, the kill) sequence. */
void hg__hub_shutdown(hg__host *h, int immediate);
/* Wakes everything waiting on the host's condition variable. */
void hg__host_broadcast(hg__host *h);
/* Marks the hub as inside `what` of engine `engine` (an instance name) until hg__hub_leave with
 * the mark returned (calls nest). Not under mu. */
hg__hub_mark hg__hub_enter(hg__host *h, const char *engine, const char *what);
void hg__hub_leave(hg__host *h, hg__hub_mark prev);

/* commands.c: runs one command on the hub; returns a malloc'd JSON reply. */
char *hg__command_run(hg__host *h, const char *text, const char *call_name);

/* host.c */
hg__entry *hg__host_find(hg__host *h, const char *name);

#endif
