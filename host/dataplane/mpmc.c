/* mpmc.c - the bounded MPMC queue (per-slot sequence numbers). A position p maps to slot
 * p & mask; its seq goes p (free) -> p + 1 (filled) -> p + capacity (free for the next lap). */
#include <stdlib.h>

#include <hangar/status.h>

#include "mpmc.h"

#define LD(p, mo) __atomic_load_n((p), __ATOMIC_##mo)
#define ST(p, v, mo) __atomic_store_n((p), (v), __ATOMIC_##mo)

int hg__mpmc_create(uint32_t capacity, hg__mpmc **out)
{
    hg__mpmc *q;
    uint64_t size = 1;
    if (out == NULL || capacity == 0 || capacity > (1u << 31))
        return HG_EINVAL;
    while (size < capacity)
        size <<= 1;
    q = aligned_alloc(HG__CACHE_LINE, sizeof *q);
    if (q == NULL)
        return HG_ENOMEM;
    *q = (hg__mpmc){0};
    /* aligned_alloc wants a multiple of the alignment: 4 slots at least */
    q->slots = aligned_alloc(HG__CACHE_LINE, (size_t)((size < 4 ? 4 : size) * sizeof *q->slots));
    if (q->slots == NULL) {
        free(q);
        return HG_ENOMEM;
    }
    for (uint64_t i = 0; i < size; i++) {
        q->slots[i].seq = i;
        q->slots[i].item = NULL;
    }
    q->mask = size - 1;
    q->capacity = (uint32_t)size;
    *out = q;
    return 0;
}

void hg__mpmc_destroy(hg__mpmc *q)
{
    if (q == NULL)
        return;
    free(q->slots);
    free(q);
}

/* How many of the n slots from position pos are in state pos + i + off (off 0: free for a
 * producer, 1: filled for a consumer), stopping at the first that is not. */
static inline uint32_t ready_run(hg__mpmc *q, uint64_t pos, uint32_t n, uint64_t off)
{
    uint32_t k = 0;
    while (k < n && LD(&q->slots[(pos + k) & q->mask].seq, ACQUIRE) == pos + k + off)
        k++;
    return k;
}

/* Claims up to n positions on *ctr whose slots are in state pos + i + off. Returns how many and
 * the first position in *pos_out. */
static uint32_t claim(hg__mpmc *q, uint64_t *ctr, uint32_t n, uint64_t off, uint64_t *pos_out)
{
    uint64_t pos = LD(ctr, RELAXED);
    for (;;) {
        hg__mpmc_slot *s = &q->slots[pos & q->mask];
        int64_t dif = (int64_t)(LD(&s->seq, ACQUIRE) - (pos + off));
        if (dif == 0) {
            uint32_t k = n == 1 ? 1 : ready_run(q, pos, n, off);
            /* A slot in the run stays in its state until its position is claimed: a
             * successful claim owns every one of them. */
            if (__atomic_compare_exchange_n(ctr, &pos, pos + k, 1, __ATOMIC_RELAXED,
                                            __ATOMIC_RELAXED)) {
                *pos_out = pos;
                return k;
            }
        } else if (dif < 0) {
            return 0; /* full (producers) or empty (consumers) */
        } else {
            pos = LD(ctr, RELAXED); /* another thread claimed pos: catch up */
        }
    }
}

int hg__mpmc_try_push(hg__mpmc *q, void *item)
{
    return hg__mpmc_push_n(q, &item, 1) == 1 ? 0 : HG_EAGAIN;
}

int hg__mpmc_try_pop(hg__mpmc *q, void **out)
{
    return hg__mpmc_pop_n(q, out, 1) == 1 ? 0 : HG_EAGAIN;
}

uint32_t hg__mpmc_claim_push(hg__mpmc *q, uint32_t n, uint64_t *pos)
{
    return n == 0 ? 0 : claim(q, &q->enq, n, 0, pos);
}

void hg__mpmc_commit_push(hg__mpmc *q, uint64_t pos, void *const *items, uint32_t k)
{
    for (uint32_t i = 0; i < k; i++) {
        hg__mpmc_slot *s = &q->slots[(pos + i) & q->mask];
        ST(&s->item, items[i], RELAXED);
        ST(&s->seq, pos + i + 1, RELEASE);
    }
}

uint32_t hg__mpmc_claim_pop(hg__mpmc *q, void **out, uint32_t max, uint64_t *pos)
{
    uint32_t k = max == 0 ? 0 : claim(q, &q->deq, max, 1, pos);
    for (uint32_t i = 0; i < k; i++)
        out[i] = LD(&q->slots[(*pos + i) & q->mask].item, RELAXED);
    return k;
}

void hg__mpmc_commit_pop(hg__mpmc *q, uint64_t pos, uint32_t k)
{
    uint64_t lap = q->mask + 1;
    for (uint32_t i = 0; i < k; i++)
        ST(&q->slots[(pos + i) & q->mask].seq, pos + i + lap, RELEASE);
}

uint32_t hg__mpmc_push_n(hg__mpmc *q, void *const *items, uint32_t n)
{
    uint64_t pos;
    uint32_t k = hg__mpmc_claim_push(q, n, &pos);
    hg__mpmc_commit_push(q, pos, items, k);
    return k;
}

uint32_t hg__mpmc_pop_n(hg__mpmc *q, void **out, uint32_t max)
{
    uint64_t pos;
    uint32_t k = hg__mpmc_claim_pop(q, out, max, &pos);
    hg__mpmc_commit_pop(q, pos, k);
    return k;
}

uint32_t hg__mpmc_count(const hg__mpmc *q)
{
    uint64_t d = LD(&q->deq, ACQUIRE), e = LD(&q->enq, ACQUIRE);
    if (e <= d)
        return 0;
    return e - d > q->capacity ? q->capacity : (uint32_t)(e - d);
}
