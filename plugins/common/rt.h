/* rt.h - code shared by the uv and blocking runtime modes (compiled into each .so): addresses,
 * config keys, owners and connection records, the runtime-mode ops, the worker core (task queue)
 * and listeners. A mode supplies rt_this_mode: its loop, sockets and timers. SDK and libc only. */
#ifndef HG_RT_H
#define HG_RT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <hangar/runtime_mode.h>

#define RT_DEFAULT_HIGH (1024u * 1024u)
#define RT_DEFAULT_LOW (256u * 1024u)
#define RT_MAX_WORKERS 256

/* The runtime's own keys under `runtime:` (the host owns mode/workers/cores). */
typedef struct rt_config {
    uint64_t read_buffer; /* bytes read per recv; one buffer per worker (default 64 KiB) */
    uint64_t io_budget;   /* bytes one connection may read per loop turn (default 256 KiB) */
    uint32_t backlog;     /* listen backlog when the pipeline passes 0 (default 511) */
} rt_config;

extern const char *const rt_config_keys[];
/* Reads the keys of `cfg` (may be NULL: defaults). Returns 0 or HG_ECONFIG. [control-thread] */
int rt_config_read(const hg_host *h, const hg_config *cfg, rt_config *out);

/* --- addresses and errors --- */

/* Parses "127.0.0.1:7000", "[::1]:0" or "localhost:80" (resolved, IPv4 first). Returns 0 or
 * HG_EINVAL. */
int rt_addr_parse(const char *text, struct sockaddr_storage *ss, socklen_t *len);
/* Formats "1.2.3.4:80" / "[::1]:80" into buf (empty for an unset address). */
void rt_addr_format(const struct sockaddr_storage *ss, char *buf, size_t cap);
/* 1 for 0.0.0.0 or :: (or an unset address): a socket accepted there has its own local address.
 * Otherwise every accepted socket's local address is the listener's. */
int rt_addr_is_wildcard(const struct sockaddr_storage *ss);
/* A positive errno value as an HG_E* code. */
int rt_status_from_errno(int err);
/* Opens n listening sockets bound to the same address with SO_REUSEPORT (port 0: the first picks
 * the port, the others take it). fds[] receives them; *bound the first one's address.
 * Returns 0 or HG_EADDRINUSE / HG_EADDRNOTAVAIL / HG_EIO (nothing left open). */
/* accept4(lfd, SOCK_NONBLOCK | SOCK_CLOEXEC): the new descriptor, or -errno. */
int rt_accept_nonblock(int lfd);
int rt_listen_group(const struct sockaddr_storage *ss, socklen_t len, uint32_t n,
                    uint32_t backlog, int *fds, struct sockaddr_storage *bound);
/* Sets SO_LINGER {1, 0} so close() sends a reset. */
void rt_set_linger0(int fd);
/* Whether the peer aborted a TCP connection (a reset, or a retransmission timeout) although
 * nothing reported it yet: libuv reports a reset that comes after the last byte as an EOF, a FIN
 * then a reset reads as an EOF, and a socket that is neither read nor written hears of nothing.
 * fin_sent: this side's FIN was handed to the kernel (shutdown). Returns 0 when it was not
 * aborted, else the positive errno (the socket's pending error, taken here; ECONNRESET when a
 * write already took it). One getsockopt when not aborted. [the socket's worker] */
int rt_abort_error(int fd, int fin_sent);
/* CLOCK_MONOTONIC in ns. */
uint64_t rt_now_ns(void);

/* --- intrusive doubly linked lists (a sentinel node is the list) --- */

typedef struct rt_link {
    struct rt_link *prev, *next;
} rt_link;

static inline void rt_list_init(rt_link *l)
{
    l->prev = l->next = l;
}
static inline int rt_list_empty(const rt_link *l)
{
    return l->next == l;
}
static inline void rt_list_push(rt_link *l, rt_link *e)
{
    e->prev = l->prev;
    e->next = l;
    l->prev->next = e;
    l->prev = e;
}
static inline void rt_list_remove(rt_link *e)
{
    e->prev->next = e->next;
    e->next->prev = e->prev;
    e->prev = e->next = e;
}
#define RT_CONTAINER(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* --- owners --- */

enum {
    RT_C_ATTEMPTED,
    RT_C_ESTABLISHED,
    RT_C_FAILED,
    RT_C_OPEN,
    RT_C_BYTES_IN,
    RT_C_BYTES_OUT,
    RT_C_FIXED /* closed_<cause> counters follow, indexed by HG_CLOSE_* */
};
#define RT_CAUSES 9

