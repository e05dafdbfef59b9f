/* route.c - `tee` (each frame to every linked output, by reference: one buffer, one reference
 * per output) and `merge` (frames of every link into its input, which the host hands out in
 * turn, to one output). */
#include <stdlib.h>

#include "gp.h"

#define FANOUT 4

static const hg_port_decl tee_ports[] = {
    {sizeof(hg_port_decl), HG_PORT_IN, "in", HG_TYPE_ANY, 0},
    {sizeof(hg_port_decl), HG_PORT_OUT, "out0", HG_TYPE_ANY, 0},
    {sizeof(hg_port_decl), HG_PORT_OUT, "out1", HG_TYPE_ANY, 0},
    {sizeof(hg_port_decl), HG_PORT_OUT, "out2", HG_TYPE_ANY, 0},
    {sizeof(hg_port_decl), HG_PORT_OUT, "out3", HG_TYPE_ANY, 0},
};
/* merge's input takes any number of links; the host hands their frames out in turn */
static const hg_port_decl merge_ports[] = {
    {sizeof(hg_port_decl), HG_PORT_IN, "in", HG_TYPE_ANY, HG_PORT_MULTI},
    {sizeof(hg_port_decl), HG_PORT_OUT, "out", HG_TYPE_ANY, 0},
};
const char *const gp_tee_keys[] = {NULL};
const char *const gp_merge_keys[] = {NULL};

typedef struct route {
    gp_base b;
    uint8_t closed[FANOUT]; /* an output that refused with HG_ECLOSED / an input at its end */
    uint8_t used[FANOUT];   /* an output that took a frame once */
    hg_counter *frames, *dropped;
} route;

static int route_create(const hg_host *h, const hg_config *cfg, void **out)
{
    route *r = calloc(1, sizeof *r);
    int rc;
    (void)cfg;
    if (r == NULL)
        return HG_ENOMEM;
    r->b.h = h;
    rc = gp_counter(h, "frames", &r->frames);
    if (rc == 0)
        rc = gp_counter(h, "dropped", &r->dropped);
    if (rc != 0) {
        free(r);
        return rc;
    }
    *out = r;
    return 0;
}

/* One frame to every output still open: a reference each. An output closed from the start
 * (not linked) is skipped; a frame an output refused after taking others is counted lost. */
static int tee_one(route *r, hg_proc *p, hg_frame *f)
{
    uint32_t live = 0, k, lost = 0;
    int rc, stopping = 0;
    for (k = 0; k < FANOUT; k++)
        live += !r->closed[k];
    if (live == 0) { /* lost if some output ever took frames; else the tee has none */
        for (k = 0; k < FANOUT; k++)
            lost |= r->used[k];
        hg_counter_add(r->dropped, lost);
        gp_drop(&r->b, f);
        return HG_ECLOSED;
    }
    for (k = 1; k < live && f->buf != NULL; k++)
        r->b.g->buf_ref(f->buf);
    for (k = 0; k < FANOUT; k++) {
        hg_frame c;
        if (r->closed[k])
            continue;
        c = *f;
        if (stopping) {
            gp_drop(&r->b, &c);
            continue;
        }
        rc = gp_push(&r->b, p, 1 + k, &c);
        if (rc == 0) {
            r->used[k] = 1;
        } else if (rc == HG_ECLOSED) {
            r->closed[k] = 1;
            lost += r->used[k];
        } else if (rc == HG_EAGAIN) {
            lost++;
        } else {
            stopping = 1;
        }
    }
    if (lost)
        hg_counter_add(r->dropped, lost);
    return stopping ? HG_ECANCELED : 0;
}

static int tee_process(void *inst, hg_proc *p)
{
    route *r = inst;
    hg_frame fs[GP_BATCH];
    uint32_t n, i;
    int why, rc = 0;

    n = gp_pop_batch(&r->b, p, 0, fs, GP_BATCH, 0, &why);
    if (n == 0)
        return gp_idle_result(&r->b, why);
    hg_counter_add(r->frames, n);
    for (i = 0; i < n; i++) {
        if (rc == HG_ECANCELED) { /* stopping: what is left of the batch goes nowhere */
            gp_drop(&r->b, &fs[i]);
            hg_counter_add(r->dropped, 1);
        } else {
            rc = tee_one(r, p, &fs[i]);
        }
    }
    if (rc == HG_ECLOSED) /* every output is gone */
        return HG_PROCESS_DONE;
    return 0;
}

static int merge_process(void *inst, hg_proc *p)
{
    route *r = inst;
    hg_frame fs[GP_BATCH];
    uint32_t n;
    int why;

    n = gp_pop_batch(&r->b, p, 0, fs, GP_BATCH, 0, &why);
    if (n == 0) /* done once every link into `in` ended */
        return gp_idle_result(&r->b, why);
    hg_counter_add(r->frames, n);
    why = gp_push_all(&r->b, p, 1, fs, n, r->dropped);
    return why == HG_ECLOSED ? HG_PROCESS_DONE : 0;
}

const hg_processor_ops gp_tee_ops = {
    .struct_size = sizeof(hg_processor_ops),
    .n_ports = 1 + FANOUT,
    .ports = tee_ports,
    .create = route_create,
    .destroy = gp_free,
    .setup = gp_base_setup,
    .process = tee_process,
};

const hg_processor_ops gp_merge_ops = {
    .struct_size = sizeof(hg_processor_ops),
    .n_ports = 2,
    .ports = merge_ports,
    .create = route_create,
    .destroy = gp_free,
    .setup = gp_base_setup,
    .process = merge_process,
};
