/* service.c - `hangar run` as a service: systemd notifications through libsystemd's sd_notify
 * (only when NOTIFY_SOCKET is set: sd_notify does nothing otherwise), a watchdog fed on a thread
 * of its own only while the host's hub answers a command, and SIGHUP's reloads serialised on
 * another (a long reload must not starve the watchdog). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hangar/hangar.h>
#include <jansson.h>
#include <systemd/sd-daemon.h>

#include "clock.h"
#include "log.h"
#include "service.h"

void hg__service_notify(const char *state)
{
    if (getenv("NOTIFY_SOCKET") != NULL)
        sd_notify(0, state);
}

/* RELOADING=1 with the monotonic time it began (systemd 253's reload protocol; older ones take
 * RELOADING=1 alone). */
static void notify_reloading(void)
{
    char line[96];
    snprintf(line, sizeof line, "RELOADING=1\nMONOTONIC_USEC=%llu",
             (unsigned long long)(hg__now_ns() / 1000u));
    hg__service_notify(line);
}

/* One reload through the command channel (the control thread runs it as a job, after the job
 * running now); the host logs what it changed. quitting: the run is ending (STOPPING=1 was
 * said): the reload is refused and systemd hears nothing of it. */
static void reload_once(hg__service *s, uint64_t folded, int quitting)
{
    char *reply = NULL;
    json_t *j;
    hg__log(hg__host_logger(s->h), HG_LOG_INFO, "host", "SIGHUP: reloading (%llu signal%s "
            "served by this reload)", (unsigned long long)folded, folded == 1 ? "" : "s");
    if (!quitting)
        notify_reloading();
    if (hg__host_command(s->h, "reload", &reply) != 0) {
        hg__log(hg__host_logger(s->h), HG_LOG_ERROR, "host", "SIGHUP: the host did not answer "
                "the reload");
    } else {
        j = json_loads(reply, 0, NULL);
        if (!json_is_true(json_object_get(j, "ok")))
            hg__log(hg__host_logger(s->h), HG_LOG_WARN, "host", "SIGHUP: reload refused: %s",
                    json_string_value(json_object_get(j, "error")) ?: reply);
        json_decref(j);
    }
    free(reply);
    if (!quitting)
        hg__service_notify("READY=1");
}

/* The reload thread: serves the asks in order; every ask pending when it looks is served by
 * the one reload it runs next. Asks still pending at the end are served too (refused). */
static void *reload_main(void *arg)
{
    hg__service *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        if (s->asked > s->served) {
            uint64_t upto = s->asked, folded = upto - s->served;
            int quitting = s->quit;
            pthread_mutex_unlock(&s->mu);
            reload_once(s, folded, quitting);
            pthread_mutex_lock(&s->mu);
            s->served = upto;
        } else if (s->quit) {
            break;
        } else {
            pthread_cond_wait(&s->cv, &s->mu);
        }
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* The watchdog thread: WATCHDOG=1 each time the hub answers a read-only command (the hub never
 * waits on an engine: one that does not answer is wedged, and systemd should restart the
 * process), then waits half of WATCHDOG_USEC. */
static void *watchdog_main(void *arg)
{
    hg__service *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->quit) {
        struct timespec dl;
        char *reply = NULL;
        pthread_mutex_unlock(&s->mu);
        if (hg__host_command(s->h, "help", &reply) == 0)
            hg__service_notify("WATCHDOG=1");
        free(reply);
        dl = hg__deadline_after(s->watchdog_ns);
        pthread_mutex_lock(&s->mu);
        while (!s->quit && pthread_cond_timedwait(&s->cv, &s->mu, &dl) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int hg__service_start(hg__service *s, hg__host *h)
{
    pthread_condattr_t ca;
    uint64_t usec = 0;
    memset(s, 0, sizeof *s);
    s->h = h;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0)
        s->watchdog_ns = usec * 1000u / 2u;
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    hg__service_notify("READY=1");
    if (s->watchdog_ns > 0 && pthread_create(&s->wd_tid, NULL, watchdog_main, s) == 0)
        s->wd_running = 1;
    if (pthread_create(&s->tid, NULL, reload_main, s) != 0)
        return HG_EAGAIN;
    s->running = 1;
    return 0;
}

void hg__service_reload(hg__service *s)
{
    if (!s->running) {
        hg__log(hg__host_logger(s->h), HG_LOG_ERROR, "host", "SIGHUP: no reload thread; "
                "not reloading");
        return;
    }
    pthread_mutex_lock(&s->mu);
    s->asked++;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

void hg__service_stop(hg__service *s)
{
    hg__service_notify("STOPPING=1");
    pthread_mutex_lock(&s->mu);
    s->quit = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (s->running)
        pthread_join(s->tid, NULL);
    if (s->wd_running)
        pthread_join(s->wd_tid, NULL);
    s->running = s->wd_running = 0;
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
}
