/* uvrt.h - internals of the uv runtime mode: one libuv loop per worker thread, connections,
 * listener slots (one SO_REUSEPORT socket per worker) and timers. The worker core, task queue
 * and listeners themselves are in ../common. */
#ifndef HG_UVRT_H
#define HG_UVRT_H

#include <pthread.h>
#include <stdint.h>

#include <uv.h>

#include "../common/rt.h"

typedef struct uvw uvw;

/* One worker: its loop and everything on it (the queue, totals and counts are in `core`). */
struct uvw {
    rt_worker core; /* first: an rt_worker * is a uvw * */
    uv_loop_t loop;
    uv_async_t async;     /* wakes the loop for tasks and stop */
    uv_prepare_t prepare; /* counts turns */
    uv_check_t check;     /* publishes busy/idle time */
    uv_idle_t idle;       /* resumes connections that used their I/O budget */
    rt_link conns, timers, deferred;
    rt_link dirty; /* connections with bytes not yet added to their owner's counters */
    uint64_t turn;
    uint64_t events_seen, turns_seen, last_check_ns;
    uint64_t t_poll, idle_acc, idle_seen; /* idle time: see on_prepare */
    int in_poll;
} __attribute__((aligned(64)));

/* uv_worker.c: rt_mode's worker_init, worker_fini, worker_run and wake. */
int uvw_init(rt_base *b, rt_worker *rw, int32_t index);
void uvw_fini(rt_worker *rw);
void uvw_run(rt_worker *rw);
void uvw_wake(rt_worker *rw);
/* Puts a connection that used its budget on the deferred list; the idle handle resumes it. */
void uvw_defer(uvw *w, rt_link *l);
/* net_close's two phases on this worker (tasks; arg = the owner, held). */
void uvw_cut_owner(void *arg);
void uvw_free_owner_timers(void *arg);

static inline uvw *uvw_current(const rt_base *b)
{
    return (uvw *)rt_worker_current(b);
}
static inline uvw *uvw_at(const rt_base *b, uint32_t i)
{
    return (uvw *)rt_worker_at(b, i);
}

/* uv_conn.c, uv_open.c: connections */
enum {
    F_CONNECTING = 1u << 0,
    F_ESTABLISHED = 1u << 1,
    F_NOTIFY = 1u << 2, /* on_closed is owed */
    F_READING = 1u << 3,
    F_PAUSED = 1u << 4,
    F_BUDGET = 1u << 5,
    F_EOF = 1u << 6,
    F_EOF_FIRST = 1u << 7, /* the peer's FIN came before ours */
    F_SHUT_REQ = 1u << 8,
    F_SHUT_SENT = 1u << 9, /* uv_shutdown issued */
    F_SHUT_DONE = 1u << 10,
    F_CLOSE_REQ = 1u << 11,
    F_CLOSING = 1u << 12,
    F_HIGH = 1u << 13,
    F_TIMER = 1u << 14,
    F_IN_TIMEOUT = 1u << 15,
    F_NODELAY = 1u << 16 /* TCP_NODELAY is set (see conn_write) */
};

/* A first write up to this size goes out at once even with Nagle's algorithm on (nothing is
 * unacknowledged yet and it fits in any MSS), so TCP_NODELAY can wait for the second write. */
#define UVC_NAGLE_FREE 512u

struct hg_conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_connect_t creq;
    uv_shutdown_t sreq;
    uvw *w;
    rt_owner *o;
    const hg_conn_handler *h;
    void *ud;
    rt_track t;
    rt_link link, defer_link, dirty_link;
    uint64_t pend_in, pend_out; /* not yet in the owner's bytes_in/bytes_out */
    uint32_t flags, handles, cause, req_cause;
    int status, req_status;
    uint64_t high, low;
    uint64_t turn, turn_bytes;
    uint64_t idle_ms, read_ms, write_ms, connect_ms;
    uint64_t last_io, last_read, last_write, opened, wq_mark;
};

typedef struct wchunk {
    uv_write_t req;
    hg_conn *c;
    uint32_t len;
    uint8_t data[];
} wchunk;

extern const hg_net uv_net_template;
uint64_t uvc_now_ms(const hg_conn *c);
void uvc_update_reading(hg_conn *c);
void uvc_on_alloc(uv_handle_t *hd, size_t hint, uv_buf_t *buf);
void uvc_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
/* Adds the bytes counted since the last flush to the owners' counters (once per loop turn, and
 * before a connection's close is counted), so the two workers do not fight over the counters'
 * cache line at every read and write. */
void uvc_flush_counts(uvw *w);
/* Closes the socket now (reset: RST); on_closed follows from the close callback. */
void uvc_close_now(hg_conn *c, uint32_t cause, int status, int reset);
void uvc_ensure_timer(hg_conn *c);
void uvc_arm_timer(hg_conn *c);
/* Issues the FIN once connected and asked for; libuv sends it after the queued writes. */
void uvc_send_shutdown(hg_conn *c);
int uvc_connect(const hg_net *n, const char *addr, uint64_t timeout_ns, const hg_conn_handler *h,
                void *ud, hg_conn **out);
void uvc_on_acceptable(uv_poll_t *p, int status, int events);
int uvc_cut(hg_conn *c); /* closes with HG_CLOSE_SHUTDOWN; 1 if it was not closing yet */
rt_owner *uvc_owner(const hg_conn *c);
hg_conn *uvc_of_link(rt_link *l);
void uvc_resume_deferred(uvw *w);

/* uv_net.c: listener slots and timers */
/* A listening socket on one worker. Accepting is ours (uv_poll + accept4), not libuv's
 * uv_listen: at the fd limit libuv's accept loop can spin without returning to the loop, while
 * a poll handle can simply be stopped for a moment (retry). */
typedef struct uv_slot {
    rt_slot base; /* first: an rt_slot * is a uv_slot * */
    uv_poll_t poll;
    uv_timer_t retry;
    uint32_t handles;       /* open libuv handles; the socket is closed with the last */
    uint64_t fd_limit_hits; /* accepts refused at the fd limit */
} uv_slot;

/* rt_mode.slot_adopt and slot_close. */
int uvl_slot_adopt(rt_slot *rs);
void uvl_slot_close(rt_slot *rs);

struct hg_timer {
    uv_timer_t t;
    uvw *w;
    rt_owner *o;
    void (*cb)(void *ud, hg_timer *t);
    void *ud;
    rt_link link; /* w->timers */
    uint8_t repeat, in_cb, dead;
};

void uvt_free(hg_timer *t);
hg_timer *uvt_of_link(rt_link *l);

int uvn_timer_start(const hg_net *n, uint64_t delay_ns, uint64_t repeat_ns,
                    void (*cb)(void *ud, hg_timer *t), void *ud, hg_timer **out);
void uvn_timer_stop(const hg_net *n, hg_timer *t);

/* Called first by every callback of the poll phase: the wait for events ended. */
static inline void uvw_awake(uvw *w)
{
    if (w->in_poll) {
        w->idle_acc += uv_hrtime() - w->t_poll;
        w->in_poll = 0;
    }
}

static inline uint64_t uv_ms_of_ns(uint64_t ns)
{
    return ns == 0 ? 0 : (ns + 999999u) / 1000000u;
}

#endif
