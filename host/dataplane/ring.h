/* ring.h - a bounded single-producer single-consumer ring of pointer-sized items (frame
 * references): power-of-two storage, each side's index on its own cache line beside a cached copy
 * of the other side's, single and batch operations, no locks and no system calls. */
#ifndef HG_RING_H
#define HG_RING_H

#include <stddef.h>
#include <stdint.h>

#include <hangar/status.h>

#ifndef HG__CACHE_LINE
#define HG__CACHE_LINE 64
#endif

/* The ring. Exactly one producer thread and one consumer thread at a time (they may change
 * between uses when the handover is synchronized). Indices run free (64-bit, never wrap in
 * practice); slot = index & mask. Items are opaque pointers; NULL is a valid item. */
typedef struct hg__ring {
    /* producer's line: its index (read by the consumer) and its private copy of the consumer's */
    _Alignas(HG__CACHE_LINE) uint64_t tail;
    uint64_t head_cache;
    /* consumer's line */
    _Alignas(HG__CACHE_LINE) uint64_t head;
    uint64_t tail_cache;
    /* read-only after init */
    _Alignas(HG__CACHE_LINE) void **slots;
    uint64_t mask;
    uint32_t capacity; /* items it holds at most: any value >= 1, storage is the next power of 2 */
} hg__ring;

/* Creates a ring that holds up to capacity items (1 .. 2^31). Returns: 0, HG_EINVAL (capacity out
 * of range), HG_ENOMEM. Owned by the caller: hg__ring_destroy. [any-thread] */
int hg__ring_create(uint32_t capacity, hg__ring **out);

/* Frees the ring; items still in it are the caller's to have taken first. [any-thread, once both
 * sides stopped] */
void hg__ring_destroy(hg__ring *r);

/* Appends one item. Returns: 0, HG_EAGAIN (full). [producer, never blocks] */
static inline int hg__ring_try_push(hg__ring *r, void *item);

/* Appends up to n items in order, published at once. Returns: how many (0 when full).
 * [producer, never blocks] */
static inline uint32_t hg__ring_push_n(hg__ring *r, void *const *items, uint32_t n);

/* Takes the oldest item. Returns: 0, HG_EAGAIN (empty). [consumer, never blocks] */
static inline int hg__ring_try_pop(hg__ring *r, void **out);

/* Takes up to max items, oldest first. Returns: how many (0 when empty). [consumer, never blocks] */
static inline uint32_t hg__ring_pop_n(hg__ring *r, void **out, uint32_t max);

/* Two-phase forms, for a caller that counts items between claiming and publishing them (the
 * link does, so its counters never run ahead of the ring). */

/* Free slots the producer may fill now; they stay free until it fills them. [producer, never
 * blocks] */
static inline uint32_t hg__ring_room(hg__ring *r);

/* Copies up to max of the oldest items without taking them. Returns: how many. [consumer, never
 * blocks] */
static inline uint32_t hg__ring_peek_n(hg__ring *r, void **out, uint32_t max);

/* Takes the n oldest items (n at most what the last peek returned), freeing their slots for the
 * producer. [consumer, never blocks] */
static inline void hg__ring_release_n(hg__ring *r, uint32_t n);

/* Evictable mode, for a drop-oldest policy: the producer may take the oldest item when the ring is
 * full (hg__ring_evict), so the consumer must take items with hg__ring_pop_n_shared, which claims
 * them with a compare-and-swap on head instead of a store; never mix it with try_pop/pop_n on
 * the same ring. */

/* Takes up to max items, oldest first, racing a producer's hg__ring_evict. Returns: how many.
 * [consumer, never blocks] */
uint32_t hg__ring_pop_n_shared(hg__ring *r, void **out, uint32_t max);

/* Takes the oldest item if the ring is full, for the producer to drop. Returns: 0 (*out is the
 * producer's now), HG_EAGAIN (not full, or the consumer took it first: there is room).
 * [producer, never blocks] */
