/* net_ext.c - the "hangar.net/1" extension (sdk net_ext.h): an engine that is not a pipeline (a
 * graph processor) opens and closes its own hg_net on the host's runtime mode. The calls are
 * serialised with the control thread's net_open/net_close for pipelines (h->net_mu), since a
 * runtime mode's are [control-thread] and keep one list of owners. */
#include "host_priv.h"

static hg__host *host_of(const hg_net_ext *x)
{
    return ((const hg__net_ext *)x)->h;
}

static const hg_runtime_mode_ops *rops(const hg__entry *rt)
{
    return rt->def->ops;
}

/* The owner's instance: its hg_host table is the one engine/instance.c handed out. */
static hg__inst *owner_inst(const hg_host *owner)
{
    return (hg__inst *)owner->host_data;
}

static int ext_net_open(const hg_net_ext *x, const hg_host *owner, const hg_net **out)
{
    hg__host *h = host_of(x);
    hg__entry *rt = h->runtime;
    hg__thread_mark ctl;
    hg__call m;
    int rc;
    if (owner == NULL || out == NULL)
        return HG_EINVAL;
    if (rt == NULL || rt->obj == NULL)
        return HG_ENOTSUP;
    if (hg__inst_state(rt->in, NULL) != HG_STATE_RUNNING)
        return HG_ESTATE;
    pthread_mutex_lock(&h->net_mu);
    /* the runtime registers the owner's counters: a [control-thread] service, held to the
     * owner's host for the call, as the adapters do around create */
    ctl = hg__inst_enter_control(owner_inst(owner));
    m = hg__call_enter(NULL, hg__inst_name(rt->in), "net_open");
    rc = rops(rt)->net_open(rt->obj, owner, out);
    hg__call_leave(m);
    hg__thread_leave(ctl);
    pthread_mutex_unlock(&h->net_mu);
    return rc;
}

static uint32_t ext_net_close(const hg_net_ext *x, const hg_host *owner, const hg_net *net)
{
    hg__host *h = host_of(x);
    hg__entry *rt = h->runtime;
    hg__thread_mark ctl;
    hg__call m;
    uint32_t cut;
    if (owner == NULL || net == NULL || rt == NULL || rt->obj == NULL)
        return 0;
    pthread_mutex_lock(&h->net_mu);
    ctl = hg__inst_enter_control(owner_inst(owner));
    m = hg__call_enter(NULL, hg__inst_name(rt->in), "net_close");
    cut = rops(rt)->net_close(rt->obj, net);
    hg__call_leave(m);
    hg__thread_leave(ctl);
    pthread_mutex_unlock(&h->net_mu);
    return cut;
}

void hg__net_ext_init(hg__host *h)
{
    pthread_mutex_init(&h->net_mu, NULL);
    h->net_ext.pub.struct_size = sizeof h->net_ext.pub;
    h->net_ext.pub.net_open = ext_net_open;
    h->net_ext.pub.net_close = ext_net_close;
    h->net_ext.h = h;
    h->actx.net_mu = &h->net_mu;
}
