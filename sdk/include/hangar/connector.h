/* connector.h - the ops of a stream connector: it spawns streams, workers that turn an outside
 * source into typed events and take actions back, over bounded channels. Kind HG_KIND_CONNECTOR.
 *
 * A stream's event channel is a link: `from: CONNECTOR.STREAM` in the graph's links feeds a
 * processor's port. Each stream has a cancel token, a child of its connector's, itself a child of
 * the host's. The stream calls (emit, take actions, publish state) are in the "hangar.stream/1"
 * extension, looked up with host->get_extension. */
#ifndef HANGAR_CONNECTOR_H
#define HANGAR_CONNECTOR_H

#include <stdint.h>

#include "frame.h"
#include "host.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HG_STREAM_EXTENSION "hangar.stream/1"

/* A running stream. Owned by the host; valid until the connector's stream_close returns. */
typedef struct hg_stream hg_stream;

/* What the host knows about a stream it asks a connector to run (from the config's `streams:`). */
typedef struct hg_stream_desc {
    uint32_t struct_size;
    uint32_t policy;              /* HG_POLICY_* of the event channel */
    const char *name;             /* the stream's name. Borrowed for stream_open. */
    const hg_config *cfg;         /* the stream's config node. Borrowed until destroy. */
    uint32_t max_pending_events;  /* event channel bound */
    uint32_t max_pending_actions; /* action channel bound */
    int32_t core;                 /* core policy for its thread (>= 0, HG_CORE_ANY, HG_CORE_AUTO,
                                     or below: a host policy such as least-loaded or a
                                     round-robin list; the host applies it, this is for
                                     information) */
    uint8_t healthy_at_start;     /* 1: the stream reports healthy before its first event */
    uint8_t pad[3];
} hg_stream_desc;

typedef struct hg_connector_ops {
    uint32_t struct_size;
    /* As in pipeline.h: validates, returns 0 and *out, HG_ECONFIG or HG_ENOMEM; when it fails
     * destroy is not called. [control-thread] */
    int (*create)(const hg_host *host, const hg_config *cfg, void **out);
    /* Frees the instance after every stream's stream_close returned. [control-thread] */
    void (*destroy)(void *inst);
    /* Validates a stream's config and prepares its state (*stream_ud). desc is borrowed for
     * the call (desc->cfg until destroy); s is valid until stream_close returns. Returns: 0 and
     * *stream_ud; HG_ECONFIG (errors recorded through host->cfg_error); HG_ENOMEM. When it
     * fails, neither stream_run nor stream_close is called for that stream. [control-thread] */
    int (*stream_open)(void *inst, const hg_stream_desc *desc, hg_stream *s, void **stream_ud);
    /* The stream's body, on a thread the host spawns for the stream: emits events until its
     * cancel token fires, then returns 0, or a negative HG_E* code (-> failed). May call
     * thread_spawn. [engine-thread] */
    int (*stream_run)(void *stream_ud, hg_stream *s);
    /* Frees the stream's state after stream_run returned. [control-thread] */
    void (*stream_close)(void *stream_ud);
    /* Optional; as in hg_runtime_mode_ops.command. [control-thread] */
    int (*command)(void *inst, const char *verb, const hg_config *args, char *reply,
                   uint32_t cap, uint32_t *len);
} hg_connector_ops;

/* The stream service ("hangar.stream/1"). Every call is made on the stream's own thread
 * ([engine-thread]) unless it says otherwise. The hg_frame a call writes into (buf_alloc,
 * next_action) follows plugin.h's rule: the caller sets out->struct_size, the host writes only
 * the whole fields that fit and sets struct_size to the bytes written. */
typedef struct hg_stream_api {
    uint32_t struct_size;
    /* The cancel token of the stream's current run (a new one each time stream_run is called).
     * Borrowed; valid until stream_run returns. [any-thread] */
    hg_cancel *(*token)(hg_stream *s);
    /* Allocates a frame buffer from the stream's pool into *f; the caller owns the new
     * reference. Returns 0 or HG_ENOMEM (nothing allocated). [engine-thread] */
    int (*buf_alloc)(hg_stream *s, uint32_t size, hg_frame *f);
    /* Emits an event into the event channel per its policy. On 0 the buffer reference moves to
     * the channel. On any error the stream still owns f's reference (the host counted the
     * drop but did not free it): emit it again or drop it with buf_unref. Returns: 0,
     * HG_EAGAIN (full, drop policy: counted as dropped), HG_ECANCELED (stopping).
     * [engine-thread] */
    int (*emit)(hg_stream *s, hg_frame *f, uint64_t timeout_ns);
    /* Takes the next action sent to the stream into *out; on 0 the caller owns out's buffer
     * reference and drops it with buf_unref when done. Returns: 0, HG_EAGAIN (none within
     * timeout_ns), HG_ECANCELED (stopping). [engine-thread] */
    int (*next_action)(hg_stream *s, hg_frame *out, uint64_t timeout_ns);
    /* Publishes the stream's state cell (HG_STATE_*, plus a JSON object of details, copied);
     * readers never block the stream. [any-thread, never blocks] */
    void (*publish)(hg_stream *s, uint32_t state, const char *details_json);
    /* --- ABI 1.2 --- */
    /* Drops one reference to b (a frame emit refused, an action from next_action); NULL is a
     * no-op. The buffer returns to its pool with its last reference. [any-thread, never blocks] */
    void (*buf_unref)(hg_buf *b);
} hg_stream_api;

/* Model-first streams ("hangar.model/1", looked up with host->get_extension): any engine may act
 * as the model of streams it opens at run time, keeping their handles, draining their events a
 * bounded number per turn and sending them actions. The connector engine must be one this host
 * loaded (a plugin named by the config). */
#define HG_MODEL_EXTENSION "hangar.model/1"

/* A stream a model opened. Owned by the model until it closes it. */
typedef struct hg_model_stream hg_model_stream;

typedef struct hg_model_api {
    uint32_t struct_size;
    /* Opens and starts a stream of connector engine `engine`: spec is the stream's item as YAML
     * or JSON text, the keys of a `streams:` item (`{name: s, path: /var/log/app.log}`), checked
     * as a config's are (each error logged with its position). h is the calling engine's table.
     * Returns: 0 and *out; HG_ENOENT (no such engine loaded); HG_ENOTSUP (not a connector);
     * HG_ECONFIG; HG_ENOMEM. [control-thread or engine-thread] */
    int (*open)(const hg_host *h, const char *engine, const char *spec, hg_model_stream **out);
    /* Takes up to max events into out[0..) without waiting: the caller owns each frame's
     * buffer reference (drop it with hg_stream_api.buf_unref). Returns: how many (0 when none),
     * HG_ECLOSED. [the one thread that drains this stream, never blocks] */
    int (*drain)(hg_model_stream *m, hg_frame *out, uint32_t max);
    /* Queues len bytes of data as an action (copied). Returns: 0, HG_EAGAIN (the action channel
     * is full), HG_ENOMEM. [any-thread, never blocks] */
    int (*send)(hg_model_stream *m, const void *data, uint32_t len);
    /* 1 while the stream reports healthy. [any-thread, never blocks] */
    int (*healthy)(hg_model_stream *m);
    /* Stops the stream (cancel, then a join bounded at 2 s: one that does not stop is logged and
     * left), and frees the handle. [the thread that opened it] */
    void (*close)(hg_model_stream *m);
} hg_model_api;

#ifdef __cplusplus
}
#endif

#endif /* HANGAR_CONNECTOR_H */
