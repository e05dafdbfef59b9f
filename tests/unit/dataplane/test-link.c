/* test-link.c - links: policies with exact counts, close/end of stream, discard, drain, waits
 * woken by the other side, by close and by cancel, no CPU while idle, and stress runs in which a
 * reader thread checks pushed == delivered + dropped + queued in every snapshot it takes. */
#define _GNU_SOURCE
#include <hangar/status.h>

#include "cancel.h"
#include "dp_harness.h"
#include "link.h"
#include "tap.h"

#define ITEM(i) ((void *)(uintptr_t)(i))
#define VAL(p) ((uint64_t)(uintptr_t)(p))

typedef struct released {
    uint64_t n, last, order_bad;
} released;

static void on_release(void *item, void *ud)
{
    released *r = ud;
    if (VAL(item) <= __atomic_load_n(&r->last, __ATOMIC_RELAXED))
        __atomic_fetch_add(&r->order_bad, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&r->last, VAL(item), __ATOMIC_RELAXED);
    __atomic_fetch_add(&r->n, 1, __ATOMIC_RELAXED);
}

static hg__link *mk(uint32_t cap, uint32_t policy, uint32_t flags, released *rel)
{
    hg__link *l = NULL;
    hg__link_opts o = {.capacity = cap, .policy = policy, .flags = flags,
                       .release = rel ? on_release : NULL, .release_ud = rel};
    if (hg__link_create(&o, &l) != 0)
        abort();
    return l;
}

static hg__link_stats st(hg__link *l)
{
    hg__link_stats s;
    hg__link_stats_get(l, &s);
    return s;
}

static void test_link_rejects_bad_options(void)
{
    hg__link *l;
    hg__link_opts o = {.capacity = 4, .policy = 9};
    is_int(hg__link_create(&o, &l), HG_EINVAL, "an unknown policy is refused");
    o = (hg__link_opts){.capacity = 4, .flags = 0x80};
    is_int(hg__link_create(&o, &l), HG_EINVAL, "an unknown flag is refused");
    o = (hg__link_opts){.capacity = 0};
    is_int(hg__link_create(&o, &l), HG_EINVAL, "capacity 0 is refused");
}

static void test_link_block_policy_refuses_when_full(void)
{
    hg__link *l = mk(4, 0, 0, NULL);
    hg__link_stats s;
    uint64_t t0;
    for (int i = 1; i <= 4; i++)
        hg__link_try_send(l, ITEM(i));
    is_int(hg__link_try_send(l, ITEM(5)), HG_EAGAIN, "block: try_send on a full link says HG_EAGAIN");
    t0 = hg__now_ns();
    is_int(hg__link_send(l, ITEM(5), 20000000u, NULL), HG_ETIMEDOUT, "block: send waits, then times out");
    ok(hg__now_ns() - t0 >= 20000000u, "after its full 20 ms");
    s = st(l);
    ok(s.pushed == 4 && s.queued == 4 && s.dropped == 0 && s.refused == 2 && s.high_water == 4,
       "block: pushed 4, queued 4, dropped 0, refused 2, high water 4");
    hg__link_destroy(l);
}

static void test_link_drop_newest_counts_exactly(void)
{
    released rel = {0};
    hg__link *l = mk(4, HG_POLICY_DROP_NEWEST, 0, &rel);
    hg__link_stats s;
    int again = 0, order = 1;
    void *v;
    for (int i = 1; i <= 10; i++)
        again += hg__link_try_send(l, ITEM(i)) == HG_EAGAIN;
    is_int(again, 6, "drop_newest: 6 of 10 sends into 4 slots return HG_EAGAIN");
    s = st(l);
    ok(s.pushed == 10 && s.dropped == 6 && s.queued == 4 && s.delivered == 0,
       "drop_newest: pushed 10, dropped 6, queued 4");
    is_int(rel.n, 0, "the dropped frames stay the sender's (not released by the link)");
    for (int i = 1; i <= 4; i++)
        order &= hg__link_try_recv(l, &v) == 0 && VAL(v) == (uint64_t)i;
    ok(order, "the receiver gets the 4 oldest, 1..4");
    s = st(l);
    ok(s.delivered == 4 && s.queued == 0 && s.pushed == s.delivered + s.dropped + s.queued,
       "delivered 4, queued 0, and the counts add up");
    hg__link_destroy(l);
}

