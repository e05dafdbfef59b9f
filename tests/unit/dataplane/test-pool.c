/* test-pool.c - the buffer pool: class choice, fixed budget, exhaustion (error, counted; waits
 * woken by a free or a cancel), reference-counted fan-out, and a two-thread alloc/free stress. */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/wait.h>

#include <hangar/status.h>

#include "cancel.h"
#include "dp_harness.h"
#include "pool.h"
#include "tap.h"

static void test_pool_rejects_bad_classes(void)
{
    hg__pool *p;
    hg__pool_class dec[2] = {{256, 4}, {128, 4}}, zero[1] = {{0, 4}}, none[1] = {{64, 0}};
    is_int(hg__pool_create(dec, 2, &p), HG_EINVAL, "classes not in increasing size are refused");
    is_int(hg__pool_create(zero, 1, &p), HG_EINVAL, "a class of size 0 is refused");
    is_int(hg__pool_create(none, 1, &p), HG_EINVAL, "a class of 0 buffers is refused");
    is_int(hg__pool_create(dec, 0, &p), HG_EINVAL, "a pool without classes is refused");
}

static void test_pool_picks_the_smallest_fitting_class(void)
{
    hg__pool *p;
    hg__pool_class cl[2] = {{100, 2}, {1000, 1}};
    hg_buf *a, *b;
    hg__pool_class_stats st[2];
    is_int(hg__pool_create(cl, 2, &p), 0, "a pool of 2 x 100 B and 1 x 1000 B is created");
    is_int(hg__pool_budget(p), 2 * 128 + 1024 + 3 * sizeof(hg_buf),
           "its budget is the rounded buffer sizes plus one header each");
    ok(hg__pool_try_alloc(p, 1, &a) == 0 && a->size == 100, "1 byte comes from the 100 B class");
    ok(((uintptr_t)a->data & 63) == 0, "buffer data is 64-byte aligned");
    ok(hg__pool_try_alloc(p, 101, &b) == 0 && b->size == 1000, "101 bytes come from the 1000 B class");
    memset(b->data, 0xab, 1000); /* the whole size is writable (ASan checks) */
    is_int(hg__pool_try_alloc(p, 1001, &a), HG_EINVAL, "more than the largest class is refused");
    is_int(hg__pool_try_alloc(p, 0, &a), HG_EINVAL, "0 bytes is refused");
    is_int(hg__pool_try_alloc(p, 500, &a), HG_ENOMEM, "a full class is not borrowed from a smaller one");
    hg__pool_stats(p, st, 2);
    ok(st[1].exhausted == 1 && st[1].in_use == 1 && st[0].in_use == 1,
       "stats count the exhaustion and the buffers in use");
    is_int(hg__pool_destroy(p), HG_ESTATE, "a pool with buffers out is not destroyed");
    {
        hg_buf *a2, *a3;
        is_int(hg__pool_try_alloc(p, 100, &a2), 0, "the second 100 B buffer is handed out");
        is_int(hg__pool_try_alloc(p, 1, &a3), HG_ENOMEM, "then the 100 B class is exhausted");
        hg__buf_unref(a2);
    }
    hg__buf_unref(a);
    hg__buf_unref(b);
    is_int(hg__pool_destroy(p), 0, "once all are back the pool is destroyed");
}

