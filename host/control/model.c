/* model.c - model-first streams: a stream opened at run time by an engine (the model), run by a
 * private instance of its connector engine outside the registry, its events claimed by the model,
 * which drains them a bounded number at a time and sends actions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfgview.h"
#include "conn_priv.h"
#include "host_priv.h"
#include "model.h"

#define CLOSE_BOUND_NS 2000000000ull

struct hg_model_stream {
    hg__host *h;
    const hg_host *caller;
    hg__entry e;
    hg__instance_cfg ic;
    hg__stream_cfg sc;
    hg__doc *doc;
    hg__cstream *cs;
};

static const char *const policies[] = {"block", "drop_newest", "drop_oldest"};

/* The host's keys of a stream item (docs/CONFIG.md), as config_graph.c reads them. */
static int stream_keys(hg__cfgctx *ctx, const hg__node *n, hg__stream_cfg *sc)
{
    const char *name = NULL, *pol = NULL;
    int64_t ev = 1024, ac = 1024, core = HG_CORE_ANY;
    int rc = 0;
    sc->node = n;
    sc->policy = HG_POLICY_BLOCK;
    if (hg__cfg_string(ctx, n, "name", &name) != 0 || name == NULL || !*name)
        rc = hg__cfg_error(ctx, n, "name", "a model's stream needs a 'name'");
    hg__cfg_int(ctx, n, "max_pending_events", &ev);
    hg__cfg_int(ctx, n, "max_pending_actions", &ac);
    if (ev < 1 || ev > (1 << 24) || ac < 1 || ac > (1 << 24))
        rc = hg__cfg_error(ctx, n, ev < 1 || ev > (1 << 24) ? "max_pending_events"
                                                             : "max_pending_actions",
                           "a channel bound is between 1 and 16777216");
    if (hg__cfg_string(ctx, n, "policy", &pol) == 0 && pol != NULL) {
        sc->policy = 0;
        for (uint32_t i = 0; i < 3; i++)
            if (strcmp(pol, policies[i]) == 0)
                sc->policy = HG_POLICY_BLOCK + i;
        if (sc->policy == 0)
            rc = hg__cfg_error(ctx, n, "policy", "'policy' must be block, drop_newest or "
                                                 "drop_oldest");
    }
    if (hg__cfg_int(ctx, n, "core", &core) == 0 && (core < 0 || !hg__core_allowed((int32_t)core)))
        rc = hg__cfg_error(ctx, n, "core", "that core does not exist for this process");
    hg__cfg_bool(ctx, n, "healthy_at_start", &sc->healthy_at_start);
    sc->name = (char *)(name ? name : "");
    sc->max_pending_events = (uint32_t)ev;
    sc->max_pending_actions = (uint32_t)ac;
    sc->core = (int32_t)core;
    return rc != 0 ? HG_ECONFIG : 0;
}

/* Logs every error of d through the model's own log. */
static void log_diag(const hg_host *caller, const hg__diag *d)
{
    for (uint32_t i = 0; i < d->n; i++) {
        char msg[600];
        snprintf(msg, sizeof msg, "model stream: %s", d->items[i].msg);
        caller->log(caller, HG_LOG_ERROR, msg);
    }
}

static void model_free(hg_model_stream *m)
{
    if (m->e.obj != NULL)
        hg__connector_adapter.destroy(&m->e, &m->h->actx);
    if (m->e.in != NULL)
        hg__inst_free(m->e.in);
    free(m->ic.name);
    hg__doc_free(m->doc);
    free(m);
}