int hg__ring_evict(hg__ring *r, void **out);

/* Items in the ring at the moment of the call (exact for a quiescent ring). [any-thread, never
 * blocks] */
uint32_t hg__ring_count(const hg__ring *r);

/* The consumer's count: items it knows are there beyond head (its cached view of tail, at most
 * the true count). [consumer, never blocks] */
uint32_t hg__ring_consumer_view(const hg__ring *r);

/* --- the fast path, inline like ck_ring's (a call per item costs more than the operation): each
 * is a cached-index check, the slot copies and one release store --- */

/* Room from tail t, refreshing the cached head when it shows less than want. */
static inline uint64_t hg__ring_room_(hg__ring *r, uint64_t t, uint64_t want)
{
    uint64_t room = r->capacity - (t - r->head_cache);
    if (room < want) {
        r->head_cache = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
        room = r->capacity - (t - r->head_cache);
    }
    return room;
}

/* Items from head h, refreshing the cached tail when it shows less than want (signed: in the
 * evictable mode head may pass a stale cached tail). */
static inline uint64_t hg__ring_avail_(hg__ring *r, uint64_t h, uint64_t want)
{
    int64_t a = (int64_t)(r->tail_cache - h);
    if (a < (int64_t)want) {
        r->tail_cache = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
        a = (int64_t)(r->tail_cache - h);
    }
    return a > 0 ? (uint64_t)a : 0;
}

static inline int hg__ring_try_push(hg__ring *r, void *item)
{
    uint64_t t = r->tail; /* only this thread writes it */
    if (hg__ring_room_(r, t, 1) == 0)
        return HG_EAGAIN;
    __atomic_store_n(&r->slots[t & r->mask], item, __ATOMIC_RELAXED);
    __atomic_store_n(&r->tail, t + 1, __ATOMIC_RELEASE);
    return 0;
}

static inline uint32_t hg__ring_push_n(hg__ring *r, void *const *items, uint32_t n)
{
    uint64_t t = r->tail, k = hg__ring_room_(r, t, n);
    if (k > n)
        k = n;
    for (uint64_t i = 0; i < k; i++)
        __atomic_store_n(&r->slots[(t + i) & r->mask], items[i], __ATOMIC_RELAXED);
    if (k > 0)
        __atomic_store_n(&r->tail, t + k, __ATOMIC_RELEASE);
    return (uint32_t)k;
}

static inline int hg__ring_try_pop(hg__ring *r, void **out)
{
    uint64_t h = r->head; /* only this thread writes it (outside the evictable mode) */
    if (hg__ring_avail_(r, h, 1) == 0)
        return HG_EAGAIN;
    *out = __atomic_load_n(&r->slots[h & r->mask], __ATOMIC_RELAXED);
    __atomic_store_n(&r->head, h + 1, __ATOMIC_RELEASE);
    return 0;
}

static inline uint32_t hg__ring_peek_n(hg__ring *r, void **out, uint32_t max)
{
    uint64_t h = r->head, k = hg__ring_avail_(r, h, max);
    if (k > max)
        k = max;
    for (uint64_t i = 0; i < k; i++)
        out[i] = __atomic_load_n(&r->slots[(h + i) & r->mask], __ATOMIC_RELAXED);
    return (uint32_t)k;
}

static inline void hg__ring_release_n(hg__ring *r, uint32_t n)
{
    if (n > 0)
        __atomic_store_n(&r->head, r->head + n, __ATOMIC_RELEASE);
}

static inline uint32_t hg__ring_pop_n(hg__ring *r, void **out, uint32_t max)
{
    uint32_t k = hg__ring_peek_n(r, out, max);
    hg__ring_release_n(r, k);
    return k;
}

static inline uint32_t hg__ring_room(hg__ring *r)
{
    return (uint32_t)hg__ring_room_(r, r->tail, r->capacity);
}

static inline uint32_t hg__ring_capacity(const hg__ring *r)
{
    return r->capacity;
}

#endif
