/* dp_harness.h - helpers shared by the data-plane unit tests: scaled iteration counts (smaller
 * under sanitizers, larger in the stress suite), thread CPU time, bounded waits for a condition. */
#ifndef HG_DP_HARNESS_H
#define HG_DP_HARNESS_H

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "park.h"

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define DP_SANITIZED 1
#else
#define DP_SANITIZED 0
#endif

/* n scaled: / 10 under sanitizers, x stress_mul when the first argument is "stress". */
static uint64_t dp_scale_mul = 1;
static inline void dp_args(int argc, char **argv, uint64_t stress_mul)
{
    if (argc > 1 && strcmp(argv[1], "stress") == 0)
        dp_scale_mul = stress_mul;
}

static inline uint64_t dp_n(uint64_t n)
{
    n *= dp_scale_mul;
    return DP_SANITIZED ? n / 10 : n;
}

static inline uint64_t dp_thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Waits (polling every 100 us, up to 10 s) until *word != 0. Returns 1 when it became so. */
static inline int dp_wait_nonzero(const uint32_t *word)
{
    for (int i = 0; i < 100000; i++) {
        if (__atomic_load_n(word, __ATOMIC_ACQUIRE) != 0)
            return 1;
        usleep(100);
    }
    return 0;
}

/* Waits until a thread is announced as parked on p, then a little more so it is in the kernel.
 * Returns 1 when one was. */
static inline int dp_wait_parked(hg__park *p)
{
    int ok_ = dp_wait_nonzero(&p->waiters);
    usleep(2000);
    return ok_;
}

#endif