/* One owner (pipeline) of an hg_net table. The table is embedded so n->self leads back here.
 * `live` counts what may still call the owner: connections not yet past on_closed, posts not yet
 * run, internal tasks in flight. net_close waits for it to reach zero. */
typedef struct rt_owner {
    hg_net net;
    const hg_host *host; /* the owner's services; borrowed until net_close */
    void *rt;            /* the runtime instance */
    hg_counter *c[RT_C_FIXED];
    hg_counter *closed[RT_CAUSES]; /* NULL for NONE and CONNECT_FAILED */
    uint32_t closing;              /* atomic: net_close began; refuse new work */
    uint32_t cut;                  /* atomic: connections cut by net_close */
    uint64_t live;                 /* atomic */
    uint64_t next_id;              /* atomic: record ids, unique within the owner */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct rt_owner *next; /* the runtime's list of owners (control thread) */
    rt_link listeners;     /* the mode's listeners, by their `olink` (control thread) */
} rt_owner;

/* Registers the counters on `owner` and copies the table template. Returns 0 or an HG_E* code. */
int rt_owner_init(rt_owner *o, const hg_host *owner, const hg_net *tmpl, void *rt);
void rt_owner_fini(rt_owner *o);
static inline rt_owner *rt_owner_of(const hg_net *n)
{
    return (rt_owner *)n->self;
}
static inline int rt_owner_closing(const rt_owner *o)
{
    return (int)__atomic_load_n(&o->closing, __ATOMIC_ACQUIRE);
}
void rt_owner_hold(rt_owner *o);
/* Drops one hold; the last one wakes rt_owner_wait_idle. */
void rt_owner_release(rt_owner *o);
/* Waits until live is zero. [control-thread] */
void rt_owner_wait_idle(rt_owner *o);

/* Totals of one worker: written by that worker only, read by anyone. */
typedef struct rt_totals {
    uint64_t in, out;
} rt_totals;

