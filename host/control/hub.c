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
#include "hub.h"
#include "thread.h"

#define COMMAND_WAIT_NS (10ull * 1000000000ull)
/* Servers get at least this long to stop gracefully after the clients, even when the clients
 * used up shutdown_timeout: a server is named late only when it overran itself. */
#define SERVER_GRACE_NS (500ull * 1000000ull)

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

/* --- calls into engines, each marked (crash reports, hg__host_busy) --- */

hg__hub_mark hg__hub_enter(hg__host *h, const char *engine, const char *what)
{
    hg__hub_mark prev;
    uint64_t now = hg__now_ns();
    prev.crash = hg__crash_enter(engine, what);
    pthread_mutex_lock(&h->mu);
    prev.engine = h->busy_engine;
    prev.what = h->busy_what;
    prev.since_ns = h->busy_since_ns;
    h->busy_engine = engine;
    h->busy_what = what;
    h->busy_since_ns = now;
    pthread_mutex_unlock(&h->mu);
    return prev;
}

void hg__hub_leave(hg__host *h, hg__hub_mark prev)
{
    pthread_mutex_lock(&h->mu);
    h->busy_engine = prev.engine;
    h->busy_what = prev.what;
    h->busy_since_ns = prev.since_ns;
    pthread_mutex_unlock(&h->mu);
    hg__crash_leave(prev.crash);
}

static const char *name_of(const hg__entry *e)
{
    return hg__inst_name(e->in);
}

static void call_stop(hg__host *h, hg__entry *e, uint32_t how)
{
    hg__hub_mark m = hg__hub_enter(h, name_of(e), "stop");
    pops(e)->stop(e->obj, how);
    hg__hub_leave(h, m);
}

/* Closes the pipeline's net, if it has one: the connections it still held (now cut). */
static uint32_t call_net_close(hg__host *h, hg__entry *e)
{
    hg__hub_mark m;
    uint32_t left;
    if (e->net == NULL)
        return 0;
    m = hg__hub_enter(h, name_of(&h->runtime), "net_close");
    left = rops(h)->net_close(h->runtime.obj, e->net);
    hg__hub_leave(h, m);
    e->net = NULL;
    return left;
}

/* --- start --- */

int hg__hub_start_entry(hg__host *h, hg__entry *e)
{
    int rc;
    if (e->started || e->obj == NULL)
        return 0;
    if (e->net == NULL) {
        hg__hub_mark m = hg__hub_enter(h, name_of(&h->runtime), "net_open");
        rc = rops(h)->net_open(h->runtime.obj, hg__inst_host(e->in), &e->net);
        hg__hub_leave(h, m);
        if (rc != 0) {
            hg__inst_set_state(e->in, HG_STATE_FAILED, rc, "the runtime mode refused a net");
            return rc;
        }
    }
    hg__inst_set_state(e->in, HG_STATE_RUNNING, 0, NULL);
    e->started = 1;
    e->stop_asked = 0;
    {
        hg__hub_mark m = hg__hub_enter(h, name_of(e), "start");
        rc = pops(e)->start(e->obj, e->net);
        hg__hub_leave(h, m);
    }
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
    hg__hub_mark m;
    int rc;
    if (h->runtime.in == NULL || h->runtime.started)
        return 0;
    m = hg__hub_enter(h, name_of(&h->runtime), "start");
    rc = rops(h)->start(h->runtime.obj, h->cfg->workers, h->cfg->cores, h->cfg->n_cores);
    hg__hub_leave(h, m);
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
        call_stop(h, e, how);
    }
}

/* Ends the group: what still runs is named in late (unless NULL) and stopped at once, then
 * every net of the group is closed. Returns the connections that cut. Which engines are late
 * is decided before any is cut, so an engine that ends only because another was cut (a client
 * whose server went) is still named, and still gets its stop(NOW). */
