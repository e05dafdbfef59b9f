/* lifecycle.c - the host's control thread: it runs the jobs the hub hands it, one at a time, and
 * every call into an engine's lifecycle happens here (the SDK's [control-thread]). Start follows
 * the dependency order (order.h); stop and shutdown follow it backwards, each stop graceful
 * within control.shutdown_timeout and then immediate, with the engines that overran named. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cancel.h"
#include "graph_host.h"
#include "host_priv.h"
#include "order.h"
#include "thread.h"

/* Each group of servers gets at least this long to stop gracefully, even when the groups before
 * it used up shutdown_timeout (a server is named late only when it overran itself), but all of
 * them together no more than SERVER_GRACE_MAX_NS past the bound (`hangar run` gives a shutdown
 * the bound + 2 s). */
#define SERVER_GRACE_NS (500ull * 1000000ull)
#define SERVER_GRACE_MAX_NS (1000ull * 1000000ull)

static int is_final(uint32_t s)
{
    return s == HG_STATE_STOPPED || s == HG_STATE_FAILED;
}

static int killed(hg__host *h)
{
    return __atomic_load_n(&h->kill_flag, __ATOMIC_ACQUIRE);
}

static const char *name_of(const hg__entry *e)
{
    return hg__inst_name(e->in);
}

/* --- start --- */

int hg__lc_start_entry(hg__host *h, hg__entry *e)
{
    int rc;
    if (e->started || e->obj == NULL)
        return 0;
    hg__inst_set_state(e->in, HG_STATE_RUNNING, 0, NULL);
    e->started = 1;
    e->stop_asked = 0;
    rc = e->ad->start(e, &h->actx);
    if (rc == 0) {
        char addr[128];
        if (hg__inst_info(e->in, "address", addr, sizeof addr) == 0)
            hg__log(h->lg, HG_LOG_INFO, name_of(e), "%s listening on %s", e->def->name, addr);
        else
            hg__log(h->lg, HG_LOG_INFO, name_of(e), "%s started", e->def->name);
        return 0;
    }
    if (hg__inst_state(e->in, NULL) != HG_STATE_FAILED) {
        char msg[160];
        snprintf(msg, sizeof msg, "start failed: %s", hg_strerror(rc));
        hg__inst_set_state(e->in, HG_STATE_FAILED, rc, msg);
    }
    return rc;
}

static int start_runtime(hg__host *h)
{
    hg__entry *rt = h->runtime;
    int rc;
    if (rt == NULL || rt->started)
        return 0;
    rc = rt->ad->start(rt, &h->actx);
    if (rc != 0) {
        hg__inst_set_state(rt->in, HG_STATE_FAILED, rc, "the runtime mode did not start");
        return rc;
    }
    rt->started = 1;
    hg__inst_set_state(rt->in, HG_STATE_RUNNING, 0, NULL);
    return 0;
}

int hg__lc_start_all(hg__host *h)
{
    uint32_t n = 0;
    hg__entry **v;
    int rc = start_runtime(h), first = rc;
    if (rc != 0)
        return rc;
    v = hg__host_entries(h, &n);
    for (uint32_t i = 0; i < n; i++) {
        rc = hg__lc_start_entry(h, v[i]);
        if (rc != 0 && first == 0)
            first = rc;
    }
    free(v);
    if (!h->started) { /* the config's graph, once: after the engines it may feed from */
        rc = hg__host_graph_start(h);
        if (rc != 0 && first == 0)
            first = rc;
    }
    pthread_mutex_lock(&h->mu);
    h->started = 1;
    if (h->started_ns == 0)
        h->started_ns = hg__now_ns();
    h->gen++;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    return first;
}

/* --- stop --- */

/* Waits until every entry of v[0..n) that was started is stopped or failed, the deadline
 * passes, or a kill arrives. Returns 1 when all stopped. */
