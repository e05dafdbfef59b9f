/* crash.h - when a plugin crashes the process (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT), say on
 * stderr which engine was running and in which call before the process dies as it would have.
 * Code that calls into an engine marks the call; an engine's own threads carry its name. */
#ifndef HG_CRASH_H
#define HG_CRASH_H

#include <signal.h>

typedef struct hg__crash_mark {
    const char *engine; /* instance name; borrowed for the mark's life */
    const char *what;   /* "create", "start", "stop", "command", "thread", ... */
} hg__crash_mark;

/* Installs the handlers once per process (not under ASan/TSan, which report crashes better).
 * Idempotent, thread-safe. */
void hg__crash_install(void);
/* Marks this thread as inside `what` of engine `engine` until hg__crash_leave(prev); returns
 * the previous mark to restore (calls nest). */
hg__crash_mark hg__crash_enter(const char *engine, const char *what);
void hg__crash_leave(hg__crash_mark prev);
/* Fills set with every signal but the synchronous ones a crash raises, for threads that must
 * not take process signals yet must still report their own crash. */
void hg__crash_block_set(sigset_t *set);

#endif
