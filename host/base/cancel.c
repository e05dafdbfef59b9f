/* cancel.c - cancel tokens. A tree shares one mutex and one condition variable; a token is freed
 * once it is released and has no live children, and the tree with its last token. A holder
 * acknowledges a cancel once it finished; a parent waits for its subtree to do so. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cancel.h"
#include "clock.h"

typedef struct sub {
    struct sub *next;
    uint64_t id;
    void (*fn)(void *);
    void *arg;
    int firing;
} sub;

typedef struct tree {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* cancellations and finished subscriber calls */
    uint32_t tokens;
    uint64_t next_sub;
} tree;

struct hg_cancel {
    tree *tr;
    hg_cancel *parent, *children, *next, *prev;
    sub *subs;
    uint8_t cancelled;
    uint8_t released;
    uint8_t acked;     /* its holder finished after the cancel (hg__cancel_ack) */
    char name[47];     /* for the report of a subtree that did not finish */
};

static int token_new(tree *tr, hg_cancel *parent, hg_cancel **out)
{
    hg_cancel *t = calloc(1, sizeof *t);
    if (t == NULL)
        return HG_ENOMEM;
    t->tr = tr;
    t->parent = parent;
    tr->tokens++;
    if (parent != NULL) {
        t->next = parent->children;
        if (parent->children)
            parent->children->prev = t;
        parent->children = t;
        t->cancelled = __atomic_load_n(&parent->cancelled, __ATOMIC_ACQUIRE);
    }
    *out = t;
    return 0;
}

int hg__cancel_root(hg_cancel **out)
{
    tree *tr = calloc(1, sizeof *tr);
    int rc;
    if (tr == NULL)
        return HG_ENOMEM;
    pthread_mutex_init(&tr->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&tr->cv, &ca);
    pthread_condattr_destroy(&ca);
    tr->next_sub = 1;
    rc = token_new(tr, NULL, out);
    if (rc != 0) {
        pthread_cond_destroy(&tr->cv);
        pthread_mutex_destroy(&tr->mu);
        free(tr);
    }
    return rc;
}

int hg__cancel_child(hg_cancel *parent, hg_cancel **out)
{
    int rc;
    if (parent == NULL || out == NULL)
        return HG_EINVAL;
    pthread_mutex_lock(&parent->tr->mu);
    rc = token_new(parent->tr, parent, out);
    pthread_mutex_unlock(&parent->tr->mu);
    return rc;
}

/* Marks the subtree cancelled; collects nothing, callbacks are run by fire_subs. */
static void mark(hg_cancel *t)
{
    __atomic_store_n(&t->cancelled, 1, __ATOMIC_RELEASE);
    for (hg_cancel *c = t->children; c != NULL; c = c->next)
        mark(c);
}

/* Runs every subscriber of the subtree once, dropping the lock around each call. A subscriber
 * stays in its list, marked firing, until its call returns, so unsubscribe can wait for it. */
static void fire_subs(hg_cancel *t)
{
    tree *tr = t->tr;
    for (;;) {
        sub *s = t->subs;
        while (s != NULL && s->firing)
            s = s->next;
        if (s == NULL)
            break;
        s->firing = 1;
        pthread_mutex_unlock(&tr->mu);
        s->fn(s->arg);
        pthread_mutex_lock(&tr->mu);
        for (sub **pp = &t->subs; *pp != NULL; pp = &(*pp)->next) {
            if (*pp == s) {
                *pp = s->next;
                break;
            }
        }
        free(s);
        pthread_cond_broadcast(&tr->cv);
    }
    for (hg_cancel *c = t->children; c != NULL; c = c->next)
        fire_subs(c);
}

void hg__cancel_fire(hg_cancel *t)
{
    if (t == NULL)
        return;
    pthread_mutex_lock(&t->tr->mu);
    mark(t);
    fire_subs(t);
    pthread_cond_broadcast(&t->tr->cv);
    pthread_mutex_unlock(&t->tr->mu);
}

uint8_t hg__cancel_is_set(hg_cancel *t)
{
    return t != NULL && __atomic_load_n(&t->cancelled, __ATOMIC_ACQUIRE);
}

int hg__cancel_wait(hg_cancel *t, uint64_t timeout_ns)
{
    struct timespec dl;
    int rc = 0;
    if (t == NULL)
        return HG_EINVAL;
    dl = hg__deadline_after(timeout_ns);
    pthread_mutex_lock(&t->tr->mu);
    while (!t->cancelled) {
        if (pthread_cond_timedwait(&t->tr->cv, &t->tr->mu, &dl) == ETIMEDOUT) {
            rc = t->cancelled ? 0 : HG_ETIMEDOUT;
            break;
        }
    }
    pthread_mutex_unlock(&t->tr->mu);
    return rc;
}

int hg__cancel_subscribe(hg_cancel *t, void (*fn)(void *), void *arg, uint64_t *sub_out)
{
    sub *s;
    if (t == NULL || fn == NULL)
        return HG_EINVAL;
    s = calloc(1, sizeof *s);
    if (s == NULL)
        return HG_ENOMEM;
    s->fn = fn;
    s->arg = arg;
    pthread_mutex_lock(&t->tr->mu);
    s->id = t->tr->next_sub++;
    if (sub_out)
        *sub_out = s->id;
    if (t->cancelled) {
        pthread_mutex_unlock(&t->tr->mu);
        fn(arg);
        free(s);
        return 0;
    }
    s->next = t->subs;
    t->subs = s;
    pthread_mutex_unlock(&t->tr->mu);
    return 0;
}

