/* test-ring.c - the SPSC ring: capacity, FIFO across wrap-around, batches, the evictable mode,
 * and two-thread stress runs that check every item arrives once and in order. */
#define _GNU_SOURCE
#include <sched.h>

#include <hangar/status.h>

#include "dp_harness.h"
#include "ring.h"
#include "tap.h"

#define ITEM(i) ((void *)(uintptr_t)(i))
#define VAL(p) ((uint64_t)(uintptr_t)(p))

static void test_ring_rejects_bad_capacity(void)
{
    hg__ring *r;
    is_int(hg__ring_create(0, &r), HG_EINVAL, "a ring of capacity 0 is refused");
    is_int(hg__ring_create((1u << 31) + 1, &r), HG_EINVAL, "a ring over 2^31 items is refused");
}

static void test_ring_holds_exactly_its_capacity(void)
{
    hg__ring *r;
    void *v;
    int pushed = 0;
    hg__ring_create(5, &r);
    while (hg__ring_try_push(r, ITEM(pushed + 1)) == 0 && pushed < 100)
        pushed++;
    is_int(pushed, 5, "a ring of capacity 5 (storage 8) takes exactly 5 items");
    is_int(hg__ring_count(r), 5, "count says 5");
    is_int(hg__ring_room(r), 0, "room says 0");
    ok(hg__ring_try_pop(r, &v) == 0 && VAL(v) == 1, "the first item out is the first in");
    is_int(hg__ring_try_push(r, ITEM(6)), 0, "one pop makes room for one push");
    is_int(hg__ring_try_push(r, ITEM(7)), HG_EAGAIN, "and for one only");
    hg__ring_destroy(r);
}

static void test_ring_keeps_order_across_wrap_around(void)
{
    hg__ring *r;
    uint64_t next_in = 0, next_out = 0, bad = 0;
    void *v;
    hg__ring_create(4, &r);
    for (int round = 0; round < 1000; round++) {
        for (int i = 0; i < 3; i++)
            hg__ring_try_push(r, ITEM(next_in++));
        for (int i = 0; i < 3; i++) {
            if (hg__ring_try_pop(r, &v) != 0 || VAL(v) != next_out++)
                bad++;
        }
    }
    is_int(bad, 0, "3000 items through a 4-slot ring come out in order across 750 wraps");
    is_int(hg__ring_try_pop(r, &v), HG_EAGAIN, "the empty ring says so");
    hg__ring_destroy(r);
}

static void test_ring_batches_are_partial_when_short(void)
{
    hg__ring *r;
    void *in[10], *out[10];
    uint32_t n;
    int order = 1;
    for (int i = 0; i < 10; i++)
        in[i] = ITEM(i);
    hg__ring_create(8, &r);
    is_int(hg__ring_push_n(r, in, 10), 8, "push_n of 10 into 8 free slots pushes 8");
    is_int(hg__ring_pop_n(r, out, 3), 3, "pop_n of 3 takes 3");
    for (int i = 0; i < 3; i++)
        order &= VAL(out[i]) == (uint64_t)i;
    ok(order, "oldest first");
    is_int(hg__ring_push_n(r, in, 5), 3, "push_n of 5 with 3 free slots pushes 3");
    n = hg__ring_pop_n(r, out, 10);
    is_int(n, 8, "pop_n of 10 takes the 8 there");
    ok(VAL(out[0]) == 3 && VAL(out[4]) == 7 && VAL(out[5]) == 0 && VAL(out[7]) == 2,
       "in the order they were pushed, across the wrap");
    is_int(hg__ring_pop_n(r, out, 10), 0, "pop_n on an empty ring takes nothing");
    is_int(hg__ring_peek_n(r, out, 1), 0, "peek_n on an empty ring sees nothing");
    hg__ring_try_push(r, ITEM(42));
    ok(hg__ring_peek_n(r, out, 4) == 1 && VAL(out[0]) == 42, "peek_n sees an item");
    is_int(hg__ring_count(r), 1, "peek_n leaves it in the ring");
    hg__ring_release_n(r, 1);
    is_int(hg__ring_count(r), 0, "release_n takes it");
    hg__ring_destroy(r);
}

static void test_ring_evicts_the_oldest_only_when_full(void)
{
    hg__ring *r;
    void *v, *out[4];
    hg__ring_create(3, &r);
    hg__ring_try_push(r, ITEM(1));
    is_int(hg__ring_evict(r, &v), HG_EAGAIN, "evict on a ring with room takes nothing");
    hg__ring_try_push(r, ITEM(2));
    hg__ring_try_push(r, ITEM(3));
    ok(hg__ring_evict(r, &v) == 0 && VAL(v) == 1, "evict on a full ring takes the oldest");
    is_int(hg__ring_try_push(r, ITEM(4)), 0, "which makes room for the new item");
    is_int(hg__ring_pop_n_shared(r, out, 4), 3, "the consumer takes the 3 left");
    ok(VAL(out[0]) == 2 && VAL(out[1]) == 3 && VAL(out[2]) == 4, "in order");
    hg__ring_destroy(r);
}

