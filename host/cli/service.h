/* service.h - what `hangar run` does for a service manager and for SIGHUP: systemd's
 * notifications (READY, RELOADING, STOPPING, the watchdog fed while the hub answers) when
 * NOTIFY_SOCKET is set, and the reloads SIGHUP asks for, run one after another off the signal
 * loop. */
#ifndef HG_CLI_SERVICE_H
#define HG_CLI_SERVICE_H

#include <pthread.h>
#include <stdint.h>

#include "host_api.h"

/* The service side of one run: a thread that runs the reloads asked for, and one that feeds the
 * watchdog (when systemd asked for one). mu guards asked, served and quit; cv wakes both. */
typedef struct hg__service {
    hg__host *h;
    pthread_t tid, wd_tid;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t asked;       /* reloads asked for (SIGHUPs taken) */
    uint64_t served;      /* the asks the reloads run so far covered */
    uint64_t watchdog_ns; /* feed interval (half of WATCHDOG_USEC); 0: no watchdog */
    uint8_t quit;
    uint8_t running;
    uint8_t wd_running;
} hg__service;

/* Starts the service thread for h (after the host started) and tells systemd READY=1. Returns 0
 * or HG_EAGAIN (no thread: reloads are then refused with a log line). [control-thread] */
int hg__service_start(hg__service *s, hg__host *h);
/* Asks for a reload: it runs after the one running now, if any; asks that arrive while a reload
 * waits to run are served by it (none is lost: each ask is followed by a reload that starts after
 * it; none is doubled). Never blocks on the host. [any-thread, never blocks] */
void hg__service_reload(hg__service *s);
/* Tells systemd STOPPING=1, lets the reload running finish and joins the thread. */
void hg__service_stop(hg__service *s);
/* One notification line(s) for systemd ("READY=1"), when NOTIFY_SOCKET is set. [any-thread] */
void hg__service_notify(const char *state);

#endif
