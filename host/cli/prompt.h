/* prompt.h - `hangar run -i`: an interactive prompt on the terminal, beside the running host,
 * that answers the same commands as `hangar ctl` with the same tables (prompt.c). */
#ifndef HG_PROMPT_H
#define HG_PROMPT_H

#include <pthread.h>

#include "host_api.h"

typedef struct hg__prompt {
    hg__host *h;
    pthread_t tid;
    int started;
    int stop; /* atomic: the host stopped; the prompt ends at its next key wait */
} hg__prompt;

/* Starts the prompt on a thread of its own, reading stdin (libedit: history kept in
 * $HANGAR_HISTORY or ~/.hangar_history, Tab completes command and engine names). `quit`, `exit`, end of input and `shutdown` end it; all but
 * `shutdown` (which already did) then ask the host for a graceful shutdown, so that the caller
 * sees the host stop. Returns 0 or HG_ENOMEM / HG_EIO. [the host's creator] */
int hg__prompt_start(hg__prompt *p, hg__host *h);
/* Ends the prompt (when still reading) and joins its thread; restores the terminal. */
void hg__prompt_stop(hg__prompt *p);

#endif
