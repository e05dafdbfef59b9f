/* entry.h - one engine instance as the host holds it, whatever its kind (runtime mode, pipeline,
 * connector, processor), and the adapter through which the control layer drives it: the hub and
 * the commands never look at one kind's private fields, only at an entry and its adapter. */
#ifndef HG_ENTRY_H
#define HG_ENTRY_H

#include <pthread.h>
#include <stdint.h>

#include <hangar/hangar.h>

#include "config.h"
#include "crash.h"
#include "instance.h"
#include "loader.h"

typedef struct hg__adapter hg__adapter;

/* The engine call the host's control thread is inside, for crash reports and for naming an
 * engine that does not return (a command that times out, `hangar run`'s bounded shutdown).
 * mu guards the three fields. */
typedef struct hg__busy {
    pthread_mutex_t mu;
    const char *engine; /* instance name (lives as long as the host); NULL: in no engine call */
    const char *what;   /* "start", "stop", "command", ... */
    uint64_t since_ns;
} hg__busy;

/* A mark taken around one call into an engine; calls nest. */
typedef struct hg__call {
    hg__crash_mark crash;
    hg__busy *busy;
    const char *engine, *what;
    uint64_t since_ns;
} hg__call;

/* Marks the calling thread as inside `what` of engine `engine` (crash reports) and, when busy
 * is not NULL, records it there. Returns the mark to hand to hg__call_leave. [any-thread] */
hg__call hg__call_enter(hg__busy *busy, const char *engine, const char *what);
void hg__call_leave(hg__call prev);

typedef struct hg__entry {
    hg__inst *in;                /* the services side: counters, facts, state, records */
    const hg__engine_def *def;
    const hg__adapter *ad;
    const hg__instance_cfg *cfg; /* NULL for the runtime mode */
    void *obj;                   /* the plugin's instance; NULL when create failed */
    void *run;                   /* the adapter's per-run state (a pipeline's net) */
    uint32_t seq;                /* position in the configuration (file order) */
    uint32_t level;              /* dependency level: 0 depends on no other engine */
    uint8_t originates;          /* a client or a source: stopped first, may end by itself */
    uint8_t started;             /* control thread only */
    uint8_t stop_asked;          /* control thread only */
    uint8_t late;                /* control thread only: found running when a bound ran out */
} hg__entry;

/* What an adapter needs of the host around it. */
typedef struct hg__actx {
    hg__entry *runtime;          /* NULL: no runtime mode */
    const hg__config *cfg;
    hg__busy *busy;
    /* Held around the runtime's net_open/net_close: the host's "hangar.net/1" extension calls
     * them from other threads too. NULL: none (a host that hands out no extension). */
    pthread_mutex_t *net_mu;
} hg__actx;

/* An engine command (pipeline.h, runtime_mode.h). */
typedef int (*hg__command_fn)(void *, const char *, const hg_config *, char *, uint32_t,
                              uint32_t *);

/* One adapter per engine kind. Every call is made on the host's control thread, one at a time,
 * except `show` (the hub thread; it must only read what is safe to read from any thread). */
struct hg__adapter {
    uint32_t kind;
    /* Creates the plugin's instance (e->obj) from its config. Returns 0 or the engine's code. */
    int (*create)(hg__entry *e, const hg_config *cfg, const hg__actx *x);
    /* Starts one run: the resources a run needs (a pipeline's net), then the engine. */
    int (*start)(hg__entry *e, const hg__actx *x);
    /* Asks the engine to stop (HG_STOP_GRACEFUL / HG_STOP_NOW); does not wait. */
    void (*stop)(hg__entry *e, uint32_t how, const hg__actx *x);
    /* Ends the run once the engine stopped or was stopped at once: frees what start took.
     * Returns the connections this cut. Returns HG_ETIMEDOUT through *rc when it could not. */
    uint32_t (*finish)(hg__entry *e, const hg__actx *x, int *rc);
    /* The engine-specific command, or NULL when the kind or engine has none. */
    hg__command_fn (*command)(const hg__entry *e);
    /* Frees the plugin's instance (the run is finished). */
    void (*destroy)(hg__entry *e, const hg__actx *x);
    /* Adds kind-specific members to the entry's `counters` object (a json_t *); may be NULL.
     * [hub thread] */
    void (*show)(hg__entry *e, void *json_obj, const hg__actx *x);
};

/* The adapters of the kinds this host runs. */
extern const hg__adapter hg__runtime_adapter;
extern const hg__adapter hg__pipeline_adapter;
/* Defined by the stream runtime (host/stream/adapter_connector.c), linked above this library. */
extern const hg__adapter hg__connector_adapter;

/* The adapter for a kind, or NULL when this host does not run engines of that kind (yet). */
const hg__adapter *hg__adapter_for(uint32_t kind);

/* Keys of a pipeline item that the host owns, for the runtime's `runtime:` map likewise. */
extern const char *const hg__runtime_host_keys[];

#endif
