/* call.c - marks around every call into an engine: the crash report names the engine and the
 * call, and the host can tell which engine call its control thread is stuck in. */
#include "clock.h"
#include "entry.h"

hg__call hg__call_enter(hg__busy *busy, const char *engine, const char *what)
{
    hg__call prev = {0};
    prev.crash = hg__crash_enter(engine, what);
    prev.busy = busy;
    if (busy == NULL)
        return prev;
    pthread_mutex_lock(&busy->mu);
    prev.engine = busy->engine;
    prev.what = busy->what;
    prev.since_ns = busy->since_ns;
    busy->engine = engine;
    busy->what = what;
    busy->since_ns = hg__now_ns();
    pthread_mutex_unlock(&busy->mu);
    return prev;
}

void hg__call_leave(hg__call prev)
{
    if (prev.busy != NULL) {
        pthread_mutex_lock(&prev.busy->mu);
        prev.busy->engine = prev.engine;
        prev.busy->what = prev.what;
        prev.busy->since_ns = prev.since_ns;
        pthread_mutex_unlock(&prev.busy->mu);
    }
    hg__crash_leave(prev.crash);
}
