/* graph.h - the graph-processor engine kind's runtime: processors on their own threads joined by
 * links (host/dataplane), changed only by commits (validate everything, then apply in phases),
 * read back as JSON or Graphviz DOT, and drained at shutdown. See docs/GRAPH.md. */
#ifndef HG_GRAPH_H
#define HG_GRAPH_H

#include <stdint.h>

#include <hangar/processor.h>

#include "cfgtree.h"
#include "diag.h"

typedef struct hg__graph hg__graph;
typedef struct hg__link hg__link;

/* Execution modes of a processor. */
enum {
    HG__MODE_REACTIVE = 1,   /* process runs when an input has frames (or ended), default */
    HG__MODE_CONTINUOUS = 2, /* process runs in a loop (sources); HG_PROCESS_IDLE sleeps it */
    HG__MODE_MANUAL = 3      /* process runs every `interval` and on hg__graph_step */
};

/* Processor states (as `graph` names them). */
enum {
    HG__PST_CREATED = 1, HG__PST_READY, HG__PST_RUNNING, HG__PST_PAUSED, HG__PST_STOPPING,
    HG__PST_STOPPED, HG__PST_FAILED
};

/* What the graph's owner resolves an `engine:` name to. ops must stay valid until release. */
typedef struct hg__proc_def {
    const hg_processor_ops *ops;
    const hg_host *host;   /* handed to ops->create; may be NULL in tests */
    const hg_config *cfg;  /* the item, for ops->create */
    void *owner_data;      /* the owner's, given back to release */
} hg__proc_def;

typedef struct hg__graph_opts {
    uint32_t pool_buffers;   /* graph.pool.buffers: buffers in the graph's pool (default 4096) */
    uint32_t pool_size;      /* graph.pool.size: bytes each (default 2048) */
    uint64_t shutdown_timeout_ns; /* bound of a removed processor's drain and of shutdown */
    /* Resolves an added processor (item = its YAML map: name, engine, host keys). Writes one
     * message into err (what is wrong: unknown engine, not a processor) and returns an HG_E*
     * code when it cannot. [the committing thread] */
    int (*resolve)(void *ud, const char *name, const char *engine, const hg__node *item,
                   hg__proc_def *out, char *err, uint32_t cap);
    /* Gives back a definition after its processor was destroyed. May be NULL. */
    void (*release)(void *ud, hg__proc_def *def);
    /* Adds what the owner knows of a processor (e.g. its counters) to its `graph` JSON object
     * (a json_t *). May be NULL. [any-thread, under the graph's lock] */
    void (*describe)(void *ud, const hg__proc_def *def, void *json_obj);
    /* Whose threads the processors' are (base/thread.h owner): create and destroy run marked
     * as that owner's control thread, as the SDK allows them its [control-thread] services. */
    const void *owner;
    void *ud;
    const char *file; /* the name of commit texts in messages; default "<commit>" */
} hg__graph_opts;

/* Creates an empty graph and its pool (budget fixed here). Returns 0, HG_EINVAL, HG_ENOMEM.
 * [any-thread] */
int hg__graph_create(const hg__graph_opts *o, hg__graph **out);

/* Drains and stops every processor (shutdown order: sources first, then each processor once its
 * inputs ended, all within timeout_ns; after it, the rest at once), joins them and frees
 * everything. [owner thread, never a processor's] */
void hg__graph_destroy(hg__graph *g, uint64_t timeout_ns);

/* Drains like destroy but keeps the (now empty) graph for reading: afterwards the accounting
 * shows queued = 0. Returns: processors that had to be cut at the deadline. [owner thread] */
uint32_t hg__graph_shutdown(hg__graph *g, uint64_t timeout_ns);

/* Applies a change, a YAML flow mapping {add: [...], remove: [...], link: [...],
 * unlink: [...]}, as one commit. *reply (malloc'd JSON text) is {"ok":true, "added":[...],
 * "removed":[...], "linked":[...], "unlinked":[...]} or {"ok":false, "errors":["FILE:LINE:COL:
 * ..."]} with nothing changed. Returns 0, HG_ECONFIG (errors), HG_ECANCELED (the caller is a
 * processor being removed by another commit), HG_ENOMEM. Never deadlocks when called from a
 * processor's setup/process/teardown, even when the change removes the caller (it then stops
 * after its call returns). [any-thread] */
int hg__graph_commit(hg__graph *g, const char *change_yaml, char **reply);

/* The same with a change given as an already parsed map node (config, reload). */
int hg__graph_commit_node(hg__graph *g, const hg__node *change, char **reply);

/* The config's graph section (processors, links) as one commit. */
int hg__graph_commit_section(hg__graph *g, const hg__node *graph_section, char **reply);

/* Validates without applying (`hangar check`, config at create): errors appended to d.
 * Returns 0 or HG_ECONFIG. [any-thread] */
int hg__graph_check_node(hg__graph *g, const hg__node *change, hg__diag *d);
int hg__graph_check_section(hg__graph *g, const hg__node *graph_section, hg__diag *d);

/* Pauses (1) or resumes (0) a processor. Returns 0, HG_ENOENT, HG_ESTATE (not running/paused).
 * [any-thread] */
int hg__graph_pause(hg__graph *g, const char *name, int pause);

/* One turn of a manual processor. Returns 0, HG_ENOENT, HG_ESTATE (not manual). [any-thread] */
int hg__graph_step(hg__graph *g, const char *name);

/* `graph`: JSON text (malloc'd) {processors:[...], links:[...], accounted:{...}}. */
char *hg__graph_json(hg__graph *g);
/* `graph dot`: Graphviz DOT text (malloc'd). */
char *hg__graph_dot(hg__graph *g);

/* The summed counters of every link the graph has had. */
typedef struct hg__graph_acc {
    uint64_t pushed, delivered, dropped, queued;
} hg__graph_acc;
void hg__graph_accounted(hg__graph *g, hg__graph_acc *out);

/* State of a processor by name (HG__PST_*), or 0 when absent; err its kept error. */
uint32_t hg__graph_state(hg__graph *g, const char *name, int *err);

/* How many commits have been applied to g (from config, commands, processors, reloads).
 * [any-thread] */
uint64_t hg__graph_commits(hg__graph *g);

/* The "hangar.graph/1" service table. */
const hg_graph_api *hg__graph_api(void);

#endif
