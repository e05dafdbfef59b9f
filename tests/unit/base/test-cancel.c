/* test-cancel.c - cancel tokens: subtree cancellation, waits, subscriptions, release order. */
#define _GNU_SOURCE
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "cancel.h"
#include "tap.h"

static int hits;
static void bump(void *arg)
{
    (void)arg;
    __atomic_fetch_add(&hits, 1, __ATOMIC_SEQ_CST);
}

static void *fire_later(void *arg)
{
    usleep(20000);
    hg__cancel_fire(arg);
    return NULL;
}

static void slow(void *arg)
{
    usleep(50000);
    __atomic_store_n((int *)arg, 1, __ATOMIC_SEQ_CST);
}

static void *fire_now(void *arg)
{
    hg__cancel_fire(arg);
    return NULL;
}

int main(void)
{
    hg_cancel *root, *a, *b, *c;
    uint64_t sub;
    pthread_t t;
    int done = 0;

    is_int(hg__cancel_root(&root), 0, "cancel creates a root token");
    hg__cancel_child(root, &a);
    hg__cancel_child(a, &b);
    hg__cancel_child(root, &c);
    hg__cancel_subscribe(b, bump, NULL, &sub);
    ok(!hg__cancel_is_set(b), "a new token is not cancelled");
    hg__cancel_fire(a);
    ok(hg__cancel_is_set(a) && hg__cancel_is_set(b), "cancel cancels the token and its subtree");
    ok(!hg__cancel_is_set(c) && !hg__cancel_is_set(root), "cancel leaves siblings and parents");
    is_int(hits, 1, "cancel runs a subtree subscriber once");
    hg__cancel_fire(a);
    is_int(hits, 1, "cancel is idempotent");
    hg__cancel_subscribe(a, bump, NULL, &sub);
    is_int(hits, 2, "subscribing to a cancelled token runs the callback at once");
    is_int(hg__cancel_wait(c, 10000000ull), HG_ETIMEDOUT, "cancel_wait times out");
    pthread_create(&t, NULL, fire_later, root);
    is_int(hg__cancel_wait(c, 2000000000ull), 0, "cancel_wait returns when an ancestor fires");
    pthread_join(t, NULL);
    {
        hg_cancel *d;
        hg__cancel_child(c, &d);
        ok(hg__cancel_is_set(d), "a child of a cancelled token starts cancelled");
        hg__cancel_release(d);
    }

    /* unsubscribe waits out a callback firing on another thread */
    {
        hg_cancel *r2;
        hg__cancel_root(&r2);
        hg__cancel_subscribe(r2, slow, &done, &sub);
        pthread_create(&t, NULL, fire_now, r2);
        usleep(10000);
        hg__cancel_unsubscribe(r2, sub);
        is_int(__atomic_load_n(&done, __ATOMIC_SEQ_CST), 1,
               "unsubscribe returns only after a firing callback finished");
        pthread_join(t, NULL);
        hg__cancel_release(r2);
    }

    /* release in any order frees everything (checked by ASan/valgrind in --sanitize runs) */
    hg__cancel_release(root);
    hg__cancel_release(b);
    hg__cancel_release(a);
    hg__cancel_release(c);
    ok(1, "tokens released parent-first and child-first without a crash");
    return tap_done();
}
