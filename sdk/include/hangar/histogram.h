/* histogram.h - the optional histogram service, id "hangar.histogram/1" (get_extension): an
 * engine of any kind registers a histogram with fixed bucket bounds, the host owns its cells, the
 * engine adds observations with the inline helpers below (relaxed atomics, no call into the
 * host), and the host reads the cells for `metrics` (Prometheus _bucket, _sum and _count)
 * without calling into the engine, like a counter. A host without the service returns NULL from
 * get_extension: the engine then keeps its histogram to itself. */
#ifndef HANGAR_HISTOGRAM_H
#define HANGAR_HISTOGRAM_H

#include <stdint.h>

#include "host.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HG_HISTOGRAM_EXT "hangar.histogram/1"
/* The most bounds a histogram may have (the +Inf bucket not counted). */
#define HG_HISTOGRAM_MAX_BOUNDS 64

/* A histogram's cells, owned by the host; valid until the instance's destroy returns. The
 * engine writes only through the helpers below; the host only reads. */
typedef struct hg_histogram {
    uint32_t struct_size;
    uint32_t n_bounds;       /* bucket upper bounds, at least 1 */
    const uint64_t *bounds;  /* strictly ascending, n_bounds of them (the host's copy) */
    uint64_t *counts;        /* n_bounds + 1 cells: counts[i] holds the observations v with
                              * bounds[i-1] < v <= bounds[i]; counts[n_bounds] those above the
                              * last bound. Not cumulative: the host adds them up on export. */
    uint64_t sum;            /* the sum of the observed values (wraps at 2^64) */
} hg_histogram;

/* The service table get_extension(h, HG_HISTOGRAM_EXT) returns. */
typedef struct hg_histogram_api {
    uint32_t struct_size;
    /* Registers (or finds) histogram `name` ([a-z0-9_]+, at most 63 bytes; a name no counter or
     * fact of the instance has). Observations are integers in the engine's unit (nanoseconds,
     * bytes); `scale` turns them into the exported unit (1e-9 for nanoseconds exported as
     * seconds: name it "..._seconds"), 0 means 1. bounds (n_bounds of them, 1 to
     * HG_HISTOGRAM_MAX_BOUNDS, strictly ascending) are copied. A name registered already gives
     * the cells already there when the bounds and scale are the same. *out lives until destroy.
     * Returns: 0; HG_EINVAL (a bad name, bounds not ascending, too many or none, out NULL);
     * HG_EEXIST (a counter or fact has that name, or the histogram exists with other bounds);
     * HG_ENOMEM. [control-thread] */
    int (*histogram)(const hg_host *h, const char *name, const uint64_t *bounds,
                     uint32_t n_bounds, double scale, hg_histogram **out);
} hg_histogram_api;

/* The bucket v falls in: the first i with v <= bounds[i], or n_bounds. [any-thread, never
 * blocks] */
static inline uint32_t hg_histogram_bucket(const hg_histogram *hi, uint64_t v)
{
    uint32_t lo = 0, up = hi->n_bounds;
    while (lo < up) {
        uint32_t mid = lo + (up - lo) / 2;
        if (v <= hi->bounds[mid])
            up = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* Adds n observations that all fall in v's bucket (a pre-aggregated bucket of the engine's
 * own: pass its upper end), without touching the sum. [any-thread, never blocks] */
static inline void hg_histogram_add(hg_histogram *hi, uint64_t v, uint64_t n)
{
    __atomic_fetch_add(&hi->counts[hg_histogram_bucket(hi, v)], n, __ATOMIC_RELAXED);
}

/* Adds to the sum of the observed values. [any-thread, never blocks] */
static inline void hg_histogram_add_sum(hg_histogram *hi, uint64_t s)
{
    __atomic_fetch_add(&hi->sum, s, __ATOMIC_RELAXED);
}

/* One observation: its bucket and the sum. [any-thread, never blocks] */
static inline void hg_histogram_observe(hg_histogram *hi, uint64_t v)
{
    hg_histogram_add(hi, v, 1);
    hg_histogram_add_sum(hi, v);
}

#ifdef __cplusplus
}
#endif

#endif /* HANGAR_HISTOGRAM_H */
