/* pipeline.h - the ops of a TCP pipeline engine: protocol logic (echo, generator, proxy, sink)
 * on top of the runtime mode's hg_net service. Kind HG_KIND_PIPELINE.
 *
 * Lifecycle: create (validate config) -> start (listen / connect through net) -> running ->
 * stop(GRACEFUL) -> the pipeline reports HG_STATE_STOPPED with host->set_state once its
 * connections are done -> destroy. A pipeline that finishes on its own (a generator's duration
 * or request count) reports HG_STATE_STOPPED then too; its counters stay readable until exit.
 *
 * start may run again on the same instance after it reported HG_STATE_STOPPED (the `start NAME`
 * and `restart NAME` commands): it must undo what stop did (a "stopping" flag, a closed
 * listener) and listen / connect anew. Counters keep counting across the restart. Flags that
 * stop writes on the control thread and callbacks read on workers must be atomic. */
#ifndef HANGAR_PIPELINE_H
#define HANGAR_PIPELINE_H

#include <stdint.h>

#include "host.h"
#include "net.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How to stop. Fixed values. */
enum {
    HG_STOP_GRACEFUL = 1, /* stop accepting and generating; let in-flight connections finish */
    HG_STOP_NOW = 2       /* close everything now */
};

typedef struct hg_pipeline_ops {
    uint32_t struct_size;
    /* Creates an instance from its config node (the host owns name, engine, records). Validates;
     * opens no socket. host and cfg are borrowed until destroy. Returns: 0 and *out, HG_ECONFIG
     * (errors recorded through host->cfg_error), HG_ENOMEM. When create fails, destroy is not
     * called: free what create allocated before returning. [control-thread] */
    int (*create)(const hg_host *host, const hg_config *cfg, void **out);
    /* Frees the instance; the host has closed its net (no callback runs). [control-thread] */
    void (*destroy)(void *inst);
    /* Starts: listen through net (publish the bound address with host->set_info("address", ..))
     * and/or post connects to the workers. net is borrowed until this run ends: the host closes
     * it once the pipeline reported HG_STATE_STOPPED (or after stop(HG_STOP_NOW)), and a later
     * start gets a new one. Returns 0 or an HG_E* code (the instance goes to `failed`).
     * [control-thread] */
    int (*start)(void *inst, const hg_net *net);
    /* Stops (how: HG_STOP_*). Must not block; report HG_STATE_STOPPED through host->set_state
     * when the last connection is done. [control-thread] */
    void (*stop)(void *inst, uint32_t how);
    /* Optional engine-specific command; as in hg_runtime_mode_ops.command (verb and args, the
     * retries after HG_ENOSPC, an error's message as text in reply). The verb "summary" is
     * asked by `hangar run` at exit: a JSON object whose "text" member is a human-readable report
     * and whose other members are the same figures for machines. It may run in any state
     * between create and destroy (also while stopped or failed). [control-thread] */
    int (*command)(void *inst, const char *verb, const hg_config *args, char *reply,
                   uint32_t cap, uint32_t *len);
} hg_pipeline_ops;

#ifdef __cplusplus
}
#endif

#endif /* HANGAR_PIPELINE_H */