static void test_pool_exhaustion_is_reported_and_counted(void)
{
    hg__pool *p;
    hg__pool_class cl[1] = {{64, 8}};
    hg_buf *b[9];
    hg__pool_class_stats st;
    int got = 0;
    hg__pool_create(cl, 1, &p);
    while (got < 9 && hg__pool_try_alloc(p, 64, &b[got]) == 0)
        got++;
    is_int(got, 8, "a class of 8 buffers hands out 8");
    hg__pool_try_alloc(p, 64, &b[8]);
    hg__pool_stats(p, &st, 1);
    is_int(st.exhausted, 2, "each failed allocation is counted");
    is_int(hg__pool_alloc(p, 64, 20000000u, NULL, &b[8]), HG_ETIMEDOUT,
           "a waiting allocation times out when nothing comes back");
    hg__buf_unref(b[3]);
    ok(hg__pool_try_alloc(p, 64, &b[8]) == 0 && b[8] == b[3], "a freed buffer is handed out again");
    for (int i = 0; i < 8; i++)
        hg__buf_unref(b[i == 3 ? 8 : i]);
    hg__pool_stats(p, &st, 1);
    ok(st.allocs == 9 && st.frees == 9 && st.in_use == 0, "allocs 9, frees 9, none in use");
    is_int(hg__pool_destroy(p), 0, "a pool with every buffer back is destroyed");
}

typedef struct waiter {
    hg__pool *p;
    hg_cancel *cancel;
    hg_buf *b;
    int rc;
    uint32_t done;
    uint64_t end_ns;
} waiter;

static void *alloc_waiter(void *arg)
{
    waiter *w = arg;
    w->rc = hg__pool_alloc(w->p, 64, HG__WAIT_FOREVER, w->cancel, &w->b);
    w->end_ns = hg__now_ns();
    __atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static hg__park *pool_park(hg__pool *p);

static void test_pool_waiting_alloc_wakes_on_free_and_cancel(void)
{
    hg__pool *p;
    hg__pool_class cl[1] = {{64, 1}};
    hg_buf *b;
    waiter w = {0};
    pthread_t t;
    uint64_t t0;
    hg__pool_create(cl, 1, &p);
    hg__pool_try_alloc(p, 64, &b);
    w.p = p;
    pthread_create(&t, NULL, alloc_waiter, &w);
    ok(dp_wait_parked(pool_park(p)), "an allocation from an exhausted pool parks");
    t0 = hg__now_ns();
    hg__buf_unref(b);
    ok(dp_wait_nonzero(&w.done) && w.rc == 0 && w.b == b, "a free hands the buffer to the waiter");
    pthread_join(t, NULL);
    tap_diag("free -> waiting alloc: %.1f us", (double)(w.end_ns - t0) / 1e3);

    w = (waiter){.p = p};
    hg__cancel_root(&w.cancel);
    pthread_create(&t, NULL, alloc_waiter, &w);
    ok(dp_wait_parked(pool_park(p)), "a second allocation parks");
    t0 = hg__now_ns();
    hg__cancel_fire(w.cancel);
    ok(dp_wait_nonzero(&w.done) && w.rc == HG_ECANCELED, "cancel ends the wait with HG_ECANCELED");
    pthread_join(t, NULL);
    tap_diag("cancel -> waiting alloc returns: %.1f us", (double)(w.end_ns - t0) / 1e3);
    ok(w.end_ns - t0 < 500000000ull, "promptly");
    is_int(hg__pool_alloc(p, 64, HG__WAIT_FOREVER, w.cancel, &b), HG_ECANCELED,
           "an allocation with a fired token and no buffer returns at once");
    hg__cancel_release(w.cancel);
    hg__buf_unref(b);
    hg__pool_destroy(p);
}

static hg__park *pool_park(hg__pool *p)
{
    return hg__pool_park(p);
}

typedef struct fan {
    hg_buf *b;
    uint32_t go;
} fan;

static void *fan_consumer(void *arg)
{
    fan *f = arg;
    dp_wait_nonzero(&f->go);
    if (f->b->data[0] == 0x5a)
        hg__buf_unref(f->b);
    return NULL;
}

static void test_pool_fan_out_shares_one_buffer(void)
{
    hg__pool *p;
    hg__pool_class cl[1] = {{256, 2}};
    hg__pool_class_stats st;
    fan f = {0};
    pthread_t t[3];
    hg__pool_create(cl, 1, &p);
    hg__pool_try_alloc(p, 200, &f.b);
    f.b->data[0] = 0x5a;
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, fan_consumer, &f);
    hg__buf_ref(f.b);
    hg__buf_ref(f.b);
    is_int(hg__buf_refs(f.b), 3, "one reference per consumer: 3");
    __atomic_store_n(&f.go, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    hg__pool_stats(p, &st, 1);
    ok(st.in_use == 0 && st.frees == 1, "3 consumers unref one buffer: returned once, on the last");
    is_int(hg__pool_destroy(p), 0, "the pool is whole again");
}

static void test_pool_double_unref_aborts(void)
{
    hg__pool *p;
    hg__pool_class cl[1] = {{64, 1}};
    hg_buf *b;
    int status = 0;
    pid_t pid;
    hg__pool_create(cl, 1, &p);
    hg__pool_try_alloc(p, 64, &b);
    char msg[256] = "";
    int fds[2];
    ssize_t n;
    fflush(stdout);
    if (pipe(fds) != 0)
        abort();
    pid = fork();
    if (pid == 0) {
        dup2(fds[1], 2);
        hg__buf_unref(b);
        hg__buf_unref(b);
        _exit(0);
    }
    close(fds[1]);
    n = read(fds[0], msg, sizeof msg - 1);
    msg[n > 0 ? n : 0] = 0;
    close(fds[0]);
    waitpid(pid, &status, 0);
    ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
       "unreferencing a buffer once too often aborts instead of handing it out twice");
    like_str(msg, "unreferenced once too often", "with a message saying so on stderr");
    hg__buf_unref(b);
    hg__pool_destroy(p);
}

