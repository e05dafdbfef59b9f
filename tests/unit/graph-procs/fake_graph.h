/* fake_graph.h - a test double for the graph processors: an hg_host and an "hangar.graph/1"
 * service over arrays, with a fake clock (sleeps and waits advance it), config keys as text,
 * recorded config errors and states, and buffers that count their references, so a test can
 * check that every reference a processor took was released exactly once. */
#ifndef FAKE_GRAPH_H
#define FAKE_GRAPH_H

#include <stdint.h>

#include <hangar/hangar.h>

#define FK_PORTS 8
#define FK_KEYS 16
#define FK_FRAMES 4096

struct hg_buf {
    int32_t refs;
    uint32_t cap;
    struct hg_buf *next_all;
    uint8_t data[];
};

typedef struct fk_port {
    hg_frame q[FK_FRAMES];
    uint32_t head, n;
    uint8_t closed;  /* in: end of stream once drained; out: push answers HG_ECLOSED */
    uint8_t drop;    /* out: push answers HG_EAGAIN (a drop policy refused it) */
    uint32_t full_for; /* out: the next pushes that find the link full (HG_ETIMEDOUT) */
    uint64_t seq;    /* out: the next sequence number stamped on push */
} fk_port;

typedef struct fk {
    hg_host host;
    hg_graph_api api;
    const void *net_ext;            /* what get_extension("hangar.net/1") gives; NULL: none */
    const char *keys[FK_KEYS], *vals[FK_KEYS];
    uint32_t n_keys;
    char errors[2048];              /* "cfg:LINE: KEY: message\n" per cfg_error */
    uint32_t n_errors;
    struct { char name[64]; hg_counter *c; } counters[32];
    uint32_t n_counters;
    uint32_t state;
    int status;
    char message[512];
    uint64_t now;                   /* the fake clock, ns */
    uint64_t real_clock;            /* 1: now_ns and waits use the real clock */
    fk_port ports[FK_PORTS];
    struct hg_buf *all;             /* every buffer ever allocated */
    uint32_t live, max_live;        /* buffers with references; buf_alloc fails above max */
    uint32_t bad_unrefs;            /* unrefs of a buffer with no reference left */
    char commits[1024];
    int commit_rc;
} fk;

struct hg_proc {
    fk *f;
};

/* A fresh fake; keys and values are borrowed. */
void fk_init(fk *f);
void fk_set(fk *f, const char *key, const char *val);
/* The engine named name in the graph plugin (dlopen'ed once). */
const hg_engine *fk_engine(const char *name);
/* A frame of len bytes (copied) with type and seq, queued on input port. */
void fk_feed(fk *f, uint32_t port, const void *data, uint32_t len, uint32_t type, uint64_t seq);
/* Takes the i-th frame queued on port (the test then owns its reference). */
int fk_take(fk *f, uint32_t port, hg_frame *out);
/* Runs setup, process until DONE / failure / `idle_limit` IDLEs in a row / max_turns turns.
 * Returns the last process result (or setup's error). teardown is not called. */
int fk_run(fk *f, const hg_processor_ops *ops, void *inst, uint32_t max_turns);
/* The counter's value, or UINT64_MAX when not registered. */
uint64_t fk_counter(fk *f, const char *name);
/* Buffers still referenced (after the test released what it took). */
uint32_t fk_leaked(fk *f);
void fk_free(fk *f);

#endif
