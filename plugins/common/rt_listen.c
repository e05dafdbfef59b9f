/* rt_listen.c - listeners, the same in both modes: one SO_REUSEPORT socket (slot) per worker,
 * opened and bound here, adopted by each worker through a task (mode->slot_adopt), closed on each
 * worker again; `busy` counts what a worker may still touch, so close can free the listener. */
#include "rt.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static rt_slot *slot_at(const struct hg_listener *l, const rt_base *b, uint32_t i)
{
    return (rt_slot *)(void *)((char *)l->slots + (size_t)i * b->mode->slot_size);
}

void rt_listener_unbusy(struct hg_listener *l, uint32_t n)
{
    pthread_mutex_lock(&l->mu);
    l->busy -= n;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

void rt_slot_close(rt_slot *s)
{
    if (!s->open)
        return;
    s->open = 0;
    rt_list_remove(&s->link);
    s->w->base->mode->slot_close(s);
}

void rt_worker_close_slots(rt_worker *w)
{
    rt_link *l, *next;

    for (l = w->slots.next; l != &w->slots; l = next) {
        next = l->next;
        rt_slot_close(RT_CONTAINER(l, rt_slot, link));
    }
}

/* Task: the worker adopts its socket (or, when stopping, just closes it). */
static void slot_open_task(void *arg)
{
    rt_slot *s = arg;
    struct hg_listener *l = s->l;

    if (s->w->stopping) {
        close(s->fd);
        rt_listener_unbusy(l, 2); /* the slot and this task */
        return;
    }
    s->open = 1;
    rt_list_push(&s->w->slots, &s->link);
    if (s->w->base->mode->slot_adopt(s) != 0)
        rt_slot_close(s);
    rt_listener_unbusy(l, 1);
}

static void slot_close_task(void *arg)
{
    rt_slot *s = arg;
    struct hg_listener *l = s->l;

    rt_slot_close(s);
    rt_listener_unbusy(l, 1);
}

/* Hands each socket to its worker; a worker that has stopped gets none (closed here). */
static void post_slots(struct hg_listener *l, rt_base *b, const int *fds)
{
    rt_slot *s;
    uint32_t i;

    l->busy = 2 * l->n; /* each slot, and each slot's adoption task */
    for (i = 0; i < l->n; i++) {
        s = slot_at(l, b, i);
        s->l = l;
        s->w = rt_worker_at(b, i);
        s->fd = fds[i];
        rt_list_init(&s->link);
        if (rt_worker_post(s->w, slot_open_task, s, NULL) != 0) {
            close(fds[i]); /* that worker has stopped */
            l->busy -= 2;
        }
    }
}

int rt_net_listen(const hg_net *n, const char *addr, uint32_t backlog, const hg_conn_handler *h,
                  void *ud, struct hg_listener **out)
{
    rt_base *b = rt_base_of(n);
    rt_owner *o = rt_owner_of(n);
    struct sockaddr_storage ss;
    int fds[RT_MAX_WORKERS];
    struct hg_listener *l;
    socklen_t len;
    int rc;

    if (!h || rt_addr_parse(addr, &ss, &len) != 0)
        return HG_EINVAL;
    if (!b->started || rt_owner_closing(o) || rt_base_stopping(b))
        return HG_ECLOSED;
    l = calloc(1, sizeof *l);
    if (!l)
        return HG_ENOMEM;
    l->slots = calloc(b->n_workers, b->mode->slot_size);
    if (!l->slots) {
        free(l);
        return HG_ENOMEM;
    }
    l->backlog = backlog ? backlog : b->cfg.backlog;
    rc = rt_listen_group(&ss, len, b->n_workers, l->backlog, fds, &l->bound);
    if (rc != 0) {
        free(l->slots);
        free(l);
        return rc;
    }
    l->o = o;
    l->h = h;
    l->ud = ud;
    l->n = b->n_workers;
    rt_addr_format(&l->bound, l->addr, sizeof l->addr);
    l->local_known = !rt_addr_is_wildcard(&l->bound);
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    post_slots(l, b, fds);
    rt_list_push(&o->listeners, &l->olink);
    *out = l;
    return 0;
}

int rt_net_listener_address(const hg_net *n, struct hg_listener *l, char *buf, uint32_t cap)
{
    size_t len = strlen(l->addr);

    if (len + 1 > cap)
        return HG_ENOSPC;
    memcpy(buf, l->addr, len + 1);
    return 0;
}

void rt_listener_close(rt_link *olink)
{
    struct hg_listener *l = RT_CONTAINER(olink, struct hg_listener, olink);
    rt_base *b = l->o->rt;
    uint32_t i;

    rt_list_remove(&l->olink);
    for (i = 0; i < l->n; i++) {
        pthread_mutex_lock(&l->mu);
        l->busy++;
        pthread_mutex_unlock(&l->mu);
        /* a stopped worker has closed its slots already */
        if (rt_worker_post(rt_worker_at(b, i), slot_close_task, slot_at(l, b, i), NULL) != 0)
            rt_listener_unbusy(l, 1);
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

void rt_net_listener_close(const hg_net *n, struct hg_listener *l)
{
    rt_listener_close(&l->olink);
}
