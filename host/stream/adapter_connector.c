/* adapter_connector.c - how the host drives a stream connector (connector.h): create opens every
 * stream of its `streams:` (the connector validates each), start runs one thread per stream,
 * stop cancels them, finish joins them within a bound and names a stream that did not stop. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cancel.h"
#include "clock.h"
#include "conn_priv.h"
#include "entry.h"

#define JOIN_BOUND_NS 2000000000ull /* finish waits this long for the streams' threads */
#define JOIN_MIN_NS 100000000ull    /* and at least this long for each one */

static const hg_connector_ops *cops(const hg__conn *c)
{
    return c->e->def->ops;
}

/* Called on a stream's thread when its body returned: the connector is stopped once every
 * stream's did while a stop was asked, failed when a stream failed on its own. */
static void stream_exited(void *arg)
{
    hg__cstream *cs = arg;
    hg__conn *c = cs->conn;
    hg__stream_stats st;
    uint32_t live = 0;
    hg__stream_stats_get(cs->s, &st);
    if (st.last_rc != 0 && !__atomic_load_n(&c->stopping, __ATOMIC_ACQUIRE)) {
        char msg[200];
        snprintf(msg, sizeof msg, "stream %s ended with %s", hg__stream_name(cs->s),
                 hg_strerror(st.last_rc));
        const hg_host *h = hg__inst_host(c->e->in);
        h->log(h, HG_LOG_ERROR, msg); /* the connector runs on with its other streams */
    }
    for (uint32_t i = 0; i < c->n; i++)
        live += __atomic_load_n(&c->st[i].opened, __ATOMIC_ACQUIRE) &&
                !hg__stream_exited(c->st[i].s);
    if (live == 0 && __atomic_load_n(&c->stopping, __ATOMIC_ACQUIRE))
        hg__inst_set_state(c->e->in, HG_STATE_STOPPED, 0, NULL);
}

int hg__conn_open_stream(hg__conn *c, uint32_t i)
{
    const hg__stream_cfg *sc = &c->e->cfg->streams[i];
    hg__cstream *cs = &c->st[i];
    hg_stream_desc d;
    int rc;
    if (cs->s == NULL) { /* first open: the runtime side too; a reload keeps it (and its links) */
        hg__stream_spec sp = {hg__inst_name(c->e->in), sc->name, (const hg_config *)sc->node,
                              sc->max_pending_events, sc->max_pending_actions, sc->policy,
                              sc->core, sc->cores, sc->n_cores, sc->healthy_at_start};
        if ((rc = hg__stream_new(&sp, &cs->s)) != 0)
            return rc;
        cs->conn = c;
        hg__stream_on_exit(cs->s, stream_exited, cs);
    }
    memset(&d, 0, sizeof d);
    d.struct_size = sizeof d;
    d.policy = sc->policy;
    d.name = sc->name;
    d.cfg = (const hg_config *)sc->node;
    d.max_pending_events = sc->max_pending_events;
    d.max_pending_actions = sc->max_pending_actions;
    d.core = sc->core;
    d.healthy_at_start = sc->healthy_at_start;
    rc = cops(c)->stream_open(c->inst, &d, cs->s, &cs->ud);
    __atomic_store_n(&cs->opened, rc == 0, __ATOMIC_RELEASE);
    return rc;
}

static int cn_create(hg__entry *e, const hg_config *cfg, const hg__actx *x)
{
    hg__call m = hg__call_enter(x->busy, hg__inst_name(e->in), "create");
    hg__thread_mark ctl = hg__inst_enter_control(e->in);
    hg__conn *c = calloc(1, sizeof *c);
    int rc = HG_ENOMEM, first = 0;
    if (c == NULL)
        goto out;
    c->e = e;
    c->n = e->cfg ? e->cfg->n_streams : 0;
    if (c->n > 0 && (c->st = calloc(c->n, sizeof *c->st)) == NULL)
        goto out;
    if ((rc = cops(c)->create(hg__inst_host(e->in), cfg, &c->inst)) != 0)
        goto out;
    for (uint32_t i = 0; i < c->n; i++) {
        rc = hg__conn_open_stream(c, i);
        if (rc != 0 && first == 0)
            first = rc; /* every stream is still checked: all errors in one run */
    }
    rc = first;
out:
    hg__thread_leave(ctl);
    hg__call_leave(m);
    if (rc != 0 && c != NULL) {
        e->obj = c;
        hg__conn_free(c);
        c = NULL;
    }
    e->obj = c;
    return rc;
}

