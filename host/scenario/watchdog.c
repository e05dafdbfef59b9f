/* watchdog.c - holds a scenario to its --timeout: a thread that interrupts the script, and ends
 * the process with a TAP `Bail out!` when the script is stuck where no hook reaches (a long C
 * function) or the run does not wind down (a stuck plugin); and the end-of-run verdicts. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hangar/status.h>

#include "scenario.h"

#define LUA_GRACE_NS (1500ull * 1000000ull) /* script code past the timeout, then bail out */
#define GRACE_NS (10ull * 1000000000ull)    /* the whole wind-down past the timeout */
#define POLL_NS (50ull * 1000000ull)        /* how often the states are looked at meanwhile */
#define LOCK_WAIT_NS (500ull * 1000000ull)  /* for the stdout lock, before writing past it */

/* One run at a time per process: the states the watchdog reads are the process's. */
static atomic_int interrupted;
static atomic_int in_host;    /* depth of calls into a host */
static atomic_int winding;    /* the script returned */
static _Atomic uint64_t host_left_ns; /* when the last call into a host returned */

int hg__scn_interrupted(void)
{
    return atomic_load(&interrupted);
}

void hg__scn_host_enter(void)
{
    atomic_fetch_add(&in_host, 1);
}

void hg__scn_host_leave(void)
{
    /* the time first: the watchdog never sees the call over with an older time */
    atomic_store(&host_left_ns, hg__scn_now_ns());
    atomic_fetch_sub(&in_host, 1);
}

void hg__scn_winding(void)
{
    atomic_store(&winding, 1);
}

static int wait_until(hg__scn_watchdog *w, uint64_t deadline_ns)
{
    struct timespec ts = {(time_t)(deadline_ns / 1000000000ull),
                          (long)(deadline_ns % 1000000000ull)};
    while (!w->stop) {
        if (pthread_cond_timedwait(&w->cv, &w->mu, &ts) == ETIMEDOUT)
            return w->stop;
    }
    return 1;
}

/* After the timeout fired: returns 1 once the run stopped, 0 when it must be ended; *in_lua
 * says whether the script's thread was in Lua's own code for LUA_GRACE_NS (since the timeout,
 * or since its last host call returned) rather than in a host call or the wind-down. */
static int wind_down(hg__scn_watchdog *w, uint64_t fired, int *in_lua)
{
    for (;;) {
        uint64_t now = hg__scn_now_ns(), left = atomic_load(&host_left_ns);
        uint64_t from = left > fired ? left : fired, next = now + POLL_NS;
        int busy = atomic_load(&in_host) > 0 || atomic_load(&winding);
        if (now >= fired + GRACE_NS)
            return 0;
        if (!busy && now >= from + LUA_GRACE_NS) {
            *in_lua = 1;
            return 0;
        }
        if (wait_until(w, next < fired + GRACE_NS ? next : fired + GRACE_NS))
            return 1;
    }
}

static void write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        p += n;
        len -= (size_t)n;
    }
}

/* Writes msg (whole lines) to stdout after what the script's thread printed. Its TAP lines are
 * written whole under the stdout lock, so once the lock is ours the stream is at a line start.
 * A thread that holds the lock for long is inside a write itself (a huge print to a slow
 * reader): then a line break ends whatever it left half-written, and msg goes past the
 * buffer. */
static void emit(const char *msg, size_t len)
{
    uint64_t until = hg__scn_now_ns() + LOCK_WAIT_NS;
    while (ftrylockfile(stdout) != 0) {
        struct timespec ts = {0, 5 * 1000000L};
        if (hg__scn_now_ns() >= until) {
            write_all(1, "\n", 1);
            write_all(1, msg, len);
            return;
        }
        nanosleep(&ts, NULL);
    }
    fflush(stdout);
    fwrite(msg, 1, len, stdout);
    fflush(stdout); /* the lock stays ours: nothing else is printed before _exit */
}

static void bail_out(const hg__scn_watchdog *w, uint64_t fired, int in_lua)
{
    char msg[640];
    double late = (double)(hg__scn_now_ns() - fired) / 1e9;
    /* once the script returned, the runner has reported the timeout itself */
    int n = snprintf(msg, sizeof(msg),
                     "%s%s%sBail out!  scenario did not stop %.1fs after its --timeout %s: %s\n",
                     atomic_load(&winding) ? "" : "# scenario timed out after ",
                     atomic_load(&winding) ? "" : w->text, atomic_load(&winding) ? "" : "\n",
                     late, w->text,
                     in_lua ? "the script is inside a call the timeout cannot interrupt (a C "
                              "function such as string.rep, string.find or os.execute)"
                            : "a call into a host or its shutdown did not return (a stuck "
                              "plugin)");
    if (n < 0 || (size_t)n >= sizeof(msg))
        n = (int)strlen(msg);
    emit(msg, (size_t)n);
    /* stderr too, past its lock (a host thread may hold it) */
    write_all(2, "hangar scenario: ", 17);
    write_all(2, strstr(msg, "Bail out!") + 11, strlen(strstr(msg, "Bail out!") + 11));
    _exit(1);
}

