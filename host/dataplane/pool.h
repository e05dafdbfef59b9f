/* pool.h - a buffer pool with a fixed memory budget: a few size classes of N buffers each, all
 * allocated at creation; reference-counted buffers (the last unref returns one to its class);
 * lock-free allocation; exhaustion is an error or a bounded wait, and is counted. */
#ifndef HG_POOL_H
#define HG_POOL_H

#include <stdint.h>

#include <hangar/frame.h>
#include <hangar/host.h>

#include "park.h"

#define HG__POOL_MAX_CLASSES 8

/* One size class: count buffers of size bytes each. */
typedef struct hg__pool_class {
    uint32_t size;
    uint32_t count;
} hg__pool_class;

/* A pooled buffer (the SDK's opaque hg_buf). Only refs changes after creation. */
struct hg_buf {
    uint32_t refs;     /* references held; 0 while free in the pool */
    uint32_t next;     /* free-list link: index + 1 of the next free buffer, 0 for none */
    uint32_t index;    /* in its class */
    uint32_t size;     /* capacity of data in bytes */
    uint8_t *data;     /* 64-byte aligned */
    struct hg__pool *pool;
    uint32_t cls;
};

/* Counters of one class, read with hg__pool_stats. in_use = allocs - frees. */
typedef struct hg__pool_class_stats {
    uint32_t size, count;
    uint64_t allocs;    /* successful allocations */
    uint64_t frees;     /* buffers returned by their last unref */
    uint64_t exhausted; /* allocations that found the class empty (each try counts once) */
    uint64_t in_use;
} hg__pool_class_stats;

typedef struct hg__pool hg__pool;

/* Creates a pool of n_classes classes (1 .. HG__POOL_MAX_CLASSES, sizes strictly increasing,
 * each size 1 .. 1 GiB and count 1 .. 2^24). Every buffer is allocated now: the budget is
 * the sum of size * count (each size rounded up to 64 bytes) plus one struct hg_buf a buffer
 * (hg__pool_budget).
 * Returns: 0, HG_EINVAL (with no other explanation than the rule above being broken: the
 * caller's config checker names the field), HG_ENOMEM. [any-thread] */
int hg__pool_create(const hg__pool_class *classes, uint32_t n_classes, hg__pool **out);

/* Frees the pool. Every buffer must have been returned (else HG_ESTATE and nothing is freed, so
 * a holder cannot touch freed memory). Returns: 0, HG_ESTATE. [any-thread, once unused] */
int hg__pool_destroy(hg__pool *p);

/* Bytes the pool holds for buffers and their headers (its budget). [any-thread, never blocks] */
uint64_t hg__pool_budget(const hg__pool *p);

/* Takes a buffer of the smallest class whose size is >= size, with one reference. Classes are
 * never borrowed from: a full class means exhaustion, counted. Returns: 0, HG_ENOMEM (exhausted;
 * nothing allocated), HG_EINVAL (size 0 or larger than the largest class). [any-thread, never
 * blocks] */
int hg__pool_try_alloc(hg__pool *p, uint32_t size, hg_buf **out);

/* As hg__pool_try_alloc, but when the class is exhausted waits up to timeout_ns
 * (HG__WAIT_FOREVER: no limit) for a buffer to come back, or until cancel (may be NULL) fires.
 * Returns: 0, HG_EINVAL, HG_ETIMEDOUT, HG_ECANCELED, HG_ENOMEM. [any-thread] */
int hg__pool_alloc(hg__pool *p, uint32_t size, uint64_t timeout_ns, hg_cancel *cancel,
                   hg_buf **out);

/* Adds a reference (fan-out: one per extra consumer). [any-thread, never blocks] */
void hg__buf_ref(hg_buf *b);

/* Drops a reference; the last one returns the buffer to its pool (waking allocators waiting for
 * it). Dropping a reference that is not held aborts the process with a message (a double free
 * would hand one buffer to two owners). [any-thread, never blocks] */
void hg__buf_unref(hg_buf *b);

/* References held now. [any-thread, never blocks] */
uint32_t hg__buf_refs(const hg_buf *b);

/* The park allocators wait on (woken by every last unref while one waits), for a thread that
 * waits on several sources at once (hg__park_fd). [any-thread, never blocks] */
hg__park *hg__pool_park(hg__pool *p);

/* Counters: fills up to max classes into out. Returns: the number of classes. [any-thread,
 * never blocks] */
uint32_t hg__pool_stats(const hg__pool *p, hg__pool_class_stats *out, uint32_t max);

#endif
