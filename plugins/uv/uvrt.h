/* uvrt.h - internals of the uv runtime mode: one libuv loop per worker thread, connections,
 * listeners (one SO_REUSEPORT socket per worker), timers and the cross-thread task queue. */
#ifndef HG_UVRT_H
#define HG_UVRT_H

#include <pthread.h>
#include <stdint.h>

#include <uv.h>

#include "../common/rt.h"

typedef struct uvrt uvrt;
typedef struct uvw uvw;

/* A function to run on a worker. owner != NULL: a pipeline's post, holding the owner. */
typedef struct uv_task {
    struct uv_task *next;
    void (*fn)(void *arg);
    void *arg;
    rt_owner *owner;
} uv_task;

/* One worker: its loop and everything on it. Touched by its thread only, except the task queue
 * (mu), `totals` and `n_conns` (read by anyone). */
struct uvw {
    uvrt *rt;
    int32_t index;
    uv_loop_t loop;
    uv_async_t async;     /* wakes the loop for tasks and stop */
    uv_prepare_t prepare; /* counts turns */
    uv_check_t check;     /* publishes busy/idle time */
    uv_idle_t idle;       /* resumes connections that used their I/O budget */
    hg_thread *thread;
    hg_perf *perf;
    pthread_mutex_t mu;
    uv_task *head, *tail; /* under mu */
    int closed;           /* under mu: no more tasks accepted */
    int stopping;         /* the worker began its stop */
    char *rbuf;           /* the one read buffer, lent to whichever connection reads */
    size_t rbuf_len;
    rt_link conns, timers, slots, deferred;
    uint64_t turn;
    uint64_t events, events_seen, turns_seen, last_check_ns, idle_seen;
    uint64_t n_conns; /* atomic */
    rt_totals totals __attribute__((aligned(64)));
} __attribute__((aligned(64)));

struct uvrt {
    rt_base base; /* first: an owner's `rt` points here */
    uvw *workers;
};

/* uv_worker.c */
uvw *uvw_current(const uvrt *rt);
/* Queues a task. Returns 0 or HG_ECLOSED (the worker is stopping; fn will not run). */
int uvw_post(uvw *w, void (*fn)(void *), void *arg, rt_owner *owner);
int uvw_init(uvrt *rt, uvw *w, int32_t index);
void uvw_fini(uvw *w);
void uvw_main(void *arg);
void uvw_wake_stop(uvw *w);
/* Puts a connection that used its budget on the deferred list; the idle handle resumes it. */
void uvw_defer(uvw *w, rt_link *l);
/* net_close's two phases on this worker (tasks; arg = the owner, held). */
void uvw_cut_owner(void *arg);
void uvw_free_owner_timers(void *arg);

/* uv_conn.c */
extern const hg_net uv_net_template;
void uvc_on_connection(uv_stream_t *server, int status);
int uvc_cut(hg_conn *c); /* closes with HG_CLOSE_SHUTDOWN; 1 if it was not closing yet */
rt_owner *uvc_owner(const hg_conn *c);
hg_conn *uvc_of_link(rt_link *l);
void uvc_resume_deferred(uvw *w);

/* uv_net.c: listeners and timers */
typedef struct uv_slot {
    uv_tcp_t tcp;
    struct hg_listener *l;
    uvw *w;
    int fd;
    int open;
    rt_link link; /* w->slots */
} uv_slot;

struct hg_listener {
    rt_owner *o;
    const hg_conn_handler *h;
    void *ud;
    char addr[64];
    uint32_t backlog;
    uint32_t n;
    uv_slot *slots;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint32_t busy; /* under mu: slots open + tasks queued */
    rt_link olink; /* the owner's listeners */
};

void uvl_slot_close(void *arg);
/* rt_mode.close_listener */
void uvl_close(rt_link *olink);

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

int uvn_listen(const hg_net *n, const char *addr, uint32_t backlog, const hg_conn_handler *h,
               void *ud, hg_listener **out);
int uvn_listener_address(const hg_net *n, hg_listener *l, char *buf, uint32_t cap);
void uvn_listener_close(const hg_net *n, hg_listener *l);
int uvn_timer_start(const hg_net *n, uint64_t delay_ns, uint64_t repeat_ns,
                    void (*cb)(void *ud, hg_timer *t), void *ud, hg_timer **out);
void uvn_timer_stop(const hg_net *n, hg_timer *t);
uint32_t uvn_workers(const hg_net *n);
int32_t uvn_current_worker(const hg_net *n);
int uvn_post(const hg_net *n, int32_t worker, void (*fn)(void *arg), void *arg);

static inline uvrt *uv_rt_of(const hg_net *n)
{
    return (uvrt *)rt_owner_of(n)->rt;
}

static inline uint64_t uv_ms_of_ns(uint64_t ns)
{
    return ns == 0 ? 0 : (ns + 999999u) / 1000000u;
}

#endif
