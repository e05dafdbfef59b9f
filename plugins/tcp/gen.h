/* gen.h - the state of tcp-gen shared by its files: gen.c (config, lifecycle), gen_conn.c (the
 * connections of one worker) and gen_report.c (flushing, progress, summary). Each worker keeps
 * its own numbers and histogram, touched by its thread only; every tick it adds them to the
 * instance's totals under a mutex (a few times a second, never per request). */
#ifndef HG_TCP_GEN_H
#define HG_TCP_GEN_H

#include <pthread.h>
#include <stdint.h>

#include <hangar/histogram.h>

#include "hist.h"
#include "tcp.h"

enum { GEN_PINGPONG = 1, GEN_STREAM = 2 };      /* pattern */
enum { GEN_BY_CLIENT = 1, GEN_BY_SERVER = 2 };  /* close_by */

/* Failure causes, in the summary and as counters failed_<name>. */
enum {
    GEN_FAIL_REFUSED,
    GEN_FAIL_TIMEOUT,
    GEN_FAIL_RESET,
    GEN_FAIL_EOF,
    GEN_FAIL_UNREACHABLE,
    GEN_FAIL_OTHER,
    GEN_FAIL_FD_LIMIT, /* too many open files (EMFILE, ENFILE) */
    GEN_FAIL_N
};
extern const char *const hg__gen_fail_names[GEN_FAIL_N];

/* Give up on a worker's connections after this many connect failures in a row. */
#define GEN_MAX_CONSECUTIVE_FAILS 100
#define GEN_TICK_NS 250000000ull
/* After a graceful end, how long answers in flight may take before the rest is reset. */
#define GEN_DRAIN_NS 2000000000ull
#define GEN_REPORT_NS 1000000000ull

typedef struct gen_cfg {
    const char *connect;
    uint64_t connections;
    uint64_t payload;
    uint64_t duration_ns;  /* 0: none (requests) */
    uint64_t requests;     /* 0: none (duration) */
    uint64_t cps_limit;
    uint64_t max_open;     /* 0: connections */
    uint64_t connect_timeout_ns;
    uint64_t per_conn;     /* requests_per_connection; 0: keep the connection */
    uint64_t request_timeout_ns; /* ping-pong: an answer's bound; 0: none */
    uint64_t max_failures; /* more failures than this fail the run */
    uint32_t pattern;
    uint32_t close_by;
    uint8_t progress;
} gen_cfg;

typedef struct gen_stats {
    uint64_t requests;
    uint64_t responses;
    uint64_t errors;
    uint64_t bytes_in;
    uint64_t bytes_out;
    uint64_t connects;    /* established */
    uint64_t fail[GEN_FAIL_N];
} gen_stats;

struct gen;
struct gen_worker;

/* GC_DRAINING: a stream that has sent all it will has half-closed and reads until the server's
 * EOF, which confirms that the server read every byte (a close with unread bytes would be reset
 * by the kernel and lose what was still queued either way). */
enum { GC_CONNECTING = 1, GC_ACTIVE = 2, GC_CLOSING = 3, GC_DRAINING = 4 };

/* A link of the worker's list of connections waiting for an answer. */
typedef struct gen_link {
    struct gen_link *prev, *next;
} gen_link;

typedef struct gen_conn {
    struct gen_conn *prev, *next; /* the worker's open list, or its free list (next only) */
    gen_link wait;      /* ping-pong with request_timeout: on the worker's waiting list */
    struct gen_worker *w;
    hg_conn *c;
    uint64_t t_sent;    /* ping-pong: when the request went out */
    uint64_t got;       /* ping-pong: bytes of the response so far */
    uint64_t done;      /* requests finished on this connection */
    uint8_t state;      /* GC_* */
    uint8_t in_flight;  /* ping-pong: a request waits for its response */
    uint8_t holds_slot; /* gives its slot back when it closes */
    uint8_t in_runq;    /* stream: waits on the worker's run queue */
    struct gen_conn *runq_next;
} gen_conn;

typedef struct gen_worker {
    struct gen *g;
    uint32_t idx;
    uint32_t slots;       /* its share of `connections` */
    uint32_t want;        /* slots without a connection */
    uint32_t open;        /* connections not closed yet */
    uint32_t max_open;
    uint64_t budget;      /* requests left to send (requests mode) */
    uint8_t limited;      /* budget applies */
    uint8_t done;         /* no new requests or connections */
    uint8_t finished;     /* done, nothing open, reported */
    uint8_t runq_posted;
    uint8_t warned_timeout; /* a request timed out: said once */
    uint8_t warned_drain; /* a stream's end was not confirmed: said once */
    uint32_t fails_in_row;
    uint64_t cps_interval_ns;
    uint64_t next_connect_ns;
    hg_timer *tick, *end_timer, *cps_timer, *drain_timer, *req_timer;
    gen_conn head;        /* open list sentinel */
    gen_link waiting;     /* requests waiting for their answer, oldest first (sentinel) */
    gen_conn *free;
    gen_conn *runq;
    gen_stats d;          /* since the last flush */
    tcp_hist hist;        /* since the last flush */
} __attribute__((aligned(64))) gen_worker;

typedef struct gen {
    const hg_host *host;
    const hg_net *net;
    gen_cfg cfg;
    char addr[TCP_ADDR_MAX];
    uint8_t *payload;
    uint32_t n_workers;
    gen_worker *workers;
    uint32_t running;      /* atomic: workers not finished */
    uint32_t started;
    uint64_t t_start;

    pthread_mutex_t mu;    /* guards everything below */
    uint8_t finished;
    uint64_t t_end;
    gen_stats total;
    tcp_hist cum;
    tcp_hist interval;     /* since the last progress line */
    gen_stats at_report;
    uint64_t t_report;
    uint8_t failed;        /* the finished run failed (gen_report.c's judge_locked) */
    char why[200];         /* the outcome's reason; "" while running or when passed */
    char *summary;         /* JSON, set when finished */
    uint32_t summary_len;

    hg_counter *c_requests, *c_responses, *c_errors;
    hg_counter *c_p50, *c_p99, *c_p999, *c_max;
    hg_counter *c_fail[GEN_FAIL_N];
    hg_histogram *h_latency; /* the host's histogram of request latency; NULL: none */
} gen;

/* gen_conn.c [engine-thread: the worker's] */
void hg__gen_worker_begin(void *arg);
/* Stops generating (end of duration, or stop): how HG_STOP_*. */
void hg__gen_worker_end(gen_worker *w, uint32_t how);

/* gen_report.c */
/* Adds the worker's numbers into the totals; with final, also the end of the run. */
void hg__gen_flush(gen_worker *w, int final);
/* The tick timer callback. */
void hg__gen_tick(void *ud, hg_timer *t);
/* Builds the summary JSON (with its "text") into a malloc'd string. Caller holds g->mu. */
char *hg__gen_summary_locked(gen *g, uint64_t now, uint32_t *len);
/* The running numbers as JSON. Caller holds g->mu. */
char *hg__gen_stats_locked(gen *g, uint64_t now, uint32_t *len);

#endif
