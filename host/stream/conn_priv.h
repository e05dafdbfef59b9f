/* conn_priv.h - a connector instance as the host runs it: the plugin's instance and one entry
 * per stream of its `streams:`. e->obj of a connector entry points at this. */
#ifndef HG_CONN_PRIV_H
#define HG_CONN_PRIV_H

#include "entry.h"
#include "stream.h"

typedef struct hg__conn hg__conn;

typedef struct hg__cstream {
    hg__conn *conn;
    hg_stream *s;
    void *ud;          /* the connector's stream state (stream_open) */
    hg_frame *held;    /* an event `read` took but could not fit in its reply */
    uint8_t opened;    /* stream_open succeeded */
    uint8_t stray;     /* its thread did not stop within the bound: never freed */
    uint8_t reader;    /* the event channel is claimed by the `read` command */
} hg__cstream;

struct hg__conn {
    hg__entry *e;
    void *inst;        /* the plugin's instance */
    hg__cstream *st;
    uint32_t n;
    uint8_t stopping;  /* atomic: a stop was asked */
};

/* Opens stream i of the connector's config (its runtime side on the first call, kept after):
 * the connector's stream_open. Returns 0 or its error (the stream is then not opened).
 * [control-thread] */
int hg__conn_open_stream(hg__conn *c, uint32_t i);
/* Cancels every stream (marks the connector stopping). [control-thread] */
void hg__conn_cancel_all(hg__conn *c);
/* Joins one stream within bound_ns; a stream that does not stop is logged by name and kept
 * (its plugin stays loaded). Returns 0 or HG_ETIMEDOUT. [control-thread] */
int hg__conn_join(hg__conn *c, hg__cstream *cs, uint64_t bound_ns);
/* Closes every stream and the plugin's instance (not those a stray thread still uses).
 * [control-thread] */
void hg__conn_free(hg__conn *c);
/* The stream named name, or NULL. [any-thread] */
hg__cstream *hg__conn_find(hg__conn *c, const char *name);
/* {NAME: {events, actions, dropped, healthy, reconnects, state_version, ...}} as a json_t *.
 * [any-thread] */
void *hg__conn_streams_json(hg__conn *c);
/* The command of a connector: the host's stream verbs, then the plugin's. */
hg__command_fn hg__conn_command_of(const hg__entry *e);

#endif