static int wait_final(hg__host *h, hg__entry **v, uint32_t n, const struct timespec *dl)
{
    int all = 0;
    pthread_mutex_lock(&h->mu);
    for (;;) {
        all = 1;
        for (uint32_t i = 0; i < n && all; i++)
            if (v[i]->started && !is_final(hg__inst_state(v[i]->in, NULL)))
                all = 0;
        if (all || killed(h))
            break;
        if (pthread_cond_timedwait(&h->cv, &h->mu, dl) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&h->mu);
    return all;
}

static void ask_stop(hg__host *h, hg__entry *e, uint32_t how)
{
    if (!e->started || e->obj == NULL)
        return;
    if (how == HG_STOP_GRACEFUL && (is_final(hg__inst_state(e->in, NULL)) || e->stop_asked))
        return;
    if (hg__inst_state(e->in, NULL) == HG_STATE_RUNNING)
        hg__inst_set_state(e->in, HG_STATE_STOPPING, 0, NULL);
    e->stop_asked = 1;
    e->ad->stop(e, how, &h->actx);
}

/* Ends the runs of v[0..n): what still runs is named in late (unless NULL) and stopped at once,
 * then each run is finished. Returns the connections that cut. Which engines are late is
 * decided before any is cut, so an engine that ends only because another was cut (a client
 * whose server went) is still named, and still gets its stop(NOW). */
static uint32_t cut_group(hg__host *h, hg__entry **v, uint32_t n, json_t *late)
{
    uint32_t cut = 0;
    for (uint32_t i = 0; i < n; i++) {
        v[i]->late = v[i]->started && !is_final(hg__inst_state(v[i]->in, NULL));
        if (v[i]->late && late != NULL)
            json_array_append_new(late, json_string(name_of(v[i])));
    }
    for (uint32_t i = 0; i < n; i++) {
        hg__entry *e = v[i];
        uint64_t open = 0;
        uint32_t left;
        int rc;
        if (e->late) {
            /* What stop(NOW) closes is cut by the shutdown (HG_CLOSE_CUT); finishing cuts
             * whatever is left after it: the connections open now are the ones cut. */
            hg__inst_counter(e->in, "connections_open", &open);
            ask_stop(h, e, HG_STOP_NOW);
            e->late = 0;
        }
        left = e->obj ? e->ad->finish(e, &h->actx, &rc) : 0;
        cut += (uint32_t)open > left ? (uint32_t)open : left;
        if (e->started && !is_final(hg__inst_state(e->in, NULL)))
            hg__inst_set_state(e->in, HG_STATE_STOPPED, 0, NULL);
        e->started = 0;
    }
    return cut;
}

uint32_t hg__lc_stop_entry(hg__host *h, hg__entry *e)
{
    struct timespec dl;
    uint32_t cut;
    if (!e->started)
        return 0;
    ask_stop(h, e, HG_STOP_GRACEFUL);
    dl = hg__deadline_after(h->cfg->shutdown_timeout_ns);
    wait_final(h, &e, 1, &dl);
    cut = cut_group(h, &e, 1, NULL);
    hg__log(h->lg, HG_LOG_INFO, name_of(e), "stopped (%u connection%s cut)", cut,
            cut == 1 ? "" : "s");
    return cut;
}

static void stop_runtime(hg__host *h, json_t *late)
{
    hg__entry *rt = h->runtime;
    int rc = 0;
    if (rt == NULL || !rt->started)
        return;
    rt->ad->stop(rt, HG_STOP_NOW, &h->actx);
    rt->ad->finish(rt, &h->actx, &rc);
    if (rc != 0) {
        json_array_append_new(late, json_string("runtime"));
        hg__log(h->lg, HG_LOG_ERROR, "host", "runtime mode workers did not exit in 5s");
    }
    rt->started = 0;
    hg__inst_set_state(rt->in, HG_STATE_STOPPED, 0, NULL);
}

static void report_late(hg__host *h, json_t *late, uint32_t cut)
{
    if (json_array_size(late) > 0) {
        char *names = json_dumps(late, JSON_COMPACT);
        if (killed(h))
            hg__log(h->lg, HG_LOG_WARN, "host", "shutdown cut short by kill: engines still "
                    "running were stopped at once: %s", names);
        else
            hg__log(h->lg, HG_LOG_WARN, "host", "shutdown: engines that did not stop within "
                    "%.3gs: %s", (double)h->cfg->shutdown_timeout_ns / 1e9, names);
        free(names);
    }
    hg__log(h->lg, HG_LOG_INFO, "host", "shutdown: %u connection%s cut", cut,
            cut == 1 ? "" : "s");
}

/* Stops v[0..n) (start order) group by group, backwards: each group is asked to stop gracefully,
 * and what of it still runs when the bound is out is stopped at once (and named) before the
 * next group is asked. The first group of servers after the originators gets at least
 * SERVER_GRACE_NS. immediate: every engine is stopped at once, none named. */
static uint32_t stop_groups(hg__host *h, hg__entry **v, uint32_t n, int immediate, json_t *late)
{
    uint64_t bound = hg__now_ns() + h->cfg->shutdown_timeout_ns;
    uint32_t cut = 0, end = n;
    while (end > 0) {
        uint32_t begin = end - 1;
        while (begin > 0 && hg__order_same_group(v[begin - 1], v[end - 1]))
            begin--;
        if (!immediate) {
            uint64_t until = bound, now = hg__now_ns();
            struct timespec dl;
            if (!v[begin]->originates && now + SERVER_GRACE_NS > until)
                until = now + SERVER_GRACE_NS < bound + SERVER_GRACE_MAX_NS
                            ? now + SERVER_GRACE_NS : bound + SERVER_GRACE_MAX_NS;
            dl = hg__timespec_of(until);
            for (uint32_t i = end; i-- > begin;)
                ask_stop(h, v[i], HG_STOP_GRACEFUL);
            wait_final(h, v + begin, end - begin, &dl);
        }
        cut += cut_group(h, v + begin, end - begin, immediate ? NULL : late);
        end = begin;
    }
    return cut;
}

void hg__lc_shutdown(hg__host *h, int immediate)
{
    json_t *late = json_array();
    uint32_t n = 0, cut;
    hg__entry **v;

    pthread_mutex_lock(&h->mu);
    if (h->stopped) {
        pthread_mutex_unlock(&h->mu);
        json_decref(late);
        return;
    }
    h->stopping = 1;
    h->shutdown_since_ns = hg__now_ns();
    pthread_mutex_unlock(&h->mu);
    if (immediate)
        hg__log(h->lg, HG_LOG_INFO, "host", "kill: every engine stops at once");
    else
        hg__log(h->lg, HG_LOG_INFO, "host", "shutdown: engines stop in dependency order within "
                "%.3gs", (double)h->cfg->shutdown_timeout_ns / 1e9);
    /* The graph drains first: its sources stop, its links empty into their consumers. */
    cut = hg__host_graph_shutdown(h, immediate);
    hg__cancel_fire(h->root);
    v = hg__host_entries(h, &n);
    cut += stop_groups(h, v, n, immediate, late);
    free(v);
    stop_runtime(h, late);
    report_late(h, late, cut);
    pthread_mutex_lock(&h->mu);
    free(h->not_stopped);
    h->not_stopped = json_dumps(late, JSON_COMPACT);
    h->cut = cut;
    h->stopped = 1;
    h->stopping = 0;
    h->shutdown_since_ns = 0;
    h->gen++;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    json_decref(late);
}

void hg__entry_destroy(hg__host *h, hg__entry *e)
{
    if (e == NULL)
        return;
    if (e->obj != NULL)
        e->ad->destroy(e, &h->actx);
    hg__inst_free(e->in);
    free(e);
}

/* --- the control thread --- */

static void *ctl_main(void *arg)
{
    hg__host *h = arg;
    pthread_mutex_lock(&h->job_mu);
    for (;;) {
        hg__job *j;
        while (h->jhead == NULL && !h->ctl_quit)
            pthread_cond_wait(&h->job_cv, &h->job_mu);
        if (h->jhead == NULL)
            break;
        j = h->jhead;
        h->jhead = j->next;
        if (h->jhead == NULL)
            h->jtail = NULL;
        pthread_mutex_unlock(&h->job_mu);
        hg__command_run_job(h, j);
        pthread_mutex_lock(&h->job_mu);
    }
    pthread_mutex_unlock(&h->job_mu);
    return NULL;
}

void hg__lc_submit(hg__host *h, hg__job *j)
{
    pthread_mutex_lock(&h->job_mu);
    j->next = NULL;
    if (h->jtail)
        h->jtail->next = j;
    else
        h->jhead = j;
    h->jtail = j;
    pthread_cond_signal(&h->job_cv);
    pthread_mutex_unlock(&h->job_mu);
}

int hg__lc_start(hg__host *h)
{
    /* The host's control thread ([control-thread] in the SDK): no process signals, but its own
     * crash still reports. */
    hg__thread_opts o = {.name = "hangar-control", .core = HG_CORE_ANY,
                         .role = HG__THREAD_CONTROL, .owner = h};
    if (hg__thread_start(&o, ctl_main, h, &h->ctl_thread) != 0)
        return HG_EAGAIN;
    h->ctl_running = 1;
    return 0;
}

/* Lets the control thread finish the jobs queued so far, then joins it. */
void hg__lc_stop(hg__host *h)
{
    if (!h->ctl_running)
        return;
    pthread_mutex_lock(&h->job_mu);
    h->ctl_quit = 1;
    pthread_cond_broadcast(&h->job_cv);
    pthread_mutex_unlock(&h->job_mu);
    pthread_join(h->ctl_thread, NULL);
    h->ctl_running = 0;
}
