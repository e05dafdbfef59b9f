/* net.h - the socket and timer service a runtime mode gives to the pipelines that run on it.
 *
 * Threading: a runtime mode runs N worker threads. Every connection, listener-accept and timer
 * belongs to one worker, and every callback about it runs on that worker's thread
 * ([engine-thread] below means "the owning worker"; the four tags are defined in host.h). Calls that take an hg_conn or hg_timer must
 * be made on the owning worker's thread, normally from inside a callback; to act from another
 * thread, `post` a function to the worker. The service never calls back into the pipeline from
 * inside one of the pipeline's calls into it (no re-entrancy): a close requested inside on_data
 * is reported by on_closed after on_data returns.
 *
 * Counting: the runtime mode counts, per owner (the pipeline the hg_net was opened for),
 * connections attempted/established/failed/open/closed by cause and bytes in/out, at every I/O
 * boundary, and writes a connection record through the owner's hg_host `record` service. The
 * pipeline does not need to count these itself. */
#ifndef HANGAR_NET_H
#define HANGAR_NET_H

#include <stdint.h>

#include "host.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hg_net hg_net;
/* A TCP connection. Owned by the runtime mode; valid from on_accept/connect until on_closed
 * returns. */
typedef struct hg_conn hg_conn;
/* A listening socket. Owned by the runtime mode; valid until listener_close returns. */
typedef struct hg_listener hg_listener;
/* A timer on a worker's loop. Owned by the runtime mode; valid until timer_stop returns, its
 * one-shot callback returns, or the owner's net is closed (the host closes it after a stop:
 * a timer from before a stop must not be used after it, not even to timer_stop it). */
typedef struct hg_timer hg_timer;

/* How to close a connection. Fixed values. */
enum {
    HG_CLOSE_GRACEFUL = 1, /* send what is queued, then close (FIN) */
    HG_CLOSE_RESET = 2,    /* drop the queue and reset (RST) */
    HG_CLOSE_CUT = 3       /* reset because the host is stopping the owner now (a pipeline's
                            * stop(HG_STOP_NOW)): counted and recorded as HG_CLOSE_SHUTDOWN */
};

/* Which timeout fired. Fixed values. */
enum {
    HG_TIMEOUT_IDLE = 1,  /* no I/O either way for the idle time */
    HG_TIMEOUT_READ = 2,  /* nothing read for the read time while reading */
    HG_TIMEOUT_WRITE = 3  /* queued data made no progress for the write time */
};

/* Callbacks from the runtime mode to a pipeline, one table per listener or outgoing connection.
 * Every callback is optional (NULL: the "default" each one names). Every callback runs on the
 * worker that owns the connection. [engine-thread] */
typedef struct hg_conn_handler {
    uint32_t struct_size;
    /* A connection was accepted on a listener. Set *conn_ud for the later callbacks. Return 0 to
     * keep it, or a negative HG_E* code to refuse it: the runtime resets it, counts it in
     * connections_failed and writes its record (cause HG_CLOSE_ACTIVE_RESET, status the code),
     * and no other callback runs for it, on_closed included; c is invalid once on_accept
     * returns. Default: keep it, with conn_ud = the listener's ud. [engine-thread] */
    int (*on_accept)(void *listener_ud, hg_conn *c, void **conn_ud);
    /* An outgoing connection is established. Default: nothing. [engine-thread] */
    void (*on_connected)(void *conn_ud, hg_conn *c);
    /* Bytes arrived. data is borrowed until the callback returns. Default: discard them.
     * [engine-thread] */
    void (*on_data)(void *conn_ud, hg_conn *c, const uint8_t *data, uint32_t len);
    /* The write queue went above high water and is now at or below low water. Default: nothing.
     * [engine-thread] */
    void (*on_writable)(void *conn_ud, hg_conn *c);
    /* The peer half-closed (FIN); writing is still possible. A reset is never reported here,
     * even one that a read reports as 0 bytes: the connection closes with cause
     * HG_CLOSE_PASSIVE_RESET instead. Not called when this side had
     * already shut down writing: both directions are then done, and the connection closes
     * (cause HG_CLOSE_ACTIVE, as this side closed first) with on_closed as the next callback.
     * Default: shutdown_write, so the connection closes once both directions are done.
     * [engine-thread] */
    void (*on_peer_shutdown)(void *conn_ud, hg_conn *c);
    /* A timeout set with set_timeouts fired. The connection stays open unless the callback closes
     * it; a close from inside this callback (graceful or reset) is counted and recorded with
     * cause HG_CLOSE_TIMEOUT. Default: close with cause HG_CLOSE_TIMEOUT. [engine-thread] */
    void (*on_timeout)(void *conn_ud, hg_conn *c, uint32_t which);
    /* The connection is closed (or an outgoing one failed: cause HG_CLOSE_CONNECT_FAILED). The
     * last callback for c; c is invalid once it returns. rec is borrowed for the call and is
     * the runtime's full record (read fields added after 1.0 with HG_HAS_FIELD). Not called for
     * a connection on_accept refused. [engine-thread] */
    void (*on_closed)(void *conn_ud, hg_conn *c, const hg_conn_record *rec);
} hg_conn_handler;

