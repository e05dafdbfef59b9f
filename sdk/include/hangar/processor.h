/* processor.h - the ops of a graph processor: a node of a dataflow graph, joined to others by
 * bounded ring-buffer links between its ports. Kind HG_KIND_PROCESSOR.
 *
 * Lifecycle (see the architecture guide): the host spawns one thread per processor; that thread
 * calls create, signals ready, waits until the links are wired, then calls setup, process in a
 * loop, and teardown, all with no host lock held. States: created -> ready -> running <-> paused
 * -> stopping -> stopped, or failed. The data-plane calls (pop, push, buffers, graph changes) are
 * in the "hangar.graph/1" extension, looked up with host->get_extension. */
#ifndef HANGAR_PROCESSOR_H
#define HANGAR_PROCESSOR_H

#include <stdint.h>

#include "frame.h"
#include "host.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HG_GRAPH_EXTENSION "hangar.graph/1"

/* The host's per-processor context (ports, gates). Owned by the host; valid from setup until
 * teardown returns. */
typedef struct hg_proc hg_proc;

/* Port directions. Fixed values. */
enum {
    HG_PORT_IN = 1,
    HG_PORT_OUT = 2
};

/* Port flags (hg_port_decl.flags; ABI 1.3, the field was `reserved`, always 0 before). */
enum {
    HG_PORT_MULTI = 1 /* takes several links: an output fans out (one reference per link, no
                         copy), an input merges them (round robin). Without it: one link. */
};

/* A port a processor declares statically. */
typedef struct hg_port_decl {
    uint32_t struct_size;
    uint32_t direction; /* HG_PORT_IN or HG_PORT_OUT */
    const char *name;   /* [a-z0-9_-]+, unique in the processor. Borrowed; static. */
    uint32_t type;      /* accepted/produced frame type; HG_TYPE_ANY for any */
    uint32_t flags;     /* HG_PORT_* flags (0: one link) */
} hg_port_decl;

/* Return values of process besides 0 (did some work) and negative errors (-> failed). */
enum {
    HG_PROCESS_IDLE = 1, /* nothing to do: the host sleeps until input, resume or stop */
    HG_PROCESS_DONE = 2  /* finished for good: the host stops the processor */
};

typedef struct hg_processor_ops {
    uint32_t struct_size;
    /* The ports, index = the port number used by pop/push. Borrowed; static. */
    uint32_t n_ports;
    const hg_port_decl *ports;
    /* Creates an instance, on the processor's own thread. This is the processor's lifecycle
     * callback: it may use the [control-thread] services (the config getters, counter; host.h)
     * and thread_spawn. host and cfg are borrowed until destroy. Returns: 0 and *out,
     * HG_ECONFIG (errors recorded through host->cfg_error), HG_ENOMEM. When create fails,
     * destroy is not called: free what create allocated before returning. [engine-thread] */
    int (*create)(const hg_host *host, const hg_config *cfg, void **out);
    /* Frees the instance, on the processor's own thread, after teardown (or after a create
     * that succeeded when the processor never ran). May use the same services as create.
     * [engine-thread] */
    void (*destroy)(void *inst);
    /* Links are wired; p is valid until teardown returns. May call graph changes. On the
     * processor's own thread. Returns: 0, or an HG_E* code (-> failed; teardown still runs).
     * [engine-thread] */
    int (*setup)(void *inst, hg_proc *p);
    /* One turn of work: pop from input ports, push to outputs. On the processor's own thread.
     * Returns 0, HG_PROCESS_IDLE, HG_PROCESS_DONE, or a negative HG_E* code. [engine-thread] */
    int (*process)(void *inst, hg_proc *p);
    /* On the processor's own thread. [engine-thread] */
    void (*teardown)(void *inst, hg_proc *p);
    /* Optional; as in hg_runtime_mode_ops.command, but called on any thread, possibly while
     * process runs: guard your own state. It may read args with the cfg_* getters, and must not
     * call the other [control-thread] services. [any-thread] */
    int (*command)(void *inst, const char *verb, const hg_config *args, char *reply,
                   uint32_t cap, uint32_t *len);
} hg_processor_ops;

/* The data-plane service ("hangar.graph/1"). Every call takes the caller's hg_proc and is made
 * on the processor's own thread ([engine-thread]) unless it says otherwise. The hg_frame a call
 * writes into (pop, buf_alloc) follows plugin.h's rule: the caller sets out->struct_size, the
 * host writes only the whole fields that fit and sets struct_size to the bytes written. */
typedef struct hg_graph_api {
    uint32_t struct_size;
    /* Takes the next frame from input port `port` into *out (the caller now owns its buffer
     * reference). timeout_ns 0: do not wait. Returns: 0, HG_EAGAIN (empty), HG_ECLOSED
     * (end of stream: the producer is gone and the link is drained), HG_ECANCELED (stopping).
     * [engine-thread] */
    int (*pop)(hg_proc *p, uint32_t port, hg_frame *out, uint64_t timeout_ns);
    /* Moves *f into output port `port` (the reference moves on success; on error the caller
     * still owns it). Applies the link's policy. Returns: 0, HG_EAGAIN (full, drop policy:
     * dropped and counted; the caller still owns f), HG_ECLOSED (no consumer), HG_ECANCELED.
     * On every error the caller still owns f's reference: push it again or buf_unref it.
     * [engine-thread] */
    int (*push)(hg_proc *p, uint32_t port, hg_frame *f, uint64_t timeout_ns);
    /* Allocates a buffer of at least size bytes from the graph's pools; f gets buf/data/len.
     * The caller owns the new reference. Returns: 0, HG_ENOMEM (pool exhausted; nothing
     * allocated). [engine-thread] */
    int (*buf_alloc)(hg_proc *p, uint32_t size, hg_frame *f);
    /* Adds or drops a reference. [any-thread, never blocks] */
    void (*buf_ref)(hg_buf *b);
    void (*buf_unref)(hg_buf *b);
    /* Applies a graph change written as the config's `graph:` YAML (add, remove, link, unlink)
     * as one commit. Returns 0 or HG_ECONFIG with the errors logged. Never deadlocks, even when
     * the change removes the caller (it then stops after the call returns). [engine-thread] */
    int (*commit)(hg_proc *p, const char *change_yaml);
} hg_graph_api;

#ifdef __cplusplus
}
#endif

#endif /* HANGAR_PROCESSOR_H */
