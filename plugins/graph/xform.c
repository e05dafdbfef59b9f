/* xform.c - the `map` processor (each frame's bytes through upper, lower or xor, into a new
 * buffer) and the `filter` processor (passes frames by size and content, counts the rest). */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "gp.h"

static const hg_port_decl io_ports[] = {
    {sizeof(hg_port_decl), HG_PORT_IN, "in", HG_TYPE_ANY, 0},
    {sizeof(hg_port_decl), HG_PORT_OUT, "out", HG_TYPE_ANY, 0},
};

/* --- map --- */

enum { MAP_UPPER, MAP_LOWER, MAP_XOR };

typedef struct map {
    gp_base b;
    uint32_t transform;
    uint8_t key;
    hg_counter *frames, *dropped;
} map;

static const char *const transforms[] = {"upper", "lower", "xor", NULL};
const char *const gp_map_keys[] = {"transform", "key", NULL};

static int map_create(const hg_host *h, const hg_config *cfg, void **out)
{
    map *m = calloc(1, sizeof *m);
    uint64_t key = 0;
    int rc = 0, has_key;
    const hg_config *kn;
    (void)cfg;
    if (m == NULL)
        return HG_ENOMEM;
    m->b.h = h;
    m->transform = UINT32_MAX;
    GP_KEEP(rc, gp_cfg_enum(h, "transform", transforms, &m->transform));
    if (rc == 0 && m->transform == UINT32_MAX)
        rc = h->cfg_error(h, h->cfg_root(h), NULL,
                          "missing required key 'transform' (upper, lower or xor)");
    has_key = h->cfg_child(h, h->cfg_root(h), "key", &kn) == 0;
    GP_KEEP(rc, gp_cfg_u64(h, "key", 0, 255, &key));
    if (rc == 0 && m->transform == MAP_XOR && !has_key)
        rc = h->cfg_error(h, h->cfg_root(h), "transform",
                          "transform xor needs 'key', a byte from 0 to 255");
    if (rc == 0 && m->transform != MAP_XOR && has_key)
        rc = h->cfg_error(h, h->cfg_root(h), "key", "'key' is used only by transform xor");
    m->key = (uint8_t)key;
    if (rc == 0)
        rc = gp_counter(h, "frames", &m->frames);
    if (rc == 0)
        rc = gp_counter(h, "dropped", &m->dropped);
    if (rc != 0) {
        free(m);
        return rc;
    }
    *out = m;
    return 0;
}

static void apply(const map *m, uint8_t *dst, const uint8_t *src, uint32_t len)
{
    uint32_t i;
    switch (m->transform) {
    case MAP_UPPER:
        for (i = 0; i < len; i++)
            dst[i] = (uint8_t)(src[i] >= 'a' && src[i] <= 'z' ? src[i] - 32 : src[i]);
        break;
    case MAP_LOWER:
        for (i = 0; i < len; i++)
            dst[i] = (uint8_t)(src[i] >= 'A' && src[i] <= 'Z' ? src[i] + 32 : src[i]);
        break;
    default:
        for (i = 0; i < len; i++)
            dst[i] = src[i] ^ m->key;
        break;
    }
}

static int map_process(void *inst, hg_proc *p)
{
    map *m = inst;
    hg_frame in[GP_BATCH], out[GP_BATCH];
    uint32_t n, i, made = 0;
    int why, rc = 0;

    n = gp_pop_batch(&m->b, p, 0, in, GP_BATCH, 0, &why);
    if (n == 0)
        return gp_idle_result(&m->b, why);
    for (i = 0; i < n; i++) {
        out[made] = in[i];
        if (in[i].len > 0) { /* a new buffer: the input's may be shared (tee) */
            hg_frame o = {.struct_size = sizeof o};
            rc = gp_alloc(&m->b, p, in[i].len, &o);
            if (rc != 0)
                break;
            apply(m, o.data, in[i].data, in[i].len);
            o.len = in[i].len;
            o.type = in[i].type;
            o.ts_ns = in[i].ts_ns;
            gp_drop(&m->b, &in[i]);
            out[made] = o;
        }
        made++;
    }
    for (uint32_t j = i; j < n; j++) /* buf_alloc failed: what is left is lost */
        gp_drop(&m->b, &in[j]);
    if (i < n)
        hg_counter_add(m->dropped, n - i);
    hg_counter_add(m->frames, made);
    why = gp_push_all(&m->b, p, 1, out, made, m->dropped);
    if (rc != 0)
        return gp_alloc_failed(&m->b, rc, "map", in[i].len);
    return why == HG_ECLOSED ? HG_PROCESS_DONE : 0;
}

