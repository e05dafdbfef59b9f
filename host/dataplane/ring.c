/* ring.c - the SPSC ring: each side re-reads the other side's index only when its cached copy
 * says full (producer) or empty (consumer), so in steady state each side touches its own line and
 * the slots. Slots are accessed with relaxed atomics (plain moves) so the evictable mode, where
 * the consumer may read a slot the producer is reusing, is race-free. */
#include <stdlib.h>

#include <hangar/status.h>

#include "ring.h"

#define LD(p, mo) __atomic_load_n((p), __ATOMIC_##mo)
#define ST(p, v, mo) __atomic_store_n((p), (v), __ATOMIC_##mo)

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
    r->slots = aligned_alloc(HG__CACHE_LINE, (size_t)(size * sizeof(void *)));
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

/* Room the producer may fill from tail t: uses the cached head, refreshing it when short. */
static inline uint64_t room(hg__ring *r, uint64_t t, uint64_t want)
{
    uint64_t free_ = r->capacity - (t - r->head_cache);
    if (free_ < want) {
        r->head_cache = LD(&r->head, ACQUIRE);
        free_ = r->capacity - (t - r->head_cache);
    }
    return free_;
}

int hg__ring_try_push(hg__ring *r, void *item)
{
    uint64_t t = r->tail; /* only this thread writes it */
    if (room(r, t, 1) == 0)
        return HG_EAGAIN;
    ST(&r->slots[t & r->mask], item, RELAXED);
    ST(&r->tail, t + 1, RELEASE);
    return 0;
}

uint32_t hg__ring_push_n(hg__ring *r, void *const *items, uint32_t n)
{
    uint64_t t = r->tail, k = room(r, t, n);
    if (k > n)
        k = n;
    for (uint64_t i = 0; i < k; i++)
        ST(&r->slots[(t + i) & r->mask], items[i], RELAXED);
    if (k > 0)
        ST(&r->tail, t + k, RELEASE);
    return (uint32_t)k;
}

/* Items the consumer may take from head h: uses the cached tail, refreshing it when short. */
static inline uint64_t avail(hg__ring *r, uint64_t h, uint64_t want)
{
    int64_t a = (int64_t)(r->tail_cache - h);
    if (a < (int64_t)want) {
        r->tail_cache = LD(&r->tail, ACQUIRE);
        a = (int64_t)(r->tail_cache - h);
    }
    return a > 0 ? (uint64_t)a : 0;
}

int hg__ring_try_pop(hg__ring *r, void **out)
{
    uint64_t h = r->head;
    if (avail(r, h, 1) == 0)
        return HG_EAGAIN;
    *out = LD(&r->slots[h & r->mask], RELAXED);
    ST(&r->head, h + 1, RELEASE);
    return 0;
}

uint32_t hg__ring_peek_n(hg__ring *r, void **out, uint32_t max)
{
    uint64_t h = r->head, k = avail(r, h, max);
    if (k > max)
        k = max;
    for (uint64_t i = 0; i < k; i++)
        out[i] = LD(&r->slots[(h + i) & r->mask], RELAXED);
    return (uint32_t)k;
}

void hg__ring_release_n(hg__ring *r, uint32_t n)
{
    if (n > 0)
        ST(&r->head, r->head + n, RELEASE);
}

uint32_t hg__ring_pop_n(hg__ring *r, void **out, uint32_t max)
{
    uint32_t k = hg__ring_peek_n(r, out, max);
    hg__ring_release_n(r, k);
    return k;
}

uint32_t hg__ring_room(hg__ring *r)
{
    return (uint32_t)room(r, r->tail, r->capacity);
}

uint32_t hg__ring_pop_n_shared(hg__ring *r, void **out, uint32_t max)
{
    uint64_t h = LD(&r->head, ACQUIRE), k;
    for (;;) {
        k = avail(r, h, max);
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
