/* adapter_pipeline.c - how the host drives a TCP pipeline (pipeline.h): each run gets a net from
 * the runtime mode, which is closed (cutting what is left) when the run ends. */
#include <stdio.h>

#include "entry.h"

static const hg_pipeline_ops *pops(const hg__entry *e)
{
    return e->def->ops;
}

static const hg_runtime_mode_ops *rops(const hg__actx *x)
{
    return x->runtime->def->ops;
}

static int pl_create(hg__entry *e, const hg_config *cfg, const hg__actx *x)
{
    hg__call m = hg__call_enter(x->busy, hg__inst_name(e->in), "create");
    hg__thread_mark ctl = hg__inst_enter_control(e->in); /* may be the creating thread */
    int rc = pops(e)->create(hg__inst_host(e->in), cfg, &e->obj);
    hg__thread_leave(ctl);
    hg__call_leave(m);
    if (rc != 0)
        e->obj = NULL;
    return rc;
}

static int pl_start(hg__entry *e, const hg__actx *x)
{
    const hg_net *net = e->run;
    hg__call m;
    int rc;
    if (x->runtime == NULL || x->runtime->obj == NULL) {
        hg__inst_set_state(e->in, HG_STATE_FAILED, HG_ESTATE, "no runtime mode runs");
        return HG_ESTATE;
    }
    if (net == NULL) {
        if (x->net_mu)
            pthread_mutex_lock(x->net_mu);
        m = hg__call_enter(x->busy, hg__inst_name(x->runtime->in), "net_open");
        rc = rops(x)->net_open(x->runtime->obj, hg__inst_host(e->in), &net);
        hg__call_leave(m);
        if (x->net_mu)
            pthread_mutex_unlock(x->net_mu);
        if (rc != 0) {
            hg__inst_set_state(e->in, HG_STATE_FAILED, rc, "the runtime mode refused a net");
            return rc;
        }
        e->run = (void *)net;
    }
    m = hg__call_enter(x->busy, hg__inst_name(e->in), "start");
    rc = pops(e)->start(e->obj, net);
    hg__call_leave(m);
    return rc;
}

static void pl_stop(hg__entry *e, uint32_t how, const hg__actx *x)
{
    hg__call m = hg__call_enter(x->busy, hg__inst_name(e->in), "stop");
    pops(e)->stop(e->obj, how);
    hg__call_leave(m);
}

static uint32_t pl_finish(hg__entry *e, const hg__actx *x, int *rc)
{
    hg__call m;
    uint32_t left;
    *rc = 0;
    if (e->run == NULL || x->runtime == NULL)
        return 0;
    if (x->net_mu)
        pthread_mutex_lock(x->net_mu);
    m = hg__call_enter(x->busy, hg__inst_name(x->runtime->in), "net_close");
    left = rops(x)->net_close(x->runtime->obj, e->run);
    hg__call_leave(m);
    if (x->net_mu)
        pthread_mutex_unlock(x->net_mu);
    e->run = NULL;
    return left;
}

static hg__command_fn pl_command(const hg__entry *e)
{
    return pops(e)->command;
}

static void pl_destroy(hg__entry *e, const hg__actx *x)
{
    hg__call m = hg__call_enter(x->busy, hg__inst_name(e->in), "destroy");
    hg__thread_mark ctl = hg__inst_enter_control(e->in);
    pops(e)->destroy(e->obj);
    hg__thread_leave(ctl);
    hg__call_leave(m);
}

const hg__adapter hg__pipeline_adapter = {
    HG_KIND_PIPELINE, pl_create, pl_start, pl_stop, pl_finish, pl_command, pl_destroy, NULL,
};
