/* graph_priv.h - the inside of a graph, shared by graph.c (commit), proc.c (a processor's thread
 * and the data-plane service) and view.c (JSON, DOT).
 *
 * Locks: g->mu guards the processor list, the edge list, every processor's shared port table
 * (pports) and the commit flag (busy); g->cv is broadcast on every change of those and of a
 * processor's state. No lock is held while a processor's callbacks run or while a commit joins
 * threads. A processor thread works on its own copy of its port table (lports), refreshed from
 * pports when gen moved (one acquire load per turn of its loop). */
#ifndef HG_GRAPH_PRIV_H
#define HG_GRAPH_PRIV_H

#include <pthread.h>
#include <stdint.h>

#include "cancel.h"
#include "graph.h"
#include "link.h"
#include "pool.h"
#include "ring.h"
#include "thread.h"

struct hg__chg_link;

/* How long a processor whose last turn did work looks at its inputs before it sleeps (when its
 * item asks for no spin of its own). */
#define HG__AUTO_SPIN_NS 20000u

/* A link of the graph: the data-plane link, its frame cells and its ends. Referenced by the
 * graph's list (until unlinked or an end went away), the producer's port copy and the
 * consumer's; the last reference folds its counters into g->retired and frees it. */
typedef struct hg__edge {
    struct hg__edge *next;       /* g->edges (every edge not yet freed) */
    hg__link *link;
    /* The frame cells, capacity + 64 of them: a cell not in the link is in `free` (returned by
     * the consumer as it pops: it is that ring's producer, the link's producer its consumer)
     * or in `stash` (taken back by the producer's own drop-oldest evictions). */
    struct hg__cell *cells;
    uint32_t n_cells;
    hg__ring *free;
    struct hg__cell **stash;     /* producer only */
    uint32_t n_stash;
    struct hg_proc *from, *to;   /* NULL for a stream end */
    uint32_t fport, tport;
    char *from_name, *to_name;   /* "proc.port" */
    uint32_t capacity, policy;
    uint32_t refs;               /* atomic */
    uint8_t live;                /* in the graph (not unlinked, ends alive): under g->mu */
    uint8_t consumer_done;       /* the consumer saw its end: under g->mu */
    uint64_t seq;                /* next seq stamped (producer only) */
    uint64_t rate_ns, rate_pushed; /* last DOT sample (under g->mu) */
    double rate;
} hg__edge;

/* A frame in a link: the frame value in one of the link's own cells. */
typedef struct hg__cell {
    hg_frame f;
} hg__cell;

/* One port's links: a small array. */
typedef struct hg__pport {
    hg__edge **e;
    uint32_t n, cap;
    uint32_t rr;                 /* round robin (input ports) */
    uint8_t had;                 /* had a link: an empty input port then reads as ended */
} hg__pport;

/* A commit text's parsed document, kept while a processor added by it lives (its item is the
 * cfg its create and setup read). */
typedef struct hg__docref {
    hg__doc *doc;
    uint32_t refs; /* atomic */
} hg__docref;

void hg__docref_unref(hg__docref *d);