typedef struct churn {
    hg__pool *p;
    int id;
    uint64_t n, bad, fails;
} churn;

static void *churner(void *arg)
{
    churn *c = arg;
    hg_buf *held[4];
    for (uint64_t i = 0; i < c->n; i++) {
        int k = (int)(i % 4) + 1, got = 0;
        for (; got < k; got++) {
            if (hg__pool_try_alloc(c->p, 32, &held[got]) != 0)
                break;
            memset(held[got]->data, c->id, 32);
        }
        c->fails += got < k;
        for (int j = 0; j < got; j++) {
            for (int x = 0; x < 32; x++)
                c->bad += held[j]->data[x] != c->id; /* someone else got it too */
            hg__buf_unref(held[j]);
        }
    }
    return NULL;
}

enum { CHURNERS = 4 };

static void test_pool_threads_never_share_a_buffer(void)
{
    hg__pool *p;
    hg__pool_class cl[1] = {{32, 6}};
    churn c[CHURNERS];
    pthread_t t[CHURNERS];
    hg__pool_class_stats st;
    uint64_t bad = 0, fails = 0;
    hg__pool_create(cl, 1, &p);
    /* More threads than cores: a thread preempted between reading the free-list head and its
     * compare-and-swap is what a missing ABA tag would trip on. */
    for (int i = 0; i < CHURNERS; i++) {
        c[i] = (churn){.p = p, .id = i + 1, .n = dp_n(200000)};
        pthread_create(&t[i], NULL, churner, &c[i]);
    }
    for (int i = 0; i < CHURNERS; i++) {
        pthread_join(t[i], NULL);
        bad += c[i].bad;
        fails += c[i].fails;
    }
    hg__pool_stats(p, &st, 1);
    is_int(bad, 0, "%d threads allocating and freeing never hold one buffer at once", CHURNERS);
    is_int(st.in_use, 0, "every buffer came back");
    is_int(st.exhausted, fails, "exhaustion counted once per failed allocation");
    is_int(hg__pool_destroy(p), 0, "the pool is destroyed");
}

int main(int argc, char **argv)
{
    dp_args(argc, argv, 20);
    test_pool_rejects_bad_classes();
    test_pool_picks_the_smallest_fitting_class();
    test_pool_exhaustion_is_reported_and_counted();
    test_pool_waiting_alloc_wakes_on_free_and_cancel();
    test_pool_fan_out_shares_one_buffer();
    test_pool_double_unref_aborts();
    test_pool_threads_never_share_a_buffer();
    return tap_done();
}