static void test_link_drop_oldest_counts_exactly(int flags)
{
    released rel = {0};
    hg__link *l = mk(4, HG_POLICY_DROP_OLDEST, (uint32_t)flags, &rel);
    hg__link_stats s;
    int zero = 0, order = 1;
    const char *kind = flags ? "mpmc" : "spsc";
    void *v;
    for (int i = 1; i <= 10; i++)
        zero += hg__link_send(l, ITEM(i), HG__WAIT_FOREVER, NULL) == 0;
    is_int(zero, 10, "drop_oldest (%s): all 10 sends into 4 slots succeed", kind);
    ok(rel.n == 6 && rel.last == 6 && rel.order_bad == 0,
       "drop_oldest (%s): frames 1..6 were released by the link, oldest first", kind);
    s = st(l);
    ok(s.pushed == 10 && s.dropped == 6 && s.queued == 4 && s.high_water == 4,
       "drop_oldest (%s): pushed 10, dropped 6, queued 4, high water 4", kind);
    for (int i = 7; i <= 10; i++)
        order &= hg__link_recv(l, &v, 0, NULL) == 0 && VAL(v) == (uint64_t)i;
    ok(order, "drop_oldest (%s): the receiver gets the 4 newest, 7..10", kind);
    hg__link_destroy(l);
}

static void test_link_ready_says_frames_or_end(int flags)
{
    hg__link *l = mk(4, HG_POLICY_BLOCK, flags, NULL);
    void *item;
    is_int(hg__link_ready(l), 0, "ready: an empty open link is not ready (%s)",
           flags ? "mpmc" : "spsc");
    is_int(hg__link_try_send(l, (void *)(uintptr_t)1), 0, "  a frame is sent");
    is_int(hg__link_ready(l), 1, "  then it is ready");
    is_int(hg__link_try_recv(l, &item), 0, "  the frame is taken");
    is_int(hg__link_ready(l), 0, "  then it is not ready again");
    hg__link_close(l);
    is_int(hg__link_ready(l), 1, "  a closed link is ready (the receiver sees the end)");
    hg__link_destroy(l);
}

static void test_link_close_ends_the_stream_after_queued_frames(void)
{
    hg__link *l = mk(8, 0, 0, NULL);
    void *v, *buf[8];
    int got = 0;
    for (int i = 1; i <= 3; i++)
        hg__link_try_send(l, ITEM(i));
    hg__link_close(l);
    ok(hg__link_is_closed(l), "close marks the link closed");
    is_int(hg__link_send(l, ITEM(4), HG__WAIT_FOREVER, NULL), HG_ECLOSED, "a send after close says HG_ECLOSED");
    while (hg__link_recv(l, &v, HG__WAIT_FOREVER, NULL) == 0)
        got++;
    is_int(got, 3, "the receiver still gets the 3 frames queued before close");
    is_int(hg__link_recv(l, &v, HG__WAIT_FOREVER, NULL), HG_ECLOSED, "then end of stream, without waiting");
    is_int(hg__link_try_recv(l, &v), HG_ECLOSED, "try_recv says end of stream too");
    is_int(hg__link_drain(l, buf, 8), HG_ECLOSED, "and drain");
    is_int(st(l).refused, 1, "the refused send is counted as refused, not pushed");
    hg__link_destroy(l);
}

static void test_link_drain_takes_up_to_max(void)
{
    hg__link *l = mk(8, 0, 0, NULL);
    void *buf[8];
    for (int i = 1; i <= 5; i++)
        hg__link_try_send(l, ITEM(i));
    is_int(hg__link_drain(l, buf, 3), 3, "drain(3) of 5 takes 3");
    ok(VAL(buf[0]) == 1 && VAL(buf[2]) == 3, "the oldest");
    is_int(hg__link_drain(l, buf, 8), 2, "drain(8) takes the 2 left");
    is_int(hg__link_drain(l, buf, 8), 0, "drain on an empty open link takes nothing");
    is_int(st(l).delivered, 5, "drained frames count as delivered");
    hg__link_destroy(l);
}

