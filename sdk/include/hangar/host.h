/* host.h - the services the host offers to every engine instance: logging, time, the
 * configuration view, counters, records, state reports, threads with a core policy, cancel
 * tokens, per-thread performance cells and lookup of optional extensions by versioned id.
 *
 * Every engine instance receives its own `const hg_host *` in its kind's create callback. That
 * pointer is valid until the instance's destroy callback returns; everything obtained through it
 * (counters, tokens, config nodes) lives at most as long. Every service takes the host pointer
 * first, so two hosts in one process never see each other.
 *
 * Thread tags. Every call in the SDK carries one of four, with one meaning everywhere:
 *   [control-thread]  only from inside the instance's own lifecycle callbacks: create, start,
 *                     stop, command, destroy (a runtime mode's net_open, net_close and join, a
 *                     connector's stream_open and stream_close too). For runtime modes,
 *                     pipelines and connectors the host calls these on its control thread: one
 *                     thread per host, which calls into that host's engines one at a time, so
 *                     two lifecycle callbacks of one host never overlap. A processor's create
 *                     and destroy run on the processor's own thread instead (processor.h); they
 *                     are its lifecycle callbacks and may use every [control-thread] service
 *                     (the config getters, counter).
 *   [engine-thread]   on a thread the engine runs on; the call says which: the runtime worker
 *                     that owns a connection or timer (net.h), a processor's own thread, a
 *                     stream's own thread.
 *   [any-thread]      from any thread; may wait (for a lock, a thread, a timeout: the call
 *                     says what it waits for).
 *   [any-thread, never blocks]  from any thread, and never waits for I/O, another thread's
 *                     work or a timeout (at most for a lock held a few instructions long), so
 *                     it is safe where blocking is not: a cancel subscriber, a worker's loop.
 * A host built without NDEBUG (debug, debugoptimized) checks the calling thread of every
 * [control-thread] service and stops the process with "hangar: thread check: SERVICE called
 * from thread NAME by engine 'ENGINE'; it is [control-thread] only" (then SIGABRT) when it is
 * wrong. A release build does not check: there such a call (from a worker, a thread from
 * thread_spawn) is undefined behaviour, even when it seems to work. */
#ifndef HANGAR_HOST_H
#define HANGAR_HOST_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hg_host hg_host;
/* A read-only node of the YAML configuration (a map, a sequence or a scalar). Owned by the
 * host; valid until the instance's destroy returns. */
typedef struct hg_config hg_config;
/* A thread spawned through the host. Owned by the host; freed by thread_join. */
typedef struct hg_thread hg_thread;
/* A cancel token. Tokens form a tree: cancelling one cancels its whole subtree. */
typedef struct hg_cancel hg_cancel;

/* A 64-bit counter cell handed out by the host. The plugin updates it with the inline helpers
 * below (relaxed atomics, no call into the host); the host reads it for `counters`. */
typedef struct hg_counter {
    uint64_t value;
} hg_counter;

/* Counter types. Fixed values. */
enum {
    HG_COUNTER_SUM = 1,  /* grows; `counters` reports its value */
    HG_COUNTER_GAUGE = 2 /* goes up and down (open connections, queue depth) */
};

/* Config node types. Fixed values. */
enum {
    HG_CFG_NONE = 0, /* absent */
    HG_CFG_SCALAR = 1,
    HG_CFG_MAP = 2,
    HG_CFG_SEQ = 3
};

/* Core policy for thread_spawn. Values >= 0 pin the thread to that core. */
enum {
    HG_CORE_ANY = -1, /* no pinning */
    HG_CORE_AUTO = -2 /* the host's policy: the `core:`/`cores:` of the engine's config, else none */
};

/* Per-thread performance cell, reported by `perf`. The owning thread updates it with the inline
 * helpers below; the host only reads. */
