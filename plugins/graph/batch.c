/* batch.c - `batch` (up to N frames into one buffer, length-prefixed) and `unbatch` (a batch
 * back into its frames, which refer to the batch's buffer: no copy). The layout, little-endian:
 *     u32 count, then count records of { u32 len, u32 type, len bytes }
 * A batch frame has type GP_TYPE_BATCH; its ts_ns is the first frame's. */
#include <stdlib.h>
#include <string.h>

#include "gp.h"

#define GP_TYPE_BATCH (HG_TYPE_USER + 1)
#define REC_HDR 8u

static const hg_port_decl batch_ports[] = {
    {sizeof(hg_port_decl), HG_PORT_IN, "in", HG_TYPE_ANY, 0},
    {sizeof(hg_port_decl), HG_PORT_OUT, "out", GP_TYPE_BATCH, 0},
};
static const hg_port_decl unbatch_ports[] = {
    {sizeof(hg_port_decl), HG_PORT_IN, "in", HG_TYPE_ANY, 0},
    {sizeof(hg_port_decl), HG_PORT_OUT, "out", HG_TYPE_ANY, 0},
};
const char *const gp_batch_keys[] = {"frames", "max_bytes", "max_wait", NULL};
const char *const gp_unbatch_keys[] = {NULL};

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

typedef struct batch {
    gp_base b;
    uint64_t n, max_bytes, max_wait_ns;
    hg_frame *held;
    uint32_t n_held;
    uint64_t bytes;    /* the batch's size so far, header included */
    uint64_t first_ns; /* when the first held frame came */
    hg_counter *batches, *frames, *dropped;
} batch;

static int batch_create(const hg_host *h, const hg_config *cfg, void **out)
{
    batch *t = calloc(1, sizeof *t);
    int rc = 0;
    (void)cfg;
    if (t == NULL)
        return HG_ENOMEM;
    t->b.h = h;
    t->n = 16;
    t->max_bytes = 2048; /* the graph's default pool buffer */
    t->max_wait_ns = 10000000;
    GP_KEEP(rc, gp_cfg_u64(h, "frames", 1, 65536, &t->n));
    GP_KEEP(rc, gp_cfg_size(h, "max_bytes", 64, 1ull << 30, &t->max_bytes));
    GP_KEEP(rc, gp_cfg_duration(h, "max_wait", 3600ull * 1000000000ull, &t->max_wait_ns));
    if (rc == 0 && (t->held = calloc(t->n, sizeof *t->held)) == NULL)
        rc = HG_ENOMEM;
    if (rc == 0)
        rc = gp_counter(h, "batches", &t->batches);
    if (rc == 0)
        rc = gp_counter(h, "frames", &t->frames);
    if (rc == 0)
        rc = gp_counter(h, "dropped", &t->dropped);
    if (rc != 0) {
        free(t->held);
        free(t);
        return rc;
    }
    t->bytes = 4;
    *out = t;
    return 0;
}

static void batch_destroy(void *inst)
{
    batch *t = inst;
    free(t->held);
    free(t);
}

static void release_held(batch *t)
{
    for (uint32_t i = 0; i < t->n_held; i++)
        gp_drop(&t->b, &t->held[i]);
    t->n_held = 0;
    t->bytes = 4;
}

static void batch_teardown(void *inst, hg_proc *p)
{
    batch *t = inst;
    (void)p;
    if (t->b.g != NULL && t->n_held != 0) { /* stopped with a partial batch: it is lost */
        hg_counter_add(t->dropped, t->n_held);
        release_held(t);
    }
}

/* Writes the held frames into one buffer and pushes it. Returns 0, HG_ECLOSED, HG_ECANCELED,
 * or HG_ENOMEM (no buffer that large; the processor fails). */
static int emit(batch *t, hg_proc *p)
{
    hg_frame o = {.struct_size = sizeof o};
    uint32_t count = t->n_held, off = 4;
    int rc = gp_alloc(&t->b, p, (uint32_t)t->bytes, &o);
    if (rc != 0) {
        hg_counter_add(t->dropped, count);
        gp_alloc_failed(&t->b, rc, "batch", (uint32_t)t->bytes);
        release_held(t);
        return HG_ENOMEM;
    }
    put32(o.data, count);
    for (uint32_t i = 0; i < count; i++) {
        const hg_frame *f = &t->held[i];
        put32(o.data + off, f->len);
        put32(o.data + off + 4, f->type);
        if (f->len)
            memcpy(o.data + off + REC_HDR, f->data, f->len);
        off += REC_HDR + f->len;
    }
    o.len = off;
    o.type = GP_TYPE_BATCH;
    o.ts_ns = t->held[0].ts_ns;
    release_held(t);
    rc = gp_push(&t->b, p, 1, &o);
    if (rc == 0) {
        hg_counter_add(t->batches, 1);
        hg_counter_add(t->frames, count);
        return 0;
    }
    hg_counter_add(t->dropped, count);
    return rc == HG_EAGAIN ? 0 : rc;
}

static int batch_result(batch *t, int rc)
{
    if (rc == HG_ENOMEM) /* reported by emit */
        return HG_ENOMEM;
    return rc == HG_ECLOSED ? HG_PROCESS_DONE : 0;
}

static void hold(batch *t, const hg_frame *f)
{
    if (t->n_held == 0)
        t->first_ns = t->max_wait_ns ? t->b.h->now_ns(t->b.h) : 0; /* once per batch */
    t->held[t->n_held++] = *f;
    t->bytes += REC_HDR + f->len;
}