/* Creates the private connector instance with its one stream, and starts it. */
static int model_start(hg_model_stream *m, hg__diag *d)
{
    char name[200];
    int rc;
    snprintf(name, sizeof name, "%s.%s", m->e.def->name, m->sc.name);
    if ((m->ic.name = strdup(name)) == NULL)
        return HG_ENOMEM;
    m->ic.engine = (char *)m->e.def->name;
    m->ic.section = HG__SEC_CONNECTOR;
    m->ic.core = HG_CORE_ANY;
    m->ic.streams = &m->sc;
    m->ic.n_streams = 1;
    m->e.cfg = &m->ic;
    m->e.ad = &hg__connector_adapter;
    if ((rc = hg__host_new_inst(m->h, m->ic.name, m->doc->root, &m->e.in)) != 0)
        return rc;
    hg__inst_set_diag(m->e.in, d);
    rc = hg__connector_adapter.create(&m->e, NULL, &m->h->actx);
    hg__inst_set_diag(m->e.in, NULL);
    if (rc != 0)
        return rc;
    if ((m->cs = hg__conn_find(m->e.obj, m->sc.name)) == NULL || hg__stream_claim(m->cs->s) != 0)
        return HG_ESTATE;
    {
        /* the model's thread stands in for the control thread of this private instance */
        hg__thread_mark mk = hg__inst_enter_control(m->e.in);
        rc = hg__connector_adapter.start(&m->e, &m->h->actx);
        hg__thread_leave(mk);
    }
    return rc;
}

static int m_open(const hg_host *caller, const char *engine, const char *spec,
                  hg_model_stream **out)
{
    hg__host *h = hg__inst_owner_of(caller);
    hg__cfg_limits lim = HG__CFG_LIMITS_DEFAULT;
    hg__cfgctx ctx;
    hg_model_stream *m;
    hg__diag d;
    int rc;
    if (h == NULL || engine == NULL || spec == NULL || out == NULL)
        return HG_EINVAL;
    if ((m = calloc(1, sizeof *m)) == NULL)
        return HG_ENOMEM;
    m->h = h;
    m->caller = caller;
    if ((m->e.def = hg__registry_find(h->reg, engine)) == NULL)
        rc = HG_ENOENT;
    else if (m->e.def->kind != HG_KIND_CONNECTOR)
        rc = HG_ENOTSUP;
    else {
        hg__diag_init(&d);
        ctx.diag = &d;
        ctx.who = engine;
        rc = hg__doc_load_string("<model stream>", spec, strlen(spec), &lim, &m->doc, &d);
        if (rc == 0 && (m->doc->root == NULL || m->doc->root->type != HG_CFG_MAP))
            rc = hg__cfg_error(&ctx, m->doc->root, NULL, "a model's stream spec is a map");
        if (rc == 0)
            rc = stream_keys(&ctx, m->doc->root, &m->sc);
        if (rc == 0)
            rc = model_start(m, &d);
        log_diag(caller, &d);
        hg__diag_free(&d);
    }
    if (rc != 0) {
        model_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

static int m_drain(hg_model_stream *m, hg_frame *out, uint32_t max)
{
    void *items[64];
    uint32_t got = 0;
    while (got < max) {
        int n = hg__link_drain(hg__stream_events(m->cs->s), items, max - got < 64 ? max - got : 64);
        if (n == HG_ECLOSED && got == 0)
            return HG_ECLOSED;
        if (n <= 0)
            break;
        for (int i = 0; i < n; i++) {
            out[got + (uint32_t)i] = *(hg_frame *)items[i];
            free(items[i]); /* the buffer reference moves to out */
        }
        got += (uint32_t)n;
    }
    return (int)got;
}

static int m_send(hg_model_stream *m, const void *data, uint32_t len)
{
    hg_frame *f;
    int rc = hg__stream_frame_new(m->cs->s, data, len, &f);
    if (rc != 0)
        return rc;
    if ((rc = hg__link_try_send(hg__stream_actions(m->cs->s), f)) != 0)
        hg__stream_frame_release(f, NULL);
    return rc == HG_ECLOSED ? HG_EAGAIN : rc;
}

static int m_healthy(hg_model_stream *m)
{
    hg__stream_stats st;
    hg__stream_stats_get(m->cs->s, &st);
    return st.healthy;
}

static void m_close(hg_model_stream *m)
{
    int rc;
    hg__thread_mark mk;
    if (m == NULL)
        return;
    mk = hg__inst_enter_control(m->e.in);
    hg__connector_adapter.stop(&m->e, HG_STOP_NOW, &m->h->actx);
    hg__connector_adapter.finish(&m->e, &m->h->actx, &rc);
    hg__thread_leave(mk);
    model_free(m);
}

const hg_model_api hg__model_api_table = {
    sizeof(hg_model_api), m_open, m_drain, m_send, m_healthy, m_close,
};