/* Removes a subscription; when it is firing on another thread, waits until its call returns. */
void hg__cancel_unsubscribe(hg_cancel *t, uint64_t id)
{
    if (t == NULL)
        return;
    pthread_mutex_lock(&t->tr->mu);
    for (;;) {
        sub **pp = &t->subs;
        while (*pp != NULL && (*pp)->id != id)
            pp = &(*pp)->next;
        if (*pp == NULL)
            break;
        if (!(*pp)->firing) {
            sub *s = *pp;
            *pp = s->next;
            free(s);
            break;
        }
        pthread_cond_wait(&t->tr->cv, &t->tr->mu);
    }
    pthread_mutex_unlock(&t->tr->mu);
}

void hg__cancel_set_name(hg_cancel *t, const char *name)
{
    if (t == NULL || name == NULL)
        return;
    pthread_mutex_lock(&t->tr->mu);
    snprintf(t->name, sizeof t->name, "%s", name);
    pthread_mutex_unlock(&t->tr->mu);
}

void hg__cancel_ack(hg_cancel *t)
{
    if (t == NULL)
        return;
    pthread_mutex_lock(&t->tr->mu);
    t->acked = 1;
    pthread_cond_broadcast(&t->tr->cv);
    pthread_mutex_unlock(&t->tr->mu);
}

/* Appends s to late (", "-separated), marking a cut with "...". */
static void late_add(char *late, uint32_t cap, const char *s)
{
    size_t n = strlen(late);
    if (cap == 0 || n + 4 >= cap)
        return;
    snprintf(late + n, cap - n, "%s%s", n ? ", " : "", s);
    if (strlen(late) + 4 >= cap)
        snprintf(late + cap - 4, 4, "...");
}

/* Descendants of t neither acknowledged nor freed; their names go to late when it is not NULL.
 * An acknowledged token's own children still count. Under the tree's lock. */
static uint32_t pending_below(const hg_cancel *t, char *late, uint32_t cap)
{
    uint32_t n = 0;
    for (const hg_cancel *c = t->children; c != NULL; c = c->next) {
        if (!c->acked) {
            n++;
            if (late != NULL)
                late_add(late, cap, c->name[0] ? c->name : "(unnamed)");
        }
        n += pending_below(c, late, cap);
    }
    return n;
}

int hg__cancel_wait_subtree(hg_cancel *t, uint64_t timeout_ns, char *late, uint32_t cap,
                            uint32_t *n_late)
{
    struct timespec dl;
    uint32_t n;
    if (t == NULL)
        return HG_EINVAL;
    if (late != NULL && cap > 0)
        late[0] = '\0';
    dl = hg__deadline_after(timeout_ns);
    pthread_mutex_lock(&t->tr->mu);
    while ((n = pending_below(t, NULL, 0)) > 0) {
        if (pthread_cond_timedwait(&t->tr->cv, &t->tr->mu, &dl) == ETIMEDOUT) {
            n = pending_below(t, late, cap);
            break;
        }
    }
    pthread_mutex_unlock(&t->tr->mu);
    if (n_late != NULL)
        *n_late = n;
    return n == 0 ? 0 : HG_ETIMEDOUT;
}

static uint32_t count_below(const hg_cancel *t)
{
    uint32_t n = 1;
    for (const hg_cancel *c = t->children; c != NULL; c = c->next)
        n += count_below(c);
    return n;
}

uint32_t hg__cancel_subtree_size(hg_cancel *t)
{
    uint32_t n;
    if (t == NULL)
        return 0;
    pthread_mutex_lock(&t->tr->mu);
    n = count_below(t);
    pthread_mutex_unlock(&t->tr->mu);
    return n;
}

static void token_free_locked(hg_cancel *t, int *tree_empty)
{
    hg_cancel *p = t->parent;
    while (t->subs) {
        sub *s = t->subs;
        t->subs = s->next;
        free(s);
    }
    if (p != NULL) {
        if (t->prev)
            t->prev->next = t->next;
        else
            p->children = t->next;
        if (t->next)
            t->next->prev = t->prev;
    }
    t->tr->tokens--;
    pthread_cond_broadcast(&t->tr->cv); /* a subtree waiter counts it as finished */
    *tree_empty = t->tr->tokens == 0;
    free(t);
    if (p != NULL && p->released && p->children == NULL)
        token_free_locked(p, tree_empty);
}

void hg__cancel_release(hg_cancel *t)
{
    tree *tr;
    int empty = 0;
    if (t == NULL)
        return;
    tr = t->tr;
    pthread_mutex_lock(&tr->mu);
    t->released = 1;
    t->acked = 1;
    pthread_cond_broadcast(&tr->cv);
    if (t->children == NULL)
        token_free_locked(t, &empty);
    pthread_mutex_unlock(&tr->mu);
    if (empty) {
        pthread_cond_destroy(&tr->cv);
        pthread_mutex_destroy(&tr->mu);
        free(tr);
    }
}
