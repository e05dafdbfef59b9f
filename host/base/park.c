/* park.c - park/wake on a futex (and optionally an eventfd): wakers skip the system call when
 * nobody waits, and FUTEX_WAKE when nobody sleeps yet. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <hangar/status.h>

#include "clock.h"
#include "park.h"

void hg__park_init(hg__park *p)
{
    __atomic_store_n(&p->seq, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&p->waiters, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&p->sleep, 0, __ATOMIC_RELAXED);
    p->fd = -1;
}

uint32_t hg__park_prepare(hg__park *p)
{
    /* Announces before the caller re-checks its condition (see the protocol in park.h). */
    __atomic_fetch_add(&p->waiters, 1, __ATOMIC_SEQ_CST);
    return __atomic_load_n(&p->seq, __ATOMIC_ACQUIRE);
}

void hg__park_cancel(hg__park *p)
{
    __atomic_fetch_sub(&p->waiters, 1, __ATOMIC_RELEASE);
}

/* Takes this sleeper out of the count of generation gen, unless a wake already reset it. */
static void unsleep(hg__park *p, uint64_t gen)
{
    uint64_t cur = __atomic_load_n(&p->sleep, __ATOMIC_RELAXED);
    while (cur >> 32 == gen && (uint32_t)cur != 0 &&
           !__atomic_compare_exchange_n(&p->sleep, &cur, cur - 1, 1, __ATOMIC_RELEASE,
                                        __ATOMIC_RELAXED))
        ;
}

int hg__park_wait(hg__park *p, uint32_t seq, uint64_t timeout_ns)
{
    struct timespec ts, *tsp = NULL;
    uint64_t gen;
    int rc = 0;
    if (timeout_ns == 0) {
        rc = HG_ETIMEDOUT;
        goto out;
    }
    if (timeout_ns != HG__WAIT_FOREVER) {
        ts.tv_sec = (time_t)(timeout_ns / 1000000000u);
        ts.tv_nsec = (long)(timeout_ns % 1000000000u);
        tsp = &ts;
    }
    /* The kernel compares seq atomically with the word: a wake that bumped it since prepare
     * makes this return at once (EAGAIN). */
    gen = __atomic_add_fetch(&p->sleep, 1, __ATOMIC_SEQ_CST) >> 32;
    if (syscall(SYS_futex, &p->seq, FUTEX_WAIT_PRIVATE, seq, tsp, NULL, 0) != 0 &&
        errno == ETIMEDOUT)
        rc = HG_ETIMEDOUT;
    unsleep(p, gen);
out:
    __atomic_fetch_sub(&p->waiters, 1, __ATOMIC_RELEASE);
    return rc;
}

static void wake_all(hg__park *p)
{
    uint64_t cur;
    /* seq first, then the sleepers: both sequentially consistent, so a sleeper that this load
     * misses sees the new seq in the kernel (see park.h). */
    __atomic_fetch_add(&p->seq, 1, __ATOMIC_SEQ_CST);
    cur = __atomic_load_n(&p->sleep, __ATOMIC_SEQ_CST);
    while ((uint32_t)cur != 0) {
        if (__atomic_compare_exchange_n(&p->sleep, &cur, ((cur >> 32) + 1) << 32, 1,
                                        __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {
            syscall(SYS_futex, &p->seq, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
            break;
        }
    }
    if (p->fd >= 0) {
        uint64_t one = 1;
        ssize_t n = write(p->fd, &one, sizeof one);
        (void)n; /* only fails when the counter is saturated: then it is readable anyway */
    }
}

void hg__park_wake(hg__park *p)
{
    /* A read-modify-write, not a load: it is ordered after the caller's condition store and
     * reads the latest count (see park.h). */
    if (__atomic_fetch_add(&p->waiters, 0, __ATOMIC_SEQ_CST) != 0)
        wake_all(p);
}

void hg__park_wake_sc(hg__park *p)
{
    if (__atomic_load_n(&p->waiters, __ATOMIC_SEQ_CST) != 0)
        wake_all(p);
}

int hg__park_fd(hg__park *p)
{
    if (p->fd >= 0)
        return p->fd;
    p->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    return p->fd >= 0 ? p->fd : HG_EIO;
}

void hg__park_fd_ack(hg__park *p)
{
    uint64_t v;
    if (p->fd >= 0) {
        ssize_t n = read(p->fd, &v, sizeof v);
        (void)n; /* EAGAIN: nothing pending */
    }
    __atomic_fetch_sub(&p->waiters, 1, __ATOMIC_RELEASE);
}

void hg__park_fd_done(hg__park *p, uint32_t seq)
{
    uint64_t v;
    if (p->fd >= 0 && __atomic_load_n(&p->seq, __ATOMIC_ACQUIRE) != seq) {
        ssize_t n = read(p->fd, &v, sizeof v);
        (void)n; /* EAGAIN: the waker has not written yet; a later poll sees it */
    }
    __atomic_fetch_sub(&p->waiters, 1, __ATOMIC_RELEASE);
}

void hg__park_fini(hg__park *p)
{
    if (p->fd >= 0)
        close(p->fd);
    p->fd = -1;
}

uint64_t hg__deadline(uint64_t timeout_ns)
{
    uint64_t now;
    if (timeout_ns == HG__WAIT_FOREVER)
        return HG__WAIT_FOREVER;
    now = hg__now_ns();
    return timeout_ns > HG__WAIT_FOREVER - 1 - now ? HG__WAIT_FOREVER - 1 : now + timeout_ns;
}

uint64_t hg__time_left(uint64_t deadline)
{
    uint64_t now;
    if (deadline == HG__WAIT_FOREVER)
        return HG__WAIT_FOREVER;
    now = hg__now_ns();
    return deadline > now ? deadline - now : 0;
}
