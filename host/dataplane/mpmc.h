/* mpmc.h - a bounded multi-producer multi-consumer queue of pointer-sized items: one sequence
 * number per slot says whose turn it is, producers and consumers each claim positions with one
 * compare-and-swap on their own cache line; no locks, a stalled thread blocks only its own slot. */
#ifndef HG_MPMC_H
#define HG_MPMC_H

#include <stdint.h>

#include "ring.h"

/* A slot: seq == position when free for the producer of that position, position + 1 when it
 * holds that position's item. */
typedef struct hg__mpmc_slot {
    uint64_t seq;
    void *item;
} hg__mpmc_slot;

typedef struct hg__mpmc {
    _Alignas(HG__CACHE_LINE) uint64_t enq; /* next position to fill */
    _Alignas(HG__CACHE_LINE) uint64_t deq; /* next position to take */
    _Alignas(HG__CACHE_LINE) hg__mpmc_slot *slots;
    uint64_t mask;
    uint32_t capacity; /* a power of two */
} hg__mpmc;

/* Creates a queue of capacity slots, rounded up to a power of two (1 .. 2^31).
 * Returns: 0, HG_EINVAL, HG_ENOMEM. Owned by the caller: hg__mpmc_destroy. [any-thread] */
int hg__mpmc_create(uint32_t capacity, hg__mpmc **out);

/* Frees the queue (items left in it are the caller's to have taken). [any-thread, once unused] */
void hg__mpmc_destroy(hg__mpmc *q);

/* Appends one item. Returns: 0, HG_EAGAIN (full). [any-thread, never blocks] */
int hg__mpmc_try_push(hg__mpmc *q, void *item);

/* Takes the oldest item. Returns: 0, HG_EAGAIN (empty). [any-thread, never blocks] */
int hg__mpmc_try_pop(hg__mpmc *q, void **out);

/* Appends up to n items as one claim of consecutive positions (they stay in order, not
 * interleaved with other producers'). Returns: how many (0 when full). [any-thread, never
 * blocks] */
uint32_t hg__mpmc_push_n(hg__mpmc *q, void *const *items, uint32_t n);

/* Takes up to max consecutive items. Returns: how many (0 when empty). [any-thread, never
 * blocks] */
uint32_t hg__mpmc_pop_n(hg__mpmc *q, void **out, uint32_t max);

/* Two-phase forms, for a caller that counts items between claiming positions and publishing
 * them (the link does). A claimed position must be committed soon: the threads behind it on the
 * other side wait for it. */

/* Claims up to n consecutive free positions. Returns: how many (0 when full), the first in *pos.
 * Fill them with hg__mpmc_commit_push. [any-thread, never blocks] */
uint32_t hg__mpmc_claim_push(hg__mpmc *q, uint32_t n, uint64_t *pos);
void hg__mpmc_commit_push(hg__mpmc *q, uint64_t pos, void *const *items, uint32_t k);

/* Claims up to max consecutive filled positions and copies their items into out. Returns: how
 * many (0 when empty), the first in *pos. Free them with hg__mpmc_commit_pop. [any-thread, never
 * blocks] */
uint32_t hg__mpmc_claim_pop(hg__mpmc *q, void **out, uint32_t max, uint64_t *pos);
void hg__mpmc_commit_pop(hg__mpmc *q, uint64_t pos, uint32_t k);

/* Items claimed by producers and not yet claimed by consumers, at the moment of the call (an
 * estimate under concurrency, clamped to 0 .. capacity). [any-thread, never blocks] */
uint32_t hg__mpmc_count(const hg__mpmc *q);

static inline uint32_t hg__mpmc_capacity(const hg__mpmc *q)
{
    return q->capacity;
}

#endif
