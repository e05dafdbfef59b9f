/* ring.c - the SPSC ring: each side re-reads the other side's index only when its cached copy
 * says full (producer) or empty (consumer), so in steady state each side touches its own line and
 * the slots. Slots are accessed with relaxed atomics (plain moves) so the evictable mode, where
 * the consumer may read a slot the producer is reusing, is race-free. */
#include <stdlib.h>

#include <hangar/status.h>

#include "ring.h"

#define LD(p, mo) __atomic_load_n((p), __ATOMIC_##mo)

int hg__ring_create(uint32_t capacity, hg__ring **out)
{
    hg__ring *r;
    uint64_t size = 1;
    if (out == NULL || capacity == 0 || capacity > (1u << 31))
        return HG_EINVAL;
    while (size < capacity)
        size <<= 1;
    r = aligned_alloc(HG__CACHE_LINE, sizeof *r);
    if (r == NULL)
        return HG_ENOMEM;
    *r = (hg__ring){0};
    /* aligned_alloc wants a multiple of the alignment: 8 slots at least */
    r->slots = aligned_alloc(HG__CACHE_LINE, (size_t)((size < 8 ? 8 : size) * sizeof(void *)));
    if (r->slots == NULL) {
        free(r);
        return HG_ENOMEM;
    }
    r->mask = size - 1;
    r->capacity = capacity;
    *out = r;
    return 0;
}

void hg__ring_destroy(hg__ring *r)
{
    if (r == NULL)
        return;
    free(r->slots);
    free(r);
}

uint32_t hg__ring_pop_n_shared(hg__ring *r, void **out, uint32_t max)
{
    uint64_t h = LD(&r->head, ACQUIRE), k;
    for (;;) {
        k = hg__ring_avail_(r, h, max);
        if (k > max)
            k = max;
        if (k == 0)
            return 0;
        for (uint64_t i = 0; i < k; i++)
            out[i] = LD(&r->slots[(h + i) & r->mask], RELAXED);
        /* Claims them unless the producer evicted the oldest meanwhile (then h is reloaded and
         * what was read is the producer's). */
        if (__atomic_compare_exchange_n(&r->head, &h, h + k, 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE))
            return (uint32_t)k;
    }
}

int hg__ring_evict(hg__ring *r, void **out)
{
    uint64_t t = r->tail, h = LD(&r->head, ACQUIRE);
    void *item;
    if (t - h < r->capacity)
        return HG_EAGAIN;
    item = LD(&r->slots[h & r->mask], RELAXED);
    if (!__atomic_compare_exchange_n(&r->head, &h, h + 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return HG_EAGAIN; /* the consumer took it: there is room now */
    r->head_cache = h + 1;
    *out = item;
    return 0;
}

uint32_t hg__ring_count(const hg__ring *r)
{
    uint64_t h = LD(&r->head, ACQUIRE), t = LD(&r->tail, ACQUIRE);
    return t > h ? (uint32_t)(t - h) : 0;
}

uint32_t hg__ring_consumer_view(const hg__ring *r)
{
    uint64_t h = LD(&r->head, RELAXED);
    return r->tail_cache > h ? (uint32_t)(r->tail_cache - h) : 0;
}