typedef struct hg_perf {
    uint32_t struct_size;
    uint32_t reserved;
    uint64_t busy_ns;  /* time spent handling events */
    uint64_t idle_ns;  /* time spent waiting for events */
    uint64_t turns;    /* loop iterations */
    uint64_t events;   /* events handled (reads, writes, accepts, timers, frames) */
} hg_perf;

/* Why a connection closed. Fixed values. */
enum {
    HG_CLOSE_NONE = 0,
    HG_CLOSE_ACTIVE = 1,         /* this side closed it (a clean close, its FIN first) */
    HG_CLOSE_PASSIVE = 2,        /* the peer closed it (a clean close, the peer's FIN first) */
    HG_CLOSE_ACTIVE_RESET = 3,   /* this side reset it */
    HG_CLOSE_PASSIVE_RESET = 4,  /* the peer reset it, even when the reset read as an EOF or
                                  * came after the peer's FIN, unnoticed until the close */
    HG_CLOSE_TIMEOUT = 5,        /* an idle/read/write timeout closed it */
    HG_CLOSE_CONNECT_FAILED = 6, /* an outgoing connection never got established */
    HG_CLOSE_ERROR = 7,          /* a socket error other than a reset */
    HG_CLOSE_SHUTDOWN = 8        /* cut by the host's shutdown after its timeout */
};

/* One connection's record, kept by the host in a bounded ring per pipeline (`records NAME`). */
typedef struct hg_conn_record {
    uint32_t struct_size;
    int32_t worker;           /* the worker thread that owned the connection */
    uint64_t id;              /* set by the host when it stores the record (`record`): 1, 2, 3...
                               * in the order records reach the instance, unique and increasing
                               * over the instance's whole life, restarts included. What the
                               * engine puts here is ignored; the id a runtime mode gives in
                               * conn_info and on_closed is its own, per start of the pipeline. */
    uint64_t t_open_ns;       /* accept() returned or connect() was issued; monotonic */
    uint64_t t_established_ns;/* connected (equal to t_open_ns for accepted connections); 0: never */
    uint64_t t_first_byte_ns; /* first byte received; 0: none */
    uint64_t t_close_ns;      /* closed */
    uint64_t bytes_in;
    uint64_t bytes_out;
    uint32_t close_cause;     /* HG_CLOSE_* */
    int32_t status;           /* 0 or the HG_E* code behind the close */
    uint8_t outgoing;         /* 1: this side connected; 0: accepted */
    uint8_t pad[7];
    char peer[64];            /* "127.0.0.1:40112", NUL-terminated */
    char local[64];
} hg_conn_record;

/* The host services table. Appended to only; check HG_HAS_FIELD(h, hg_host, f) before using a
 * service added after the minor your plugin was built against. */
struct hg_host {
    uint32_t struct_size;
    uint16_t abi_major;
    uint16_t abi_minor;
    /* The host's own. Plugins must not read or write it. */
    void *host_data;

    /* --- identity --- */
    /* The instance's name from the configuration ("echo"). Borrowed; valid until destroy.
     * [any-thread, never blocks] */
    const char *(*name)(const hg_host *h);

    /* --- logging --- */
    /* Logs one line at `level` (HG_LOG_*), tagged with the instance's name. msg is borrowed for
     * the call. A level below HG_LOG_ERROR (0) is logged as HG_LOG_ERROR, one above HG_LOG_TRACE
     * as HG_LOG_TRACE. Control characters in msg are escaped, so a call is always one line and
     * cannot drive the terminal: newline, CR and tab as \n, \r, \t, every other byte below 0x20
     * (ESC included) and 0x7f as \xNN; other bytes (UTF-8) pass as they are. [any-thread] */
    void (*log)(const hg_host *h, uint32_t level, const char *msg);
    /* The most verbose level that is logged; skip formatting above it. [any-thread, never blocks] */
    uint32_t (*log_level)(const hg_host *h);

    /* --- time --- */
    /* Monotonic time in nanoseconds (CLOCK_MONOTONIC). [any-thread, never blocks] */
    uint64_t (*now_ns)(const hg_host *h);

