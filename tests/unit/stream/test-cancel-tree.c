/* test-cancel-tree.c - cancel trees that finish: thousands of tokens cancelled at once, a parent
 * waiting for its subtree to acknowledge within a bound and learning which children did not,
 * children freed without a cancel leaving their parent. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cancel.h"
#include "clock.h"
#include "tap.h"

#define N_CONN 40
#define N_STREAM 100 /* 40 connectors x 100 streams: 4041 tokens */

typedef struct worker {
    hg_cancel *tok;
    int ignore; /* does not acknowledge */
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    hg__cancel_wait(w->tok, 10ull * 1000000000u);
    if (!w->ignore)
        hg__cancel_ack(w->tok);
    return NULL;
}

static void test_cancel_tree_cancel_reaches_thousands(void)
{
    hg_cancel *root, *conn[N_CONN], *st[N_CONN][N_STREAM];
    uint32_t set = 0, late = 99;
    char names[256];
    hg__cancel_root(&root);
    for (int i = 0; i < N_CONN; i++) {
        hg__cancel_child(root, &conn[i]);
        for (int j = 0; j < N_STREAM; j++)
            hg__cancel_child(conn[i], &st[i][j]);
    }
    is_int(hg__cancel_subtree_size(root), 1 + N_CONN + N_CONN * N_STREAM,
           "a root with 40 connectors of 100 streams holds 4041 tokens");
    hg__cancel_fire(conn[3]);
    for (int j = 0; j < N_STREAM; j++)
        set += hg__cancel_is_set(st[3][j]);
    is_int(set, N_STREAM, "cancelling one connector cancels its 100 streams");
    ok(!hg__cancel_is_set(st[4][0]) && !hg__cancel_is_set(root),
       "a sibling connector and the root are not cancelled");
    hg__cancel_fire(root);
    set = 0;
    for (int i = 0; i < N_CONN; i++)
        for (int j = 0; j < N_STREAM; j++)
            set += hg__cancel_is_set(st[i][j]);
    is_int(set, N_CONN * N_STREAM, "cancelling the root cancels all 4000 streams");
    for (int i = 0; i < N_CONN; i++) {
        for (int j = 0; j < N_STREAM; j++)
            hg__cancel_ack(st[i][j]);
        if (i != 7)
            hg__cancel_ack(conn[i]);
    }
    is_int(hg__cancel_wait_subtree(root, 20000000u, names, sizeof names, &late), HG_ETIMEDOUT,
           "a subtree with one unacknowledged connector is not finished");
    is_int(late, 1, "one token is named late");
    hg__cancel_set_name(conn[7], "conn7");
    hg__cancel_wait_subtree(root, 1000000u, names, sizeof names, &late);
    is_str(names, "conn7", "the report names it");
    hg__cancel_ack(conn[7]);
    is_int(hg__cancel_wait_subtree(root, 1000000000u, names, sizeof names, &late), 0,
           "once it acknowledges, the whole tree is finished");
    for (int i = 0; i < N_CONN; i++) {
        for (int j = 0; j < N_STREAM; j++)
            hg__cancel_release(st[i][j]);
        hg__cancel_release(conn[i]);
    }
    hg__cancel_release(root);
}

static void test_cancel_tree_wait_names_children_that_did_not_finish(void)
{
    enum { N = 2000 };
    hg_cancel *root;
    worker *w = calloc(N, sizeof *w);
    pthread_t th[16];
    uint32_t late = 0;
    char names[128];
    uint64_t t0;
    hg__cancel_root(&root);
    for (int i = 0; i < N; i++) {
        char nm[32];
        hg__cancel_child(root, &w[i].tok);
        snprintf(nm, sizeof nm, "s%d", i);
        hg__cancel_set_name(w[i].tok, nm);
        w[i].ignore = i == 1234 || i == 1500;
    }
    for (int i = 0; i < 16; i++) /* 16 real waiters; the rest acknowledge from here */
        pthread_create(&th[i], NULL, work, &w[i * 125 + 9]);
    hg__cancel_fire(root);
    for (int i = 0; i < N; i++)
        if ((i - 9) % 125 != 0 || i < 9 || i > 15 * 125 + 9)
            if (!w[i].ignore)
                hg__cancel_ack(w[i].tok);
    t0 = hg__now_ns();
    is_int(hg__cancel_wait_subtree(root, 200000000u, names, sizeof names, &late), HG_ETIMEDOUT,
           "a wait for 2000 children, two of which ignore the cancel, times out");
    ok(hg__now_ns() - t0 < 2000000000u, "within its bound (200 ms asked)");
    is_int(late, 2, "two children are late");
    ok(strstr(names, "s1234") && strstr(names, "s1500"), "named: %s", names);
    for (int i = 0; i < 16; i++)
        pthread_join(th[i], NULL);
    hg__cancel_release(w[1234].tok);
    hg__cancel_ack(w[1500].tok);
    is_int(hg__cancel_wait_subtree(root, 1000000000u, NULL, 0, &late), 0,
           "one released and one late acknowledgement finish the subtree");
    for (int i = 0; i < N; i++)
        if (i != 1234)
            hg__cancel_release(w[i].tok);
    hg__cancel_release(root);
    free(w);
}

static void test_cancel_tree_children_freed_without_cancel_leave(void)
{
    enum { N = 5000 };
    hg_cancel *root, **c = calloc(N, sizeof *c);
    hg__cancel_root(&root);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < N; i++)
            hg__cancel_child(root, &c[i]);
        for (int i = N - 1; i >= 0; i--)
            if (i % 2 == round % 2)
                hg__cancel_release(c[i]);
        for (int i = 0; i < N; i++)
            if (i % 2 != round % 2)
                hg__cancel_release(c[i]);
    }
    is_int(hg__cancel_subtree_size(root), 1,
           "15000 children created and freed uncancelled leave the root alone");
    ok(!hg__cancel_is_set(root), "and the root was never cancelled");
    is_int(hg__cancel_wait_subtree(root, 0, NULL, 0, NULL), 0, "an empty subtree is finished");
    /* a deep chain: cancel walks it, release frees it bottom-up */
    {
        hg_cancel *p = root, *chain[1000];
        for (int i = 0; i < 1000; i++) {
            hg__cancel_child(p, &chain[i]);
            p = chain[i];
        }
        hg__cancel_fire(root);
        ok(hg__cancel_is_set(chain[999]), "a cancel reaches the end of a 1000-deep chain");
        for (int i = 0; i < 1000; i++)
            hg__cancel_release(chain[i]);
        is_int(hg__cancel_subtree_size(root), 1, "the chain released top-down is all freed");
    }
    hg__cancel_release(root);
    free(c);
}

int main(void)
{
    test_cancel_tree_cancel_reaches_thousands();
    test_cancel_tree_wait_names_children_that_did_not_finish();
    test_cancel_tree_children_freed_without_cancel_leave();
    return tap_done();
}
