/* rt_owner.c - per-owner counters and connection records for the runtime modes, the owner's
 * idle wait behind net_close, and the runtime's own config keys. */
#include "rt.h"

#include <stdio.h>
#include <string.h>

const char *const rt_config_keys[] = { "read_buffer", "io_budget", "backlog", NULL };

/* Reads the runtime's own keys, reporting every bad one (not only the first). */
int rt_config_read(const hg_host *h, const hg_config *cfg, rt_config *out)
{
    int64_t backlog = 511;
    int bad = 0, rc;

    out->read_buffer = 64 * 1024;
    out->io_budget = 256 * 1024;
    out->backlog = 511;
    if (!cfg)
        return 0;
    rc = h->cfg_size(h, cfg, "read_buffer", &out->read_buffer);
    if (rc == 0 && (out->read_buffer < 1024 || out->read_buffer > 16 * 1024 * 1024))
        rc = h->cfg_error(h, cfg, "read_buffer", "'read_buffer' must be between 1KiB and 16MiB");
    bad |= rc != 0 && rc != HG_ENOENT;
    rc = h->cfg_size(h, cfg, "io_budget", &out->io_budget);
    if (rc == 0 && out->io_budget < 1024)
        rc = h->cfg_error(h, cfg, "io_budget", "'io_budget' must be at least 1KiB");
    bad |= rc != 0 && rc != HG_ENOENT;
    rc = h->cfg_int(h, cfg, "backlog", &backlog);
    if (rc == 0 && (backlog < 1 || backlog > 65535))
        rc = h->cfg_error(h, cfg, "backlog", "'backlog' must be between 1 and 65535");
    bad |= rc != 0 && rc != HG_ENOENT;
    if (bad)
        return HG_ECONFIG;
    out->backlog = (uint32_t)backlog;
    return 0;
}

static const char *const fixed_names[RT_C_FIXED] = {
    "connections_attempted", "connections_established", "connections_failed",
    "connections_open", "bytes_in", "bytes_out",
};
static const char *const closed_names[RT_CAUSES] = {
    [HG_CLOSE_ACTIVE] = "closed_active",
    [HG_CLOSE_PASSIVE] = "closed_passive",
    [HG_CLOSE_ACTIVE_RESET] = "closed_active_reset",
    [HG_CLOSE_PASSIVE_RESET] = "closed_passive_reset",
    [HG_CLOSE_TIMEOUT] = "closed_timeout",
    [HG_CLOSE_ERROR] = "closed_error",
    [HG_CLOSE_SHUTDOWN] = "closed_shutdown",
};

int rt_owner_init(rt_owner *o, const hg_host *owner, const hg_net *tmpl, void *rt)
{
    uint32_t i;
    int rc;

    memset(o, 0, sizeof *o);
    o->net = *tmpl;
    o->net.self = o;
    o->host = owner;
    o->rt = rt;
    for (i = 0; i < RT_C_FIXED; i++) {
        rc = owner->counter(owner, fixed_names[i],
                            i == RT_C_OPEN ? HG_COUNTER_GAUGE : HG_COUNTER_SUM, &o->c[i]);
        if (rc != 0)
            return rc;
    }
    for (i = 0; i < RT_CAUSES; i++) {
        if (!closed_names[i])
            continue;
        rc = owner->counter(owner, closed_names[i], HG_COUNTER_SUM, &o->closed[i]);
        if (rc != 0)
            return rc;
    }
    rt_list_init(&o->listeners);
    pthread_mutex_init(&o->mu, NULL);
    pthread_cond_init(&o->cv, NULL);
    return 0;
}

void rt_owner_fini(rt_owner *o)
{
    pthread_cond_destroy(&o->cv);
    pthread_mutex_destroy(&o->mu);
}

void rt_owner_hold(rt_owner *o)
{
    __atomic_fetch_add(&o->live, 1, __ATOMIC_RELAXED);
}

