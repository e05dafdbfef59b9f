/* hub.c - the control hub: the one thread that owns a host's engines. Commands reach it through
 * a queue and wait for its reply; it starts the engines and runs the shutdown sequence. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cancel.h"
#include "host_priv.h"

#define COMMAND_WAIT_NS (10ull * 1000000000ull)

static void deadline_after(struct timespec *ts, uint64_t ns)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += (time_t)(ns / 1000000000u);
    ts->tv_nsec += (long)(ns % 1000000000u);
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

void hg__host_broadcast(hg__host *h)
{
    pthread_mutex_lock(&h->mu);
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
}

static const hg_pipeline_ops *pops(const hg__entry *e)
{
    return e->def->ops;
}

static const hg_runtime_mode_ops *rops(const hg__host *h)
{
    return h->runtime.def->ops;
}

static int is_final(uint32_t s)
{
    return s == HG_STATE_STOPPED || s == HG_STATE_FAILED;
}

/* --- start --- */

int hg__hub_start_entry(hg__host *h, hg__entry *e)
{
    int rc;
    if (e->started || e->obj == NULL)
        return 0;
    if (e->net == NULL) {
        rc = rops(h)->net_open(h->runtime.obj, hg__inst_host(e->in), &e->net);
        if (rc != 0) {
            hg__inst_set_state(e->in, HG_STATE_FAILED, rc, "the runtime mode refused a net");
            return rc;
        }
    }
    hg__inst_set_state(e->in, HG_STATE_RUNNING, 0, NULL);
    e->started = 1;
    e->stop_asked = 0;
    rc = pops(e)->start(e->obj, e->net);
    if (rc == 0) {
        char addr[128];
        if (hg__inst_info(e->in, "address", addr, sizeof addr) == 0)
            hg__log(h->lg, HG_LOG_INFO, hg__inst_name(e->in), "%s listening on %s", e->def->name,
                    addr);
    }
    if (rc != 0) {
        char msg[160];
        snprintf(msg, sizeof msg, "start failed: %s", hg_strerror(rc));
        hg__inst_set_state(e->in, HG_STATE_FAILED, rc, msg);
    }
    return rc;
}

static int start_runtime(hg__host *h)
{
    int rc;
    if (h->runtime.in == NULL || h->runtime.started)
        return 0;
    rc = rops(h)->start(h->runtime.obj, h->cfg->workers, h->cfg->cores, h->cfg->n_cores);
    if (rc != 0) {
        hg__inst_set_state(h->runtime.in, HG_STATE_FAILED, rc, "the runtime mode did not start");
        return rc;
    }
    h->runtime.started = 1;
    hg__inst_set_state(h->runtime.in, HG_STATE_RUNNING, 0, NULL);
    return 0;
}

int hg__hub_start_all(hg__host *h)
{
    int rc = start_runtime(h), first = rc;
    if (rc != 0)
        return rc;
    /* Listeners first, so `connect: NAME` resolves when the clients start. */
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t i = 0; i < h->n_ents; i++) {
            hg__entry *e = &h->ents[i];
            if (e->listens != (pass == 0))
                continue;
            rc = hg__hub_start_entry(h, e);
            if (rc != 0 && first == 0)
                first = rc;
        }
    }
    pthread_mutex_lock(&h->mu);
    h->started = 1;
    if (h->started_ns == 0)
        h->started_ns = hg__now_ns();
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    return first;
}

/* --- shutdown --- */

/* Waits until every pipeline of the group (listening or not) is stopped or failed, the deadline
 * passes, or a kill arrives. Returns 1 when all stopped. */
