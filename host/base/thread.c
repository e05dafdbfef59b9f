/* thread.c - starts the host's threads (named, pinned, signal-blind but crash-reporting,
 * crash-marked) and remembers per thread what it is for, for the [control-thread] check. */
#define _GNU_SOURCE
#include "thread.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>

#include <hangar/host.h>
#include <hangar/status.h>

#include "clock.h"
#include "crash.h"

struct hg_thread {
    pthread_t tid;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* done */
    int done;          /* under mu */
    int detached_block; /* hg__thread_start: the new thread frees this block itself */
    void (*fn)(void *);
    void *(*pfn)(void *);
    void *arg;
    hg__thread_opts opts;
    char name[16];
};

/* What this thread is: set by trampoline() or hg__thread_enter. */
static _Thread_local struct {
    hg__thread_role role;
    const void *owner;
    const char *engine;
    char name[16];
} self;

static void adopt(const hg__thread *t)
{
    self.role = t->opts.role;
    self.owner = t->opts.owner;
    self.engine = t->opts.engine;
    memcpy(self.name, t->name, sizeof self.name);
    if (self.name[0])
        pthread_setname_np(pthread_self(), self.name);
    if (t->opts.engine) /* a crash on this thread names the engine */
        hg__crash_enter(t->opts.engine, t->opts.what ? t->opts.what : "thread");
}

static void *trampoline(void *arg)
{
    hg__thread *t = arg;
    adopt(t);
    if (t->detached_block) {
        void *(*pfn)(void *) = t->pfn;
        void *parg = t->arg;
        free(t);
        return pfn(parg);
    }
    t->fn(t->arg);
    pthread_mutex_lock(&t->mu);
    t->done = 1;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

/* HG_EINVAL for a core this machine does not have; 0 for HG_CORE_ANY or a real one. */
static int check_core(int32_t core)
{
    if (core == HG_CORE_ANY)
        return 0;
    if (core < 0 || core >= CPU_SETSIZE || core >= get_nprocs_conf())
        return HG_EINVAL;
    return 0;
}

/* Creates the pthread of t into *tid (not into t, which a started block may free at once):
 * pinned through its attributes (so a core the process may not use fails here), with process
 * signals blocked from its first instruction. */
static int create(hg__thread *t, pthread_t *tid)
{
    pthread_attr_t attr;
    sigset_t blocked, old;
    int err;

    pthread_attr_init(&attr);
    if (t->opts.core != HG_CORE_ANY) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(t->opts.core, &set);
        pthread_attr_setaffinity_np(&attr, sizeof set, &set);
    }
    hg__crash_block_set(&blocked); /* a crash of its own still reports itself */
    pthread_sigmask(SIG_SETMASK, &blocked, &old);
    err = pthread_create(tid, &attr, trampoline, t);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (err == 0)
        return 0;
    return err == EINVAL ? HG_EINVAL : err == EAGAIN ? HG_EAGAIN : HG_ENOMEM;
}

static hg__thread *block_new(const hg__thread_opts *opts)
{
    hg__thread *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->opts = *opts;
    if (opts->name)
        snprintf(t->name, sizeof t->name, "%s", opts->name);
    t->opts.name = t->name;
    return t;
}

int hg__thread_spawn(const hg__thread_opts *opts, void (*fn)(void *arg), void *arg,
                     hg__thread **out)
{
    pthread_condattr_t ca;
    hg__thread *t;
    int rc;

    if (opts == NULL || fn == NULL || out == NULL || check_core(opts->core) != 0)
        return HG_EINVAL;
    t = block_new(opts);
    if (t == NULL)
        return HG_ENOMEM;
    t->fn = fn;
    t->arg = arg;
    pthread_mutex_init(&t->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&t->cv, &ca);
    pthread_condattr_destroy(&ca);
    rc = create(t, &t->tid);
    if (rc != 0) {
        pthread_cond_destroy(&t->cv);
        pthread_mutex_destroy(&t->mu);
        free(t);
        return rc;
    }
    *out = t;
    return 0;
}

int hg__thread_start(const hg__thread_opts *opts, void *(*fn)(void *arg), void *arg,
                     pthread_t *tid)
{
    hg__thread *t;
    int rc;

    if (opts == NULL || fn == NULL || tid == NULL || check_core(opts->core) != 0)
        return HG_EINVAL;
    t = block_new(opts);
    if (t == NULL)
        return HG_ENOMEM;
    t->pfn = fn;
    t->arg = arg;
    t->detached_block = 1;
    rc = create(t, tid);
    if (rc != 0)
        free(t);
    return rc;
}

/* Waits until t is done or the deadline passes. Returns 1 when done. */
static int wait_done(hg__thread *t, uint64_t timeout_ns)
{
    struct timespec dl = hg__deadline_after(timeout_ns);
    int done;
    pthread_mutex_lock(&t->mu);
    while (!t->done) {
        if (timeout_ns == HG__THREAD_FOREVER)
            pthread_cond_wait(&t->cv, &t->mu);
        else if (pthread_cond_timedwait(&t->cv, &t->mu, &dl) == ETIMEDOUT)
            break;
    }
    done = t->done;
    pthread_mutex_unlock(&t->mu);
    return done;
}

int hg__thread_join(hg__thread *t, uint64_t timeout_ns)
{
    if (t == NULL || pthread_equal(t->tid, pthread_self()))
        return HG_EINVAL;
    if (!wait_done(t, timeout_ns))
        return HG_ETIMEDOUT;
    pthread_join(t->tid, NULL); /* returns at once: fn is over */
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
    free(t);
    return 0;
}

const char *hg__thread_name(const hg__thread *t)
{
    return t->name;
}

hg__thread_info hg__thread_current(void)
{
    hg__thread_info in;
    memset(&in, 0, sizeof in);
    in.role = self.role;
    in.owner = self.owner;
    in.engine = self.engine;
    if (self.name[0])
        memcpy(in.name, self.name, sizeof in.name);
    else if (pthread_getname_np(pthread_self(), in.name, sizeof in.name) != 0)
        snprintf(in.name, sizeof in.name, "?");
    return in;
}

hg__thread_mark hg__thread_enter(hg__thread_role role, const void *owner)
{
    hg__thread_mark prev = {self.role, self.owner, self.engine};
    self.role = role;
    self.owner = owner;
    self.engine = NULL;
    return prev;
}

void hg__thread_leave(hg__thread_mark prev)
{
    self.role = prev.role;
    self.owner = prev.owner;
    self.engine = prev.engine;
}

int hg__thread_is_control_of(const void *owner)
{
    return self.role == HG__THREAD_CONTROL && self.owner == owner;
}

int hg__thread_is_engine_of(const void *owner)
{
    return self.role == HG__THREAD_ENGINE && self.owner == owner;
}

void hg__thread_check_fail(const char *service, const char *engine, const char *tag)
{
    hg__thread_info me = hg__thread_current();
    fprintf(stderr, "hangar: thread check: %s called from thread %s by engine '%s'; it is %s only\n",
            service, me.name, engine ? engine : "?", tag);
    fflush(stderr);
    abort();
}
