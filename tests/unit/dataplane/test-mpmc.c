/* test-mpmc.c - the MPMC queue: capacity rounding, FIFO across wrap-around, batches, and
 * producers/consumers stress runs checking every item arrives once, each producer's in order. */
#define _GNU_SOURCE
#include <hangar/status.h>

#include "dp_harness.h"
#include "mpmc.h"
#include "tap.h"

#define ITEM(i) ((void *)(uintptr_t)(i))
#define VAL(p) ((uint64_t)(uintptr_t)(p))

static void test_mpmc_single_thread_semantics(void)
{
    hg__mpmc *q;
    void *v, *in[8], *out[8];
    uint64_t bad = 0, next_in = 0, next_out = 0;
    int n = 0;
    is_int(hg__mpmc_create(0, &q), HG_EINVAL, "a queue of capacity 0 is refused");
    is_int(hg__mpmc_create(5, &q), 0, "a queue of capacity 5 is created");
    is_int(hg__mpmc_capacity(q), 8, "its capacity is rounded up to 8");
    while (n < 100 && hg__mpmc_try_push(q, ITEM(n)) == 0)
        n++;
    is_int(n, 8, "it takes 8 items");
    is_int(hg__mpmc_count(q), 8, "count says 8");
    ok(hg__mpmc_try_pop(q, &v) == 0 && VAL(v) == 0, "the first out is the first in");
    for (int i = 1; i < 8; i++)
        hg__mpmc_try_pop(q, &v);
    is_int(hg__mpmc_try_pop(q, &v), HG_EAGAIN, "the empty queue says so");
    for (int round = 0; round < 1000; round++) {
        for (int i = 0; i < 5; i++)
            in[i] = ITEM(next_in++);
        if (hg__mpmc_push_n(q, in, 5) != 5)
            bad++;
        uint32_t k = hg__mpmc_pop_n(q, out, 8);
        for (uint32_t i = 0; i < k; i++)
            bad += VAL(out[i]) != next_out++;
        bad += k != 5;
    }
    is_int(bad, 0, "5000 items in batches of 5 come out in order across 625 wraps");
    for (int i = 0; i < 8; i++)
        in[i] = ITEM(i);
    hg__mpmc_try_push(q, ITEM(99));
    is_int(hg__mpmc_push_n(q, in, 8), 7, "push_n of 8 with 7 free slots pushes 7");
    is_int(hg__mpmc_pop_n(q, out, 3), 3, "pop_n of 3 takes 3");
    ok(VAL(out[0]) == 99 && VAL(out[1]) == 0 && VAL(out[2]) == 1, "oldest first");
    hg__mpmc_destroy(q);
}

enum { PRODUCERS = 2, CONSUMERS = 2 };

typedef struct mstress {
    hg__mpmc *q;
    uint64_t per_producer;
    int batch;
    uint32_t produced_done;
    uint8_t *seen[PRODUCERS];
    uint64_t bad; /* per-producer order broken, counted by consumers */
} mstress;

typedef struct role {
    mstress *s;
    int id;
    uint64_t got, bad;
} role;

static void *mproducer(void *arg)
{
    role *r = arg;
    mstress *s = r->s;
    void *buf[16];
    uint64_t i = 0;
    while (i < s->per_producer) {
        uint32_t want = s->batch ? (uint32_t)(1 + i % 16) : 1, j, k;
        for (j = 0; j < want && i + j < s->per_producer; j++)
            buf[j] = ITEM((uint64_t)r->id << 40 | (i + j));
        k = hg__mpmc_push_n(s->q, buf, j);
        if (k == 0)
            sched_yield();
        i += k;
    }
    __atomic_fetch_add(&s->produced_done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void *mconsumer(void *arg)
{
    role *r = arg;
    mstress *s = r->s;
    void *buf[16];
    int64_t last[PRODUCERS] = {-1, -1};
    for (;;) {
        uint32_t done = __atomic_load_n(&s->produced_done, __ATOMIC_ACQUIRE);
        uint32_t k = hg__mpmc_pop_n(s->q, buf, s->batch ? 16 : 1);
        for (uint32_t j = 0; j < k; j++) {
            uint64_t v = VAL(buf[j]);
            int p = (int)(v >> 40);
            int64_t seq = (int64_t)(v & ((1ull << 40) - 1));
            r->bad += seq <= last[p]; /* one consumer sees a producer's items in order */
            last[p] = seq;
            s->seen[p][seq]++;
        }
        r->got += k;
        if (k == 0) {
            if (done == PRODUCERS)
                break; /* every item was published before done was read, and none is left */
            sched_yield();
        }
    }
    return NULL;
}

static void test_mpmc_producers_and_consumers(int batch)
{
    mstress s = {.per_producer = dp_n(500000), .batch = batch};
    role roles[PRODUCERS + CONSUMERS];
    pthread_t t[PRODUCERS + CONSUMERS];
    uint64_t got = 0, bad = 0, missing = 0;
    hg__mpmc_create(64, &s.q);
    for (int p = 0; p < PRODUCERS; p++)
        s.seen[p] = calloc(s.per_producer, 1);
    for (int i = 0; i < PRODUCERS + CONSUMERS; i++) {
        roles[i] = (role){.s = &s, .id = i < PRODUCERS ? i : i - PRODUCERS};
        pthread_create(&t[i], NULL, i < PRODUCERS ? mproducer : mconsumer, &roles[i]);
    }
    for (int i = 0; i < PRODUCERS + CONSUMERS; i++)
        pthread_join(t[i], NULL);
    for (int i = PRODUCERS; i < PRODUCERS + CONSUMERS; i++) {
        got += roles[i].got;
        bad += roles[i].bad;
    }
    for (int p = 0; p < PRODUCERS; p++) {
        for (uint64_t i = 0; i < s.per_producer; i++)
            missing += s.seen[p][i] != 1;
        free(s.seen[p]);
    }
    is_int(got, PRODUCERS * s.per_producer, "%s: 2 consumers got all %llu items of 2 producers",
           batch ? "batches" : "single", (unsigned long long)(PRODUCERS * s.per_producer));
    is_int(missing, 0, "%s: every item exactly once", batch ? "batches" : "single");
    is_int(bad, 0, "%s: each consumer saw each producer's items in order",
           batch ? "batches" : "single");
    hg__mpmc_destroy(s.q);
}

int main(int argc, char **argv)
{
    dp_args(argc, argv, 20);
    test_mpmc_single_thread_semantics();
    test_mpmc_producers_and_consumers(0);
    test_mpmc_producers_and_consumers(1);
    return tap_done();
}