static int wait_group(hg__host *h, int listening, const struct timespec *dl)
{
    int all = 0;
    pthread_mutex_lock(&h->mu);
    for (;;) {
        all = 1;
        for (uint32_t i = 0; i < h->n_ents && all; i++) {
            hg__entry *e = &h->ents[i];
            if (e->listens == listening && e->started && !is_final(hg__inst_state(e->in, NULL)))
                all = 0;
        }
        if (all || __atomic_load_n(&h->kill_flag, __ATOMIC_ACQUIRE))
            break;
        if (pthread_cond_timedwait(&h->cv, &h->mu, dl) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&h->mu);
    return all;
}

static void stop_group(hg__host *h, int listening, uint32_t how)
{
    for (uint32_t i = h->n_ents; i-- > 0;) {
        hg__entry *e = &h->ents[i];
        if (e->listens != listening || !e->started || e->obj == NULL)
            continue;
        if (how == HG_STOP_GRACEFUL && is_final(hg__inst_state(e->in, NULL)))
            continue;
        if (how == HG_STOP_GRACEFUL && e->stop_asked)
            continue;
        if (hg__inst_state(e->in, NULL) == HG_STATE_RUNNING)
            hg__inst_set_state(e->in, HG_STATE_STOPPING, 0, NULL);
        e->stop_asked = 1;
        pops(e)->stop(e->obj, how);
    }
}

void hg__hub_shutdown(hg__host *h, int immediate)
{
    struct timespec dl;
    json_t *late = json_array();
    uint32_t cut = 0;

    if (h->stopped) {
        json_decref(late);
        return;
    }
    h->stopping = 1;
    hg__cancel_fire(h->root);
    deadline_after(&dl, h->cfg->shutdown_timeout_ns);
    if (!immediate) {
        /* Clients first (generators), then the servers and proxies they talk to. */
        stop_group(h, 0, HG_STOP_GRACEFUL);
        wait_group(h, 0, &dl);
        stop_group(h, 1, HG_STOP_GRACEFUL);
        wait_group(h, 1, &dl);
    }
    for (uint32_t i = 0; i < h->n_ents; i++) {
        hg__entry *e = &h->ents[i];
        uint64_t open = 0;
        uint32_t left = 0;
        if (e->started && !is_final(hg__inst_state(e->in, NULL))) {
            if (!immediate)
                json_array_append_new(late, json_string(hg__inst_name(e->in)));
            /* What stop(NOW) closes is cut by the shutdown (HG_CLOSE_CUT); net_close cuts
             * whatever is left after it: the connections open now are the ones cut. */
            hg__inst_counter(e->in, "connections_open", &open);
            pops(e)->stop(e->obj, HG_STOP_NOW);
        }
        if (e->net != NULL) {
            left = rops(h)->net_close(h->runtime.obj, e->net);
            e->net = NULL;
        }
        cut += (uint32_t)open > left ? (uint32_t)open : left;
        if (e->started && !is_final(hg__inst_state(e->in, NULL)))
            hg__inst_set_state(e->in, HG_STATE_STOPPED, 0, NULL);
    }
    if (h->runtime.started) {
        rops(h)->request_stop(h->runtime.obj);
        if (rops(h)->join(h->runtime.obj, 5000000000ull) != 0) {
            json_array_append_new(late, json_string("runtime"));
            hg__log(h->lg, HG_LOG_ERROR, "host", "runtime mode workers did not exit in 5s");
        }
        h->runtime.started = 0;
        hg__inst_set_state(h->runtime.in, HG_STATE_STOPPED, 0, NULL);
    }
    if (json_array_size(late) > 0) {
        char *names = json_dumps(late, JSON_COMPACT);
        if (__atomic_load_n(&h->kill_flag, __ATOMIC_ACQUIRE))
            hg__log(h->lg, HG_LOG_WARN, "host", "shutdown cut short by kill: engines still "
                    "running were stopped at once: %s", names);
        else
            hg__log(h->lg, HG_LOG_WARN, "host", "shutdown: engines that did not stop within "
                    "%.3gs: %s", (double)h->cfg->shutdown_timeout_ns / 1e9, names);
        free(names);
    }
    if (cut > 0)
        hg__log(h->lg, HG_LOG_INFO, "host", "shutdown: %u connection%s cut", cut,
                cut == 1 ? "" : "s");
    free(h->not_stopped);
    h->not_stopped = json_dumps(late, JSON_COMPACT);
    json_decref(late);
    pthread_mutex_lock(&h->mu);
    h->cut = cut;
    h->stopped = 1;
    h->stopping = 0;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
}

/* Stops one pipeline: graceful within the shutdown bound, then cut. Returns connections cut. */
uint32_t hg__hub_stop_entry(hg__host *h, hg__entry *e)
{
    struct timespec dl;
    uint32_t cut = 0;
    if (!e->started)
        return 0;
    if (!is_final(hg__inst_state(e->in, NULL))) {
        hg__inst_set_state(e->in, HG_STATE_STOPPING, 0, NULL);
        e->stop_asked = 1;
        pops(e)->stop(e->obj, HG_STOP_GRACEFUL);
        deadline_after(&dl, h->cfg->shutdown_timeout_ns);
        pthread_mutex_lock(&h->mu);
        while (!is_final(hg__inst_state(e->in, NULL)) &&
               !__atomic_load_n(&h->kill_flag, __ATOMIC_ACQUIRE)) {
            if (pthread_cond_timedwait(&h->cv, &h->mu, &dl) == ETIMEDOUT)
                break;
        }
        pthread_mutex_unlock(&h->mu);
        if (!is_final(hg__inst_state(e->in, NULL))) {
            uint64_t open = 0;
            hg__inst_counter(e->in, "connections_open", &open);
            cut = (uint32_t)open;
            pops(e)->stop(e->obj, HG_STOP_NOW);
        }
    }
    if (e->net != NULL) {
        uint32_t left = rops(h)->net_close(h->runtime.obj, e->net);
        cut = left > cut ? left : cut;
        e->net = NULL;
    }
    if (!is_final(hg__inst_state(e->in, NULL)))
        hg__inst_set_state(e->in, HG_STATE_STOPPED, 0, NULL);
    e->started = 0;
    return cut;
}

/* --- the hub thread and its queue --- */

static void *hub_main(void *arg)
{
    hg__host *h = arg;
    pthread_setname_np(pthread_self(), "hangar-hub");
    pthread_mutex_lock(&h->mu);
    for (;;) {
        hg__msg *m;
        while (h->head == NULL && !h->hub_quit)
            pthread_cond_wait(&h->cv, &h->mu);
        if (h->head == NULL && h->hub_quit)
            break;
        m = h->head;
        h->head = m->next;
        if (h->head == NULL)
            h->tail = NULL;
        pthread_mutex_unlock(&h->mu);
        m->reply = hg__command_run(h, m->text, m->call_name);
        pthread_mutex_lock(&h->mu);
        m->done = 1;
        pthread_cond_broadcast(&h->cv);
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

int hg__hub_start(hg__host *h)
{
    sigset_t all, old;
    int err;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    err = pthread_create(&h->hub, NULL, hub_main, h);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err != 0)
        return HG_EAGAIN;
    h->hub_running = 1;
    return 0;
}

void hg__hub_stop(hg__host *h)
{
    if (!h->hub_running)
        return;
    pthread_mutex_lock(&h->mu);
    h->hub_quit = 1;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    pthread_join(h->hub, NULL);
    h->hub_running = 0;
}

/* Queues a message and waits for the hub's reply, at most wait_ns. On a time-out the caller
 * still waits for the hub to finish the message before freeing it (the hub holds it); every
 * command the hub runs is bounded itself (shutdown by its timeout), so that wait ends. */
static int send_msg(hg__host *h, const char *text, const char *call_name, uint64_t wait_ns,
                    char **reply)
{
    hg__msg *m = calloc(1, sizeof *m);
    struct timespec dl;
    int rc = 0;

    *reply = NULL;
    if (m == NULL)
        return HG_ENOMEM;
    m->text = strdup(text);
    m->call_name = call_name ? strdup(call_name) : NULL;
    if (m->text == NULL || (call_name && m->call_name == NULL)) {
        free(m->text);
        free(m->call_name);
        free(m);
        return HG_ENOMEM;
    }
    if (!h->hub_running) {
        free(m->text);
        free(m->call_name);
        free(m);
        return HG_ECLOSED;
    }
    deadline_after(&dl, wait_ns);
    pthread_mutex_lock(&h->mu);
    if (h->tail)
        h->tail->next = m;
    else
        h->head = m;
    h->tail = m;
    pthread_cond_broadcast(&h->cv);
    while (!m->done) {
        if (pthread_cond_timedwait(&h->cv, &h->mu, &dl) == ETIMEDOUT && !m->done) {
            rc = HG_ETIMEDOUT;
            break;
        }
    }
    pthread_mutex_unlock(&h->mu);
    if (rc != 0) {
        /* The hub still holds m; it finishes it later. We wait for that without a bound only
         * here, because freeing m under the hub would be a use-after-free. Every command the
         * hub runs is itself bounded (shutdown by its timeout), so this ends. */
        pthread_mutex_lock(&h->mu);
        while (!m->done)
            pthread_cond_wait(&h->cv, &h->mu);
        pthread_mutex_unlock(&h->mu);
        free(m->reply);
        m->reply = NULL;
    }
    *reply = m->reply;
    free(m->text);
    free(m->call_name);
    free(m);
    return rc;
}

static uint64_t wait_for_verb(const hg__host *h, const char *text)
{
    while (*text == ' ' || *text == '\t')
        text++;
    if (strncmp(text, "shutdown", 8) == 0 || strncmp(text, "reload", 6) == 0 ||
        strncmp(text, "stop", 4) == 0 || strncmp(text, "restart", 7) == 0)
        return h->cfg->shutdown_timeout_ns + 10ull * 1000000000ull;
    return COMMAND_WAIT_NS;
}

int hg__host_command(hg__host *h, const char *text, char **reply)
{
    if (h == NULL || text == NULL || reply == NULL)
        return HG_EINVAL;
    return send_msg(h, text, NULL, wait_for_verb(h, text), reply);
}

int hg__host_call(hg__host *h, const char *name, const char *json_args, char **reply)
{
    if (h == NULL || name == NULL || reply == NULL)
        return HG_EINVAL;
    return send_msg(h, json_args ? json_args : "null", name, COMMAND_WAIT_NS, reply);
}

int hg__host_start(hg__host *h)
{
    char *reply = NULL;
    json_t *j;
    int rc = hg__hub_start(h);
    if (rc != 0)
        return rc;
    if (h->cfg->control_socket != NULL) {
        char err[512] = "";
        rc = hg__ctl_open(h, h->cfg->control_socket, &h->ctl, err, sizeof err);
        if (rc != 0) {
            hg__log(h->lg, HG_LOG_ERROR, "host", "control socket: %s", err);
            return rc;
        }
        hg__log(h->lg, HG_LOG_DEBUG, "host", "control socket at %s", h->cfg->control_socket);
    }
    rc = send_msg(h, "start", NULL, COMMAND_WAIT_NS, &reply);
    if (rc != 0)
        return rc;
    /* An engine that fails to start is `failed` (logged, in `counters`) and the host runs on
     * (ARCHITECTURE.md, failure handling); only a runtime mode that did not start stops it. */
    j = json_loads(reply, 0, NULL);
    if (!json_is_true(json_object_get(j, "ok")) && h->runtime.in != NULL &&
        hg__inst_state(h->runtime.in, NULL) == HG_STATE_FAILED)
        rc = HG_EFAIL;
    json_decref(j);
    free(reply);
    return rc;
}

int hg__host_shutdown(hg__host *h)
{
    char *reply = NULL;
    int rc;
    if (!h->hub_running)
        return 0;
    rc = hg__host_command(h, "shutdown", &reply);
    if (rc == 0 && h->not_stopped && strcmp(h->not_stopped, "[]") != 0)
        rc = HG_ETIMEDOUT;
    free(reply);
    return rc;
}

void hg__host_kill(hg__host *h)
{
    char *reply = NULL;
    if (!h->hub_running)
        return;
    /* A shutdown in progress on the hub sees the flag and stops waiting. */
    __atomic_store_n(&h->kill_flag, 1, __ATOMIC_RELEASE);
    hg__host_broadcast(h);
    hg__host_command(h, "kill", &reply);
    free(reply);
}

/* Done once every client pipeline is no longer running: finished, stopped by a command
 * (`stop NAME`), or failed. A client that was never started is `created`, not final. */
int hg__host_done(hg__host *h)
{
    uint32_t clients = 0, finished = 0;
    if (h->stopped)
        return 1;
    for (uint32_t i = 0; i < h->n_ents; i++) {
        if (h->ents[i].listens)
            continue;
        clients++;
        if (is_final(hg__inst_state(h->ents[i].in, NULL)))
            finished++;
    }
    return clients > 0 && finished == clients;
}

int hg__host_wait(hg__host *h, int until_done, uint64_t timeout_ns)
{
    struct timespec dl;
    int rc = 0;
    deadline_after(&dl, timeout_ns);
    pthread_mutex_lock(&h->mu);
    while (!h->stopped && !(until_done && hg__host_done(h))) {
        if (pthread_cond_timedwait(&h->cv, &h->mu, &dl) == ETIMEDOUT) {
            rc = (h->stopped || (until_done && hg__host_done(h))) ? 0 : HG_ETIMEDOUT;
            break;
        }
    }
    pthread_mutex_unlock(&h->mu);
    return rc;
}
