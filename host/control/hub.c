/* hub.c - the hub: the thread that owns a host's registry and answers its commands. Clients
 * queue a message and wait for the reply, each within its own bound; the hub answers the verbs
 * that only read at once and hands the rest to the control thread (lifecycle.c), so a stop, a
 * shutdown or an engine command that takes long never keeps `counters` or `state` waiting. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "host_priv.h"
#include "metrics.h"
#include "hub.h"
#include "order.h"
#include "thread.h"

#define COMMAND_WAIT_NS (10ull * 1000000000ull)

void hg__host_broadcast(hg__host *h)
{
    pthread_mutex_lock(&h->mu);
    h->gen++;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
}

hg__entry **hg__host_entries(hg__host *h, uint32_t *n)
{
    hg__entry **v;
    pthread_mutex_lock(&h->list_mu);
    *n = hg__engines_count(h->engines);
    v = malloc((*n ? *n : 1) * sizeof *v);
    for (uint32_t i = 0; v != NULL && i < *n; i++)
        v[i] = hg__engines_at(h->engines, i);
    pthread_mutex_unlock(&h->list_mu);
    if (v == NULL) {
        *n = 0;
        return NULL;
    }
    hg__order_sort(v, *n);
    return v;
}

/* --- messages --- */

static void msg_free(hg__msg *m)
{
    if (m->fn != NULL && m->fn_arg != NULL)
        m->fn(NULL, m->fn_arg); /* never ran (taken back off the queue): frees its argument */
    free(m->text);
    free(m->call_name);
    free(m->reply);
    free(m);
}

static hg__msg *msg_new(const char *text, const char *call_name)
{
    hg__msg *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->text = strdup(text);
    m->call_name = call_name ? strdup(call_name) : NULL;
    if (m->text == NULL || (call_name && m->call_name == NULL)) {
        msg_free(m);
        return NULL;
    }
    return m;
}

void hg__msg_answer(hg__host *h, hg__msg *m, char *reply)
{
    pthread_mutex_lock(&h->hub_mu);
    if (m->abandoned) {
        pthread_mutex_unlock(&h->hub_mu);
        free(reply);
        msg_free(m); /* its sender timed out and left it to us */
        return;
    }
    m->reply = reply;
    m->done = 1;
    pthread_cond_broadcast(&h->hub_cv);
    pthread_mutex_unlock(&h->hub_mu);
}

/* --- the hub thread --- */

static void *hub_main(void *arg)
{
    hg__host *h = arg;
    pthread_setname_np(pthread_self(), "hangar-hub");
    pthread_mutex_lock(&h->hub_mu);
    for (;;) {
        hg__msg *m;
        while (h->head == NULL && !h->hub_quit)
            pthread_cond_wait(&h->hub_cv, &h->hub_mu);
        if (h->head == NULL)
            break;
        m = h->head;
        h->head = m->next;
        if (h->head == NULL)
            h->tail = NULL;
        m->next = NULL;
        pthread_mutex_unlock(&h->hub_mu);
        hg__command_dispatch(h, m);
        pthread_mutex_lock(&h->hub_mu);
    }
    pthread_mutex_unlock(&h->hub_mu);
    return NULL;
}

int hg__hub_start(hg__host *h)
{
    /* No process signals, but its own crash still reports. Not the control thread: the hub
     * calls no engine's lifecycle (lifecycle.c's thread does). */
    hg__thread_opts o = {.name = "hangar-hub", .core = HG_CORE_ANY, .role = HG__THREAD_OTHER,
                         .owner = h};
    if (hg__lc_start(h) != 0)
        return HG_EAGAIN;
    if (hg__thread_start(&o, hub_main, h, &h->hub) != 0) {
        hg__lc_stop(h);
        return HG_EAGAIN;
    }
    h->hub_running = 1;
    return 0;
}

/* The hub first (nothing new reaches the control thread), then the control thread once it has
 * run what it was given. */
void hg__hub_stop(hg__host *h)
{
    if (h->hub_running) {
        pthread_mutex_lock(&h->hub_mu);
        h->hub_quit = 1;
        pthread_cond_broadcast(&h->hub_cv);
        pthread_mutex_unlock(&h->hub_mu);
        pthread_join(h->hub, NULL);
        h->hub_running = 0;
    }
    hg__lc_stop(h);
}

/* --- clients --- */

