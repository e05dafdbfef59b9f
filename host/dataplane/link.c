/* link.c - the channel: the queue underneath (SPSC ring, evictable for drop-oldest, or MPMC),
 * the counters (see link.h for why they add up), and the waits (park on a futex; the other side,
 * close and the cancel token wake it). */
#include <stdlib.h>

#include <hangar/status.h>

#include "cancel.h"
#include "link.h"
#include "mpmc.h"
#include "ring.h"

#define LD(p, mo) __atomic_load_n((p), __ATOMIC_##mo)

enum { CLOSED = 1, DISCARDED = 2 };
enum { SPIN = 64, BATCH = 32 };

struct hg__link {
    /* sender-side counts */
    _Alignas(HG__CACHE_LINE) uint64_t in; /* frames that entered the queue */
    uint64_t rejected;                    /* drop-newest drops */
    uint64_t evicted_s;                   /* drop-oldest evictions */
    uint64_t refused;
    /* receiver-side counts */
    _Alignas(HG__CACHE_LINE) uint64_t out; /* delivered */
    uint64_t evicted_r;                    /* discarded */
    /* shared, rarely written */
    _Alignas(HG__CACHE_LINE) uint32_t closed;
    uint32_t high_water;
    uint32_t policy, capacity, multi;
    hg__ring *ring;
    hg__mpmc *mpmc;
    void (*release)(void *item, void *ud);
    void *release_ud;
    _Alignas(HG__CACHE_LINE) hg__park data;
    _Alignas(HG__CACHE_LINE) hg__park space;
};

/* Adds to a counter: a plain store when this side has one thread, an atomic add otherwise.
 * Release: a snapshot that reads the new value also sees what happened before it. */
static inline void count(const hg__link *l, uint64_t *c, uint64_t n)
{
    if (l->multi)
        __atomic_fetch_add(c, n, __ATOMIC_RELEASE);
    else
        __atomic_store_n(c, LD(c, RELAXED) + n, __ATOMIC_RELEASE);
}

/* Raises the high-water mark to q (at most the capacity: a sample taken while a receiver holds
 * a claimed batch may count it twice). */