/* The service table. One per owner (pipeline), from the runtime mode's net_open; valid until
 * net_close. The host opens one for each start of a pipeline and closes it once the pipeline
 * has stopped (cutting what is left: connections, listeners, timers), so handles from one start
 * are dead in the next. Every function takes the table itself first. */
struct hg_net {
    uint32_t struct_size;
    /* The runtime mode's. Pipelines must not touch it. */
    void *self;

    /* Number of worker threads. [any-thread, never blocks] */
    uint32_t (*workers)(const hg_net *n);
    /* The calling thread's worker index, or -1 when it is not a worker. [any-thread, never blocks] */
    int32_t (*current_worker)(const hg_net *n);
    /* Runs fn(arg) on worker `worker`'s thread soon (a uv_async/eventfd wake-up). fn must not
     * block; arg is the caller's, passed to fn as it is. A post that returned 0 runs exactly
     * once, and before net_close of this table returns: it may run after the pipeline's stop
     * (the host closes the net only once the pipeline has stopped: reported HG_STATE_STOPPED
     * or FAILED, or was given stop(HG_STOP_NOW)), never after net_close or destroy. Once net_close has begun, post returns
     * HG_ECLOSED and fn does not run. A thread of the pipeline's own that posts must be done
     * with the table before the pipeline reports HG_STATE_STOPPED: the table is freed by
     * net_close. Returns: 0, HG_EINVAL (fn NULL, no such worker, runtime not started),
     * HG_ECLOSED (closing or stopping: fn will not run). [any-thread, never blocks] */
    int (*post)(const hg_net *n, int32_t worker, void (*fn)(void *arg), void *arg);

    /* Listens on addr ("127.0.0.1:7000", "[::1]:0", port 0 picks a free port). Accepted
     * connections are spread over the workers. handler and ud are borrowed until listener_close
     * returns. Returns: 0, HG_EINVAL (bad address), HG_EADDRINUSE, HG_EADDRNOTAVAIL, HG_EIO.
     * [control-thread] */
    int (*listen)(const hg_net *n, const char *addr, uint32_t backlog,
                  const hg_conn_handler *handler, void *ud, hg_listener **out);
    /* The bound address ("127.0.0.1:40111") into buf (cap bytes, NUL-terminated). Returns: 0 or
     * HG_ENOSPC. [any-thread] */
    int (*listener_address)(const hg_net *n, hg_listener *l, char *buf, uint32_t cap);
    /* Stops accepting and closes the listening socket; connections already accepted stay. When it
     * returns no on_accept for l runs or will run. [control-thread] */
    void (*listener_close)(const hg_net *n, hg_listener *l);

