/* bk_net.c - the blocking runtime's listeners, timers and posts. A listener is one SO_REUSEPORT
 * socket per worker bound to the same address (the kernel spreads connections; each worker
 * accepts only from its own socket); timers are a per-worker list that the loop turns into its
 * poll timeout. */
#include "bk.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

uint32_t bkn_workers(const hg_net *n)
{
    return bk_rt_of(n)->base.n_workers;
}

int32_t bkn_current_worker(const hg_net *n)
{
    bkw *w = bkw_current(bk_rt_of(n));
    return w ? w->index : -1;
}

int bkn_post(const hg_net *n, int32_t worker, void (*fn)(void *arg), void *arg)
{
    bkrt *rt = bk_rt_of(n);
    rt_owner *o = rt_owner_of(n);

    if (!fn || worker < 0 || (uint32_t)worker >= rt->base.n_workers || !rt->base.started)
        return HG_EINVAL;
    if (rt_owner_closing(o))
        return HG_ECLOSED;
    rt_owner_hold(o);
    if (bkw_post(&rt->workers[worker], fn, arg, o) != 0) {
        rt_owner_release(o);
        return HG_ECLOSED;
    }
    return 0;
}

/* --- listeners --- */

static void listener_unbusy(hg_listener *l, uint32_t n)
{
    pthread_mutex_lock(&l->mu);
    l->busy -= n;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

void bkl_slot_close(bk_slot *s)
{
    if (!s->open)
        return;
    s->open = 0;
    rt_list_remove(&s->link);
    close(s->fd);
    listener_unbusy(s->l, 1);
}

/* Task: the worker starts polling its socket (or, when stopping, closes it). */
static void slot_open(void *arg)
{
    bk_slot *s = arg;
    hg_listener *l = s->l;

    if (s->w->stopping) {
        close(s->fd);
        listener_unbusy(l, 2); /* the slot and this task */
        return;
    }
    s->open = 1;
    rt_list_push(&s->w->slots, &s->link);
    listener_unbusy(l, 1);
}

static void slot_close_task(void *arg)
{
    bk_slot *s = arg;
    hg_listener *l = s->l;

    bkl_slot_close(s);
    listener_unbusy(l, 1);
}

int bkn_listen(const hg_net *n, const char *addr, uint32_t backlog, const hg_conn_handler *h,
               void *ud, hg_listener **out)
{
    bkrt *rt = bk_rt_of(n);
    rt_owner *o = rt_owner_of(n);
    struct sockaddr_storage ss, bound;
    int fds[RT_MAX_WORKERS];
    socklen_t len;
    hg_listener *l;
    uint32_t i;
    int rc;

    if (!h || rt_addr_parse(addr, &ss, &len) != 0)
        return HG_EINVAL;
    if (!rt->base.started || rt_owner_closing(o) || rt_base_stopping(&rt->base))
        return HG_ECLOSED;
    l = calloc(1, sizeof *l);
    if (!l)
        return HG_ENOMEM;
    l->slots = calloc(rt->base.n_workers, sizeof *l->slots);
    if (!l->slots) {
        free(l);
        return HG_ENOMEM;
    }
    rc = rt_listen_group(&ss, len, rt->base.n_workers, backlog ? backlog : rt->base.cfg.backlog,
                         fds, &bound);
    if (rc != 0) {
        free(l->slots);
        free(l);
        return rc;
    }
    l->o = o;
    l->h = h;
    l->ud = ud;
    l->n = rt->base.n_workers;
    rt_addr_format(&bound, l->addr, sizeof l->addr);
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    l->busy = 2 * l->n; /* each slot, and each slot's adoption task */
    for (i = 0; i < l->n; i++) {
        fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
        l->slots[i] = (bk_slot){ .l = l, .w = &rt->workers[i], .fd = fds[i] };
        rt_list_init(&l->slots[i].link);
        if (bkw_post(&rt->workers[i], slot_open, &l->slots[i], NULL) != 0) {
            close(fds[i]); /* that worker has stopped */
            l->busy -= 2;
        }
    }
    rt_list_push(&o->listeners, &l->olink);
    *out = l;
    return 0;
}

int bkn_listener_address(const hg_net *n, hg_listener *l, char *buf, uint32_t cap)
{
    size_t len = strlen(l->addr);

    if (len + 1 > cap)
        return HG_ENOSPC;
    memcpy(buf, l->addr, len + 1);
    return 0;
}

void bkl_close(rt_link *olink)
{
    hg_listener *l = RT_CONTAINER(olink, hg_listener, olink);
    bkrt *rt = (bkrt *)l->o->rt;
    uint32_t i;

    rt_list_remove(&l->olink);
    for (i = 0; i < l->n; i++) {
        pthread_mutex_lock(&l->mu);
        l->busy++;
        pthread_mutex_unlock(&l->mu);
        /* a stopped worker has closed its slots already */
        if (bkw_post(&rt->workers[i], slot_close_task, &l->slots[i], NULL) != 0)
            listener_unbusy(l, 1);
    }
    pthread_mutex_lock(&l->mu);
    while (l->busy > 0)
        pthread_cond_wait(&l->cv, &l->mu);
    pthread_mutex_unlock(&l->mu);
    pthread_cond_destroy(&l->cv);
    pthread_mutex_destroy(&l->mu);
    free(l->slots);
    free(l);
}

void bkn_listener_close(const hg_net *n, hg_listener *l)
{
    bkl_close(&l->olink);
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
            w->events++;
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
    bkrt *rt = bk_rt_of(n);
    rt_owner *o = rt_owner_of(n);
    bkw *w = bkw_current(rt);
    hg_timer *t;

    if (!cb)
        return HG_EINVAL;
    if (!w)
        return HG_ESTATE; /* timers live on a worker: post there first */
    if (w->stopping || rt_owner_closing(o))
        return HG_ECLOSED;
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
