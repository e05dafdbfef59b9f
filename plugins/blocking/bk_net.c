/* bk_net.c - the blocking runtime's listener slots (the poll set watches each worker's own
 * SO_REUSEPORT socket; the listeners themselves are in ../common/rt_listen.c) and timers (a
 * per-worker list that the loop turns into its poll timeout). */
#include "bk.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

/* --- listener slots --- */

int bkl_slot_adopt(rt_slot *s)
{
    int fl = fcntl(s->fd, F_GETFL);

    /* non-blocking: a connection reset between poll and accept cannot stall the loop */
    if (fl < 0 || fcntl(s->fd, F_SETFL, fl | O_NONBLOCK) != 0)
        return HG_EIO;
    return 0;
}

void bkl_slot_close(rt_slot *s)
{
    close(s->fd);
    rt_listener_unbusy(s->l, 1);
}

/* --- timers --- */

hg_timer *bkt_of_link(rt_link *l)
{
    return RT_CONTAINER(l, hg_timer, link);
}

/* A timer is only marked dead here and freed by the sweep at the end of the turn, so the walk
 * in bkt_run survives callbacks that stop other timers. */
uint64_t bkt_run(bkw *w)
{
    uint64_t next = UINT64_MAX;
    rt_link *l;
    hg_timer *t;

    for (l = w->timers.next; l != &w->timers; l = l->next) {
        t = bkt_of_link(l);
        if (t->dead || t->silenced)
            continue;
        if (t->due <= w->now && t->born != w->turn + 1) {
            w->core.events++;
            if (t->repeat)
                t->due = w->now + t->repeat;
            else
                t->dead = 1; /* a one-shot is freed after its callback */
            t->cb(t->ud, t);
        }
        if (!t->dead && t->due < next)
            next = t->due;
    }
    return next;
}

void bkt_sweep(bkw *w)
{
    rt_link *l, *next;

    for (l = w->timers.next; l != &w->timers; l = next) {
        next = l->next;
        if (bkt_of_link(l)->dead) {
            rt_list_remove(l);
            free(bkt_of_link(l));
        }
    }
}

int bkn_timer_start(const hg_net *n, uint64_t delay_ns, uint64_t repeat_ns,
                    void (*cb)(void *ud, hg_timer *t), void *ud, hg_timer **out)
{
    rt_owner *o = rt_owner_of(n);
    rt_worker *rw;
    bkw *w;
    hg_timer *t;
    int rc = rt_timer_check(n, cb, &rw);

    if (rc != 0)
        return rc;
    w = (bkw *)rw;
    t = calloc(1, sizeof *t);
    if (!t)
        return HG_ENOMEM;
    t->w = w;
    t->o = o;
    t->cb = cb;
    t->ud = ud;
    t->due = rt_now_ns() + delay_ns;
    t->repeat = repeat_ns;
    t->born = w->turn + 1; /* not fired by the walk that is running now */
    rt_list_push(&w->timers, &t->link);
    *out = t;
    return 0;
}

void bkn_timer_stop(const hg_net *n, hg_timer *t)
{
    t->dead = 1;
}

/* --- net_close's two phases on a worker (shared with the uring mode's loop) --- */

void bkw_cut_owner(void *arg)
{
    rt_owner *o = arg;
    bkw *w = bkw_current(o->rt);
    rt_link *l;
    uint32_t n = 0;

    for (l = w->conns.next; l != &w->conns; l = l->next) {
        if (bkc_owner(bkc_of_link(l)) == o)
            n += (uint32_t)bkc_cut(bkc_of_link(l));
    }
    for (l = w->timers.next; l != &w->timers; l = l->next) {
        if (bkt_of_link(l)->o == o)
            bkt_of_link(l)->silenced = 1;
    }
    __atomic_fetch_add(&o->cut, n, __ATOMIC_RELAXED);
    rt_owner_release(o);
}

void bkw_free_owner_timers(void *arg)
{
    rt_owner *o = arg;
    bkw *w = bkw_current(o->rt);
    rt_link *l;

    for (l = w->timers.next; l != &w->timers; l = l->next) {
        if (bkt_of_link(l)->o == o)
            bkt_of_link(l)->dead = 1;
    }
    rt_owner_release(o);
}