static int batch_process(void *inst, hg_proc *p)
{
    batch *t = inst;
    uint64_t now;
    int why = 0, rc;

    while (t->n_held < t->n) {
        hg_frame f = {.struct_size = sizeof f};
        why = t->b.g->pop(p, 0, &f, 0);
        if (why != 0)
            break;
        if (t->n_held > 0 && t->bytes + REC_HDR + f.len > t->max_bytes &&
            (rc = emit(t, p)) != 0) {
            gp_drop(&t->b, &f);
            hg_counter_add(t->dropped, 1);
            return batch_result(t, rc);
        }
        hold(t, &f);
    }
    if (t->n_held == t->n || (t->n_held > 0 && (why == HG_ECLOSED || t->max_wait_ns == 0)))
        return batch_result(t, emit(t, p));
    if (t->n_held == 0 || why != HG_EAGAIN)
        return gp_idle_result(&t->b, why);
    now = t->b.h->now_ns(t->b.h);
    if (now - t->first_ns >= t->max_wait_ns)
        return batch_result(t, emit(t, p));
    { /* wait for the next frame until the partial batch is due */
        hg_frame f = {.struct_size = sizeof f};
        uint64_t left = t->first_ns + t->max_wait_ns - now;
        why = t->b.g->pop(p, 0, &f, left < GP_SLICE_NS ? left : GP_SLICE_NS);
        if (why == 0)
            hold(t, &f);
    }
    return 0;
}

const hg_processor_ops gp_batch_ops = {
    .struct_size = sizeof(hg_processor_ops),
    .n_ports = 2,
    .ports = batch_ports,
    .create = batch_create,
    .destroy = batch_destroy,
    .setup = gp_base_setup,
    .process = batch_process,
    .teardown = batch_teardown,
};

/* --- unbatch --- */

typedef struct unbatch {
    gp_base b;
    hg_counter *batches, *frames, *malformed, *dropped;
} unbatch;

static int unbatch_create(const hg_host *h, const hg_config *cfg, void **out)
{
    unbatch *u = calloc(1, sizeof *u);
    int rc;
    (void)cfg;
    if (u == NULL)
        return HG_ENOMEM;
    u->b.h = h;
    rc = gp_counter(h, "batches", &u->batches);
    if (rc == 0)
        rc = gp_counter(h, "frames", &u->frames);
    if (rc == 0)
        rc = gp_counter(h, "malformed", &u->malformed);
    if (rc == 0)
        rc = gp_counter(h, "dropped", &u->dropped);
    if (rc != 0) {
        free(u);
        return rc;
    }
    *out = u;
    return 0;
}

/* The record count of a well-formed batch, or -1. */
static int64_t check_layout(const hg_frame *f)
{
    uint32_t count, off = 4;
    if (f->len < 4)
        return -1;
    count = get32(f->data);
    for (uint32_t i = 0; i < count; i++) {
        uint32_t len;
        if (f->len - off < REC_HDR)
            return -1;
        len = get32(f->data + off);
        if (f->len - off - REC_HDR < len)
            return -1;
        off += REC_HDR + len;
    }
    return off == f->len ? (int64_t)count : -1;
}

/* Pushes each record of f as a frame referring to f's buffer; releases f's own reference. */
static int split(unbatch *u, hg_proc *p, hg_frame *f, uint32_t count)
{
    uint32_t off = 4, i, sent = 0, lost = 0;
    int rc = 0;
    for (i = 0; i < count && (rc == 0 || rc == HG_EAGAIN); i++) {
        hg_frame o = *f;
        o.len = get32(f->data + off);
        o.type = get32(f->data + off + 4);
        o.data = f->data + off + REC_HDR;
        off += REC_HDR + o.len;
        if (o.buf != NULL)
            u->b.g->buf_ref(o.buf);
        rc = gp_push(&u->b, p, 1, &o);
        if (rc == 0)
            sent++;
        else
            lost++;
    }
    lost += count - i;
    gp_drop(&u->b, f);
    hg_counter_add(u->frames, sent);
    hg_counter_add(u->dropped, lost);
    return rc == HG_EAGAIN ? 0 : rc;
}

static int unbatch_process(void *inst, hg_proc *p)
{
    unbatch *u = inst;
    hg_frame fs[GP_BATCH];
    uint32_t n, i;
    int why, rc = 0;

    n = gp_pop_batch(&u->b, p, 0, fs, GP_BATCH, 0, &why);
    if (n == 0)
        return gp_idle_result(&u->b, why);
    for (i = 0; i < n; i++) {
        int64_t count = rc == 0 ? check_layout(&fs[i]) : -1;
        if (rc != 0) {
            gp_drop(&u->b, &fs[i]);
            hg_counter_add(u->dropped, 1);
            continue;
        }
        if (count < 0) {
            hg_logf(u->b.h, HG_LOG_WARN, "unbatch: a frame of %u bytes is not a batch; dropped",
                    fs[i].len);
            gp_drop(&u->b, &fs[i]);
            hg_counter_add(u->malformed, 1);
            continue;
        }
        hg_counter_add(u->batches, 1);
        rc = split(u, p, &fs[i], (uint32_t)count);
    }
    return rc == HG_ECLOSED ? HG_PROCESS_DONE : 0;
}

const hg_processor_ops gp_unbatch_ops = {
    .struct_size = sizeof(hg_processor_ops),
    .n_ports = 2,
    .ports = unbatch_ports,
    .create = unbatch_create,
    .destroy = gp_free,
    .setup = gp_base_setup,
    .process = unbatch_process,
};
