/* uv_net.c - the uv runtime's listeners, timers and posts. A listener is one SO_REUSEPORT socket
 * per worker, all bound to the same address: the kernel spreads incoming connections over the
 * workers with no hand-off between threads and no thundering herd. The sockets are bound and
 * listening before listen returns (errors are synchronous); each worker then adopts its own. */
#include "uvrt.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

uint32_t uvn_workers(const hg_net *n)
{
    return uv_rt_of(n)->base.n_workers;
}

int32_t uvn_current_worker(const hg_net *n)
{
    uvw *w = uvw_current(uv_rt_of(n));
    return w ? w->index : -1;
}

int uvn_post(const hg_net *n, int32_t worker, void (*fn)(void *arg), void *arg)
{
    uvrt *rt = uv_rt_of(n);
    rt_owner *o = rt_owner_of(n);

    if (!fn || worker < 0 || (uint32_t)worker >= rt->base.n_workers || !rt->base.started)
        return HG_EINVAL;
    if (rt_owner_closing(o))
        return HG_ECLOSED;
    rt_owner_hold(o);
    if (uvw_post(&rt->workers[worker], fn, arg, o) != 0) {
        rt_owner_release(o);
        return HG_ECLOSED;
    }
    return 0;
}

/* --- listeners --- */

static void listener_unbusy(hg_listener *l)
{
    pthread_mutex_lock(&l->mu);
    l->busy--;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

static void on_slot_closed(uv_handle_t *h)
{
    listener_unbusy(((uv_slot *)h->data)->l);
}

/* Task: the worker adopts its socket (or, when stopping, just closes it). */
static void slot_open(void *arg)
{
    uv_slot *s = arg;
    hg_listener *l = s->l;
    int rc;

    if (s->w->stopping) {
        close(s->fd);
        listener_unbusy(l); /* the slot */
        goto out;
    }
    uv_tcp_init(&s->w->loop, &s->tcp);
    s->tcp.data = s;
    s->open = 1;
    rt_list_push(&s->w->slots, &s->link);
    rc = uv_tcp_open(&s->tcp, s->fd);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&s->tcp, (int)l->backlog, uvc_on_connection);
    if (rc != 0)
        uvl_slot_close(s);
out:
    listener_unbusy(l); /* the task */
}

void uvl_slot_close(void *arg)
{
    uv_slot *s = arg;

    if (!s->open)
        return;
    s->open = 0;
    rt_list_remove(&s->link);
    uv_close((uv_handle_t *)&s->tcp, on_slot_closed);
}

static void slot_close_task(void *arg)
{
    uv_slot *s = arg;
    uvl_slot_close(s);
    listener_unbusy(s->l);
}

int uvn_listen(const hg_net *n, const char *addr, uint32_t backlog, const hg_conn_handler *h,
               void *ud, hg_listener **out)
{
    uvrt *rt = uv_rt_of(n);
    rt_owner *o = rt_owner_of(n);
    struct sockaddr_storage ss, bound;
    socklen_t len;
    int fds[RT_MAX_WORKERS];
    hg_listener *l;
    uint32_t i;
    int rc;

    if (!h || rt_addr_parse(addr, &ss, &len) != 0)
        return HG_EINVAL;
    if (!rt->base.started || rt_owner_closing(o) || __atomic_load_n(&rt->base.stop, __ATOMIC_ACQUIRE))
        return HG_ECLOSED;
    l = calloc(1, sizeof *l);
    if (!l)
        return HG_ENOMEM;
    l->slots = calloc(rt->base.n_workers, sizeof *l->slots);
    if (!l->slots) {
        free(l);
        return HG_ENOMEM;
    }
    l->backlog = backlog ? backlog : rt->base.cfg.backlog;
    rc = rt_listen_group(&ss, len, rt->base.n_workers, l->backlog, fds, &bound);
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
    l->bound = bound;
    l->local_known = !rt_addr_is_wildcard(&bound);
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    l->busy = 2 * l->n; /* each slot, and each slot's adoption task */
    for (i = 0; i < l->n; i++) {
        l->slots[i].l = l;
        l->slots[i].w = &rt->workers[i];
        l->slots[i].fd = fds[i];
        rt_list_init(&l->slots[i].link);
        if (uvw_post(&rt->workers[i], slot_open, &l->slots[i], NULL) != 0) {
            close(fds[i]); /* that worker has stopped */
            l->busy -= 2;
        }
    }
    rt_list_push(&o->listeners, &l->olink);
    *out = l;
    return 0;
}

int uvn_listener_address(const hg_net *n, hg_listener *l, char *buf, uint32_t cap)
{
    size_t len = strlen(l->addr);

    if (len + 1 > cap)
        return HG_ENOSPC;
    memcpy(buf, l->addr, len + 1);
    return 0;
}

/* Closes every slot on its worker and waits until no worker touches l. */
void uvl_close(rt_link *olink)
{
    hg_listener *l = RT_CONTAINER(olink, hg_listener, olink);
    uvrt *rt = (uvrt *)l->o->rt;
    uint32_t i;

    rt_list_remove(&l->olink);
    for (i = 0; i < l->n; i++) {
        pthread_mutex_lock(&l->mu);
        l->busy++;
        pthread_mutex_unlock(&l->mu);
        /* a stopped worker has closed its slots already */
        if (uvw_post(&rt->workers[i], slot_close_task, &l->slots[i], NULL) != 0)
            listener_unbusy(l);
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

void uvn_listener_close(const hg_net *n, hg_listener *l)
{
    uvl_close(&l->olink);
}

/* --- timers --- */

hg_timer *uvt_of_link(rt_link *l)
{
    return RT_CONTAINER(l, hg_timer, link);
}

static void on_timer_closed(uv_handle_t *h)
{
    free(h->data);
}

void uvt_free(hg_timer *t)
{
    if (t->dead)
        return;
    t->dead = 1;
    rt_list_remove(&t->link);
    uv_close((uv_handle_t *)&t->t, on_timer_closed);
}

static void on_hg_timer(uv_timer_t *ut)
{
    hg_timer *t = ut->data;

    t->w->events++;
    t->in_cb = 1;
    t->cb(t->ud, t);
    t->in_cb = 0;
    if (!t->repeat)
        uvt_free(t); /* a no-op when the callback stopped it */
}

int uvn_timer_start(const hg_net *n, uint64_t delay_ns, uint64_t repeat_ns,
                    void (*cb)(void *ud, hg_timer *t), void *ud, hg_timer **out)
{
    uvrt *rt = uv_rt_of(n);
    rt_owner *o = rt_owner_of(n);
    uvw *w = uvw_current(rt);
    hg_timer *t;

    if (!cb)
        return HG_EINVAL;
    if (!w)
        return HG_ESTATE; /* timers live on a worker's loop: post there first */
    if (w->stopping || rt_owner_closing(o))
        return HG_ECLOSED;
    t = calloc(1, sizeof *t);
    if (!t)
        return HG_ENOMEM;
    t->w = w;
    t->o = o;
    t->cb = cb;
    t->ud = ud;
    t->repeat = repeat_ns > 0;
    uv_timer_init(&w->loop, &t->t);
    t->t.data = t;
    rt_list_push(&w->timers, &t->link);
    uv_timer_start(&t->t, on_hg_timer, uv_ms_of_ns(delay_ns), uv_ms_of_ns(repeat_ns));
    *out = t;
    return 0;
}

void uvn_timer_stop(const hg_net *n, hg_timer *t)
{
    uvt_free(t);
}
