/* pool.c - the fixed-budget buffer pool: per class one block of buffer memory, one array of
 * headers and a lock-free LIFO free list (a Treiber stack whose head packs a 32-bit tag beside the
 * index, so a buffer popped and pushed back between a reader's load and its compare-and-swap
 * cannot be mistaken for the old head). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

#include <hangar/status.h>

#include "cancel.h"
#include "pool.h"

#define LD(p, mo) __atomic_load_n((p), __ATOMIC_##mo)
#define ADD(p, v) __atomic_fetch_add((p), (v), __ATOMIC_RELAXED)

typedef struct cls {
    _Alignas(HG__CACHE_LINE) uint64_t head; /* tag << 32 | (index + 1), 0 index for empty */
    uint64_t allocs, frees, exhausted;
    _Alignas(HG__CACHE_LINE) hg_buf *bufs;
    uint8_t *mem;
    uint32_t size, count;
} cls;

struct hg__pool {
    cls classes[HG__POOL_MAX_CLASSES];
    uint32_t n;
    uint64_t budget;
    _Alignas(HG__CACHE_LINE) hg__park park; /* allocators waiting for a buffer */
};

static void push_free(cls *c, hg_buf *b)
{
    uint64_t old = LD(&c->head, RELAXED), nw;
    do {
        __atomic_store_n(&b->next, (uint32_t)old, __ATOMIC_RELAXED);
        nw = ((old >> 32) + 1) << 32 | (uint64_t)(b->index + 1);
    } while (!__atomic_compare_exchange_n(&c->head, &old, nw, 1, __ATOMIC_SEQ_CST,
                                          __ATOMIC_RELAXED));
}

static hg_buf *pop_free(cls *c)
{
    uint64_t old = LD(&c->head, SEQ_CST), nw;
    for (;;) {
        uint32_t idx = (uint32_t)old;
        if (idx == 0)
            return NULL;
        /* May read a link another thread is rewriting (the buffer was popped and pushed back):
         * then the tag changed and the compare-and-swap fails. */
        nw = ((old >> 32) + 1) << 32 | LD(&c->bufs[idx - 1].next, RELAXED);
        if (__atomic_compare_exchange_n(&c->head, &old, nw, 1, __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST))
            return &c->bufs[idx - 1];
    }
}

static int class_init(hg__pool *p, cls *c, const hg__pool_class *spec, uint32_t ci)
{
    uint64_t stride = ((uint64_t)spec->size + 63) & ~(uint64_t)63;
    c->size = spec->size;
    c->count = spec->count;
    c->bufs = calloc(spec->count, sizeof *c->bufs);
    c->mem = aligned_alloc(HG__CACHE_LINE, (size_t)(stride * spec->count));
    if (c->bufs == NULL || c->mem == NULL)
        return HG_ENOMEM;
    p->budget += stride * spec->count + (uint64_t)spec->count * sizeof *c->bufs;
    for (uint32_t i = spec->count; i-- > 0;) {
        hg_buf *b = &c->bufs[i];
        b->index = i;
        b->size = spec->size;
        b->data = c->mem + stride * i;
        b->pool = p;
        b->cls = ci;
        push_free(c, b);
    }
    return 0;
}

static int classes_valid(const hg__pool_class *classes, uint32_t n)
{
    if (classes == NULL || n == 0 || n > HG__POOL_MAX_CLASSES)
        return 0;
    for (uint32_t i = 0; i < n; i++) {
        if (classes[i].size == 0 || classes[i].size > (1u << 30) || classes[i].count == 0 ||
            classes[i].count > (1u << 24) || (i > 0 && classes[i].size <= classes[i - 1].size))
            return 0;
    }
    return 1;
}

static void pool_free(hg__pool *p)
{
    for (uint32_t i = 0; i < HG__POOL_MAX_CLASSES; i++) {
        free(p->classes[i].bufs);
        free(p->classes[i].mem);
    }
    hg__park_fini(&p->park);
    free(p);
}

