/* thread.h - the host's one way to start a thread: named, pinned per a core policy, blind to
 * process signals but not to its own crash, crash-marked with its engine, and tagged with a
 * role so that code can ask which thread it runs on (the [control-thread] check). */
#ifndef HG_THREAD_H
#define HG_THREAD_H

#include <pthread.h>
#include <stdint.h>

/* The host's handle of a thread is the SDK's opaque hg_thread (sdk/include/hangar/host.h). */
typedef struct hg_thread hg__thread;

/* What a thread is for, as hg__thread_current() reports it. */
typedef enum hg__thread_role {
    HG__THREAD_OTHER = 0, /* not started by this module (main, a test, Lua), or a helper */
    HG__THREAD_CONTROL,   /* a host's control thread: engine lifecycle callbacks run here */
    HG__THREAD_ENGINE     /* spawned for an engine (thread_spawn: runtime workers, its own) */
} hg__thread_role;

/* Bounds for hg__thread_join. */
#define HG__THREAD_FOREVER UINT64_MAX

typedef struct hg__thread_opts {
    /* For ps/top, `perf`, crash reports and the thread check; copied, cut to 15 bytes (the
     * kernel's limit). NULL: the thread keeps the process's name. */
    const char *name;
    /* HG_CORE_ANY (-1, no pinning) or a core index to pin to. */
    int32_t core;
    hg__thread_role role;
    /* Whose thread it is: the token a host gives its control thread and its engines' threads
     * (the hg__host pointer), compared by the thread check. Borrowed; may be NULL. */
    const void *owner;
    /* The engine (instance name) the thread works for: a crash on the thread is reported as
     * "in engine 'ENGINE' (WHAT)". Borrowed: must outlive the thread. NULL: no crash mark. */
    const char *engine;
    const char *what; /* the crash mark's call; NULL: "thread" */
} hg__thread_opts;

/* What the calling thread is; a thread not started here reads role HG__THREAD_OTHER, owner and
 * engine NULL, and its kernel name. */
typedef struct hg__thread_info {
    hg__thread_role role;
    const void *owner;
    const char *engine;
    char name[16];
} hg__thread_info;

/* A saved role, to restore with hg__thread_leave. */
typedef struct hg__thread_mark {
    hg__thread_role role;
    const void *owner;
    const char *engine;
} hg__thread_mark;

/* Starts fn(arg) on a new thread set up per opts: named, pinned, every process signal blocked
 * except the synchronous ones a crash raises (crash.h), crash-marked with opts->engine, role
 * and owner recorded for hg__thread_current(). Returns 0 and *out (owned by the caller until
 * hg__thread_join); HG_EINVAL (fn or out NULL, a core below HG_CORE_ANY, a core this machine
 * does not have or this process may not run on: no thread is started); HG_EAGAIN; HG_ENOMEM.
 * [any-thread] */
int hg__thread_spawn(const hg__thread_opts *opts, void (*fn)(void *arg), void *arg,
                     hg__thread **out);
/* The same for a caller that keeps a plain pthread_t and joins it with pthread_join (the hub):
 * fn's return value is the join's. Returns 0 and *tid, or the errors of hg__thread_spawn.
 * [any-thread] */
int hg__thread_start(const hg__thread_opts *opts, void *(*fn)(void *arg), void *arg,
                     pthread_t *tid);
/* Waits at most timeout_ns (HG__THREAD_FOREVER: no bound) for the thread to return, then joins
 * and frees it. Returns 0; HG_ETIMEDOUT (still running: the handle stays valid and the caller
 * says so, then joins again or leaves it); HG_EINVAL (NULL, or called from the thread itself).
 * [any-thread but t's own] */
int hg__thread_join(hg__thread *t, uint64_t timeout_ns);
/* The thread's name and engine (borrowed from the handle, valid until it is joined). */
const char *hg__thread_name(const hg__thread *t);

/* What the calling thread is. [any-thread, never blocks] */
hg__thread_info hg__thread_current(void);
/* Marks the calling thread as `role` for `owner` (the engine NULL) until hg__thread_leave:
 * a host runs its engines' create and destroy on the caller's thread, which is then its control
 * thread. Returns the previous role (calls nest). [any-thread, never blocks] */
hg__thread_mark hg__thread_enter(hg__thread_role role, const void *owner);
void hg__thread_leave(hg__thread_mark prev);

/* 1 when the calling thread is the control thread of owner. [any-thread, never blocks] */
int hg__thread_is_control_of(const void *owner);
/* 1 when the calling thread was spawned for an engine of owner. [any-thread, never blocks] */
int hg__thread_is_engine_of(const void *owner);
/* The thread check's failure: prints "hangar: thread check: SERVICE called from thread NAME by
 * engine 'ENGINE'; it is TAG only" on stderr and aborts. [any-thread] */
void hg__thread_check_fail(const char *service, const char *engine, const char *tag)
    __attribute__((noreturn));

#endif