static void test_link_discard_counts_what_is_left_as_dropped(void)
{
    released rel = {0};
    hg__link *l = mk(8, 0, 0, &rel);
    hg__link_stats s;
    void *v;
    for (int i = 1; i <= 5; i++)
        hg__link_try_send(l, ITEM(i));
    hg__link_try_recv(l, &v);
    is_int(hg__link_discard(l), 4, "discard takes the 4 frames left");
    is_int(rel.n, 4, "and releases each through the release callback");
    s = st(l);
    ok(s.pushed == 5 && s.delivered == 1 && s.dropped == 4 && s.queued == 0,
       "pushed 5 = delivered 1 + dropped 4 + queued 0");
    is_int(hg__link_try_send(l, ITEM(9)), HG_ECLOSED, "a send to a discarded link says HG_ECLOSED");
    is_int(hg__link_try_recv(l, &v), HG_ECLOSED, "a receive says end of stream");
    hg__link_destroy(l);
    rel = (released){0};
    l = mk(8, 0, 0, &rel);
    for (int i = 1; i <= 3; i++)
        hg__link_try_send(l, ITEM(i));
    hg__link_destroy(l);
    is_int(rel.n, 3, "destroy releases the frames still queued");
}

typedef struct blocked {
    hg__link *l;
    hg_cancel *cancel;
    int send; /* 1: send, 0: recv */
    uint64_t timeout_ns;
    int rc;
    void *item;
    uint32_t done;
    uint64_t end_ns, cpu_ns;
} blocked;