    /* Starts an outgoing connection. Called on a worker, the connection belongs to that worker
     * and *out is valid at once (until its on_closed returns); on_connected or on_closed (cause
     * HG_CLOSE_CONNECT_FAILED, status HG_ECONNREFUSED/HG_ETIMEDOUT/...) follows, never from
     * inside this call. Called from any other thread, the runtime picks a worker round-robin
     * and the connection is made there: it may fail and its on_closed run (freeing it) before
     * connect returns, so *out must not be used from the calling thread at all; learn the
     * connection from on_connected or on_closed (conn_ud says which one it is). timeout_ns 0:
     * none. handler and conn_ud are borrowed until on_closed returns. Returns: 0, HG_EINVAL (bad
     * address, handler NULL), HG_ECLOSED (closing or stopping), HG_ENOMEM. [any-thread] */
    int (*connect)(const hg_net *n, const char *addr, uint64_t timeout_ns,
                   const hg_conn_handler *handler, void *conn_ud, hg_conn **out);

    /* Writes len bytes. What the kernel does not take at once is copied into the connection's
     * queue. Returns: 0 (all taken or queued, queue at or below high water), HG_EAGAIN (queued,
     * but the queue is now above high water: stop producing until on_writable), HG_ECLOSED
     * (closing or half-closed for writing: nothing queued). [engine-thread] */
    int (*write)(const hg_net *n, hg_conn *c, const void *data, uint32_t len);
    /* Bytes waiting in the write queue. [engine-thread] */
    uint64_t (*queued)(const hg_net *n, hg_conn *c);
    /* Sets the write queue's high and low water marks (defaults 1 MiB and 256 KiB).
     * [engine-thread] */
    void (*set_water)(const hg_net *n, hg_conn *c, uint64_t high, uint64_t low);
    /* Stops and restarts reading (back-pressure); both idempotent. [engine-thread] */
    void (*read_pause)(const hg_net *n, hg_conn *c);
    void (*read_resume)(const hg_net *n, hg_conn *c);
    /* Half-closes: sends FIN once the queue is written. Reading goes on. [engine-thread] */
    int (*shutdown_write)(const hg_net *n, hg_conn *c);
    /* Closes (how: HG_CLOSE_GRACEFUL or HG_CLOSE_RESET); idempotent; on_closed follows.
     * [engine-thread] */
    void (*close)(const hg_net *n, hg_conn *c, uint32_t how);
    /* Idle, read and write timeouts in ns (0: off). [engine-thread] */
    void (*set_timeouts)(const hg_net *n, hg_conn *c, uint64_t idle_ns, uint64_t read_ns,
                         uint64_t write_ns);
    /* The connection's record so far (bytes, times, peer) into *out. The caller sets
     * out->struct_size (sizeof(hg_conn_record) of its build); the runtime writes only the whole
     * fields that fit in it, never a byte past it, and sets out->struct_size to the bytes it
     * wrote. [engine-thread] */
    void (*conn_info)(const hg_net *n, hg_conn *c, hg_conn_record *out);
    /* Replaces the conn_ud passed to later callbacks. [engine-thread] */
    void (*set_conn_ud)(const hg_net *n, hg_conn *c, void *conn_ud);
    /* The worker that owns c. [any-thread, never blocks] */
    int32_t (*conn_worker)(const hg_net *n, hg_conn *c);

    /* Starts a timer on the calling worker: cb after delay_ns, then every repeat_ns (0: once).
     * Returns: 0, HG_ECLOSED (stopping), HG_ESTATE (not called on a worker thread: post a
     * function that starts it). The timer belongs to the calling worker, and cb(ud, t) runs on
     * it, never from inside this call ([engine-thread]); a one-shot timer is freed when its cb
     * returns. ud is the caller's, passed to cb as it is. [engine-thread] */
    int (*timer_start)(const hg_net *n, uint64_t delay_ns, uint64_t repeat_ns,
                       void (*cb)(void *ud, hg_timer *t), void *ud, hg_timer **out);
    /* Stops and frees a timer; safe from inside its own callback. On the timer's worker.
     * [engine-thread] */
    void (*timer_stop)(const hg_net *n, hg_timer *t);
};

#ifdef __cplusplus
}
#endif

#endif /* HANGAR_NET_H */