static uint32_t cut_group(hg__host *h, int listening, json_t *late)
{
    uint32_t cut = 0;
    for (uint32_t i = 0; i < h->n_ents; i++) {
        hg__entry *e = &h->ents[i];
        e->late = e->listens == listening && e->started && !is_final(hg__inst_state(e->in, NULL));
        if (e->late && late != NULL)
            json_array_append_new(late, json_string(name_of(e)));
    }
    for (uint32_t i = 0; i < h->n_ents; i++) {
        hg__entry *e = &h->ents[i];
        uint64_t open = 0;
        uint32_t left;
        if (e->listens != listening)
            continue;
        if (e->late) {
            /* What stop(NOW) closes is cut by the shutdown (HG_CLOSE_CUT); net_close cuts
             * whatever is left after it: the connections open now are the ones cut. */
            hg__inst_counter(e->in, "connections_open", &open);
            call_stop(h, e, HG_STOP_NOW);
            e->late = 0;
        }
        left = call_net_close(h, e);
        cut += (uint32_t)open > left ? (uint32_t)open : left;
        if (e->started && !is_final(hg__inst_state(e->in, NULL)))
            hg__inst_set_state(e->in, HG_STATE_STOPPED, 0, NULL);
    }
    return cut;
}

static void stop_runtime(hg__host *h, json_t *late)
{
    hg__hub_mark m;
    int rc;
    if (!h->runtime.started)
        return;
    m = hg__hub_enter(h, name_of(&h->runtime), "request_stop");
    rops(h)->request_stop(h->runtime.obj);
    hg__hub_leave(h, m);
    m = hg__hub_enter(h, name_of(&h->runtime), "join");
    rc = rops(h)->join(h->runtime.obj, 5000000000ull);
    hg__hub_leave(h, m);
    if (rc != 0) {
        json_array_append_new(late, json_string("runtime"));
        hg__log(h->lg, HG_LOG_ERROR, "host", "runtime mode workers did not exit in 5s");
    }
    h->runtime.started = 0;
    hg__inst_set_state(h->runtime.in, HG_STATE_STOPPED, 0, NULL);
}

static void report_late(hg__host *h, json_t *late, uint32_t cut)
{
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
}

/* Clients first (generators), then the servers and proxies they talk to: each group is asked
 * to stop gracefully, and what of it still runs when the bound is out is stopped at once (and
 * named) before the next group is asked; servers get at least SERVER_GRACE_NS after the
 * clients. immediate (kill): every engine is stopped at once, none named. */
void hg__hub_shutdown(hg__host *h, int immediate)
{
    struct timespec dl;
    json_t *late = json_array();
    uint32_t cut = 0;

    if (h->stopped) {
        json_decref(late);
        return;
    }
    pthread_mutex_lock(&h->mu);
    h->stopping = 1;
    h->shutdown_since_ns = hg__now_ns();
    pthread_mutex_unlock(&h->mu);
    hg__cancel_fire(h->root);
    dl = hg__deadline_after(h->cfg->shutdown_timeout_ns);
    if (!immediate) {
        stop_group(h, 0, HG_STOP_GRACEFUL);
        wait_group(h, 0, &dl);
    }
    cut += cut_group(h, 0, immediate ? NULL : late);
    if (!immediate) {
        struct timespec grace;
        stop_group(h, 1, HG_STOP_GRACEFUL);
        grace = hg__deadline_after(SERVER_GRACE_NS);
        if (grace.tv_sec > dl.tv_sec || (grace.tv_sec == dl.tv_sec && grace.tv_nsec > dl.tv_nsec))
            dl = grace;
        wait_group(h, 1, &dl);
    }
    cut += cut_group(h, 1, immediate ? NULL : late);
    stop_runtime(h, late);
    report_late(h, late, cut);
    free(h->not_stopped);
    h->not_stopped = json_dumps(late, JSON_COMPACT);
    json_decref(late);
    pthread_mutex_lock(&h->mu);
    h->cut = cut;
    h->stopped = 1;
    h->stopping = 0;
    h->shutdown_since_ns = 0;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
}

/* Stops one pipeline: graceful within the shutdown bound, then cut. Returns connections cut. */
uint32_t hg__hub_stop_entry(hg__host *h, hg__entry *e)
{
    struct timespec dl;
    uint32_t cut = 0, left;
    if (!e->started)
        return 0;
    if (!is_final(hg__inst_state(e->in, NULL))) {
        hg__inst_set_state(e->in, HG_STATE_STOPPING, 0, NULL);
        e->stop_asked = 1;
        call_stop(h, e, HG_STOP_GRACEFUL);
        dl = hg__deadline_after(h->cfg->shutdown_timeout_ns);
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
            call_stop(h, e, HG_STOP_NOW);
        }
    }
    left = call_net_close(h, e);
    cut = left > cut ? left : cut;
    if (!is_final(hg__inst_state(e->in, NULL)))
        hg__inst_set_state(e->in, HG_STATE_STOPPED, 0, NULL);
    e->started = 0;
    return cut;
}

