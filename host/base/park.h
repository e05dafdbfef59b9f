/* park.h - park/wake on a futex: a thread parks (with a timeout) until a waker bumps the word; a
 * waker pays no system call when nobody is parked. The building block under every blocking wait of
 * the data plane (rings, links, pools). */
#ifndef HG_PARK_H
#define HG_PARK_H

#include <stdint.h>

#include "clock.h"

/* The cache line size the data plane pads to (x86-64 and most arm64 cores). */
#ifndef HG__CACHE_LINE
#define HG__CACHE_LINE 64
#endif

/* Waits without a deadline (timeouts are in nanoseconds everywhere in the data plane). */
#define HG__WAIT_FOREVER UINT64_MAX

/* A parking spot. Plain memory: embed it, zero it with hg__park_init; no destroy needed unless an
 * fd was opened (hg__park_fd). Any number of threads may park on it and wake it.
 *
 * The protocol (a waiter never misses a wake-up):
 *   waiter:  s = hg__park_prepare(p); if (condition true) hg__park_cancel(p);
 *            else hg__park_wait(p, s, timeout);   then re-check the condition and loop.
 *   waker:   make the condition true (a release store or stronger), then hg__park_wake(p).
 * prepare announces the waiter with a sequentially consistent read-modify-write of the waiter
 * count before the condition is re-checked, and wake reads that count with a read-modify-write
 * (adding 0) after the condition was made true. Both are in the count's modification order: if
 * the waker's comes first, the waiter's synchronizes with it and sees the condition; otherwise
 * the waker sees the waiter and bumps seq, so a wait on the old seq returns at once. (No
 * standalone fence: ThreadSanitizer understands this form.) */
typedef struct hg__park {
    uint32_t seq;     /* the futex word: bumped by every wake that found a waiter */
    uint32_t waiters; /* threads between prepare and the end of their wait */
    uint64_t sleep;   /* generation << 32 | threads inside (or entering) FUTEX_WAIT */
    int fd;           /* an eventfd written on every such wake, or -1 */
} hg__park;
/* A wake that finds waiters bumps seq, then swaps the sleeper count for 0 in a new generation and
 * calls FUTEX_WAKE only if the count was not 0. So a waiter still re-checking its condition costs
 * the waker no system call, and neither does a sleeper that an earlier wake already woke but that
 * has not run yet (under a steady stream, one FUTEX_WAKE per sleep, not one per frame). A sleeper
 * counts itself before the kernel compares seq: either the waker's swap sees it, or the kernel
 * sees the new seq and does not put it to sleep. A sleeper that returns uncounts itself only if
 * the generation is still its own (otherwise the waker already did). */

/* Initializes p (no fd). [any-thread, never blocks] */
void hg__park_init(hg__park *p);

/* Announces a waiter and returns the sequence number to pass to hg__park_wait. Every prepare is
 * followed by exactly one hg__park_wait or hg__park_cancel. [any-thread, never blocks] */
uint32_t hg__park_prepare(hg__park *p);

/* Withdraws the announcement of a prepare whose condition turned out true. [any-thread, never
 * blocks] */
void hg__park_cancel(hg__park *p);

/* Parks until a wake after the prepare that returned seq, or timeout_ns passed (HG__WAIT_FOREVER:
 * no limit), then withdraws the announcement. Spurious returns are possible: re-check.
 * Returns: 0 (woken, or spurious), HG_ETIMEDOUT. [any-thread] */
int hg__park_wait(hg__park *p, uint32_t seq, uint64_t timeout_ns);

/* Wakes every thread parked on p (and makes its fd readable) when one is announced; otherwise
 * costs one uncontended atomic add of 0 (no system call). Call it after making the waited-for
 * condition true. [any-thread, never blocks] */
void hg__park_wake(hg__park *p);

/* As hg__park_wake, for a waker whose condition store was a sequentially consistent
 * read-modify-write and whose waiters re-check with sequentially consistent loads: then a
 * sequentially consistent load of the count is enough (their total order does the rest), which
 * keeps the count's cache line shared instead of bouncing between wakers. [any-thread, never
 * blocks] */
void hg__park_wake_sc(hg__park *p);

/* Opens an eventfd that becomes readable on each wake that found a waiter, for a thread that
 * waits in poll/epoll instead of hg__park_wait: it does prepare, re-checks, polls the fd, then
 * hg__park_fd_ack (which also withdraws the announcement). Idempotent.
 * Returns: the fd (>= 0; owned by p), or HG_EIO when eventfd fails. [one thread, at set-up] */
int hg__park_fd(hg__park *p);

/* Consumes the fd's pending wake-ups and withdraws the announcement of the prepare before the
 * poll. [any-thread, never blocks] */
void hg__park_fd_ack(hg__park *p);

/* As hg__park_fd_ack, given the seq its prepare returned: reads the fd only when a wake came
 * since (seq moved), so a waiter whose condition turned true without one pays no system call.
 * A count left in the fd by an older wake makes a later poll return at once: a spurious
 * wake-up, which the protocol re-checks. [any-thread, never blocks] */
void hg__park_fd_done(hg__park *p, uint32_t seq);

/* Closes the fd if one was opened. [one thread, at tear-down] */
void hg__park_fini(hg__park *p);

/* The deadline timeout_ns from now (HG__WAIT_FOREVER stays so), and the time left until a
 * deadline (0 when passed). [any-thread, never blocks] */
uint64_t hg__deadline(uint64_t timeout_ns);
uint64_t hg__time_left(uint64_t deadline);

/* A pause instruction for spin loops. [any-thread, never blocks] */
static inline void hg__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#else
    __asm__ __volatile__("" ::: "memory");
#endif
}

#endif