void rt_owner_release(rt_owner *o)
{
    /* The last release decrements under the mutex: a waiter that sees `live` reach 0 may
     * destroy the owner at once, so nothing of it may be touched after the unlock. */
    uint64_t left = __atomic_load_n(&o->live, __ATOMIC_ACQUIRE);
    while (left > 1) {
        if (__atomic_compare_exchange_n(&o->live, &left, left - 1, 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE))
            return;
    }
    pthread_mutex_lock(&o->mu);
    if (__atomic_sub_fetch(&o->live, 1, __ATOMIC_ACQ_REL) == 0)
        pthread_cond_broadcast(&o->cv);
    pthread_mutex_unlock(&o->mu);
}

void rt_owner_wait_idle(rt_owner *o)
{
    pthread_mutex_lock(&o->mu);
    while (__atomic_load_n(&o->live, __ATOMIC_ACQUIRE) != 0)
        pthread_cond_wait(&o->cv, &o->mu);
    pthread_mutex_unlock(&o->mu);
}

void rt_track_open(rt_owner *o, rt_track *t, int32_t worker, uint8_t outgoing, uint64_t id)
{
    memset(t, 0, sizeof *t);
    t->rec.struct_size = sizeof t->rec;
    t->rec.worker = worker;
    t->rec.id = id;
    t->rec.outgoing = outgoing;
    t->rec.t_open_ns = rt_now_ns();
    hg_counter_add(o->c[RT_C_ATTEMPTED], 1);
}

void rt_track_established(rt_owner *o, rt_track *t)
{
    t->established = 1;
    t->rec.t_established_ns = t->rec.outgoing ? rt_now_ns() : t->rec.t_open_ns;
    hg_counter_add(o->c[RT_C_ESTABLISHED], 1);
    hg_counter_add(o->c[RT_C_OPEN], 1);
}

void rt_track_info(const rt_track *t, hg_conn_record *out)
{
    *out = t->rec;
    rt_addr_format(&t->peer, out->peer, sizeof out->peer);
    rt_addr_format(&t->local, out->local, sizeof out->local);
}

#define REC_END(f) (offsetof(hg_conn_record, f) + sizeof(((hg_conn_record *)0)->f))

/* The end of the last whole field of hg_conn_record that fits in size bytes (0: none). */
static size_t record_fit(size_t size)
{
    static const size_t ends[] = {
        REC_END(struct_size), REC_END(worker), REC_END(id), REC_END(t_open_ns),
        REC_END(t_established_ns), REC_END(t_first_byte_ns), REC_END(t_close_ns),
        REC_END(bytes_in), REC_END(bytes_out), REC_END(close_cause), REC_END(status),
        REC_END(outgoing), REC_END(pad), REC_END(peer), REC_END(local),
    };
    size_t fit = 0;
    for (size_t i = 0; i < sizeof ends / sizeof ends[0] && ends[i] <= size; i++)
        fit = ends[i];
    return fit;
}

void rt_track_info_sized(const rt_track *t, hg_conn_record *out)
{
    hg_conn_record full;
    size_t n;

    if (!out)
        return;
    n = record_fit(out->struct_size);
    rt_track_info(t, &full);
    full.struct_size = (uint32_t)n;
    memcpy(out, &full, n);
}

void rt_track_close(rt_owner *o, rt_track *t, uint32_t cause, int status, hg_conn_record *out)
{
    t->closed = 1;
    t->rec.t_close_ns = rt_now_ns();
    t->rec.close_cause = cause;
    t->rec.status = status;
    if (!t->established) {
        hg_counter_add(o->c[RT_C_FAILED], 1);
    } else {
        hg_counter_sub(o->c[RT_C_OPEN], 1);
        if (cause < RT_CAUSES && o->closed[cause])
            hg_counter_add(o->closed[cause], 1);
    }
    rt_track_info(t, out);
    o->host->record(o->host, out);
}