struct hg_proc {
    struct hg_proc *next;        /* g->procs */
    hg__graph *g;
    char *name, *engine;
    hg__proc_def def;
    hg__docref *doc;             /* NULL: the item belongs to the config */
    const hg_processor_ops *ops;
    void *inst;
    uint32_t n_ports;
    uint32_t mode;
    uint64_t interval_ns;
    uint64_t spin_ns;            /* asked for: spin this long before sleeping on inputs */
    uint8_t busy;                /* own thread: the last process call did work */
    int32_t core;
    hg__thread *th;
    uint32_t state;              /* atomic HG__PST_* */
    int err;                     /* kept with failed */
    char errmsg[160];
    uint8_t go;                  /* under g->mu: released (or told to quit before running) */
    uint8_t quit_early;          /* under g->mu: never run (commit undone) */
    uint8_t created;             /* under g->mu: create returned */
    uint8_t listed;              /* under g->mu: in g->procs */
    uint8_t joining;             /* under g->mu: a commit joins this thread */
    uint8_t zombie;              /* under g->mu: removed by its own commit; join later */
    uint8_t exited;              /* under g->mu: its thread function returned */
    uint32_t stop;               /* atomic: stop now */
    uint32_t drain;              /* atomic: stop once every input ended */
    uint32_t pause;              /* atomic */
    uint32_t steps;              /* atomic: manual turns asked */
    uint64_t drain_deadline;
    hg_cancel *cancel;           /* fired by stop: interrupts waits in pop/push */
    hg__park ctl;                /* woken on stop, pause, resume, step, rewiring */
    uint32_t gen;                /* atomic: pports changed */
    uint32_t seen_gen;           /* own thread */
    hg__pport *pports;           /* under g->mu */
    hg__pport *lports;           /* own thread: copy holding a reference per edge */
    uint64_t frames_in, frames_out; /* written by own thread (relaxed atomics) */
};

struct hg__graph {
    hg__graph_opts o;
    char *file;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct hg_proc *procs;       /* listed processors, in the order added */
    hg__edge *edges;             /* every edge not yet freed */
    hg__graph_acc retired;       /* freed edges' final counters */
    struct hg_proc *zombies;     /* removed, joined by the next commit or destroy */
    uint8_t busy;                /* a commit is being applied */
    uint8_t closing;             /* shutdown: refuse commits */
    uint64_t commits;            /* commits applied so far (atomic) */
    hg__pool *pool;
};

/* proc.c */
/* Starts p's thread (create there), waits until create returned. Returns 0, or create's error
 * (p->err; the thread has ended and must still be joined). [committing thread, no lock] */
int hg__proc_start(hg__graph *g, struct hg_proc *p);
/* Joins p's thread and frees p (and its definition). [no lock] */
void hg__proc_join_free(hg__graph *g, struct hg_proc *p);
/* Wakes p's loop (after a change of stop/drain/pause/steps/gen). [any-thread] */
void hg__proc_kick(struct hg_proc *p);
/* The processor whose thread calls, or NULL. [any-thread] */
struct hg_proc *hg__proc_self(void);
/* Port p.port index by name, direction checked by the caller. -1 when absent. */
int hg__proc_port(const struct hg_proc *p, const char *port);

/* graph.c */
/* A new edge for link l between from and to (refs 0: the port tables add theirs). */
int hg__edge_new(hg__graph *g, const struct hg__chg_link *l, struct hg_proc *from,
                 struct hg_proc *to, hg__edge **out);
/* Adds e to a port table (one reference). Under g->mu. */
int hg__pport_add(hg__pport *pp, hg__edge *e);
/* Tells p's thread that its port table changed. [any-thread] */
void hg__proc_touch(struct hg_proc *p);
/* Takes the commit: waits while another runs (a processor being joined by it gives up:
 * HG_ECANCELED); HG_ESTATE once shut down. Returns with g->mu held on 0. */
int hg__graph_begin(hg__graph *g, struct hg_proc *caller);
/* Gives the commit back and releases g->mu. */
void hg__graph_end(hg__graph *g);
/* Drains (to each one's deadline), stops and joins removed processors; g->mu held, released
 * while waiting. Returns: how many had to be cut at their deadline. */
uint32_t hg__graph_reap(hg__graph *g, struct hg_proc **list, uint32_t n);
/* Joins removed processors whose threads returned (wait: stop and wait for the others). */
void hg__graph_reap_zombies(hg__graph *g, int wait);
void hg__edge_unref(hg__graph *g, hg__edge *e);
/* Takes e out of pp (under g->mu). Returns 1 when it was there. */
int hg__pport_del(hg__pport *pp, hg__edge *e);

#endif
