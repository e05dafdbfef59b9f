/* gen.c - the `gen` processor: makes frames of `size` bytes on port out, at most `rate` a second,
 * `count` of them in all (then done), filled with zeros, a sequence or pseudo-random bytes. */
#include <stdlib.h>
#include <string.h>

#include "gp.h"

enum { PAT_ZERO, PAT_SEQ, PAT_RANDOM };

typedef struct gen {
    gp_base b;
    uint64_t size, count, made;
    uint32_t pattern;
    gp_rate rate;
    uint64_t rng;
    hg_counter *frames, *bytes, *dropped;
} gen;

static const hg_port_decl ports[] = {
    {sizeof(hg_port_decl), HG_PORT_OUT, "out", HG_TYPE_BYTES, 0},
};
static const char *const patterns[] = {"zero", "seq", "random", NULL};
const char *const gp_gen_keys[] = {"size", "rate", "count", "pattern", NULL};

static int gen_create(const hg_host *h, const hg_config *cfg, void **out)
{
    gen *g = calloc(1, sizeof *g);
    int rc = 0;
    (void)cfg;
    if (g == NULL)
        return HG_ENOMEM;
    g->b.h = h;
    g->size = 64;
    g->count = UINT64_MAX;
    GP_KEEP(rc, gp_cfg_size(h, "size", 1, 64ull << 20, &g->size));
    GP_KEEP(rc, gp_cfg_rate(h, "rate", &g->rate.rate));
    GP_KEEP(rc, gp_cfg_u64(h, "count", 0, UINT64_MAX - 1, &g->count));
    GP_KEEP(rc, gp_cfg_enum(h, "pattern", patterns, &g->pattern));
    if (rc == 0)
        rc = gp_counter(h, "frames", &g->frames);
    if (rc == 0)
        rc = gp_counter(h, "bytes", &g->bytes);
    if (rc == 0)
        rc = gp_counter(h, "dropped", &g->dropped);
    if (rc != 0) {
        free(g);
        return rc;
    }
    g->rng = 0x9e3779b97f4a7c15ull;
    *out = g;
    return 0;
}

static void gen_destroy(void *inst)
{
    free(inst);
}

static int gen_setup(void *inst, hg_proc *p)
{
    (void)p;
    return gp_setup(&((gen *)inst)->b);
}

static void fill(gen *g, uint8_t *d, uint32_t len, uint64_t n)
{
    uint32_t i = 0;
    switch (g->pattern) {
    case PAT_ZERO:
        memset(d, 0, len);
        break;
    case PAT_SEQ:
        for (; i < len && i < 8; i++)
            d[i] = (uint8_t)(n >> (8 * i));
        for (; i < len; i++)
            d[i] = (uint8_t)i;
        break;
    default:
        for (; i < len; i += 8) {
            uint64_t x = g->rng;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            g->rng = x;
            memcpy(d + i, &x, len - i < 8 ? len - i : 8);
        }
        break;
    }
}

static int gen_process(void *inst, hg_proc *p)
{
    gen *g = inst;
    uint64_t now = g->b.h->now_ns(g->b.h), wait, left = g->count - g->made;
    uint32_t want = left < GP_BATCH ? (uint32_t)left : GP_BATCH, n, sent = 0, dropped = 0;
    int rc = 0;

    if (want == 0)
        return HG_PROCESS_DONE;
    n = gp_rate_allow(&g->rate, now, want, &wait);
    if (n == 0) {
        gp_sleep(&g->b, wait);
        return 0;
    }
    for (uint32_t i = 0; i < n; i++) {
        hg_frame f = {.struct_size = sizeof f};
        rc = g->b.g->buf_alloc(p, (uint32_t)g->size, &f);
        if (rc == HG_ENOMEM) { /* every pooled buffer is in flight: let the consumers catch up */
            gp_sleep(&g->b, 100000);
            rc = 0;
            break;
        }
        if (rc != 0)
            break;
        f.len = (uint32_t)g->size;
        f.type = HG_TYPE_BYTES;
        f.ts_ns = now;
        fill(g, f.data, f.len, g->made);
        g->made++;
        g->rate.sent++;
        rc = gp_push(&g->b, p, 0, &f);
        if (rc == HG_EAGAIN) {
            dropped++;
            rc = 0;
        } else if (rc != 0) {
            break;
        }
        sent++;
    }
    hg_counter_add(g->frames, sent);
    hg_counter_add(g->bytes, sent * g->size);
    hg_counter_add(g->dropped, dropped);
    if (rc == HG_ECLOSED) /* nobody reads port out any more */
        return HG_PROCESS_DONE;
    if (rc == HG_ECANCELED)
        return HG_PROCESS_IDLE;
    if (rc != 0)
        return gp_fail(&g->b, rc, "gen: could not make a frame");
    return g->made == g->count ? HG_PROCESS_DONE : 0;
}

const hg_processor_ops gp_gen_ops = {
    .struct_size = sizeof(hg_processor_ops),
    .n_ports = 1,
    .ports = ports,
    .create = gen_create,
    .destroy = gen_destroy,
    .setup = gen_setup,
    .process = gen_process,
};