const hg_processor_ops gp_map_ops = {
    .struct_size = sizeof(hg_processor_ops),
    .n_ports = 2,
    .ports = io_ports,
    .create = map_create,
    .destroy = gp_free,
    .setup = gp_base_setup,
    .process = map_process,
};

/* --- filter --- */

typedef struct filter {
    gp_base b;
    uint64_t min_size, max_size;
    const char *contains;
    size_t contains_len;
    hg_counter *passed, *filtered, *dropped;
} filter;

const char *const gp_filter_keys[] = {"min_size", "max_size", "contains", NULL};

static int filter_create(const hg_host *h, const hg_config *cfg, void **out)
{
    filter *f = calloc(1, sizeof *f);
    int rc = 0;
    (void)cfg;
    if (f == NULL)
        return HG_ENOMEM;
    f->b.h = h;
    f->max_size = UINT32_MAX;
    GP_KEEP(rc, gp_cfg_size(h, "min_size", 0, UINT32_MAX, &f->min_size));
    GP_KEEP(rc, gp_cfg_size(h, "max_size", 0, UINT32_MAX, &f->max_size));
    GP_KEEP(rc, gp_cfg_str(h, "contains", 0, &f->contains));
    if (rc == 0 && f->min_size > f->max_size)
        rc = h->cfg_error(h, h->cfg_root(h), "min_size", "'min_size' is above 'max_size'");
    if (rc == 0 && f->contains != NULL && f->contains[0] == '\0')
        rc = h->cfg_error(h, h->cfg_root(h), "contains", "'contains' must not be empty");
    f->contains_len = f->contains ? strlen(f->contains) : 0;
    if (rc == 0)
        rc = gp_counter(h, "passed", &f->passed);
    if (rc == 0)
        rc = gp_counter(h, "filtered", &f->filtered);
    if (rc == 0)
        rc = gp_counter(h, "dropped", &f->dropped);
    if (rc != 0) {
        free(f);
        return rc;
    }
    *out = f;
    return 0;
}

static int passes(const filter *f, const hg_frame *fr)
{
    if (fr->len < f->min_size || fr->len > f->max_size)
        return 0;
    return f->contains == NULL || (fr->len >= f->contains_len &&
                                   memmem(fr->data, fr->len, f->contains, f->contains_len));
}

static int filter_process(void *inst, hg_proc *p)
{
    filter *f = inst;
    hg_frame fs[GP_BATCH];
    uint32_t n, i, kept = 0;
    int why;

    n = gp_pop_batch(&f->b, p, 0, fs, GP_BATCH, 0, &why);
    if (n == 0)
        return gp_idle_result(&f->b, why);
    for (i = 0; i < n; i++) {
        if (passes(f, &fs[i]))
            fs[kept++] = fs[i];
        else
            gp_drop(&f->b, &fs[i]);
    }
    hg_counter_add(f->filtered, n - kept);
    hg_counter_add(f->passed, kept);
    why = gp_push_all(&f->b, p, 1, fs, kept, f->dropped);
    return why == HG_ECLOSED ? HG_PROCESS_DONE : 0;
}

const hg_processor_ops gp_filter_ops = {
    .struct_size = sizeof(hg_processor_ops),
    .n_ports = 2,
    .ports = io_ports,
    .create = filter_create,
    .destroy = gp_free,
    .setup = gp_base_setup,
    .process = filter_process,
};
