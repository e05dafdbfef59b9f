/* channels.c - the data-plane bench (scripts/bench/channels): hangar's SPSC ring, MPMC queue and
 * link wake-up beside Concurrency Kit's ck_ring and a pipe, one row and one side per run:
 *   channels spsc|spsc32|mpmc ck|hg N   -> messages/s (N messages per producer)
 *   channels wake pipe|hg ROUNDS        -> "p50_ns p99_ns" of a blocked receiver's wake-up */
#define _GNU_SOURCE
#include <ck_ring.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hangar/status.h>

#include "link.h"
#include "mpmc.h"
#include "park.h"
#include "ring.h"

#define CAP 1024
#define BATCH 32

typedef struct bench {
    int hg, batch;
    uint64_t n;
    hg__ring *ring;
    hg__mpmc *mpmc;
    ck_ring_t ck;
    ck_ring_buffer_t *ckbuf;
    uint32_t ready, go, consumed_total;
    uint64_t sum; /* checksum of what was consumed */
} bench;

static void pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu % (int)sysconf(_SC_NPROCESSORS_ONLN), &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

/* Lets every thread start before the clock does. */
static void start_line(bench *b)
{
    __atomic_fetch_add(&b->ready, 1, __ATOMIC_ACQ_REL);
    while (__atomic_load_n(&b->go, __ATOMIC_ACQUIRE) == 0)
        hg__cpu_relax();
}

static void *spsc_producer(void *arg)
{
    bench *b = arg;
    void *items[BATCH];
    pin(0);
    start_line(b);
    if (b->batch) {
        for (uint64_t i = 1; i <= b->n;) {
            uint32_t k = 0, m = b->n - i + 1 < BATCH ? (uint32_t)(b->n - i + 1) : BATCH;
            for (uint32_t j = 0; j < m; j++)
                items[j] = (void *)(uintptr_t)(i + j);
            if (b->hg) {
                while (k < m) {
                    uint32_t got = hg__ring_push_n(b->ring, items + k, m - k);
                    if (got == 0)
                        hg__cpu_relax();
                    k += got;
                }
            } else {
                /* ck_ring has no batch enqueue: the same 32 items one call each */
                for (; k < m; k++)
                    while (!ck_ring_enqueue_spsc(&b->ck, b->ckbuf, items[k]))
                        hg__cpu_relax();
            }
            i += k;
        }
    } else if (b->hg) {
        for (uint64_t i = 1; i <= b->n; i++)
            while (hg__ring_try_push(b->ring, (void *)(uintptr_t)i) != 0)
                hg__cpu_relax();
    } else {
        for (uint64_t i = 1; i <= b->n; i++)
            while (!ck_ring_enqueue_spsc(&b->ck, b->ckbuf, (void *)(uintptr_t)i))
                hg__cpu_relax();
    }
    return NULL;
}

static void *spsc_consumer(void *arg)
{
    bench *b = arg;
    void *items[BATCH], *v;
    uint64_t got = 0, sum = 0;
    pin(1);
    start_line(b);
    while (got < b->n) {
        if (b->batch && b->hg) {
            uint32_t k = hg__ring_pop_n(b->ring, items, BATCH);
            for (uint32_t j = 0; j < k; j++)
                sum += (uintptr_t)items[j];
            got += k;
            if (k == 0)
                hg__cpu_relax();
        } else if (b->batch) {
            uint32_t k = 0;
            while (k < BATCH && ck_ring_dequeue_spsc(&b->ck, b->ckbuf, &items[k]))
                k++;
            for (uint32_t j = 0; j < k; j++)
                sum += (uintptr_t)items[j];
            got += k;
            if (k == 0)
                hg__cpu_relax();
        } else if (b->hg ? hg__ring_try_pop(b->ring, &v) == 0
                         : ck_ring_dequeue_spsc(&b->ck, b->ckbuf, &v)) {
            sum += (uintptr_t)v;
            got++;
        } else {
            hg__cpu_relax();
        }
    }
    b->sum = sum;
    return NULL;
}

/* A failed attempt: spin a little, then give the CPU away (4 threads on 2 cores). */
static void backoff(uint32_t *fails)
{
    if (++*fails < 32) {
        hg__cpu_relax();
    } else {
        *fails = 0;
        sched_yield();
    }
}

static void *mpmc_producer(void *arg)
{
    bench *b = arg;
    uint32_t fails = 0;
    start_line(b);
    for (uint64_t i = 1; i <= b->n; i++) {
        void *v = (void *)(uintptr_t)i;
        while (b->hg ? hg__mpmc_try_push(b->mpmc, v) != 0
                     : !ck_ring_enqueue_mpmc(&b->ck, b->ckbuf, v))
            backoff(&fails);
    }
    return NULL;
}

static void *mpmc_consumer(void *arg)
{
    bench *b = arg;
    uint32_t fails = 0;
    uint64_t sum = 0, total = 2 * b->n;
    void *v;
    start_line(b);
    for (;;) {
        if (b->hg ? hg__mpmc_try_pop(b->mpmc, &v) == 0 : ck_ring_dequeue_mpmc(&b->ck, b->ckbuf, &v)) {
            sum += (uintptr_t)v;
            if (__atomic_add_fetch(&b->consumed_total, 1, __ATOMIC_RELAXED) == total)
                break;
        } else if (__atomic_load_n(&b->consumed_total, __ATOMIC_RELAXED) >= total) {
            break;
        } else {
            backoff(&fails);
        }
    }
    __atomic_fetch_add(&b->sum, sum, __ATOMIC_RELAXED);
    return NULL;
}