    /* --- configuration view ---
     * Getters take a node and a key. With key == NULL they read the node itself (for sequence
     * items). Returns: 0 and *out set; HG_ENOENT when the key is absent (*out untouched, so set
     * the default first); HG_ECONFIG when the value has the wrong type or unit, after recording
     * "FILE:LINE:COL: <name>: message" in the host's error list. Strings are borrowed until
     * destroy (those read from a command's args: until the command returns). Inside a command
     * callback they may read that command's args whatever thread it runs on (a processor's
     * command is [any-thread]). [control-thread] */
    const hg_config *(*cfg_root)(const hg_host *h); /* the instance's own node */
    uint32_t (*cfg_type)(const hg_host *h, const hg_config *node); /* HG_CFG_*; NONE for NULL */
    int (*cfg_child)(const hg_host *h, const hg_config *node, const char *key,
                     const hg_config **out);
    /* Number of entries of a map or sequence; 0 for a scalar. */
    uint32_t (*cfg_count)(const hg_host *h, const hg_config *node);
    /* The i-th entry of a map or sequence; *key_out gets the map key (NULL for a sequence). */
    int (*cfg_at)(const hg_host *h, const hg_config *node, uint32_t i, const hg_config **out,
                  const char **key_out);
    int (*cfg_string)(const hg_host *h, const hg_config *node, const char *key, const char **out);
    int (*cfg_int)(const hg_host *h, const hg_config *node, const char *key, int64_t *out);
    int (*cfg_double)(const hg_host *h, const hg_config *node, const char *key, double *out);
    int (*cfg_bool)(const hg_host *h, const hg_config *node, const char *key, uint8_t *out);
    /* A size with a unit: 64B, 4KiB, 1MiB, 2GiB, 1kB (1000); a bare number is bytes. */
    int (*cfg_size)(const hg_host *h, const hg_config *node, const char *key, uint64_t *out);
    /* A duration: 250us, 10ms, 5s, 2m, 1h, 100ns; a bare number is seconds. Out in ns. */
    int (*cfg_duration)(const hg_host *h, const hg_config *node, const char *key, uint64_t *out);
    /* Records an error at the node's (or, with key, the key's value's) position and returns
     * HG_ECONFIG, so an engine can `return h->cfg_error(h, node, "listen", "...")`. */
    int (*cfg_error)(const hg_host *h, const hg_config *node, const char *key, const char *msg);

