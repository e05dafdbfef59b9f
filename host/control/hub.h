/* hub.h - what `hangar run` and the control socket ask of a host's control hub beyond host.h:
 * which engine call the hub is inside (to name an engine that does not return), how long a
 * command may wait for it, a kill with a bound, and whether a kill or a shutdown happened. */
#ifndef HG_HUB_H
#define HG_HUB_H

#include <stdint.h>

#include "host_api.h"

/* The engine call the hub thread is inside. */
typedef struct hg__hub_busy {
    const char *engine; /* instance name, valid as long as the host; NULL: in no engine call */
    const char *what;   /* "start", "stop", "command", "join", ... */
    uint64_t since_ns;  /* monotonic (CLOCK_MONOTONIC) */
} hg__hub_busy;

/* [any-thread] */
hg__hub_busy hg__host_busy(hg__host *h);
/* How long hg__host_command waits for the reply to text (hg__host_call: text NULL). A command
 * sent while the hub has been inside one engine call for longer than that fails at once with
 * HG_ETIMEDOUT. [any-thread] */
uint64_t hg__host_command_bound(const hg__host *h, const char *text);
/* Stops every engine at once, waiting at most wait_ns for the hub to have done it. Returns 0, or
 * HG_ETIMEDOUT when the hub did not answer (it is stuck in an engine: see hg__host_busy; the
 * host can then be neither stopped nor freed). [any-thread but the hub's] */
int hg__host_kill_within(hg__host *h, uint64_t wait_ns);
/* 1 once a kill (command or hg__host_kill) was asked for. [any-thread] */
int hg__host_killed(hg__host *h);
/* When the running shutdown began (monotonic ns); 0 when none runs. [any-thread] */
uint64_t hg__host_shutdown_since(hg__host *h);

#endif