static void *blocked_call(void *arg)
{
    blocked *b = arg;
    uint64_t c0 = dp_thread_cpu_ns();
    if (b->send)
        b->rc = hg__link_send(b->l, b->item, b->timeout_ns, b->cancel);
    else
        b->rc = hg__link_recv(b->l, &b->item, b->timeout_ns, b->cancel);
    b->end_ns = hg__now_ns();
    b->cpu_ns = dp_thread_cpu_ns() - c0;
    __atomic_store_n(&b->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* Starts a blocked send (on a full link) or recv (on an empty one), waits until it parked, runs
 * wake(l, cancel), and returns how long the call took to return after that, in us; *rc gets its
 * status. */
static double wake_blocked(int send, void (*wake)(hg__link *, hg_cancel *), int *rc)
{
    hg__link *l = mk(2, 0, 0, NULL);
    blocked b = {.l = l, .send = send, .timeout_ns = HG__WAIT_FOREVER, .item = ITEM(7)};
    pthread_t t;
    uint64_t t0;
    if (send) {
        hg__link_try_send(l, ITEM(1));
        hg__link_try_send(l, ITEM(2));
    }
    hg__cancel_root(&b.cancel);
    pthread_create(&t, NULL, blocked_call, &b);
    if (!dp_wait_parked(send ? hg__link_space_park(l) : hg__link_data_park(l)))
        tap_diag("the blocked call never parked");
    t0 = hg__now_ns();
    wake(l, b.cancel);
    *rc = dp_wait_nonzero(&b.done) ? b.rc : 999;
    pthread_join(t, NULL);
    hg__cancel_release(b.cancel);
    hg__link_destroy(l);
    return (double)(b.end_ns - t0) / 1e3;
}

static void by_cancel(hg__link *l, hg_cancel *c)
{
    hg__cancel_fire(c);
}

static void by_close(hg__link *l, hg_cancel *c)
{
    hg__link_close(l);
}

static void by_other_side(hg__link *l, hg_cancel *c)
{
    void *v;
    if (__atomic_load_n(&hg__link_space_park(l)->waiters, __ATOMIC_ACQUIRE))
        hg__link_try_recv(l, &v);
    else
        hg__link_try_send(l, ITEM(3));
}

static void test_link_blocked_calls_wake_promptly(void)
{
    static const struct {
        int send;
        void (*fn)(hg__link *, hg_cancel *);
        int want;
        const char *what;
    } cases[] = {
        {0, by_cancel, HG_ECANCELED, "cancel wakes a blocked recv: HG_ECANCELED"},
        {1, by_cancel, HG_ECANCELED, "cancel wakes a blocked send: HG_ECANCELED"},
        {0, by_close, HG_ECLOSED, "close wakes a blocked recv: HG_ECLOSED"},
        {1, by_close, HG_ECLOSED, "close wakes a blocked send: HG_ECLOSED"},
        {0, by_other_side, 0, "a send wakes a blocked recv, which gets the frame"},
        {1, by_other_side, 0, "a recv wakes a blocked send, which gets its frame in"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc;
        double us = wake_blocked(cases[i].send, cases[i].fn, &rc);
        is_int(rc, cases[i].want, "%s", cases[i].what);
        tap_diag("  returned %.1f us after the wake", us);
        ok(us < 500000, "  promptly (%.1f us; limit 500 ms for a loaded machine)", us);
    }
}

static void test_link_recv_prefers_a_queued_frame_to_cancel(void)
{
    hg__link *l = mk(2, 0, 0, NULL);
    hg_cancel *c;
    void *v = NULL;
    hg__cancel_root(&c);
    hg__cancel_fire(c);
    hg__link_try_send(l, ITEM(5));
    ok(hg__link_recv(l, &v, HG__WAIT_FOREVER, c) == 0 && VAL(v) == 5,
       "a recv with a fired token still returns a queued frame");
    is_int(hg__link_recv(l, &v, HG__WAIT_FOREVER, c), HG_ECANCELED, "then HG_ECANCELED instead of waiting");
    hg__cancel_release(c);
    hg__link_destroy(l);
}

static void test_link_idle_receiver_uses_no_cpu(void)
{
    hg__link *l = mk(16, 0, 0, NULL);
    blocked b = {.l = l, .timeout_ns = 300000000u};
    pthread_t t;
    pthread_create(&t, NULL, blocked_call, &b);
    pthread_join(t, NULL);
    is_int(b.rc, HG_ETIMEDOUT, "a recv on an idle link times out after 300 ms");
    tap_diag("receiver CPU time over 300 ms waiting: %.3f ms", (double)b.cpu_ns / 1e6);
    ok(b.cpu_ns < 15000000u, "and its thread used almost no CPU meanwhile (%.3f ms of 300)",
       (double)b.cpu_ns / 1e6);
    hg__link_destroy(l);
}

/* --- stress: producers, consumers and a reader checking the counters all along --- */

enum { MAXP = 2 };

typedef struct lstress {
    hg__link *l;
    uint32_t policy, producers, consumers, cap;
    uint64_t per_producer;
    uint32_t producers_done, stop;
    released rel;
    uint64_t newest_dropped; /* drop_newest refusals the producers released themselves */
    uint64_t got, order_bad;
    uint64_t snaps, bad_sum, bad_bound, bad_mono, max_queued;
} lstress;

static void *lproducer(void *arg)
{
    lstress *s = arg;
    for (uint64_t i = 1; i <= s->per_producer; i++) {
        /* block: waits; drops: never do. The item carries the sequence number. */
        int rc = hg__link_send(s->l, ITEM(i), HG__WAIT_FOREVER, NULL);
        if (rc == HG_EAGAIN)
            __atomic_fetch_add(&s->newest_dropped, 1, __ATOMIC_RELAXED);
        else if (rc != 0)
            abort();
    }
    if (__atomic_add_fetch(&s->producers_done, 1, __ATOMIC_ACQ_REL) == s->producers)
        hg__link_close(s->l);
    return NULL;
}

static void *lconsumer(void *arg)
{
    lstress *s = arg;
    void *buf[16];
    uint64_t last = 0, got = 0, bad = 0;
    for (uint64_t turn = 0;; turn++) {
        int n;
        if (turn % 2) {
            n = hg__link_recv(s->l, buf, 100000000u, NULL);
            n = n == 0 ? 1 : n == HG_ETIMEDOUT ? 0 : n;
        } else {
            n = hg__link_drain(s->l, buf, 16);
        }
        if (n == HG_ECLOSED)
            break;
        for (int j = 0; j < n; j++) {
            uint64_t v = VAL(buf[j]);
            /* one producer and one consumer: strictly increasing; consecutive under block */
            if (s->producers == 1 && s->consumers == 1)
                bad += s->policy == HG_POLICY_BLOCK ? v != last + 1 : v <= last;
            last = v;
        }
        got += (uint64_t)n;
    }
    __atomic_fetch_add(&s->got, got, __ATOMIC_RELAXED);
    __atomic_fetch_add(&s->order_bad, bad, __ATOMIC_RELAXED);
    return NULL;
}

static void *lreader(void *arg)
{
    lstress *s = arg;
    hg__link_stats prev = {0}, c;
    /* SPSC drop-oldest: a frame claimed by the receiver but not yet counted (its batch of 16). */
    uint64_t bound = s->cap + (s->policy == HG_POLICY_DROP_OLDEST && s->producers == 1 ? 16 : 0);
    while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
        hg__link_stats_get(s->l, &c);
        s->snaps++;
        if (c.queued > s->max_queued)
            s->max_queued = c.queued;
        s->bad_sum += c.pushed != c.delivered + c.dropped + c.queued;
        s->bad_bound += c.queued > bound || c.high_water > s->cap;
        s->bad_mono += c.pushed < prev.pushed || c.delivered < prev.delivered ||
                       c.dropped < prev.dropped || c.high_water < prev.high_water;
        prev = c;
    }
    return NULL;
}

static void run_link_stress(uint32_t policy, uint32_t producers, uint32_t consumers)
{
    lstress s = {.policy = policy, .producers = producers, .consumers = consumers, .cap = 64,
                 .per_producer = dp_n(300000)};
    pthread_t tp[MAXP], tc[MAXP], tr;
    hg__link_stats end;
    const char *pname = policy == HG_POLICY_BLOCK ? "block"
                        : policy == HG_POLICY_DROP_NEWEST ? "drop_newest" : "drop_oldest";
    hg__link_opts o = {.capacity = s.cap, .policy = policy,
                       .flags = producers > 1 || consumers > 1 ? HG__LINK_MPMC : 0,
                       .release = on_release, .release_ud = &s.rel};
    char what[64];
    hg__link_create(&o, &s.l);
    snprintf(what, sizeof what, "%s %uP%uC", pname, producers, consumers);
    pthread_create(&tr, NULL, lreader, &s);
    for (uint32_t i = 0; i < consumers; i++)
        pthread_create(&tc[i], NULL, lconsumer, &s);
    for (uint32_t i = 0; i < producers; i++)
        pthread_create(&tp[i], NULL, lproducer, &s);
    for (uint32_t i = 0; i < producers; i++)
        pthread_join(tp[i], NULL);
    for (uint32_t i = 0; i < consumers; i++)
        pthread_join(tc[i], NULL);
    __atomic_store_n(&s.stop, 1, __ATOMIC_RELEASE);
    pthread_join(tr, NULL);
    hg__link_stats_get(s.l, &end);
    tap_diag("%s: %llu sent, %llu delivered, %llu dropped, high water %llu, %llu snapshots, "
             "most queued in one %llu", what, (unsigned long long)end.pushed,
             (unsigned long long)end.delivered, (unsigned long long)end.dropped,
             (unsigned long long)end.high_water, (unsigned long long)s.snaps,
             (unsigned long long)s.max_queued);
    ok(s.snaps > 100 && s.bad_sum == 0,
       "%s: pushed == delivered + dropped + queued in all %llu snapshots taken during the run",
       what, (unsigned long long)s.snaps);
    is_int(s.bad_bound, 0, "%s: queued never exceeded the capacity (plus the receiver's batch on SPSC drop_oldest), high water never did", what);
    is_int(s.bad_mono, 0, "%s: pushed, delivered, dropped never went backwards", what);
    ok(end.pushed == producers * s.per_producer && end.queued == 0 && end.delivered == s.got &&
       end.dropped == s.rel.n + s.newest_dropped,
       "%s: at the end every frame sent was delivered (%llu) or dropped (%llu), exactly", what,
       (unsigned long long)s.got, (unsigned long long)(s.rel.n + s.newest_dropped));
    is_int(s.order_bad, 0, "%s: the receiver saw the frames in order", what);
    if (policy == HG_POLICY_BLOCK)
        is_int(end.dropped, 0, "%s: block drops nothing", what);
    hg__link_destroy(s.l);
}

int main(int argc, char **argv)
{
    dp_args(argc, argv, 20);
    test_link_rejects_bad_options();
    test_link_block_policy_refuses_when_full();
    test_link_drop_newest_counts_exactly();
    test_link_drop_oldest_counts_exactly(0);
    test_link_drop_oldest_counts_exactly(HG__LINK_MPMC);
    test_link_ready_says_frames_or_end(0);
    test_link_ready_says_frames_or_end(HG__LINK_MPMC);
    test_link_close_ends_the_stream_after_queued_frames();
    test_link_drain_takes_up_to_max();
    test_link_discard_counts_what_is_left_as_dropped();
    test_link_blocked_calls_wake_promptly();
    test_link_recv_prefers_a_queued_frame_to_cancel();
    test_link_idle_receiver_uses_no_cpu();
    for (uint32_t p = HG_POLICY_BLOCK; p <= HG_POLICY_DROP_OLDEST; p++) {
        run_link_stress(p, 1, 1);
        run_link_stress(p, 2, 2);
    }
    return tap_done();
}
