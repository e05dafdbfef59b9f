/* instance_hist.c - the "hangar.histogram/1" service (sdk histogram.h): histograms an engine
 * registers on its instance, whose cells the host owns and reads for `metrics`; and the typed
 * walk over the counters that `metrics` needs (counters JSON has no types). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "instance_priv.h"

static int hist_name_ok(const char *s)
{
    if (s == NULL || *s == '\0' || strlen(s) > 63)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

static int bounds_ok(const uint64_t *bounds, uint32_t n)
{
    if (bounds == NULL || n == 0 || n > HG_HISTOGRAM_MAX_BOUNDS)
        return 0;
    for (uint32_t i = 1; i < n; i++)
        if (bounds[i] <= bounds[i - 1])
            return 0;
    return 1;
}

/* 1 when a counter, a fact or a host key of the instance has this name. Under in->mu. */
static int name_taken(const hg__inst *in, const char *name)
{
    for (uint32_t i = 0; i < in->n_counters; i++)
        if (strcmp(in->counters[i].name, name) == 0)
            return 1;
    for (uint32_t i = 0; i < in->n_info; i++)
        if (strcmp(in->info[i].key, name) == 0)
            return 1;
    for (uint32_t i = 0; hg__inst_host_keys[i] != NULL; i++)
        if (strcmp(hg__inst_host_keys[i], name) == 0)
            return 1;
    return 0;
}

/* One allocation: the cell, then its bounds, then its counts. */
static hg_histogram *cell_new(const uint64_t *bounds, uint32_t n)
{
    size_t sz = sizeof(hg_histogram) + n * sizeof(uint64_t) + (n + 1) * sizeof(uint64_t);
    hg_histogram *c = calloc(1, sz);
    uint64_t *b;
    if (c == NULL)
        return NULL;
    b = (uint64_t *)(c + 1);
    memcpy(b, bounds, n * sizeof *b);
    c->struct_size = sizeof *c;
    c->n_bounds = n;
    c->bounds = b;
    c->counts = b + n;
    return c;
}

/* The existing histogram of that name: the same cells when bounds and scale match. */
static int reuse(const hist_entry *e, const uint64_t *bounds, uint32_t n, double scale,
                 hg_histogram **out)
{
    if (e->cell->n_bounds != n || e->scale != scale ||
        memcmp(e->cell->bounds, bounds, n * sizeof *bounds) != 0)
        return HG_EEXIST;
    *out = e->cell;
    return 0;
}

static int add_hist(hg__inst *in, const char *name, const uint64_t *bounds, uint32_t n,
                    double scale, hg_histogram **out)
{
    hist_entry *e;
    if (in->n_hists == in->cap_hists) {
        uint32_t nc = in->cap_hists ? in->cap_hists * 2 : 4;
        hist_entry *p = realloc(in->hists, nc * sizeof *p);
        if (p == NULL)
            return HG_ENOMEM;
        in->hists = p;
        in->cap_hists = nc;
    }
    e = &in->hists[in->n_hists];
    e->name = strdup(name);
    e->cell = cell_new(bounds, n);
    e->scale = scale;
    if (e->name == NULL || e->cell == NULL) {
        free(e->name);
        free(e->cell);
        return HG_ENOMEM;
    }
    in->n_hists++;
    *out = e->cell;
    return 0;
}

static int svc_histogram(const hg_host *h, const char *name, const uint64_t *bounds,
                         uint32_t n_bounds, double scale, hg_histogram **out)
{
    hg__inst *in = (hg__inst *)h->host_data;
    int rc;
    HG__CONTROL_ONLY(in);
    if (!hist_name_ok(name) || !bounds_ok(bounds, n_bounds) || out == NULL || !(scale >= 0))
        return HG_EINVAL;
    if (scale == 0)
        scale = 1;
    pthread_mutex_lock(&in->mu);
    for (uint32_t i = 0; i < in->n_hists; i++) {
        if (strcmp(in->hists[i].name, name) == 0) {
            rc = reuse(&in->hists[i], bounds, n_bounds, scale, out);
            goto out;
        }
    }
    rc = name_taken(in, name) ? HG_EEXIST : add_hist(in, name, bounds, n_bounds, scale, out);
out:
    pthread_mutex_unlock(&in->mu);
    return rc;
}

static const hg_histogram_api hist_api = {
    .struct_size = sizeof(hg_histogram_api),
    .histogram = svc_histogram,
};

const void *hg__inst_hist_api(void)
{
    return &hist_api;
}

void hg__inst_hists_free(hg__inst *in)
{
    for (uint32_t i = 0; i < in->n_hists; i++) {
        free(in->hists[i].name);
        free(in->hists[i].cell);
    }
    free(in->hists);
    in->hists = NULL;
    in->n_hists = in->cap_hists = 0;
}

void hg__inst_hist_each(hg__inst *in, void (*fn)(void *ud, const char *name, double scale,
                                                 const hg_histogram *cell), void *ud)
{
    pthread_mutex_lock(&in->mu);
    for (uint32_t i = 0; i < in->n_hists; i++)
        fn(ud, in->hists[i].name, in->hists[i].scale, in->hists[i].cell);
    pthread_mutex_unlock(&in->mu);
}

void hg__inst_counter_each(hg__inst *in, void (*fn)(void *ud, const char *name, uint32_t type,
                                                    uint64_t value), void *ud)
{
    pthread_mutex_lock(&in->mu);
    for (uint32_t i = 0; i < in->n_counters; i++)
        fn(ud, in->counters[i].name, in->counters[i].type, hg_counter_get(in->counters[i].cell));
    pthread_mutex_unlock(&in->mu);
}
