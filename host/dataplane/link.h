/* link.h - a channel between engines: a bounded queue of frame references (SPSC ring, or MPMC
 * queue) with a back-pressure policy, blocking and non-blocking send/receive woken by the other
 * side, by close and by a cancel token, end of stream, and counters that always add up. */
#ifndef HG_LINK_H
#define HG_LINK_H

#include <stdint.h>

#include <hangar/frame.h>
#include <hangar/host.h>

#include "park.h"

/* Creation flags. */
enum {
    HG__LINK_MPMC = 1 /* any number of senders and receivers (else exactly one of each) */
};

typedef struct hg__link_opts {
    uint32_t capacity; /* frames it holds at most, 1 .. 2^31; an MPMC link rounds it up to a
                          power of two (hg__link_capacity tells) */
    uint32_t policy;   /* HG_POLICY_BLOCK (0 means it too), _DROP_NEWEST, _DROP_OLDEST */
    uint32_t flags;    /* HG__LINK_* */
    /* Called for each frame the link drops while it owns it (drop-oldest evictions, frames
     * discarded by hg__link_discard or hg__link_destroy), on the thread that dropped it: it
     * must release the frame (e.g. unref its buffer). May be NULL when items own nothing. */
    void (*release)(void *item, void *ud);
    void *release_ud;
} hg__link_opts;

/* The counters. They satisfy pushed == delivered + dropped + queued in every snapshot, by
 * construction: the link keeps only monotonic counts of what entered the queue (in), what was
 * refused by drop-newest (rejected), delivered (out) and evicted or discarded (evicted), and
 * derives pushed = in + rejected, dropped = rejected + evicted, queued = in - out - evicted.
 * Senders count a frame before it becomes visible and receivers before they free its slot, and a
 * snapshot reads the receiver-side counts before `in` and again after (retrying when they moved),
 * so queued is what the link held at one instant: 0 .. capacity (on a drop-oldest link, a frame a
 * receiver has claimed but not yet counted can make it capacity + its batch for that instant). */
typedef struct hg__link_stats {
    uint64_t pushed;     /* frames offered and accepted or dropped by the policy */
    uint64_t delivered;  /* frames taken by receivers */
    uint64_t dropped;    /* by the policy (either end), or discarded when the link was drained
                            away */
    uint64_t queued;     /* in the link now */
    uint64_t high_water; /* the most frames seen queued at once (0 .. capacity, never
                            decreasing): exact when the link filled up, otherwise sampled where a
                            receiver looks at the queue and in every snapshot */
    uint64_t refused;    /* sends that returned HG_EAGAIN (block policy), HG_ETIMEDOUT,
                            HG_ECANCELED or HG_ECLOSED: the sender kept the frame; not in pushed */
} hg__link_stats;

typedef struct hg__link hg__link;

/* Creates a link. Returns: 0, HG_EINVAL (capacity out of range, unknown policy or flag),
 * HG_ENOMEM. Owned by the caller: hg__link_destroy. [any-thread] */
int hg__link_create(const hg__link_opts *o, hg__link **out);

/* Releases the frames still queued through opts.release and frees the link. No thread may be
 * in a call on it. [any-thread] */
void hg__link_destroy(hg__link *l);

/* Offers one frame without waiting. On 0 the link owns it; on any error the caller still does.
 * Policies when full: block: HG_EAGAIN (refused); drop_newest: HG_EAGAIN, counted pushed and
 * dropped (the caller releases it); drop_oldest: the oldest queued frame is released through
 * opts.release and counted dropped, and this one goes in (0).
 * Returns: 0, HG_EAGAIN, HG_ECLOSED (closed or discarded). [sender, never blocks] */
int hg__link_try_send(hg__link *l, void *item);

/* As hg__link_try_send, but under the block policy waits for room up to timeout_ns
 * (HG__WAIT_FOREVER: no limit; 0: do not wait), or until cancel (may be NULL) fires or the link
 * is closed, each of which wakes it at once. Cancel interrupts only a wait: a send that finds
 * room does not look at the token. Returns: 0, HG_EAGAIN (drop_newest dropped it, or timeout 0),
 * HG_ETIMEDOUT, HG_ECANCELED, HG_ECLOSED. [sender] */
int hg__link_send(hg__link *l, void *item, uint64_t timeout_ns, hg_cancel *cancel);

/* Takes the oldest frame without waiting (the caller owns it on 0). Returns: 0, HG_EAGAIN
 * (empty), HG_ECLOSED (end of stream: closed and every frame taken). [receiver, never blocks] */
int hg__link_try_recv(hg__link *l, void **out);

/* As hg__link_try_recv, waiting up to timeout_ns for a frame, until cancel fires or end of
 * stream; a queued frame is returned even when cancel has fired. Returns: 0, HG_EAGAIN
 * (timeout 0), HG_ETIMEDOUT, HG_ECANCELED, HG_ECLOSED. [receiver] */
int hg__link_recv(hg__link *l, void **out, uint64_t timeout_ns, hg_cancel *cancel);

/* Takes up to max frames, oldest first, without waiting. Returns: how many (>= 1), 0 (empty),
 * HG_ECLOSED (end of stream). [receiver, never blocks] */
int hg__link_drain(hg__link *l, void **out, uint32_t max);

/* Ends the stream: later sends return HG_ECLOSED, receivers get what is queued, then
 * HG_ECLOSED; blocked senders and receivers wake. A send racing with close from another thread
 * may still land after the receiver saw the end: hg__link_discard or destroy counts it dropped.
 * Idempotent. [any-thread, never blocks] */
void hg__link_close(hg__link *l);

/* The receiver is gone: closes the link and releases every queued frame through opts.release,
 * counting each as dropped. Returns: how many it discarded. [receiver (or any thread when no
 * receiver runs), never blocks] */
uint64_t hg__link_discard(hg__link *l);

/* A consistent snapshot of the counters. [any-thread, never blocks] */
void hg__link_stats_get(const hg__link *l, hg__link_stats *out);

/* The capacity in frames, and 1 once the link is closed. [any-thread, never blocks] */
uint32_t hg__link_capacity(const hg__link *l);
int hg__link_is_closed(const hg__link *l);

/* 1 when a receive would not find the link empty: a frame is queued or the link is closed.
 * Cheaper than a counter snapshot, for a receiver's spin before it parks. [any-thread, never
 * blocks] */
int hg__link_ready(const hg__link *l);

/* The parking spots: receivers wait on data (woken by sends, close, cancel), block-policy
 * senders on space (woken by receives, close, cancel). For a thread that waits on several links
 * at once (hg__park_fd). [any-thread] */
hg__park *hg__link_data_park(hg__link *l);
hg__park *hg__link_space_park(hg__link *l);

#endif
