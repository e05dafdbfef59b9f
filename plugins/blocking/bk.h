/* bk.h - internals of the blocking runtime mode: N worker threads, each running a poll(2) loop
 * over its own blocking sockets, its listening sockets (one SO_REUSEPORT socket per worker) and
 * an eventfd for posts; timers are a list the loop turns into its poll timeout. */
#ifndef HG_BK_H
#define HG_BK_H

#include <poll.h>
#include <pthread.h>
#include <stdint.h>

#include "../common/rt.h"

typedef struct bkw bkw;

/* One worker (the queue, totals and counts are in `core`). Touched by its thread only. */
struct bkw {
    rt_worker core; /* first: an rt_worker * is a bkw * */
    int efd;        /* eventfd: tasks and stop */
    int spare_fd;   /* held in reserve: freed to accept-and-close at the fd limit */
    uint64_t fd_limit_hits; /* connections refused at the fd limit */
    uint64_t accept_paused_until; /* ns: listeners are not polled before (fd limit, no spare) */
    rt_link conns, timers, reap;
    uint64_t now; /* ns, taken once per turn and after the poll */
    uint64_t turn;
    struct pollfd *pfd; /* the poll set built each turn, and what each entry is */
    void **pitem;
    size_t pcap;
} __attribute__((aligned(64)));

/* bk_worker.c: rt_mode's worker_init, worker_fini, worker_run and wake. */
int bkw_init(rt_base *b, rt_worker *rw, int32_t index);
void bkw_fini(rt_worker *rw);
void bkw_run(rt_worker *rw);
void bkw_wake(rt_worker *rw);
void bkw_cut_owner(void *arg);
void bkw_free_owner_timers(void *arg);
/* The reap is about to close c's socket: the loop lets go of it first (the uring mode cancels
 * its poll; the poll loop has nothing to do). [c's worker] */
void bkw_conn_closing(bkw *w, hg_conn *c);

static inline bkw *bkw_current(const rt_base *b)
{
    return (bkw *)rt_worker_current(b);
}
static inline bkw *bkw_at(const rt_base *b, uint32_t i)
{
    return (bkw *)rt_worker_at(b, i);
}

/* bk_conn.c, bk_open.c: connections */
enum {
    CF_CONNECTING = 1u << 0,
    CF_ESTABLISHED = 1u << 1,
    CF_NOTIFY = 1u << 2, /* on_closed is owed */
    CF_PAUSED = 1u << 3,
    CF_EOF = 1u << 4,
    CF_EOF_FIRST = 1u << 5, /* the peer's FIN came before ours */
    CF_SHUT_REQ = 1u << 6,
    CF_SHUT_DONE = 1u << 7,
    CF_CLOSE_REQ = 1u << 8,
    CF_CLOSING = 1u << 9,
    CF_HIGH = 1u << 10,
    CF_IN_TIMEOUT = 1u << 11,
    CF_RESET = 1u << 12
};

typedef struct bchunk {
    struct bchunk *next;
    uint32_t len, off;
    uint8_t data[];
} bchunk;

struct hg_conn {
    int fd;
    bkw *w;
    rt_owner *o;
    const hg_conn_handler *h;
    void *ud;
    rt_track t;
    rt_link link, reap_link;
    uint32_t flags, cause, req_cause;
    int status, req_status;
    bchunk *qhead, *qtail;
    uint64_t queued, high, low;
    uint64_t idle_ns, read_ns, write_ns, connect_ns;
    uint64_t last_io, last_read, last_write, opened;
    void *io; /* the loop's state for this socket (the uring mode's armed poll); NULL here */
};

extern const hg_net bk_net_template;

/* Marks the connection closed; the reap closes the socket and reports it. */
void bkc_close_now(hg_conn *c, uint32_t cause, int status, int reset);
/* Sends the FIN once the queue is empty, and closes once both directions are done. */
void bkc_progress(hg_conn *c);
void bkc_finish_connect(hg_conn *c);
int bkc_connect(const hg_net *n, const char *addr, uint64_t timeout_ns, const hg_conn_handler *h,
                void *ud, hg_conn **out);
/* Accepts one connection from a ready listening socket. */
void bkc_accept(rt_slot *s);
/* Takes fd, accepted on s, as a connection (peer NULL: asked of the socket). */
void bkc_accepted(rt_slot *s, int fd, const struct sockaddr_storage *peer);
/* Accepting failed with EMFILE or ENFILE: accepts one connection with the spare descriptor and
 * resets it (counted as failed), or pauses accepting for 100 ms (accept_paused_until). */
void bkc_refuse_at_fd_limit(rt_slot *s);
/* What the connection wants from poll (0: leave it out). */
short bkc_events(hg_conn *c);
int bkc_fd(const hg_conn *c);
void bkc_ready(hg_conn *c, short revents);
/* Checks the connection's timeouts; returns its next deadline (UINT64_MAX: none). */
uint64_t bkc_timeouts(hg_conn *c, uint64_t now);
uint64_t bkc_deadline(const hg_conn *c);
/* Closes with HG_CLOSE_SHUTDOWN; 1 if it was not closing yet. */
int bkc_cut(hg_conn *c);
rt_owner *bkc_owner(const hg_conn *c);
hg_conn *bkc_of_link(rt_link *l);
/* Finishes the connections on w->reap: close the socket, write the record, on_closed. */
void bkc_reap(bkw *w);

/* bk_net.c: listener slots (an rt_slot each: the poll set watches its fd) and timers.
 * rt_mode.slot_adopt and slot_close. */
int bkl_slot_adopt(rt_slot *s);
void bkl_slot_close(rt_slot *s);

struct hg_timer {
    bkw *w;
    rt_owner *o;
    void (*cb)(void *ud, hg_timer *t);
    void *ud;
    uint64_t due, repeat; /* ns */
    uint64_t born;        /* the turn it was started in */
    rt_link link;         /* w->timers */
    uint8_t dead, silenced;
};

hg_timer *bkt_of_link(rt_link *l);
/* Runs the due timers; returns the next deadline (UINT64_MAX: none). */
uint64_t bkt_run(bkw *w);
/* Frees the timers marked dead. */
void bkt_sweep(bkw *w);

int bkn_timer_start(const hg_net *n, uint64_t delay_ns, uint64_t repeat_ns,
                    void (*cb)(void *ud, hg_timer *t), void *ud, hg_timer **out);
void bkn_timer_stop(const hg_net *n, hg_timer *t);

#endif
