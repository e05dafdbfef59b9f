/* stream.h - the stream runtime: one stream of a connector with its own thread, an event channel
 * out (a link), an action channel in (an MPMC link), a state cell any thread reads without
 * blocking the writer, a health flag, counters and a cancel token per run (a child of its
 * connector's). The "hangar.stream/1" service table works on these. */
#ifndef HG_STREAM_H
#define HG_STREAM_H

#include <stdint.h>

#include <hangar/connector.h>

#include "config.h"
#include "cores.h"
#include "link.h"


typedef hg_stream hg__stream;

/* What a stream is made from. Strings are copied. */
typedef struct hg__stream_spec {
    const char *connector, *name;
    const hg_config *cfg;     /* the stream's config node; borrowed for the stream's life */
    uint32_t max_events;      /* event channel bound, >= 1 */
    uint32_t max_actions;     /* action channel bound, >= 1 */
    uint32_t policy;          /* HG_POLICY_* of the event channel */
    int32_t core;             /* >= 0, HG_CORE_ANY, HG_CORE_AUTO, HG__CORE_* */
    const int32_t *cores;     /* HG__CORE_ROUND_ROBIN: the list (copied) */
    uint32_t n_cores;
    uint8_t healthy_at_start;
} hg__stream_spec;

/* A stream's counters, as `counters CONNECTOR` shows them. */
typedef struct hg__stream_stats {
    uint64_t events;        /* offered to the event channel (delivered + dropped + queued) */
    uint64_t delivered, dropped, queued;
    uint64_t actions;       /* taken by the stream from its action channel */
    uint64_t actions_queued;
    uint64_t reconnects;    /* returns to running after the first */
    uint64_t state_version; /* publishes so far */
    uint8_t healthy, running;
    int32_t core;           /* the core its thread was pinned to, or -1 */
    int last_rc;            /* what its last run returned */
} hg__stream_stats;

/* Creates a stream (channels, buffer pool; no thread yet). Returns: 0, HG_EINVAL (a zero bound,
 * an unknown policy), HG_ENOMEM. [control-thread] */
int hg__stream_new(const hg__stream_spec *sp, hg__stream **out);
/* Frees the stream once it is joined: queued frames are released. [control-thread] */
void hg__stream_free(hg_stream *s);

/* Starts a run: a new token (child of parent, named CONNECTOR.STREAM), a thread spawned through
 * host->thread_spawn on the core the policy picks, calling run(ud, s). Returns 0 or the spawn's
 * error. [control-thread] */
int hg__stream_start(hg_stream *s, const hg_host *host, hg_cancel *parent,
                     int (*run)(void *, hg_stream *), void *ud);
/* Calls fn(arg) on the stream's thread each time a run's body returned. [control-thread] */
void hg__stream_on_exit(hg_stream *s, void (*fn)(void *), void *arg);
/* A frame of len bytes copied from data, allocated from the stream's pool (type TEXT), for an
 * action sent from outside the stream. Returns 0 and *out (free with hg__stream_frame_release),
 * HG_ENOMEM. [any-thread] */
int hg__stream_frame_new(hg_stream *s, const void *data, uint32_t len, hg_frame **out);
/* Cancels the current run (its token). [any-thread] */
void hg__stream_cancel(hg_stream *s);
/* Joins the run's thread within timeout_ns and releases its token. Returns 0, HG_ETIMEDOUT
 * (still running: call again later), 0 when no run is active. [control-thread] */
int hg__stream_join(hg_stream *s, uint64_t timeout_ns);
/* 1 while a run's thread has not been joined. */
int hg__stream_active(const hg_stream *s);
/* 1 once the run's body returned (its thread may still need a join). [any-thread] */
int hg__stream_exited(const hg_stream *s);

const char *hg__stream_name(const hg_stream *s);
/* The channels. The event channel has one receiver: hg__stream_claim marks it taken (a graph
 * link or the `read` verb). Events queue whether or not it is taken: a stream nobody reads
 * fills its channel and then blocks or drops per its policy, counted. Returns 0, HG_ESTATE when
 * already claimed. [any-thread] */
hg__link *hg__stream_events(hg_stream *s);
hg__link *hg__stream_actions(hg_stream *s);
int hg__stream_claim(hg_stream *s);
void hg__stream_unclaim(hg_stream *s);

/* Reads the state cell: its state, version, and details JSON into buf (cap bytes). Never blocks
 * the writer (a read that races a publish retries). Returns the version. [any-thread] */
uint64_t hg__stream_state(const hg_stream *s, uint32_t *state, char *buf, uint32_t cap);
void hg__stream_stats_get(const hg_stream *s, hg__stream_stats *out);

/* Frees the frame a link holds (its buffer reference and the frame copy). Links' release. */
void hg__stream_frame_release(void *item, void *ud);

/* The "hangar.stream/1" table. */
extern const hg_stream_api hg__stream_api_table;

/* The core the policy picks for the next thread, counting it on that core until
 * hg__pin_put; cores[] is the round-robin list, *rr its cursor. Returns >= 0 or HG_CORE_ANY.
 * [any-thread] */
int32_t hg__pin_get(int32_t policy, const int32_t *cores, uint32_t n_cores, uint32_t *rr);
void hg__pin_put(int32_t core);
/* Stream threads pinned to core now. */
uint32_t hg__pin_load(int32_t core);

#endif
