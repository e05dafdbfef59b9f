/* crash.c - fatal-signal reporting: one line naming the engine and call a crash happened in,
 * written with async-signal-safe calls only, then the default action (core dump, exit status). */
#define _GNU_SOURCE
#include "crash.h"

#include <pthread.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static _Thread_local hg__crash_mark cur;
static const int fatal[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};

hg__crash_mark hg__crash_enter(const char *engine, const char *what)
{
    hg__crash_mark prev = cur;
    cur.engine = engine;
    cur.what = what;
    return prev;
}

void hg__crash_leave(hg__crash_mark prev)
{
    cur = prev;
}

void hg__crash_block_set(sigset_t *set)
{
    sigfillset(set);
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++)
        sigdelset(set, fatal[i]);
}

/* Appends s to buf (at *n, capacity cap), truncating. */
static void put(char *buf, size_t *n, size_t cap, const char *s)
{
    while (s && *s && *n + 1 < cap)
        buf[(*n)++] = *s++;
}

static const char *sig_name(int sig)
{
    switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGILL: return "SIGILL";
    case SIGFPE: return "SIGFPE";
    default: return "SIGABRT";
    }
}

static void on_fatal(int sig)
{
    char buf[512], thread[17] = "";
    size_t n = 0;

    put(buf, &n, sizeof buf, "hangar: fatal signal ");
    put(buf, &n, sizeof buf, sig_name(sig));
    if (cur.engine) {
        put(buf, &n, sizeof buf, " in engine '");
        put(buf, &n, sizeof buf, cur.engine);
        put(buf, &n, sizeof buf, "'");
        if (cur.what) {
            put(buf, &n, sizeof buf, " (");
            put(buf, &n, sizeof buf, cur.what);
            put(buf, &n, sizeof buf, ")");
        }
    }
    if (prctl(PR_GET_NAME, thread, 0, 0, 0) == 0 && thread[0]) {
        put(buf, &n, sizeof buf, " on thread ");
        put(buf, &n, sizeof buf, thread);
    }
    put(buf, &n, sizeof buf, cur.engine ? ": the plugin crashed the host\n"
                                        : ": the host crashed\n");
    if (write(STDERR_FILENO, buf, n) < 0)
        n = 0; /* nothing more can be done about stderr here */
    signal(sig, SIG_DFL);
    raise(sig); /* pending until we return; a fault then repeats under the default action */
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define HG_CRASH_SANITIZED 1
#else
#define HG_CRASH_SANITIZED 0
#endif

static void install_once(void)
{
    struct sigaction sa;
    if (HG_CRASH_SANITIZED)
        return;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fatal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND;
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++)
        sigaction(fatal[i], &sa, NULL);
}

void hg__crash_install(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, install_once);
}