static inline void rt_add1(uint64_t *cell, uint64_t n)
{
    /* single writer: a relaxed store is enough and avoids a locked instruction */
    __atomic_store_n(cell, __atomic_load_n(cell, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

/* One connection's bookkeeping (embedded in each mode's connection). Touched by its worker only.
 * Counting rules, per owner: every accepted or outgoing connection counts `attempted` when it
 * begins; it then becomes `established` (connected, or accepted and kept by on_accept) or
 * `failed` (connect failed, accept refused). Each established connection counts exactly one
 * closed_<cause> when it closes. So attempted = established + failed + connecting, and
 * established = open + the sum of closed_*. Every connection writes one record. */
typedef struct rt_track {
    hg_conn_record rec;
    struct sockaddr_storage peer, local;
    uint8_t established;
    uint8_t closed;
} rt_track;

/* A connection began (accept returned, or connect is issued): counts attempted. */
void rt_track_open(rt_owner *o, rt_track *t, int32_t worker, uint8_t outgoing, uint64_t id);
/* Established (connected, or accepted and kept): counts established and open. */
void rt_track_established(rt_owner *o, rt_track *t);
/* Bytes in/out for the record and the worker's totals only; the caller adds them to the
 * owner's counters (now: rt_track_in/out, or batched once per loop turn). */
static inline void rt_track_in_local(rt_track *t, rt_totals *tot, uint64_t n)
{
    if (t->rec.bytes_in == 0)
        t->rec.t_first_byte_ns = rt_now_ns();
    t->rec.bytes_in += n;
    rt_add1(&tot->in, n);
}
static inline void rt_track_out_local(rt_track *t, rt_totals *tot, uint64_t n)
{
    t->rec.bytes_out += n;
    rt_add1(&tot->out, n);
}
static inline void rt_track_in(rt_owner *o, rt_track *t, rt_totals *tot, uint64_t n)
{
    rt_track_in_local(t, tot, n);
    hg_counter_add(o->c[RT_C_BYTES_IN], n);
}
static inline void rt_track_out(rt_owner *o, rt_track *t, rt_totals *tot, uint64_t n)
{
    rt_track_out_local(t, tot, n);
    hg_counter_add(o->c[RT_C_BYTES_OUT], n);
}
/* The record so far, with peer and local formatted. */
void rt_track_info(const rt_track *t, hg_conn_record *out);
/* hg_net.conn_info: the record so far into a caller's struct, writing only the whole fields
 * that fit in out->struct_size; out->struct_size becomes the bytes written. */
void rt_track_info_sized(const rt_track *t, hg_conn_record *out);
/* Closed with `cause`/`status`: counts closed_<cause> and open-1 when it was established, failed
 * otherwise; fills *out and writes it through the owner's record service. */
void rt_track_close(rt_owner *o, rt_track *t, uint32_t cause, int status, hg_conn_record *out);

/* --- the part of a runtime instance both modes share (rt_base.c, rt_worker.c) --- */

typedef struct rt_base rt_base;
typedef struct rt_slot rt_slot;

/* A function to run on a worker. owner != NULL: a pipeline's post, holding the owner. */
typedef struct rt_task {
    struct rt_task *next;
    void (*fn)(void *arg);
    void *arg;
    rt_owner *owner;
} rt_task;

/* The part of a worker both modes share: the first member of each mode's worker. Touched by
 * its thread only, except the task queue (mu), `n_conns` and `totals` (read by anyone). */
typedef struct rt_worker {
    rt_base *base;
    int32_t index;
    int stopping; /* the worker began its stop */
    hg_thread *thread;
    hg_perf *perf;        /* NULL when the host gave none */
    pthread_mutex_t mu;
    rt_task *head, *tail; /* under mu */
    int closed;           /* under mu: no more tasks accepted */
    uint64_t events;      /* tasks, timers and ready sockets handled (perf) */
    char *rbuf;           /* the one read buffer (cfg.read_buffer bytes), lent to each read */
    size_t rbuf_len;
    rt_link slots;        /* the listening sockets it has adopted (rt_slot.link) */
    uint64_t n_conns;     /* atomic */
    rt_totals totals __attribute__((aligned(64)));
} rt_worker;

/* What rt_base needs from a mode. */
typedef struct rt_mode {
    const char *name;   /* "uv", "blocking": the stats reply, thread and perf names */
    const hg_net *tmpl; /* the mode's hg_net functions */
    size_t worker_size; /* sizeof the mode's worker, which begins with its rt_worker */
    /* Sets up the mode's part of a worker whose rt_worker is set up (the rest is zeroed); on
     * failure undoes its own part. Returns 0 or an HG_E* code. [control-thread] */
    int (*worker_init)(rt_base *b, rt_worker *w, int32_t index);
    /* Frees what worker_init made, for a worker whose thread never ran or has exited (the
     * queue is closed then). */
    void (*worker_fini)(rt_worker *w);
    /* The worker thread's loop: returns when the worker has stopped and holds nothing. */
    void (*worker_run)(rt_worker *w);
    /* Wakes the worker's loop (tasks or stop). Called with w->mu held and w->closed 0. */
    void (*wake)(rt_worker *w);
    size_t slot_size; /* sizeof the mode's listener slot, which begins with its rt_slot */
    /* On the slot's worker: starts accepting on s->fd (already on w->slots, `open`). Returns 0,
     * or an HG_E* code and the slot is closed. */
    int (*slot_adopt)(rt_slot *s);
    /* On the slot's worker: closes the adopted socket, then rt_listener_unbusy(s->l, 1) (at
     * once, or from a close callback). */
    void (*slot_close)(rt_slot *s);
    /* Tasks, arg = the owner, holding it: phase 1 of net_close (cut its connections, silence
     * its timers) and phase 2 (free its timers). */
    void (*cut_owner)(void *owner);
    void (*free_owner_timers)(void *owner);
    /* Optional, first thing in create: whether the mode can run in this process at all. Returns
     * 0, or HG_ECONFIG with the reason recorded through host->cfg_error. [control-thread] */
    int (*usable)(const hg_host *host, const hg_config *cfg);
} rt_mode;

/* Each mode's plugin defines its one rt_mode under this name (one mode per .so). */
extern const rt_mode rt_this_mode;
/* The runtime-mode ops, the same for both modes (rt_base.c). */
extern const hg_runtime_mode_ops rt_mode_ops;

struct rt_base {
    const rt_mode *mode;
    const hg_host *host;
    rt_config cfg;
    uint32_t n_workers;
    void *workers; /* n_workers workers of mode->worker_size bytes, 64-byte aligned */
    uint32_t stop; /* atomic */
    int started, joined;
    pthread_mutex_t mu; /* join's wait */
    pthread_cond_t cv;
    uint32_t exited; /* under mu */
    uint32_t rr;     /* atomic: round robin for connects from a thread that is no worker */
    rt_owner *owners;
};

static inline rt_worker *rt_worker_at(const rt_base *b, uint32_t i)
{
    return (rt_worker *)(void *)((char *)b->workers + (size_t)i * b->mode->worker_size);
}
static inline rt_base *rt_base_of(const hg_net *n)
{
    return (rt_base *)rt_owner_of(n)->rt;
}

/* rt_worker.c: the worker core. */
/* Sets up w's rt_worker (read buffer, queue, perf). Returns 0 or HG_ENOMEM. [control-thread] */
int rt_worker_init(rt_base *b, rt_worker *w, int32_t index);
void rt_worker_fini(rt_worker *w);
/* The worker thread: runs mode->worker_run, then tells join it has exited. */
void rt_worker_main(void *arg);
/* A worker thread is about to return (rt_base.c). */
void rt_base_worker_exited(rt_base *b);
/* The calling thread's worker of `b`, or NULL. */
rt_worker *rt_worker_current(const rt_base *b);
/* Queues a task. Returns 0, HG_ENOMEM or HG_ECLOSED (the worker is stopping; fn will not run). */
int rt_worker_post(rt_worker *w, void (*fn)(void *), void *arg, rt_owner *owner);
/* Wakes the worker unless its queue is closed (it is stopping already). [any-thread] */
void rt_worker_wake(rt_worker *w);
/* Runs the queued tasks on the worker; close_queue: refuse every later post (the stop). */
void rt_worker_run_tasks(rt_worker *w, int close_queue);
/* The checks hg_net's connect makes before the mode's part: parses addr into *ss and sets *w to
 * the calling thread's worker (NULL: none, connect through a worker). Returns 0, HG_EINVAL or
 * HG_ECLOSED. */
int rt_connect_check(const hg_net *n, const char *addr, const hg_conn_handler *h,
                     struct sockaddr_storage *ss, rt_worker **w);
/* The checks hg_net's timer_start makes before the mode's part: sets *w to the calling thread's
 * worker. Returns 0, HG_EINVAL, HG_ESTATE (no worker: timers live on one) or HG_ECLOSED. */
int rt_timer_check(const hg_net *n, void (*cb)(void *ud, hg_timer *t), rt_worker **w);
/* hg_net's workers, current_worker and post, the same in both modes. */
uint32_t rt_net_workers(const hg_net *n);
int32_t rt_net_current_worker(const hg_net *n);
int rt_net_post(const hg_net *n, int32_t worker, void (*fn)(void *arg), void *arg);

/* --- listeners (rt_listen.c): one SO_REUSEPORT socket per worker, all bound to the same
 * address; the kernel spreads incoming connections over the workers with no hand-off between
 * threads. The sockets are bound and listening before listen returns (errors are synchronous);
 * each worker then adopts its own. --- */

/* One worker's socket of a listener; the first member of the mode's slot. */
struct rt_slot {
    struct hg_listener *l;
    rt_worker *w;
    int fd;
    int open;     /* adopted and not yet closed (its worker only) */
    rt_link link; /* w->slots */
};

struct hg_listener {
    rt_owner *o;
    const hg_conn_handler *h;
    void *ud;
    char addr[64];
    struct sockaddr_storage bound; /* the listening address: each accepted socket's local one */
    uint8_t local_known;           /* bound is no wildcard (then accept needs getsockname) */
    uint32_t backlog;
    uint32_t n;
    void *slots; /* n slots of mode->slot_size bytes */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint32_t busy; /* under mu: slots open + tasks queued */
    rt_link olink; /* the owner's listeners */
};

/* Drops n of l->busy (slots closed, tasks done); the last wakes rt_listener_close. */
void rt_listener_unbusy(struct hg_listener *l, uint32_t n);
/* On the slot's worker: closes it if it is open (mode->slot_close). */
void rt_slot_close(rt_slot *s);
/* On the worker: closes every slot it has adopted (its stop). */
void rt_worker_close_slots(rt_worker *w);
/* Closes a listener (by its olink) and waits until no worker touches it. [control-thread] */
void rt_listener_close(rt_link *olink);
/* hg_net's listen, listener_address and listener_close, the same in both modes. */
int rt_net_listen(const hg_net *n, const char *addr, uint32_t backlog, const hg_conn_handler *h,
                  void *ud, struct hg_listener **out);
int rt_net_listener_address(const hg_net *n, struct hg_listener *l, char *buf, uint32_t cap);
void rt_net_listener_close(const hg_net *n, struct hg_listener *l);

static inline int rt_base_stopping(const rt_base *b)
{
    return (int)__atomic_load_n(&b->stop, __ATOMIC_ACQUIRE);
}

#endif