/* 1 when the control thread has been inside one engine call for longer than wait_ns: a message
 * for it sent now would only time out. */
static int control_stuck(hg__host *h, uint64_t wait_ns)
{
    int stuck;
    pthread_mutex_lock(&h->busy.mu);
    stuck = h->busy.engine != NULL && hg__now_ns() - h->busy.since_ns > wait_ns;
    pthread_mutex_unlock(&h->busy.mu);
    return stuck;
}

/* Takes m off the queue when the hub has not taken it. Under hub_mu. Returns 1 when it did. */
static int unqueue(hg__host *h, hg__msg *m)
{
    hg__msg **p = &h->head, *prev = NULL;
    while (*p != NULL && *p != m) {
        prev = *p;
        p = &(*p)->next;
    }
    if (*p == NULL)
        return 0;
    *p = m->next;
    if (h->tail == m)
        h->tail = prev;
    return 1;
}

static int send_and_wait(hg__host *h, hg__msg *m, uint64_t wait_ns, char **reply);

/* Queues a message and waits for its reply, at most wait_ns from now whatever happens elsewhere:
 * on a time-out the message is taken back off the queue, or left to whoever answers it. */
static int send_msg(hg__host *h, const char *text, const char *call_name, uint64_t wait_ns,
                    char **reply)
{
    hg__msg *m;
    *reply = NULL;
    if (!h->hub_running)
        return HG_ECLOSED;
    if (hg__command_needs_control(text, call_name) && control_stuck(h, wait_ns))
        return HG_ETIMEDOUT;
    m = msg_new(text, call_name);
    if (m == NULL)
        return HG_ENOMEM;
    return send_and_wait(h, m, wait_ns, reply);
}

int hg__host_job(hg__host *h, hg__job_fn fn, void *arg, char **reply)
{
    uint64_t wait_ns = hg__host_command_bound(h, "shutdown");
    hg__msg *m;
    *reply = NULL;
    if (!h->hub_running || control_stuck(h, wait_ns)) {
        fn(NULL, arg); /* frees arg */
        return h->hub_running ? HG_ETIMEDOUT : HG_ECLOSED;
    }
    m = msg_new("job", NULL);
    if (m == NULL) {
        fn(NULL, arg);
        return HG_ENOMEM;
    }
    m->fn = fn;
    m->fn_arg = arg;
    return send_and_wait(h, m, wait_ns, reply);
}

/* Queues m (taken) and waits for its reply, at most wait_ns from now. */
static int send_and_wait(hg__host *h, hg__msg *m, uint64_t wait_ns, char **reply)
{
    struct timespec dl = hg__deadline_after(wait_ns);
    int rc = 0;
    pthread_mutex_lock(&h->hub_mu);
    if (h->tail)
        h->tail->next = m;
    else
        h->head = m;
    h->tail = m;
    pthread_cond_broadcast(&h->hub_cv);
    while (!m->done) {
        if (pthread_cond_timedwait(&h->hub_cv, &h->hub_mu, &dl) == ETIMEDOUT && !m->done) {
            rc = HG_ETIMEDOUT;
            break;
        }
    }
    if (rc != 0 && !unqueue(h, m)) {
        m->abandoned = 1;
        m = NULL;
    }
    pthread_mutex_unlock(&h->hub_mu);
    if (m != NULL && rc == 0) {
        *reply = m->reply;
        m->reply = NULL;
    }
    if (m != NULL)
        msg_free(m);
    return rc;
}

uint64_t hg__host_command_bound(const hg__host *h, const char *text)
{
    if (text == NULL)
        return COMMAND_WAIT_NS;
    while (*text == ' ' || *text == '\t')
        text++;
    if (strncmp(text, "shutdown", 8) == 0 || strncmp(text, "reload", 6) == 0 ||
        strncmp(text, "stop", 4) == 0 || strncmp(text, "restart", 7) == 0)
        return h->cfg->shutdown_timeout_ns + COMMAND_WAIT_NS;
    return COMMAND_WAIT_NS;
}

int hg__host_command(hg__host *h, const char *text, char **reply)
{
    if (h == NULL || text == NULL || reply == NULL)
        return HG_EINVAL;
    return send_msg(h, text, NULL, hg__host_command_bound(h, text), reply);
}

int hg__host_call(hg__host *h, const char *name, const char *json_args, char **reply)
{
    if (h == NULL || name == NULL || reply == NULL)
        return HG_EINVAL;
    return send_msg(h, json_args ? json_args : "null", name, hg__host_command_bound(h, NULL),
                    reply);
}