static void *watchdog_main(void *arg)
{
    hg__scn_watchdog *w = arg;
    uint64_t fired = 0;
    int stopped, in_lua = 0;
    pthread_mutex_lock(&w->mu);
    stopped = wait_until(w, w->start_ns + w->timeout_ns);
    if (!stopped) {
        atomic_store(&interrupted, 1);
        fired = hg__scn_now_ns();
        stopped = wind_down(w, fired, &in_lua);
    }
    pthread_mutex_unlock(&w->mu);
    if (!stopped)
        bail_out(w, fired, in_lua);
    return NULL;
}

int hg__scn_watchdog_start(hg__scn_watchdog *w, uint64_t start_ns, uint64_t timeout_ns,
                           const char *text)
{
    pthread_condattr_t ca;
    memset(w, 0, sizeof(*w));
    w->start_ns = start_ns;
    w->timeout_ns = timeout_ns;
    w->text = text;
    atomic_store(&interrupted, 0);
    atomic_store(&in_host, 0);
    atomic_store(&winding, 0);
    atomic_store(&host_left_ns, 0);
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&w->thr, NULL, watchdog_main, w) != 0) {
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        return HG_ENOMEM;
    }
    return 0;
}

void hg__scn_watchdog_stop(hg__scn_watchdog *w)
{
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thr, NULL);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    atomic_store(&interrupted, 0);
}

/* ---- the verdicts at the end ---- */

/* A failed test the end of the run adds: after a plan printed at the end it can only be a
 * comment, so a Bail out! line makes the TAP fail too. */
static void late_failure(hg__scn *s, const char *name, const char *diag, const char *bail)
{
    hg__tap *t = &s->tap;
    int after_plan = t->lv[t->depth].plan_at_end;
    hg__tap_result(t, 0, name, NULL, 0);
    hg__tap_diag(t, diag);
    if (after_plan && t->depth == 0) {
        printf("Bail out!  %s\n", bail);
        fflush(stdout);
    }
}

/* The run took longer than its --timeout without the timeout abort (the script was inside a
 * call no hook interrupts when it passed, and ended before anything looked again). */
static void check_overrun(hg__scn *s)
{
    uint64_t took = hg__scn_now_ns() - s->start_ns;
    char name[96], diag[400], bail[160];
    if (s->overrun_reported || s->abort_kind == HG__ABORT_TIMEOUT || took <= s->timeout_ns)
        return;
    s->overrun_reported = 1;
    snprintf(name, sizeof(name), "scenario finishes within %s", s->timeout_text);
    snprintf(diag, sizeof(diag), "the run took %.2fs, %.2fs over its --timeout %s: the time "
             "went to a call the timeout cannot interrupt (a C function such as string.rep or "
             "os.execute, or a host's shutdown)", (double)took / 1e9,
             (double)(took - s->timeout_ns) / 1e9, s->timeout_text);
    snprintf(bail, sizeof(bail), "scenario overran its --timeout %s by %.2fs", s->timeout_text,
             (double)(took - s->timeout_ns) / 1e9);
    late_failure(s, name, diag, bail);
}

void hg__scn_end_checks(hg__scn *s)
{
    char name[96], diag[480], used[32], asked[32];
    check_overrun(s);
    if (!s->mem.hit || s->memory_reported)
        return;
    s->memory_reported = 1;
    hg__scn_fmt_size(s->mem.hit_size, asked, sizeof(asked));
    hg__scn_fmt_size(s->mem.hit_used, used, sizeof(used));
    snprintf(name, sizeof(name), "script stays within --memory %s", s->memory_text);
    snprintf(diag, sizeof(diag), "the memory limit of %s was reached: Lua was refused a block of %s "
             "with %s in use (\"not enough memory\")\nraise it with --memory SIZE (--memory 4GiB) or "
             "lift it with --memory unlimited", s->memory_text, asked, used);
    late_failure(s, name, diag, "scenario reached its --memory limit");
}
