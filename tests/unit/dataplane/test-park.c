/* test-park.c - park/wake: the free fast path, timeouts, no lost wake-up, prompt wake of a
 * parked thread, no CPU while parked, the eventfd form. */
#define _GNU_SOURCE
#include <poll.h>

#include <hangar/status.h>

#include "dp_harness.h"
#include "park.h"
#include "tap.h"

typedef struct waiter_arg {
    hg__park park;
    uint32_t flag;
    uint32_t done;
    uint64_t cpu_ns, woke_ns;
} waiter_arg;

/* Parks until flag is set, the way every data-plane wait does. */
static void *waiter(void *arg)
{
    waiter_arg *w = arg;
    uint64_t c0 = dp_thread_cpu_ns();
    while (!__atomic_load_n(&w->flag, __ATOMIC_ACQUIRE)) {
        uint32_t s = hg__park_prepare(&w->park);
        if (__atomic_load_n(&w->flag, __ATOMIC_ACQUIRE)) {
            hg__park_cancel(&w->park);
            break;
        }
        hg__park_wait(&w->park, s, HG__WAIT_FOREVER);
    }
    w->woke_ns = hg__now_ns();
    w->cpu_ns = dp_thread_cpu_ns() - c0;
    __atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void test_park_wake_without_waiter_is_free(void)
{
    hg__park p;
    hg__park_init(&p);
    for (int i = 0; i < 1000; i++)
        hg__park_wake(&p);
    is_int(p.seq, 0, "a wake with nobody parked changes nothing (no futex call is made)");
}

static void test_park_wakes_the_kernel_once_per_sleep(void)
{
    waiter_arg w = {0};
    pthread_t t;
    uint32_t s;
    hg__park_init(&w.park);
    s = hg__park_prepare(&w.park);
    hg__park_wake(&w.park);
    ok(w.park.seq == 1 && w.park.sleep == 0,
       "a wake finding a waiter that is not asleep bumps seq and makes no FUTEX_WAKE");
    hg__park_cancel(&w.park);
    (void)s;
    hg__park_init(&w.park);
    pthread_create(&t, NULL, waiter, &w);
    for (int i = 0; i < 100000 && (uint32_t)__atomic_load_n(&w.park.sleep, __ATOMIC_ACQUIRE) == 0; i++)
        usleep(100);
    ok((uint32_t)__atomic_load_n(&w.park.sleep, __ATOMIC_ACQUIRE) == 1,
       "a parked thread counts itself asleep");
    __atomic_store_n(&w.flag, 1, __ATOMIC_RELEASE);
    hg__park_wake(&w.park);
    hg__park_wake(&w.park); /* before or after the sleeper ran: it is not asleep again */
    ok(dp_wait_nonzero(&w.done), "the sleeper woke");
    pthread_join(t, NULL);
    is_int(__atomic_load_n(&w.park.sleep, __ATOMIC_ACQUIRE) >> 32, 1,
           "two wakes of one sleep made one FUTEX_WAKE (one new sleeper generation)");
    is_int((uint32_t)__atomic_load_n(&w.park.sleep, __ATOMIC_ACQUIRE), 0, "and no sleeper is left counted");
}

static void test_park_wait_times_out(void)
{
    hg__park p;
    uint64_t t0;
    uint32_t s;
    int rc;
    hg__park_init(&p);
    t0 = hg__now_ns();
    s = hg__park_prepare(&p);
    rc = hg__park_wait(&p, s, 20000000u);
    is_int(rc, HG_ETIMEDOUT, "a park with nobody waking it times out");
    ok(hg__now_ns() - t0 >= 20000000u, "it waited its full timeout of 20 ms");
    is_int(p.waiters, 0, "the timed-out waiter withdrew its announcement");
}

static void test_park_wake_between_prepare_and_wait_is_kept(void)
{
    hg__park p;
    uint64_t t0;
    uint32_t s;
    hg__park_init(&p);
    s = hg__park_prepare(&p);
    hg__park_wake(&p); /* lands after the announcement, before the wait */
    t0 = hg__now_ns();
    is_int(hg__park_wait(&p, s, 5000000000ull), 0, "a wake between prepare and wait is not lost");
    ok(hg__now_ns() - t0 < 1000000000ull, "the wait returned at once instead of sleeping");
}

static void test_park_wakes_a_parked_thread_and_it_uses_no_cpu(void)
{
    waiter_arg w = {0};
    pthread_t t;
    uint64_t t0;
    hg__park_init(&w.park);
    pthread_create(&t, NULL, waiter, &w);
    ok(dp_wait_parked(&w.park), "the waiter parks when its condition is false");
    usleep(300000);
    t0 = hg__now_ns();
    __atomic_store_n(&w.flag, 1, __ATOMIC_RELEASE);
    hg__park_wake(&w.park);
    ok(dp_wait_nonzero(&w.done), "a wake after the condition is set releases the parked thread");
    pthread_join(t, NULL);
    tap_diag("wake-up took %.1f us; the waiter used %.2f ms CPU over 300+ ms parked",
             (double)(w.woke_ns - t0) / 1e3, (double)w.cpu_ns / 1e6);
    ok(w.woke_ns - t0 < 500000000ull, "it woke promptly (under 500 ms even on a loaded machine)");
    ok(w.cpu_ns < 20000000u, "a thread parked for 300 ms used almost no CPU (%.2f ms)",
       (double)w.cpu_ns / 1e6);
}

enum { PINGPONG_ROUNDS = 20000 };

typedef struct pp {
    hg__park *mine, *theirs;
    uint32_t *turn, *lost, me;
} pp;

/* Takes its turn PINGPONG_ROUNDS times: waits (parked) for turn % 2 == me, bumps turn, wakes
 * the other player. A lost wake-up shows as a 2 s timeout, counted. */
static void *player(void *arg)
{
    pp *x = arg;
    for (int i = 0; i < PINGPONG_ROUNDS; i++) {
        while (__atomic_load_n(x->turn, __ATOMIC_ACQUIRE) % 2 != x->me) {
            uint32_t s = hg__park_prepare(x->mine);
            if (__atomic_load_n(x->turn, __ATOMIC_ACQUIRE) % 2 == x->me) {
                hg__park_cancel(x->mine);
                break;
            }
            if (hg__park_wait(x->mine, s, 2000000000ull) == HG_ETIMEDOUT)
                __atomic_fetch_add(x->lost, 1, __ATOMIC_RELAXED);
        }
        __atomic_fetch_add(x->turn, 1, __ATOMIC_RELEASE);
        hg__park_wake(x->theirs);
    }
    return NULL;
}

static void test_park_many_wakes_reach_the_waiter(void)
{
    hg__park a, b;
    uint32_t turn = 0, lost = 0;
    pthread_t t;
    hg__park_init(&a);
    hg__park_init(&b);
    pp x = {&a, &b, &turn, &lost, 0}, y = {&b, &a, &turn, &lost, 1};
    pthread_create(&t, NULL, player, &y);
    player(&x);
    pthread_join(t, NULL);
    is_int(lost, 0, "%d rounds of ping-pong through park/wake lost no wake-up", PINGPONG_ROUNDS);
    is_int(turn, 2 * PINGPONG_ROUNDS, "every turn was taken");
}

static void test_park_fd_becomes_readable_on_wake(void)
{
    hg__park p;
    struct pollfd pfd;
    int fd;
    hg__park_init(&p);
    fd = hg__park_fd(&p);
    ok(fd >= 0, "a park opens an eventfd for poll-based waiters");
    is_int(hg__park_fd(&p), fd, "asking again returns the same fd");
    hg__park_wake(&p);
    pfd = (struct pollfd){.fd = fd, .events = POLLIN};
    is_int(poll(&pfd, 1, 0), 0, "with no waiter announced a wake leaves the fd unreadable");
    hg__park_prepare(&p);
    hg__park_wake(&p);
    is_int(poll(&pfd, 1, 1000), 1, "with a waiter announced a wake makes the fd readable");
    hg__park_fd_ack(&p);
    is_int(poll(&pfd, 1, 0), 0, "fd_ack consumes the wake-up");
    is_int(p.waiters, 0, "fd_ack withdraws the announcement");
    hg__park_fini(&p);
}

/* fd_done reads the eventfd only when a wake came after the prepare. */
static void test_park_fd_done_reads_only_after_a_wake(void)
{
    hg__park p;
    struct pollfd pfd;
    uint32_t s;
    hg__park_init(&p);
    pfd = (struct pollfd){.fd = hg__park_fd(&p), .events = POLLIN};
    s = hg__park_prepare(&p);
    hg__park_fd_done(&p, s);
    is_int(p.waiters, 0, "fd_done without a wake withdraws the announcement");
    s = hg__park_prepare(&p);
    hg__park_wake(&p);
    is_int(poll(&pfd, 1, 1000), 1, "a wake after the prepare makes the fd readable");
    hg__park_fd_done(&p, s);
    is_int(poll(&pfd, 1, 0), 0, "fd_done after a wake consumes it");
    is_int(p.waiters, 0, "  and withdraws the announcement");
    hg__park_fini(&p);
}

int main(void)
{
    test_park_wake_without_waiter_is_free();
    test_park_wakes_the_kernel_once_per_sleep();
    test_park_wait_times_out();
    test_park_wake_between_prepare_and_wait_is_kept();
    test_park_wakes_a_parked_thread_and_it_uses_no_cpu();
    test_park_many_wakes_reach_the_waiter();
    test_park_fd_becomes_readable_on_wake();
    test_park_fd_done_reads_only_after_a_wake();
    return tap_done();
}
