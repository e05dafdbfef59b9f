/* ur.h - internals of the uring runtime mode: one io_uring per worker thread drives the blocking
 * mode's connection engine (../blocking/bk_conn.c, bk_open.c, bk_net.c: the same close causes,
 * resets, water marks and timeouts); the ring replaces the poll(2) loop of bk_worker.c. */
#ifndef HG_UR_H
#define HG_UR_H

#include <liburing.h>

#include "../blocking/bk.h"

/* What a poll on the ring is for. */
enum { UR_EFD = 1, UR_SLOT, UR_ACCEPT, UR_CONN };

/* One request in flight on the ring (a poll, or a listener's multishot accept); its address is
 * the request's user_data. obj is NULL once the object let go of it (closed, or re-armed with
 * other events): its completions are then dropped (a socket accepted meanwhile is closed).
 * Every token is on its worker's `toks` list until its last completion is read. */
typedef struct urtok {
    rt_link link;
    void *obj;
    uint32_t mask;
    uint8_t kind;
} urtok;

/* A listener slot: the rt_slot and its armed poll. */
typedef struct urslot {
    rt_slot s;
    urtok *tok;
    /* polled, not accepted by the kernel, until a connection is pending: set when the kernel's
     * accept ran out of descriptors (it fails at once then, pending connection or not) */
    uint8_t poll_first;
} urslot;

/* One worker: the blocking worker (conns, timers, reap, fd-limit state) and its ring. Touched by
 * its thread only, except the eventfd (wake) and what rt_worker says. */
typedef struct urw {
    bkw bk;
    struct io_uring ring;
    int ring_ok;
    urtok *efd_tok;
    rt_link toks;
    int no_multishot; /* the kernel refused a multishot accept: listeners are polled instead */
    uint64_t submits; /* io_uring_enter calls (stats) */
} urw;

/* ur_worker.c: rt_mode's worker_init, worker_fini, worker_run, wake, slot_adopt, slot_close. */
int urw_init(rt_base *b, rt_worker *rw, int32_t index);
void urw_fini(rt_worker *rw);
void urw_run(rt_worker *rw);
void urw_wake(rt_worker *rw);
void urw_slot_close(rt_slot *s);

/* ur_probe.c: runs fn(ring) on a thread made for it and gone when this returns, so that no
 * thread of the host's becomes a task of the ring: the kernel interrupts the tasks of a ring
 * that is torn down (TWA_SIGNAL), and a blocking call with a timeout on such a thread returns
 * EINTR. Returns fn's result, or -errno when the thread cannot start. [control-thread] */
int ur_on_own_thread(int (*fn)(struct io_uring *ring), struct io_uring *ring);
/* ur_probe.c: whether this process may use io_uring. Returns 0, or a negative errno and a
 * sentence saying why not into why (cap bytes). [any-thread] */
int ur_probe(char *why, size_t cap);

#endif