int hg__pool_create(const hg__pool_class *classes, uint32_t n_classes, hg__pool **out)
{
    hg__pool *p;
    int rc = 0;
    if (out == NULL || !classes_valid(classes, n_classes))
        return HG_EINVAL;
    p = aligned_alloc(HG__CACHE_LINE, sizeof *p);
    if (p == NULL)
        return HG_ENOMEM;
    *p = (hg__pool){0};
    hg__park_init(&p->park);
    p->n = n_classes;
    for (uint32_t i = 0; i < n_classes && rc == 0; i++)
        rc = class_init(p, &p->classes[i], &classes[i], i);
    if (rc != 0) {
        pool_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

int hg__pool_destroy(hg__pool *p)
{
    if (p == NULL)
        return 0;
    for (uint32_t i = 0; i < p->n; i++) {
        cls *c = &p->classes[i];
        if (LD(&c->allocs, ACQUIRE) != LD(&c->frees, ACQUIRE))
            return HG_ESTATE;
    }
    pool_free(p);
    return 0;
}

uint64_t hg__pool_budget(const hg__pool *p)
{
    return p->budget;
}

/* The class for size, or NULL when none is large enough. */
static cls *class_for(hg__pool *p, uint32_t size)
{
    if (size == 0)
        return NULL;
    for (uint32_t i = 0; i < p->n; i++) {
        if (p->classes[i].size >= size)
            return &p->classes[i];
    }
    return NULL;
}

static hg_buf *take(cls *c)
{
    hg_buf *b = pop_free(c);
    if (b != NULL) {
        __atomic_store_n(&b->refs, 1, __ATOMIC_RELAXED);
        ADD(&c->allocs, 1);
    }
    return b;
}

int hg__pool_try_alloc(hg__pool *p, uint32_t size, hg_buf **out)
{
    cls *c;
    hg_buf *b;
    if (p == NULL || out == NULL || (c = class_for(p, size)) == NULL)
        return HG_EINVAL;
    b = take(c);
    if (b == NULL) {
        ADD(&c->exhausted, 1);
        return HG_ENOMEM;
    }
    *out = b;
    return 0;
}

static void wake_cb(void *arg)
{
    hg__park_wake(arg);
}

/* Waits for a buffer of class c; the exhaustion was counted by the caller. */
static int wait_for(hg__pool *p, cls *c, uint64_t timeout_ns, hg_cancel *cancel, hg_buf **out)
{
    uint64_t deadline = hg__deadline(timeout_ns), sub = 0, left = 0;
    int subscribed = 0, rc;
    hg_buf *b;
    for (;;) {
        uint32_t s;
        rc = hg__cancel_is_set(cancel) ? HG_ECANCELED
             : (left = hg__time_left(deadline)) == 0 ? HG_ETIMEDOUT : 0;
        if (rc != 0) {
            if ((b = take(c)) != NULL) { /* a last look first */
                *out = b;
                rc = 0;
            }
            break;
        }
        if (cancel != NULL && !subscribed) {
            if ((rc = hg__cancel_subscribe(cancel, wake_cb, &p->park, &sub)) != 0)
                break;
            subscribed = 1;
            continue; /* re-check: it may have fired before the subscription */
        }
        s = hg__park_prepare(&p->park);
        if ((b = take(c)) != NULL || hg__cancel_is_set(cancel)) {
            hg__park_cancel(&p->park);
            if (b != NULL) {
                *out = b;
                rc = 0;
                break;
            }
            continue;
        }
        hg__park_wait(&p->park, s, left);
    }
    if (subscribed)
        hg__cancel_unsubscribe(cancel, sub);
    return rc;
}

int hg__pool_alloc(hg__pool *p, uint32_t size, uint64_t timeout_ns, hg_cancel *cancel,
                   hg_buf **out)
{
    int rc = hg__pool_try_alloc(p, size, out);
    if (rc != HG_ENOMEM || timeout_ns == 0)
        return rc;
    return wait_for(p, class_for(p, size), timeout_ns, cancel, out);
}

void hg__buf_ref(hg_buf *b)
{
    __atomic_fetch_add(&b->refs, 1, __ATOMIC_RELAXED);
}

void hg__buf_unref(hg_buf *b)
{
    uint32_t was = __atomic_fetch_sub(&b->refs, 1, __ATOMIC_ACQ_REL);
    cls *c;
    if (was > 1)
        return;
    if (was == 0) {
        fprintf(stderr, "hangar: buffer %p (class %u, index %u) unreferenced once too often\n",
                (void *)b, b->cls, b->index);
        abort();
    }
    c = &b->pool->classes[b->cls];
    ADD(&c->frees, 1);
    push_free(c, b);
    hg__park_wake_sc(&b->pool->park);
}

uint32_t hg__buf_refs(const hg_buf *b)
{
    return LD(&b->refs, ACQUIRE);
}

hg__park *hg__pool_park(hg__pool *p)
{
    return &p->park;
}

uint32_t hg__pool_stats(const hg__pool *p, hg__pool_class_stats *out, uint32_t max)
{
    for (uint32_t i = 0; i < p->n && i < max; i++) {
        const cls *c = &p->classes[i];
        uint64_t frees = LD(&c->frees, ACQUIRE), allocs = LD(&c->allocs, ACQUIRE);
        out[i] = (hg__pool_class_stats){.size = c->size, .count = c->count, .allocs = allocs,
                                        .frees = frees, .exhausted = LD(&c->exhausted, RELAXED),
                                        .in_use = allocs > frees ? allocs - frees : 0};
    }
    return p->n;
}