static void note_high(hg__link *l, uint32_t q)
{
    uint32_t cur = LD(&l->high_water, RELAXED);
    if (q > l->capacity)
        q = l->capacity;
    while (q > cur && !__atomic_compare_exchange_n(&l->high_water, &cur, q, 1,
                                                   __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
}

int hg__link_create(const hg__link_opts *o, hg__link **out)
{
    hg__link *l;
    int rc;
    uint32_t policy = o != NULL && o->policy != 0 ? o->policy : HG_POLICY_BLOCK;
    if (o == NULL || out == NULL || (o->flags & ~(uint32_t)HG__LINK_MPMC) != 0 ||
        (policy != HG_POLICY_BLOCK && policy != HG_POLICY_DROP_NEWEST &&
         policy != HG_POLICY_DROP_OLDEST))
        return HG_EINVAL;
    l = aligned_alloc(HG__CACHE_LINE, sizeof *l);
    if (l == NULL)
        return HG_ENOMEM;
    *l = (hg__link){0};
    l->policy = policy;
    l->multi = (o->flags & HG__LINK_MPMC) != 0;
    l->release = o->release;
    l->release_ud = o->release_ud;
    hg__park_init(&l->data);
    hg__park_init(&l->space);
    rc = l->multi ? hg__mpmc_create(o->capacity, &l->mpmc) : hg__ring_create(o->capacity, &l->ring);
    if (rc != 0) {
        free(l);
        return rc;
    }
    l->capacity = l->multi ? hg__mpmc_capacity(l->mpmc) : hg__ring_capacity(l->ring);
    *out = l;
    return 0;
}

static void drop(hg__link *l, void *item)
{
    if (l->release != NULL)
        l->release(item, l->release_ud);
}

/* Takes up to max frames, counting them on *ctr before their slots are freed. */
static uint32_t take(hg__link *l, void **items, uint32_t max, uint64_t *ctr)
{
    uint32_t k;
    if (l->multi) {
        uint64_t pos;
        k = hg__mpmc_claim_pop(l->mpmc, items, max, &pos);
        if (k == 0)
            return 0;
        note_high(l, hg__mpmc_count(l->mpmc) + k);
        count(l, ctr, k);
        hg__mpmc_commit_pop(l->mpmc, pos, k);
    } else if (l->policy == HG_POLICY_DROP_OLDEST) {
        /* The sender may evict: claim with a compare-and-swap, then count. */
        if ((k = hg__ring_pop_n_shared(l->ring, items, max)) == 0)
            return 0;
        note_high(l, hg__ring_consumer_view(l->ring) + k);
        count(l, ctr, k);
    } else {
        if ((k = hg__ring_peek_n(l->ring, items, max)) == 0)
            return 0;
        note_high(l, hg__ring_consumer_view(l->ring));
        count(l, ctr, k);
        hg__ring_release_n(l->ring, k);
    }
    if (l->policy == HG_POLICY_BLOCK)
        hg__park_wake(&l->space);
    return k;
}

/* Puts one frame if there is room, counting it before it becomes visible. Returns 0 or
 * HG_EAGAIN (full). */
static int put(hg__link *l, void *item)
{
    if (l->multi) {
        uint64_t pos;
        if (hg__mpmc_claim_push(l->mpmc, 1, &pos) == 0)
            return HG_EAGAIN;
        count(l, &l->in, 1);
        hg__mpmc_commit_push(l->mpmc, pos, &item, 1);
    } else {
        if (hg__ring_room(l->ring) == 0)
            return HG_EAGAIN;
        count(l, &l->in, 1);
        hg__ring_try_push(l->ring, item); /* cannot fail: only this thread fills it */
    }
    hg__park_wake(&l->data);
    return 0;
}

/* Evicts the oldest frame of a full link. Returns 0 (one evicted, released and counted) or
 * HG_EAGAIN (there is room after all). */
static int evict_one(hg__link *l)
{
    void *old;
    if (l->multi) {
        uint64_t pos;
        if (hg__mpmc_claim_pop(l->mpmc, &old, 1, &pos) == 0)
            return HG_EAGAIN;
        count(l, &l->evicted_s, 1);
        hg__mpmc_commit_pop(l->mpmc, pos, 1);
    } else {
        if (hg__ring_evict(l->ring, &old) != 0)
            return HG_EAGAIN;
        count(l, &l->evicted_s, 1);
    }
    drop(l, old);
    return 0;
}

/* One attempt under the link's policy: 0 (in; perhaps after evicting), HG_EAGAIN (full; counted
 * rejected under drop_newest), HG_ECLOSED. */
static int offer(hg__link *l, void *item)
{
    if (LD(&l->closed, ACQUIRE) != 0)
        return HG_ECLOSED;
    if (put(l, item) == 0)
        return 0;
    note_high(l, l->capacity);
    switch (l->policy) {
    case HG_POLICY_DROP_NEWEST:
        count(l, &l->rejected, 1);
        return HG_EAGAIN;
    case HG_POLICY_DROP_OLDEST:
        while (put(l, item) != 0)
            evict_one(l);
        return 0;
    default:
        return HG_EAGAIN;
    }
}

int hg__link_try_send(hg__link *l, void *item)
{
    int rc = offer(l, item);
    if (rc == HG_ECLOSED || (rc == HG_EAGAIN && l->policy == HG_POLICY_BLOCK))
        count(l, &l->refused, 1);
    return rc;
}

static int attempt_recv(hg__link *l, void **out)
{
    if (take(l, out, 1, &l->out) == 1)
        return 0;
    if (LD(&l->closed, ACQUIRE) == 0)
        return HG_EAGAIN;
    /* Frames sent before the close are visible now that it is. */
    return take(l, out, 1, &l->out) == 1 ? 0 : HG_ECLOSED;
}

int hg__link_try_recv(hg__link *l, void **out)
{
    return attempt_recv(l, out);
}

int hg__link_drain(hg__link *l, void **out, uint32_t max)
{
    uint32_t k;
    if (max == 0)
        return 0;
    if ((k = take(l, out, max, &l->out)) > 0)
        return (int)(k > INT32_MAX ? INT32_MAX : k);
    if (LD(&l->closed, ACQUIRE) == 0)
        return 0;
    k = take(l, out, max, &l->out);
    return k > 0 ? (int)k : HG_ECLOSED;
}

static void wake_both(void *arg)
{
    hg__link *l = arg;
    hg__park_wake(&l->data);
    hg__park_wake(&l->space);
}

/* The wait shared by send and recv: retries fn until it returns something but HG_EAGAIN,
 * parking on pk in between; cancel and the deadline end it. */
static int wait_on(hg__link *l, hg__park *pk, int (*fn)(hg__link *, void *), void *arg,
                   uint64_t timeout_ns, hg_cancel *cancel)
{
    uint64_t deadline = hg__deadline(timeout_ns), sub = 0, left = 0;
    int rc = HG_EAGAIN, subscribed = 0;
    for (int i = 0; i < SPIN && (rc = fn(l, arg)) == HG_EAGAIN; i++)
        hg__cpu_relax();
    while (rc == HG_EAGAIN) {
        uint32_t s;
        int stop = hg__cancel_is_set(cancel) ? HG_ECANCELED
                   : (left = hg__time_left(deadline)) == 0 ? HG_ETIMEDOUT : 0;
        if (stop != 0) {
            if ((rc = fn(l, arg)) == HG_EAGAIN) /* a last look first */
                rc = stop;
        } else if (cancel != NULL && !subscribed) {
            /* A token that already fired runs wake_both at once: harmless. */
            rc = hg__cancel_subscribe(cancel, wake_both, l, &sub);
            if (rc == 0) {
                subscribed = 1;
                rc = HG_EAGAIN; /* re-check before parking */
            }
        } else {
            s = hg__park_prepare(pk);
            if ((rc = fn(l, arg)) != HG_EAGAIN || hg__cancel_is_set(cancel))
                hg__park_cancel(pk);
            else
                hg__park_wait(pk, s, left);
        }
    }
    if (subscribed)
        hg__cancel_unsubscribe(cancel, sub);
    return rc;
}

static int recv_fn(hg__link *l, void *arg)
{
    return attempt_recv(l, arg);
}

static int send_fn(hg__link *l, void *item)
{
    return offer(l, item);
}

int hg__link_recv(hg__link *l, void **out, uint64_t timeout_ns, hg_cancel *cancel)
{
    int rc = attempt_recv(l, out);
    if (rc != HG_EAGAIN || timeout_ns == 0)
        return rc;
    return wait_on(l, &l->data, recv_fn, out, timeout_ns, cancel);
}

int hg__link_send(hg__link *l, void *item, uint64_t timeout_ns, hg_cancel *cancel)
{
    int rc = offer(l, item);
    if (rc == HG_EAGAIN && l->policy == HG_POLICY_BLOCK && timeout_ns != 0)
        rc = wait_on(l, &l->space, send_fn, item, timeout_ns, cancel);
    if (rc == HG_ECLOSED || (rc != 0 && l->policy == HG_POLICY_BLOCK))
        count(l, &l->refused, 1);
    return rc;
}

void hg__link_close(hg__link *l)
{
    __atomic_fetch_or(&l->closed, CLOSED, __ATOMIC_SEQ_CST);
    wake_both(l);
}

uint64_t hg__link_discard(hg__link *l)
{
    void *items[BATCH];
    uint64_t n = 0;
    uint32_t k;
    __atomic_fetch_or(&l->closed, CLOSED | DISCARDED, __ATOMIC_SEQ_CST);
    wake_both(l);
    while ((k = take(l, items, BATCH, &l->evicted_r)) > 0) {
        for (uint32_t i = 0; i < k; i++)
            drop(l, items[i]);
        n += k;
    }
    return n;
}

void hg__link_destroy(hg__link *l)
{
    if (l == NULL)
        return;
    hg__link_discard(l);
    hg__ring_destroy(l->ring);
    hg__mpmc_destroy(l->mpmc);
    free(l);
}

void hg__link_stats_get(const hg__link *l, hg__link_stats *o)
{
    uint64_t out, ev, in, rej;
    for (int tries = 0;; tries++) {
        out = LD(&l->out, ACQUIRE);
        ev = LD(&l->evicted_r, ACQUIRE) + LD(&l->evicted_s, ACQUIRE);
        in = LD(&l->in, ACQUIRE);
        /* Unchanged receiver-side counts around the read of `in`: all three held at once. */
        if ((out == LD(&l->out, ACQUIRE) &&
             ev == LD(&l->evicted_r, ACQUIRE) + LD(&l->evicted_s, ACQUIRE)) || tries == 64)
            break;
    }
    rej = LD(&l->rejected, ACQUIRE);
    o->pushed = in + rej;
    o->delivered = out;
    o->dropped = rej + ev;
    o->queued = in - out - ev;
    /* Folds the snapshot into the mark so it never reads lower later. */
    note_high((hg__link *)l, o->queued < l->capacity ? (uint32_t)o->queued : l->capacity);
    o->high_water = LD(&l->high_water, RELAXED);
    o->refused = LD(&l->refused, RELAXED);
}

uint32_t hg__link_capacity(const hg__link *l)
{
    return l->capacity;
}

int hg__link_is_closed(const hg__link *l)
{
    return LD(&l->closed, ACQUIRE) != 0;
}

int hg__link_ready(const hg__link *l)
{
    if (LD(&l->closed, ACQUIRE) != 0)
        return 1;
    return l->multi ? hg__mpmc_count(l->mpmc) != 0 : hg__ring_count(l->ring) != 0;
}

hg__park *hg__link_data_park(hg__link *l)
{
    return &l->data;
}

hg__park *hg__link_space_park(hg__link *l)
{
    return &l->space;
}