hg__hub_busy hg__host_busy(hg__host *h)
{
    hg__hub_busy b;
    pthread_mutex_lock(&h->busy.mu);
    b.engine = h->busy.engine;
    b.what = h->busy.what;
    b.since_ns = h->busy.since_ns;
    pthread_mutex_unlock(&h->busy.mu);
    return b;
}

uint64_t hg__host_shutdown_since(hg__host *h)
{
    uint64_t t;
    pthread_mutex_lock(&h->mu);
    t = h->shutdown_since_ns;
    pthread_mutex_unlock(&h->mu);
    return t;
}

int hg__host_killed(hg__host *h)
{
    return __atomic_load_n(&h->kill_flag, __ATOMIC_ACQUIRE);
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
    rc = hg__host_ops_start(h);
    if (rc != 0)
        return rc;
    rc = send_msg(h, "start", NULL, COMMAND_WAIT_NS, &reply);
    if (rc != 0)
        return rc;
    /* An engine that fails to start is `failed` (logged, in `counters`) and the host runs on;
     * only a runtime mode that did not start stops it. */
    j = json_loads(reply, 0, NULL);
    if (!json_is_true(json_object_get(j, "ok")) && h->runtime != NULL &&
        hg__inst_state(h->runtime->in, NULL) == HG_STATE_FAILED)
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
    pthread_mutex_lock(&h->mu);
    if (rc == 0 && h->not_stopped && strcmp(h->not_stopped, "[]") != 0)
        rc = HG_ETIMEDOUT;
    pthread_mutex_unlock(&h->mu);
    free(reply);
    return rc;
}

int hg__host_kill_within(hg__host *h, uint64_t wait_ns)
{
    char *reply = NULL;
    int rc;
    if (!h->hub_running)
        return 0;
    /* A shutdown in progress on the control thread sees the flag and stops waiting. */
    __atomic_store_n(&h->kill_flag, 1, __ATOMIC_RELEASE);
    hg__host_broadcast(h);
    rc = send_msg(h, "kill", NULL, wait_ns, &reply);
    free(reply);
    return rc;
}

void hg__host_kill(hg__host *h)
{
    hg__host_kill_within(h, COMMAND_WAIT_NS);
}

/* 1 once every originating engine is no longer running: finished, stopped by a command
 * (`stop NAME`), or failed. One that was never started is `created`, not final. Not under mu
 * (list_mu comes first). */
static int clients_done(hg__host *h)
{
    uint32_t clients = 0, finished = 0;
    pthread_mutex_lock(&h->list_mu);
    for (uint32_t i = 0; i < hg__engines_count(h->engines); i++) {
        hg__entry *e = hg__engines_at(h->engines, i);
        uint32_t s;
        if (!e->originates)
            continue;
        clients++;
        s = hg__inst_state(e->in, NULL);
        if (s == HG_STATE_STOPPED || s == HG_STATE_FAILED)
            finished++;
    }
    pthread_mutex_unlock(&h->list_mu);
    return clients > 0 && finished == clients;
}

int hg__host_done(hg__host *h)
{
    int stopped;
    pthread_mutex_lock(&h->mu);
    stopped = h->stopped;
    pthread_mutex_unlock(&h->mu);
    return stopped || clients_done(h);
}

int hg__host_wait(hg__host *h, int until_done, uint64_t timeout_ns)
{
    struct timespec dl = hg__deadline_after(timeout_ns);
    int rc = 0;
    pthread_mutex_lock(&h->mu);
    while (!h->stopped) {
        if (until_done) {
            /* the states are read outside mu; gen tells whether a change came meanwhile */
            uint64_t gen = h->gen;
            int done;
            pthread_mutex_unlock(&h->mu);
            done = clients_done(h);
            pthread_mutex_lock(&h->mu);
            if (done)
                break;
            if (gen != h->gen)
                continue;
        }
        if (pthread_cond_timedwait(&h->cv, &h->mu, &dl) == ETIMEDOUT) {
            int stopped = h->stopped;
            pthread_mutex_unlock(&h->mu);
            rc = (stopped || (until_done && clients_done(h))) ? 0 : HG_ETIMEDOUT;
            return rc;
        }
    }
    pthread_mutex_unlock(&h->mu);
    return rc;
}
