/* runtime_mode.h - the ops of a runtime-mode engine: an I/O engine that owns worker threads,
 * sockets and timers, and offers them to pipelines through the hg_net service (net.h).
 * The engine's descriptor has kind HG_KIND_RUNTIME_MODE and ops pointing to hg_runtime_mode_ops.
 * The host creates one instance per host, from the config's `runtime:` node. */
#ifndef HANGAR_RUNTIME_MODE_H
#define HANGAR_RUNTIME_MODE_H

#include <stdint.h>

#include "host.h"
#include "net.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hg_runtime_mode_ops {
    uint32_t struct_size;
    /* Creates an instance from the `runtime:` node (cfg; the host owns mode/workers/cores).
     * Validates the engine's own keys; opens no socket and starts no thread.
     * host and cfg are borrowed until destroy returns. Returns: 0 and *out, or HG_ECONFIG (errors
     * recorded through host->cfg_error), HG_ENOMEM. When create fails, destroy is not called:
     * free what create allocated before returning. [control-thread] */
    int (*create)(const hg_host *host, const hg_config *cfg, void **out);
    /* Frees an instance that is stopped (or was never started). [control-thread] */
    void (*destroy)(void *inst);
    /* Starts `workers` worker threads through host->thread_spawn; worker i is pinned to
     * cores[i % n_cores] when n_cores > 0. cores is borrowed for the call. Returns: 0 (every
     * worker runs), or HG_EAGAIN / HG_ENOMEM / another HG_E* code with no worker left running;
     * the host then fails the runtime and starts no pipeline. [control-thread] */
    int (*start)(void *inst, uint32_t workers, const int32_t *cores, uint32_t n_cores);
    /* Asks every worker to stop: pending connections are cut (HG_CLOSE_SHUTDOWN). Idempotent.
     * [any-thread, never blocks] */
    void (*request_stop)(void *inst);
    /* Waits for the workers to exit. Returns: 0 or HG_ETIMEDOUT (workers still running).
     * [control-thread] */
    int (*join)(void *inst, uint64_t timeout_ns);
    /* Totals over every connection of every owner, counted at every read and write.
     * [any-thread, never blocks] */
    uint64_t (*bytes_sent)(void *inst);
    uint64_t (*bytes_received)(void *inst);
    /* Opens a service table for one owner (a pipeline), registering the owner's connection
     * counters (attempted, established, failed, open, closed_<cause>, bytes_in, bytes_out) on
     * owner->counter and writing its records through owner->record. owner is borrowed until
     * net_close. *out is valid until net_close. Called only after start returned 0.
     * Returns: 0 and *out, HG_ENOMEM, or the counter service's error. [control-thread] */
    int (*net_open)(void *inst, const hg_host *owner, const hg_net **out);
    /* Closes the owner's listeners and cuts its remaining connections (cause HG_CLOSE_SHUTDOWN;
     * on_closed runs for each) and waits until no callback for this owner runs or will run.
     * Posts that post accepted run before it returns; later ones are refused (HG_ECLOSED).
     * Returns: the number of connections cut. [control-thread] */
    uint32_t (*net_close)(void *inst, const hg_net *net);
    /* Optional engine-specific command (`call NAME JSON`): verb and args (the JSON, as a config
     * view; may be NULL) are borrowed for the call. The JSON of `call NAME JSON` is either a
     * bare string, which is the verb (args is then NULL), or an object whose "verb" member is
     * the verb (args is then the whole object, "verb" included). Writes a JSON value into reply
     * (cap bytes, NUL-terminated) and its length into *len. Returns: 0, HG_ENOTSUP (unknown
     * verb), HG_ENOSPC (*len = the size needed, not counting the NUL; the host calls again
     * with a larger buffer: the first call gets 4096 bytes, and the host calls at most four
     * times in all and never offers more than 16 MiB; an HG_ENOSPC with *len below cap, or the
     * fourth one, fails the call), or another HG_E* code for a failed command, with reply then
     * holding a plain-text message for the user (NUL-terminated, *len its length; may be
     * empty), which the host puts in its error reply. [control-thread] */
    int (*command)(void *inst, const char *verb, const hg_config *args, char *reply,
                   uint32_t cap, uint32_t *len);
} hg_runtime_mode_ops;

#ifdef __cplusplus
}
#endif

#endif /* HANGAR_RUNTIME_MODE_H */
