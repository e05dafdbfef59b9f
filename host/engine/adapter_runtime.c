/* adapter_runtime.c - how the host drives a runtime mode (runtime_mode.h): one per host, started
 * before and stopped after every engine that uses its workers. */
#include <jansson.h>

#include "entry.h"

#define JOIN_BOUND_NS (5000000000ull)

const char *const hg__runtime_host_keys[] = {"mode", "workers", "cores", NULL};

static const hg_runtime_mode_ops *rops(const hg__entry *e)
{
    return e->def->ops;
}

static int rt_create(hg__entry *e, const hg_config *cfg, const hg__actx *x)
{
    hg__call m = hg__call_enter(x->busy, hg__inst_name(e->in), "create");
    hg__thread_mark ctl = hg__inst_enter_control(e->in); /* may be the creating thread */
    int rc = rops(e)->create(hg__inst_host(e->in), cfg, &e->obj);
    hg__thread_leave(ctl);
    hg__call_leave(m);
    if (rc != 0)
        e->obj = NULL;
    return rc;
}

static int rt_start(hg__entry *e, const hg__actx *x)
{
    hg__call m = hg__call_enter(x->busy, hg__inst_name(e->in), "start");
    int rc = rops(e)->start(e->obj, x->cfg->workers, x->cfg->cores, x->cfg->n_cores);
    hg__call_leave(m);
    return rc;
}

static void rt_stop(hg__entry *e, uint32_t how, const hg__actx *x)
{
    hg__call m = hg__call_enter(x->busy, hg__inst_name(e->in), "request_stop");
    (void)how;
    rops(e)->request_stop(e->obj);
    hg__call_leave(m);
}

static uint32_t rt_finish(hg__entry *e, const hg__actx *x, int *rc)
{
    hg__call m = hg__call_enter(x->busy, hg__inst_name(e->in), "join");
    *rc = rops(e)->join(e->obj, JOIN_BOUND_NS);
    hg__call_leave(m);
    return 0;
}

static hg__command_fn rt_command(const hg__entry *e)
{
    return rops(e)->command;
}

static void rt_destroy(hg__entry *e, const hg__actx *x)
{
    hg__call m = hg__call_enter(x->busy, hg__inst_name(e->in), "destroy");
    hg__thread_mark ctl = hg__inst_enter_control(e->in);
    rops(e)->destroy(e->obj);
    hg__thread_leave(ctl);
    hg__call_leave(m);
}

/* The byte totals are optional in the ABI; both are [any-thread, never blocks]. */
static void rt_show(hg__entry *e, void *obj, const hg__actx *x)
{
    json_t *o = obj;
    (void)x;
    if (e->obj == NULL)
        return;
    if (rops(e)->bytes_sent)
        json_object_set_new(o, "bytes_sent", json_integer((json_int_t)rops(e)->bytes_sent(e->obj)));
    if (rops(e)->bytes_received)
        json_object_set_new(o, "bytes_received",
                            json_integer((json_int_t)rops(e)->bytes_received(e->obj)));
}

const hg__adapter hg__runtime_adapter = {
    HG_KIND_RUNTIME_MODE, rt_create, rt_start, rt_stop, rt_finish, rt_command, rt_destroy, rt_show,
};
