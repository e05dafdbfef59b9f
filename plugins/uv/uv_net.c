/* uv_net.c - the uv runtime's listener slots (each worker adopts its SO_REUSEPORT socket as a
 * uv_tcp_t; the listeners themselves are in ../common/rt_listen.c) and timers (uv_timer_t). */
#include "uvrt.h"

#include <stdlib.h>
#include <unistd.h>

/* --- listener slots --- */

static void on_slot_handle_closed(uv_handle_t *h)
{
    uv_slot *s = h->data;
    if (--s->handles > 0)
        return;
    close(s->base.fd); /* a poll handle does not own its socket */
    rt_listener_unbusy(s->base.l, 1);
}

int uvl_slot_adopt(rt_slot *rs)
{
    uv_slot *s = (uv_slot *)rs;
    uvw *w = (uvw *)rs->w;

    uv_timer_init(&w->loop, &s->retry);
    s->retry.data = s;
    s->handles = 1;
    if (uv_poll_init(&w->loop, &s->poll, rs->fd) != 0)
        return HG_EIO;
    s->poll.data = s;
    s->handles = 2;
    return uv_poll_start(&s->poll, UV_READABLE, uvc_on_acceptable) == 0 ? 0 : HG_EIO;
}

void uvl_slot_close(rt_slot *rs)
{
    uv_slot *s = (uv_slot *)rs;
    uv_close((uv_handle_t *)&s->retry, on_slot_handle_closed);
    if (s->handles == 2)
        uv_close((uv_handle_t *)&s->poll, on_slot_handle_closed);
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

    t->w->core.events++;
    t->in_cb = 1;
    t->cb(t->ud, t);
    t->in_cb = 0;
    if (!t->repeat)
        uvt_free(t); /* a no-op when the callback stopped it */
}

int uvn_timer_start(const hg_net *n, uint64_t delay_ns, uint64_t repeat_ns,
                    void (*cb)(void *ud, hg_timer *t), void *ud, hg_timer **out)
{
    rt_owner *o = rt_owner_of(n);
    rt_worker *rw;
    uvw *w;
    hg_timer *t;
    int rc = rt_timer_check(n, cb, &rw);

    if (rc != 0)
        return rc;
    w = (uvw *)rw;
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
