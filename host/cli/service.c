/* service.c - `hangar run` as a service: systemd notifications through libsystemd's sd_notify
 * (only when NOTIFY_SOCKET is set: sd_notify does nothing otherwise), a watchdog fed only while
 * the host's hub answers a command, and SIGHUP's reloads serialised on one thread. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <hangar/hangar.h>
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
 * running now); its outcome logged by the host. */
static void reload_once(hg__service *s, uint64_t folded, int quitting)
{
    char *reply = NULL;
    json_t *j;
    hg__log(hg__host_logger(s->h), HG_LOG_INFO, "host", "SIGHUP: reloading (%llu signal%s "
            "served by this reload)", (unsigned long long)folded, folded == 1 ? "" : "s");
    if (!quitting) /* after STOPPING=1, systemd hears nothing more */
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

/* Feeds the watchdog when the hub answers a read-only command (it never waits on an engine:
 * one that does not answer is stuck, and systemd should restart the process). */
static void feed(hg__service *s)
{
    char *reply = NULL;
    if (hg__host_command(s->h, "help", &reply) == 0)
        hg__service_notify("WATCHDOG=1");
    free(reply);
}

static void *service_main(void *arg)
{
    hg__service *s = arg;
    uint64_t next_feed = s->watchdog_ns ? hg__now_ns() : UINT64_MAX;
    pthread_mutex_lock(&s->mu);
    while (!s->quit || s->asked > s->served) { /* an ask is served even at the end: refused */
        uint64_t now = hg__now_ns();
        if (s->asked > s->served) {
            uint64_t upto = s->asked, folded = upto - s->served;
            int quitting = s->quit;
            pthread_mutex_unlock(&s->mu);
            reload_once(s, folded, quitting);
            pthread_mutex_lock(&s->mu);
            s->served = upto;
        } else if (s->quit) {
            break;
        } else if (now >= next_feed) {
            pthread_mutex_unlock(&s->mu);
            feed(s);
            next_feed = hg__now_ns() + s->watchdog_ns;
            pthread_mutex_lock(&s->mu);
        } else {
            struct timespec dl = hg__timespec_of(next_feed == UINT64_MAX
                                                     ? now + 1000000000ull : next_feed);
            pthread_cond_timedwait(&s->cv, &s->mu, &dl);
        }
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
    if (pthread_create(&s->tid, NULL, service_main, s) != 0)
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
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

void hg__service_stop(hg__service *s)
{
    hg__service_notify("STOPPING=1");
    if (s->running) {
        pthread_mutex_lock(&s->mu);
        s->quit = 1;
        pthread_cond_signal(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->tid, NULL);
        s->running = 0;
    }
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
}