    /* --- counters, facts and state --- */
    /* Registers (or finds) counter `name` ([a-z0-9_]+, at most 63 bytes) of `type`
     * (HG_COUNTER_*). *out lives until destroy. A name already registered on the instance gives
     * the cell already there, with its first type: for a pipeline that includes the counters the
     * runtime mode registers (connections_open, bytes_in, ...; docs/CONTROL.md), whose cells the
     * runtime mode writes: read them, never write them. Counters and facts share one namespace
     * (`counters NAME` shows both in one object). Returns: 0; HG_EINVAL (a bad name or type, or a
     * name the host reserves: engine, kind, state, error, started_ns, stopped_ns); HG_EEXIST (a
     * fact of that name was published); HG_ENOMEM. [control-thread] */
    int (*counter)(const hg_host *h, const char *name, uint32_t type, hg_counter **out);
    /* Publishes a fact shown with the counters (e.g. "address" = "127.0.0.1:40111"); publishing
     * a key again replaces its value. key is [a-z0-9_]+ (at most 63 bytes); both strings are
     * copied. The host logs "NAME: ENGINE listening on ADDR" itself when a pipeline has
     * published "address" by the end of its start, and resolves the pipeline's name to it for
     * others (resolve_address). Returns: 0; HG_EINVAL (a bad key, value NULL, or a key the host
     * writes itself: engine, kind, state, error, started_ns, stopped_ns); HG_EEXIST (a counter of
     * that name is registered); HG_ENOMEM. [any-thread] */
    int (*set_info)(const hg_host *h, const char *key, const char *value);
    /* Reports the instance's state (HG_STATE_STOPPED when a generator is done, HG_STATE_FAILED
     * with a status and message on error). message is copied; may be NULL. FAILED with status 0
     * is stored and logged as HG_EFAIL.
     * The host itself puts an instance in CREATED, RUNNING when it starts it (again, after a
     * stop or a failure too), STOPPING when it asks it to stop, and STOPPED when it stopped it.
     * What an engine may report, by the current state:
     *   FAILED                      always;
     *   STOPPED                     unless FAILED (a failed engine stays failed until the host
     *                               starts it again);
     *   STOPPING                    unless STOPPED or FAILED;
     *   READY, RUNNING, PAUSED      only from CREATED, READY, RUNNING or PAUSED: never after the
     *                               host asked it to stop (STOPPING), after STOPPED or FAILED;
     *   CREATED, or an unknown value  never.
     * A report these rules forbid is refused with HG_ESTATE: the state stays as it was and the
     * host logs a warning naming HG_ESTATE (later refusals of the instance at debug level); as
     * this service returns nothing, that log line is the only trace. [any-thread] */
    void (*set_state)(const hg_host *h, uint32_t state, int status, const char *message);
    /* Appends a connection record to the instance's bounded ring; a no-op (returns 0) when the
     * instance's config has `records: false` (the default). rec is copied, and the copy's id
     * set by the host (see hg_conn_record.id). [any-thread, never blocks] */
    int (*record)(const hg_host *h, const hg_conn_record *rec);
    /* Registers a per-thread performance cell shown by `perf` under `thread_name` (copied).
     * *out is the host's, zeroed, with its struct_size set; it lives until destroy. Returns: 0;
     * HG_EINVAL (thread_name or out NULL); HG_ENOMEM. [any-thread] */
    int (*perf_register)(const hg_host *h, const char *thread_name, hg_perf **out);

    /* --- threads --- */
    /* Spawns a thread named `name` (for ps/top) running fn(arg), pinned per `core` (>= 0,
     * HG_CORE_ANY, HG_CORE_AUTO; a core that cannot be used is warned about and the thread runs
     * unpinned). name is copied and cut to its first 15 bytes (the kernel's limit); NULL gives
     * the instance's name. arg is the caller's: the host only passes it to fn, so it must stay
     * valid until fn is done with it. *out is owned by the caller until thread_join; every
     * thread must be joined before destroy returns. Allowed from the control thread, a runtime
     * worker, a processor's or stream's own thread and a thread spawned with this service (a
     * debug build checks the calling thread).
     * Returns: 0 and *out; HG_EINVAL (fn or out NULL, core below HG_CORE_AUTO); HG_EAGAIN (the
     * system's thread limit); HG_ENOMEM. [any-thread] */
    int (*thread_spawn)(const hg_host *h, const char *name, int32_t core, void (*fn)(void *arg),
                        void *arg, hg_thread **out);
    /* Waits for the thread's fn to return and frees t (t is invalid afterwards). Blocks as long
     * as fn runs. Returns: 0; HG_EINVAL (t NULL, or called on thread t itself). [any-thread] */
    int (*thread_join)(const hg_host *h, hg_thread *t);