/* --- the hub thread and its queue --- */

static void msg_free(hg__msg *m)
{
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

static void *hub_main(void *arg)
{
    hg__host *h = arg;
    pthread_setname_np(pthread_self(), "hangar-hub");
    pthread_mutex_lock(&h->mu);
    for (;;) {
        hg__msg *m;
        char *reply;
        while (h->head == NULL && !h->hub_quit)
            pthread_cond_wait(&h->cv, &h->mu);
        if (h->head == NULL && h->hub_quit)
            break;
        m = h->head;
        h->head = m->next;
        if (h->head == NULL)
            h->tail = NULL;
        m->taken = 1;
        pthread_mutex_unlock(&h->mu);
        reply = hg__command_run(h, m->text, m->call_name);
        pthread_mutex_lock(&h->mu);
        m->reply = reply;
        if (m->abandoned) {
            msg_free(m); /* its sender timed out and left it to us */
            continue;
        }
        m->done = 1;
        pthread_cond_broadcast(&h->cv);
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

int hg__hub_start(hg__host *h)
{
    /* The host's control thread: no process signals, but its own crash still reports. */
    hg__thread_opts o = {.name = "hangar-hub", .core = HG_CORE_ANY,
                         .role = HG__THREAD_CONTROL, .owner = h};
    int err;
    err = hg__thread_start(&o, hub_main, h, &h->hub);
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

/* 1 when the hub has been inside one engine call for longer than wait_ns: a message sent now
 * would only time out. Called with mu held. */
static int hub_stuck(const hg__host *h, uint64_t wait_ns)
{
    return h->busy_engine != NULL && hg__now_ns() - h->busy_since_ns > wait_ns;
}

/* Takes m off the queue (the hub has not taken it). Called with mu held. */
static void unqueue(hg__host *h, hg__msg *m)
{
    hg__msg **p = &h->head, *prev = NULL;
    while (*p != NULL && *p != m) {
        prev = *p;
        p = &(*p)->next;
    }
    if (*p == NULL)
        return;
    *p = m->next;
    if (h->tail == m)
        h->tail = prev;
}

/* Queues a message and waits for the hub's reply, at most wait_ns. On a time-out the message
 * is taken back off the queue, or, when the hub is running it, left to the hub to free: the
 * sender never waits longer than wait_ns, whatever an engine does to the hub. */
static int send_msg(hg__host *h, const char *text, const char *call_name, uint64_t wait_ns,
                    char **reply)
{
    hg__msg *m;
    struct timespec dl;
    int rc = 0;

    *reply = NULL;
    if (!h->hub_running)
        return HG_ECLOSED;
    m = msg_new(text, call_name);
    if (m == NULL)
        return HG_ENOMEM;
    dl = hg__deadline_after(wait_ns);
    pthread_mutex_lock(&h->mu);
    if (hub_stuck(h, wait_ns)) {
        pthread_mutex_unlock(&h->mu);
        msg_free(m);
        return HG_ETIMEDOUT;
    }
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
    if (rc != 0 && m->taken) {
        m->abandoned = 1;
        m = NULL;
    } else if (rc != 0) {
        unqueue(h, m);
    }
    pthread_mutex_unlock(&h->mu);
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
        return h->cfg->shutdown_timeout_ns + 10ull * 1000000000ull;
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
    pthread_mutex_lock(&h->mu);
    b.engine = h->busy_engine;
    b.what = h->busy_what;
    b.since_ns = h->busy_since_ns;
    pthread_mutex_unlock(&h->mu);
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

int hg__host_kill_within(hg__host *h, uint64_t wait_ns)
{
    char *reply = NULL;
    int rc;
    if (!h->hub_running)
        return 0;
    /* A shutdown in progress on the hub sees the flag and stops waiting. */
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
    dl = hg__deadline_after(timeout_ns);
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