static double run_throughput(bench *b, int mpmc)
{
    int nt = mpmc ? 4 : 2;
    pthread_t t[4];
    uint64_t t0, t1, want;
    for (int i = 0; i < nt; i++) {
        void *(*fn)(void *) = mpmc ? (i < 2 ? mpmc_producer : mpmc_consumer)
                                   : (i == 0 ? spsc_producer : spsc_consumer);
        pthread_create(&t[i], NULL, fn, b);
    }
    while (__atomic_load_n(&b->ready, __ATOMIC_ACQUIRE) < (uint32_t)nt)
        sched_yield();
    t0 = hg__now_ns();
    __atomic_store_n(&b->go, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < nt; i++)
        pthread_join(t[i], NULL);
    t1 = hg__now_ns();
    want = b->n * (b->n + 1) / 2 * (mpmc ? 2 : 1);
    if (b->sum != want) {
        fprintf(stderr, "channels: checksum mismatch (%llu != %llu): items lost or duplicated\n",
                (unsigned long long)b->sum, (unsigned long long)want);
        exit(1);
    }
    return (double)b->n * (mpmc ? 2 : 1) * 1e9 / (double)(t1 - t0);
}

/* --- wake-up latency: a receiver blocked in hg__link_recv or in read() on a pipe --- */

typedef struct wake {
    int hg, fds[2];
    uint32_t rounds;
    hg__link *link;
    uint32_t waiting, acked;
    uint64_t *lat;
} wake;

static void *wake_receiver(void *arg)
{
    wake *w = arg;
    pin(1);
    for (uint32_t i = 0; i < w->rounds; i++) {
        uint64_t t0 = 0;
        void *v;
        __atomic_store_n(&w->waiting, 1, __ATOMIC_RELEASE);
        if (w->hg) {
            if (hg__link_recv(w->link, &v, HG__WAIT_FOREVER, NULL) != 0)
                abort();
            t0 = (uint64_t)(uintptr_t)v;
        } else if (read(w->fds[0], &t0, sizeof t0) != (ssize_t)sizeof t0) {
            abort();
        }
        w->lat[i] = hg__now_ns() - t0;
        __atomic_store_n(&w->acked, i + 1, __ATOMIC_RELEASE);
    }
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void run_wake(wake *w)
{
    pthread_t t;
    pin(0);
    pthread_create(&t, NULL, wake_receiver, w);
    for (uint32_t i = 0; i < w->rounds; i++) {
        uint64_t t0;
        while (!__atomic_exchange_n(&w->waiting, 0, __ATOMIC_ACQ_REL))
            usleep(10);
        usleep(200); /* the receiver is asleep in the kernel by now */
        t0 = hg__now_ns();
        if (w->hg) {
            hg__link_send(w->link, (void *)(uintptr_t)t0, HG__WAIT_FOREVER, NULL);
        } else if (write(w->fds[1], &t0, sizeof t0) != (ssize_t)sizeof t0) {
            abort();
        }
        while (__atomic_load_n(&w->acked, __ATOMIC_ACQUIRE) < i + 1)
            usleep(10);
    }
    pthread_join(t, NULL);
    qsort(w->lat, w->rounds, sizeof *w->lat, cmp_u64);
    printf("%llu %llu\n", (unsigned long long)w->lat[w->rounds / 2],
           (unsigned long long)w->lat[(uint64_t)w->rounds * 99 / 100]);
}

static int usage(void)
{
    fprintf(stderr, "usage: channels spsc|spsc32|mpmc ck|hg N | channels wake pipe|hg ROUNDS\n");
    return 2;
}

int main(int argc, char **argv)
{
    bench b = {0};
    wake w = {0};
    int mpmc;
    if (argc != 4)
        return usage();
    if (strcmp(argv[1], "wake") == 0) {
        w.hg = strcmp(argv[2], "hg") == 0;
        w.rounds = (uint32_t)strtoul(argv[3], NULL, 10);
        w.lat = calloc(w.rounds ? w.rounds : 1, sizeof *w.lat);
        hg__link_opts o = {.capacity = 16};
        if (w.rounds == 0 || w.lat == NULL || (w.hg ? hg__link_create(&o, &w.link) : pipe(w.fds)) != 0)
            return usage();
        run_wake(&w);
        return 0;
    }
    mpmc = strcmp(argv[1], "mpmc") == 0;
    b.batch = strcmp(argv[1], "spsc32") == 0;
    b.hg = strcmp(argv[2], "hg") == 0;
    b.n = strtoull(argv[3], NULL, 10);
    if (b.n == 0 || (!mpmc && !b.batch && strcmp(argv[1], "spsc") != 0))
        return usage();
    if (b.hg && (mpmc ? hg__mpmc_create(CAP, &b.mpmc) : hg__ring_create(CAP, &b.ring)) != 0)
        return 1;
    b.ckbuf = aligned_alloc(64, CAP * sizeof *b.ckbuf);
    ck_ring_init(&b.ck, CAP);
    printf("%.0f\n", run_throughput(&b, mpmc));
    return 0;
}