    /* --- cancel tokens --- */
    /* The instance's token, a child of the host's: cancelled when the host shuts the instance
     * down. Borrowed; valid until destroy. [any-thread, never blocks] */
    hg_cancel *(*cancel_token)(const hg_host *h);
    /* A new token that is cancelled when `parent` is. Owned by the caller: release it with
     * cancel_release. [any-thread] */
    int (*cancel_child)(const hg_host *h, hg_cancel *parent, hg_cancel **out);
    /* Cancels the token and its subtree; idempotent. Subscribed callbacks run on the calling
     * thread before this returns. [any-thread] */
    void (*cancel)(const hg_host *h, hg_cancel *token);
    /* 1 when cancelled. [any-thread, never blocks] */
    uint8_t (*is_cancelled)(const hg_host *h, hg_cancel *token);
    /* Waits until the token is cancelled. Returns: 0, or HG_ETIMEDOUT. [any-thread] */
    int (*cancel_wait)(const hg_host *h, hg_cancel *token, uint64_t timeout_ns);
    /* Calls fn(arg) once when the token is cancelled (at once, on this thread, if it already is),
     * on the thread that cancels it. fn must not block; it typically wakes a loop
     * (uv_async_send, an eventfd write). arg is the caller's: the host never frees it; keep it
     * valid until fn has run or cancel_unsubscribe has returned. *sub_out (may be NULL)
     * identifies the subscription for cancel_unsubscribe. Returns: 0; HG_EINVAL (token or fn
     * NULL); HG_ENOMEM. [any-thread] */
    int (*cancel_subscribe)(const hg_host *h, hg_cancel *token, void (*fn)(void *arg), void *arg,
                            uint64_t *sub_out);
    /* Removes a subscription; when it returns, fn is not running and will not run. [any-thread] */
    void (*cancel_unsubscribe)(const hg_host *h, hg_cancel *token, uint64_t sub);
    /* Releases a token from cancel_child; its children stay valid until released. [any-thread] */
    void (*cancel_release)(const hg_host *h, hg_cancel *token);

    /* --- addresses --- */
    /* Resolves what a user may write where an address is expected: "HOST:PORT" ("127.0.0.1:7000",
     * "[::1]:0", "localhost:80") is copied as is; the name of a pipeline of this host ("echo")
     * becomes the address that pipeline listens on. Returns: 0 and buf; HG_EINVAL (neither an
     * address nor a name); HG_ENOENT (no pipeline of that name); HG_EAGAIN (that pipeline exists
     * but is not listening yet: at create time this means "valid"); HG_ENOTSUP (that pipeline
     * has no `listen:` key, so it never listens: a client, not a server); HG_ENOSPC. The host starts
     * pipelines that listen before the others, so at start time a reference resolves.
     * [any-thread] */
    int (*resolve_address)(const hg_host *h, const char *text, char *buf, uint32_t cap);

    /* --- extensions --- */
    /* An optional service by versioned id ("hangar.graph/1"). Returns: the service's table
     * (struct_size first), valid until destroy, or NULL when this host lacks it. [any-thread] */
    const void *(*get_extension)(const hg_host *h, const char *id);
};

/* --- inline helpers (no call into the host) --- */

static inline void hg_counter_add(hg_counter *c, uint64_t n)
{
    __atomic_fetch_add(&c->value, n, __ATOMIC_RELAXED);
}
static inline void hg_counter_sub(hg_counter *c, uint64_t n)
{
    __atomic_fetch_sub(&c->value, n, __ATOMIC_RELAXED);
}
static inline void hg_counter_set(hg_counter *c, uint64_t v)
{
    __atomic_store_n(&c->value, v, __ATOMIC_RELAXED);
}
static inline uint64_t hg_counter_get(const hg_counter *c)
{
    return __atomic_load_n(&c->value, __ATOMIC_RELAXED);
}
static inline void hg_perf_add(uint64_t *field, uint64_t n)
{
    __atomic_fetch_add(field, n, __ATOMIC_RELAXED);
}

/* Formats and logs one line; skips the formatting when the level is not logged. The line is
 * formatted into a 1024-byte buffer: what is longer is cut to its first 1023 bytes (call
 * h->log with your own buffer for longer lines; it has no limit). [any-thread] */
static inline void hg_logf(const hg_host *h, uint32_t level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static inline void hg_logf(const hg_host *h, uint32_t level, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    if (level > h->log_level(h))
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    h->log(h, level, buf);
}

#ifdef __cplusplus
}
#endif

#endif /* HANGAR_HOST_H */