static int cn_start(hg__entry *e, const hg__actx *x)
{
    hg__conn *c = e->obj;
    hg__call m = hg__call_enter(x->busy, hg__inst_name(e->in), "start");
    int rc = 0;
    __atomic_store_n(&c->stopping, 0, __ATOMIC_RELEASE);
    for (uint32_t i = 0; i < c->n && rc == 0; i++)
        if (c->st[i].opened && !hg__stream_active(c->st[i].s))
            rc = hg__stream_start(c->st[i].s, hg__inst_host(e->in), hg__inst_token(e->in),
                                  cops(c)->stream_run, c->st[i].ud);
    hg__call_leave(m);
    if (rc != 0) {
        hg__conn_cancel_all(c);
        return rc;
    }
    hg__inst_set_state(e->in, HG_STATE_RUNNING, 0, NULL);
    return 0;
}

void hg__conn_cancel_all(hg__conn *c)
{
    __atomic_store_n(&c->stopping, 1, __ATOMIC_RELEASE);
    for (uint32_t i = 0; i < c->n; i++)
        if (c->st[i].opened)
            hg__stream_cancel(c->st[i].s);
    if (c->n == 0)
        hg__inst_set_state(c->e->in, HG_STATE_STOPPED, 0, NULL);
    else
        stream_exited(&c->st[0]);
}

static void cn_stop(hg__entry *e, uint32_t how, const hg__actx *x)
{
    (void)how;
    (void)x;
    hg__conn_cancel_all(e->obj);
}

/* Keeps the plugin that holds fn loaded for good: a thread still runs its code. */
static void pin_plugin(const void *fn)
{
    Dl_info di;
    if (dladdr(fn, &di) != 0 && di.dli_fname != NULL)
        (void)dlopen(di.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
}

int hg__conn_join(hg__conn *c, hg__cstream *cs, uint64_t bound_ns)
{
    if (hg__stream_join(cs->s, bound_ns) == 0)
        return 0;
    cs->stray = 1;
    {
        const hg_host *h = hg__inst_host(c->e->in);
        char msg[200];
        snprintf(msg, sizeof msg, "stream %s.%s did not stop within the bound after its cancel; "
                 "its thread is left running", hg__inst_name(c->e->in), hg__stream_name(cs->s));
        h->log(h, HG_LOG_ERROR, msg);
    }
    pin_plugin((const void *)cops(c)->stream_run);
    return HG_ETIMEDOUT;
}

static uint32_t cn_finish(hg__entry *e, const hg__actx *x, int *rc)
{
    hg__conn *c = e->obj;
    hg__call m = hg__call_enter(x->busy, hg__inst_name(e->in), "finish");
    uint64_t deadline = hg__now_ns() + JOIN_BOUND_NS;
    *rc = 0;
    hg__conn_cancel_all(c);
    /* every stream's thread acknowledges its token when its body returned */
    hg__cancel_wait_subtree(hg__inst_token(e->in), JOIN_BOUND_NS, NULL, 0, NULL);
    for (uint32_t i = 0; i < c->n; i++) {
        uint64_t now = hg__now_ns(), left = deadline > now ? deadline - now : 0;
        if (left < JOIN_MIN_NS) /* one that acknowledged is returning: give it time to */
            left = JOIN_MIN_NS;
        if (c->st[i].opened && !c->st[i].stray && hg__stream_active(c->st[i].s) &&
            hg__conn_join(c, &c->st[i], left) != 0)
            *rc = HG_ETIMEDOUT;
    }
    hg__call_leave(m);
    return 0;
}

static void cn_destroy(hg__entry *e, const hg__actx *x)
{
    hg__call m = hg__call_enter(x->busy, hg__inst_name(e->in), "destroy");
    hg__thread_mark ctl = hg__inst_enter_control(e->in);
    hg__conn_free(e->obj);
    hg__thread_leave(ctl);
    hg__call_leave(m);
}

void hg__conn_free(hg__conn *c)
{
    uint32_t strays = 0;
    if (c == NULL)
        return;
    for (uint32_t i = 0; i < c->n; i++) {
        hg__cstream *cs = &c->st[i];
        if (cs->stray) {
            strays++;
            continue; /* its thread still uses the stream and the connector: left as they are */
        }
        if (cs->opened)
            cops(c)->stream_close(cs->ud);
        if (cs->held != NULL)
            hg__stream_frame_release(cs->held, NULL);
        hg__stream_free(cs->s);
    }
    if (strays > 0)
        return;
    if (c->inst != NULL)
        cops(c)->destroy(c->inst);
    free(c->st);
    free(c);
}

static void cn_show(hg__entry *e, void *json_obj, const hg__actx *x)
{
    (void)x;
    if (e->obj != NULL)
        json_object_set_new(json_obj, "streams", hg__conn_streams_json(e->obj));
}

const hg__adapter hg__connector_adapter = {
    HG_KIND_CONNECTOR, cn_create, cn_start, cn_stop, cn_finish, hg__conn_command_of, cn_destroy,
    cn_show,
};
