/* delay.c - the `delay` processor: holds each frame for `duration` from when it took the frame
 * off its input, then pushes it on, in order; holds at most `max_held` frames at a time (a full
 * hold stops taking input, which back-pressures the link). */
#include <stdlib.h>

#include "gp.h"

static const hg_port_decl ports[] = {
    {sizeof(hg_port_decl), HG_PORT_IN, "in", HG_TYPE_ANY, 0},
    {sizeof(hg_port_decl), HG_PORT_OUT, "out", HG_TYPE_ANY, 0},
};
const char *const gp_delay_keys[] = {"duration", "max_held", NULL};

typedef struct held {
    hg_frame f;
    uint64_t due_ns;
} held;

typedef struct delay {
    gp_base b;
    uint64_t duration_ns, cap;
    held *ring;
    uint64_t head, n;
    uint8_t in_closed;
    hg_counter *frames, *dropped;
} delay;

static int delay_create(const hg_host *h, const hg_config *cfg, void **out)
{
    delay *d = calloc(1, sizeof *d);
    const hg_config *n;
    int rc = 0;
    (void)cfg;
    if (d == NULL)
        return HG_ENOMEM;
    d->b.h = h;
    d->duration_ns = UINT64_MAX;
    d->cap = 4096;
    if (h->cfg_child(h, h->cfg_root(h), "duration", &n) != 0)
        rc = h->cfg_error(h, h->cfg_root(h), NULL,
                          "missing required key 'duration' (how long to hold each frame)");
    GP_KEEP(rc, gp_cfg_duration(h, "duration", 3600ull * 1000000000ull, &d->duration_ns));
    GP_KEEP(rc, gp_cfg_u64(h, "max_held", 1, 1u << 24, &d->cap));
    if (rc == 0 && (d->ring = calloc(d->cap, sizeof *d->ring)) == NULL)
        rc = HG_ENOMEM;
    if (rc == 0)
        rc = gp_counter(h, "frames", &d->frames);
    if (rc == 0)
        rc = gp_counter(h, "dropped", &d->dropped);
    if (rc != 0) {
        free(d->ring);
        free(d);
        return rc;
    }
    *out = d;
    return 0;
}

static void delay_destroy(void *inst)
{
    delay *d = inst;
    free(d->ring);
    free(d);
}

static void delay_teardown(void *inst, hg_proc *p)
{
    delay *d = inst;
    (void)p;
    if (d->b.g == NULL)
        return;
    hg_counter_add(d->dropped, d->n); /* stopped before their time: they go nowhere */
    for (; d->n > 0; d->n--, d->head = (d->head + 1) % d->cap)
        gp_drop(&d->b, &d->ring[d->head].f);
}

static void take(delay *d, const hg_frame *f, uint64_t now)
{
    held *e = &d->ring[(d->head + d->n) % d->cap];
    e->f = *f;
    e->due_ns = now + d->duration_ns;
    d->n++;
}

/* Pushes every held frame that is due. Returns 0, HG_ECLOSED or HG_ECANCELED. */
static int release_due(delay *d, hg_proc *p, uint64_t now)
{
    uint32_t sent = 0, lost = 0;
    int rc = 0;
    while (d->n > 0 && d->ring[d->head].due_ns <= now) {
        hg_frame f = d->ring[d->head].f;
        d->head = (d->head + 1) % d->cap;
        d->n--;
        rc = rc != 0 && rc != HG_EAGAIN ? (gp_drop(&d->b, &f), rc) : gp_push(&d->b, p, 1, &f);
        if (rc == 0)
            sent++;
        else
            lost++;
    }
    hg_counter_add(d->frames, sent);
    hg_counter_add(d->dropped, lost);
    return rc == HG_EAGAIN ? 0 : rc;
}

static int delay_process(void *inst, hg_proc *p)
{
    delay *d = inst;
    uint64_t now = d->b.h->now_ns(d->b.h), wait;
    int why = 0, rc;

    while (!d->in_closed && d->n < d->cap) {
        hg_frame f = {.struct_size = sizeof f};
        why = d->b.g->pop(p, 0, &f, 0);
        if (why != 0)
            break;
        take(d, &f, now);
    }
    if (why == HG_ECLOSED)
        d->in_closed = 1;
    else if (why != 0 && why != HG_EAGAIN)
        return gp_idle_result(&d->b, why);
    rc = release_due(d, p, now);
    if (rc == HG_ECLOSED) { /* nobody reads out: what is held is lost */
        hg_counter_add(d->dropped, d->n);
        for (; d->n > 0; d->n--, d->head = (d->head + 1) % d->cap)
            gp_drop(&d->b, &d->ring[d->head].f);
        return HG_PROCESS_DONE;
    }
    if (d->n == 0)
        return d->in_closed ? HG_PROCESS_DONE : HG_PROCESS_IDLE;
    wait = d->ring[d->head].due_ns > now ? d->ring[d->head].due_ns - now : 0;
    if (wait == 0)
        return 0;
    if (d->in_closed || d->n == d->cap) {
        gp_sleep(&d->b, wait);
    } else { /* a frame may come in while the head waits: take it on */
        hg_frame f = {.struct_size = sizeof f};
        why = d->b.g->pop(p, 0, &f, wait < GP_SLICE_NS ? wait : GP_SLICE_NS);
        if (why == 0)
            take(d, &f, d->b.h->now_ns(d->b.h));
        else if (why == HG_ECLOSED)
            d->in_closed = 1;
    }
    return 0;
}

const hg_processor_ops gp_delay_ops = {
    .struct_size = sizeof(hg_processor_ops),
    .n_ports = 2,
    .ports = ports,
    .create = delay_create,
    .destroy = delay_destroy,
    .setup = gp_base_setup,
    .process = delay_process,
    .teardown = delay_teardown,
};