typedef struct stress {
    hg__ring *r;
    uint64_t n;
    int batch, evict;
    uint64_t bad, got, evicted;
    uint8_t *seen; /* evict mode: one mark per item */
} stress;

static void *producer(void *arg)
{
    stress *s = arg;
    void *buf[32];
    uint64_t i = 0;
    while (i < s->n) {
        uint32_t k = 0;
        if (s->batch) {
            uint32_t want = (uint32_t)(1 + i % 32), j;
            for (j = 0; j < want && i + j < s->n; j++)
                buf[j] = ITEM(i + j + 1);
            k = hg__ring_push_n(s->r, buf, j);
        } else {
            k = hg__ring_try_push(s->r, ITEM(i + 1)) == 0;
        }
        if (k == 0 && s->evict) {
            void *v;
            if (hg__ring_evict(s->r, &v) == 0) {
                s->seen[VAL(v) - 1]++;
                s->evicted++;
            }
        }
        if (k == 0 && !s->evict)
            sched_yield(); /* on a loaded machine the consumer may need this CPU */
        i += k;
    }
    return NULL;
}

static void *consumer(void *arg)
{
    stress *s = arg;
    void *buf[32];
    uint64_t last = 0;
    /* The last item is never evicted (the producer stops after it): evict mode runs to it. */
    while (s->evict ? last != s->n : s->got < s->n) {
        uint32_t k = s->evict ? hg__ring_pop_n_shared(s->r, buf, 1 + (uint32_t)(s->got % 32))
                              : hg__ring_pop_n(s->r, buf, 1 + (uint32_t)(s->got % 32));
        for (uint32_t j = 0; j < k; j++) {
            uint64_t v = VAL(buf[j]);
            if (s->evict ? v <= last : v != last + 1)
                s->bad++;
            last = v;
            if (s->evict)
                s->seen[v - 1]++;
        }
        s->got += k;
        if (k == 0)
            sched_yield();
    }
    return NULL;
}

static void run_stress(stress *s)
{
    pthread_t p, c;
    pthread_create(&c, NULL, consumer, s);
    pthread_create(&p, NULL, producer, s);
    pthread_join(p, NULL);
    pthread_join(c, NULL);
}

static void test_ring_two_threads_in_order(int batch)
{
    stress s = {.n = dp_n(1000000), .batch = batch};
    hg__ring_create(batch ? 256 : 64, &s.r);
    run_stress(&s);
    is_int(s.got, s.n, "%s: the consumer got all %llu items", batch ? "batches" : "single",
           (unsigned long long)s.n);
    is_int(s.bad, 0, "%s: each exactly once and in order", batch ? "batches" : "single");
    hg__ring_destroy(s.r);
}

static void test_ring_evicting_producer_loses_nothing(void)
{
    stress s = {.n = dp_n(300000), .batch = 0, .evict = 1};
    uint64_t missing = 0, twice = 0;
    s.seen = calloc(s.n, 1);
    hg__ring_create(16, &s.r);
    run_stress(&s);
    /* Whatever the consumer did not take before the last item is still in the ring. */
    {
        void *v;
        while (hg__ring_pop_n_shared(s.r, &v, 1) == 1)
            s.seen[VAL(v) - 1]++;
    }
    for (uint64_t i = 0; i < s.n; i++) {
        missing += s.seen[i] == 0;
        twice += s.seen[i] > 1;
    }
    tap_diag("evict stress: %llu consumed, %llu evicted", (unsigned long long)s.got,
             (unsigned long long)s.evicted);
    is_int(missing + twice, 0, "evict + shared pop race: every item taken exactly once");
    is_int(s.bad, 0, "the consumer saw increasing items only");
    ok(s.evicted > 0, "the producer did evict");
    free(s.seen);
    hg__ring_destroy(s.r);
}

int main(int argc, char **argv)
{
    dp_args(argc, argv, 20);
    test_ring_rejects_bad_capacity();
    test_ring_holds_exactly_its_capacity();
    test_ring_keeps_order_across_wrap_around();
    test_ring_batches_are_partial_when_short();
    test_ring_evicts_the_oldest_only_when_full();
    test_ring_two_threads_in_order(0);
    test_ring_two_threads_in_order(1);
    test_ring_evicting_producer_loses_nothing();
    return tap_done();
}
