/* gp.c - helpers shared by the graph processors: the graph service, pushes that release what
 * they cannot deliver, failure reports, checked config values and a frame-rate bucket. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gp.h"

int gp_setup(gp_base *b)
{
    const hg_graph_api *g = b->h->get_extension(b->h, HG_GRAPH_EXTENSION);
    if (g == NULL || !HG_HAS_FIELD(g, hg_graph_api, commit))
        return gp_fail(b, HG_ENOTSUP, "this host has no " HG_GRAPH_EXTENSION " service");
    b->g = g;
    return 0;
}

int gp_push(gp_base *b, hg_proc *p, uint32_t port, hg_frame *f)
{
    uint64_t nap = 20000;
    int rc;
    /* A full link first gets short naps, so the consumer frees a stretch of it before this
     * producer comes back: parked in push, the producer would be woken for every slot. A
     * timeout of 1 ns keeps "full" (HG_ETIMEDOUT) apart from a drop policy's HG_EAGAIN. */
    while ((rc = b->g->push(p, port, f, 1)) == HG_ETIMEDOUT && nap <= 640000) {
        gp_sleep(b, nap);
        nap *= 2;
    }
    while (rc == HG_ETIMEDOUT) /* a slow consumer: wait in the link */
        rc = b->g->push(p, port, f, GP_PUSH_WAIT_NS);
    if (rc != 0)
        gp_drop(b, f);
    return rc;
}

void gp_drop(gp_base *b, hg_frame *f)
{
    if (f->buf != NULL)
        b->g->buf_unref(f->buf);
    f->buf = NULL;
}

int gp_fail(gp_base *b, int rc, const char *msg)
{
    hg_logf(b->h, HG_LOG_ERROR, "%s", msg);
    b->h->set_state(b->h, HG_STATE_FAILED, rc, msg);
    return rc;
}

int gp_counter(const hg_host *h, const char *name, hg_counter **out)
{
    return h->counter(h, name, HG_COUNTER_SUM, out);
}

static int range_error(const hg_host *h, const char *key, uint64_t min, uint64_t max)
{
    char msg[160];
    snprintf(msg, sizeof msg, "'%s' must be from %llu to %llu", key, (unsigned long long)min,
             (unsigned long long)max);
    return h->cfg_error(h, h->cfg_root(h), key, msg);
}

int gp_cfg_u64(const hg_host *h, const char *key, uint64_t min, uint64_t max, uint64_t *out)
{
    int64_t v;
    int rc = h->cfg_int(h, h->cfg_root(h), key, &v);
    if (rc == HG_ENOENT)
        return 0;
    if (rc != 0)
        return rc;
    if (v < 0 || (uint64_t)v < min || (uint64_t)v > max)
        return range_error(h, key, min, max);
    *out = (uint64_t)v;
    return 0;
}

int gp_cfg_size(const hg_host *h, const char *key, uint64_t min, uint64_t max, uint64_t *out)
{
    uint64_t v;
    int rc = h->cfg_size(h, h->cfg_root(h), key, &v);
    if (rc == HG_ENOENT)
        return 0;
    if (rc != 0)
        return rc;
    if (v < min || v > max)
        return range_error(h, key, min, max);
    *out = v;
    return 0;
}

int gp_cfg_duration(const hg_host *h, const char *key, uint64_t max, uint64_t *out)
{
    uint64_t v;
    int rc = h->cfg_duration(h, h->cfg_root(h), key, &v);
    if (rc == HG_ENOENT)
        return 0;
    if (rc != 0)
        return rc;
    if (v > max) {
        char msg[128];
        snprintf(msg, sizeof msg, "'%s' must be at most %llu s", key,
                 (unsigned long long)(max / 1000000000ull));
        return h->cfg_error(h, h->cfg_root(h), key, msg);
    }
    *out = v;
    return 0;
}

int gp_cfg_rate(const hg_host *h, const char *key, double *out)
{
    double v;
    int rc = h->cfg_double(h, h->cfg_root(h), key, &v);
    if (rc == HG_ENOENT)
        return 0;
    if (rc != 0)
        return rc;
    if (!(v >= 0 && v <= 1e12)) {
        char msg[128];
        snprintf(msg, sizeof msg, "'%s' must be a number of frames per second from 0 to 1e12",
                 key);
        return h->cfg_error(h, h->cfg_root(h), key, msg);
    }
    *out = v;
    return 0;
}

int gp_cfg_enum(const hg_host *h, const char *key, const char *const *names, uint32_t *out)
{
    const char *s;
    char msg[256];
    size_t n;
    int rc = h->cfg_string(h, h->cfg_root(h), key, &s);
    if (rc == HG_ENOENT)
        return 0;
    if (rc != 0)
        return rc;
    for (uint32_t i = 0; names[i] != NULL; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    n = (size_t)snprintf(msg, sizeof msg, "'%s' must be one of", key);
    for (uint32_t i = 0; names[i] != NULL && n < sizeof msg; i++)
        n += (size_t)snprintf(msg + n, sizeof msg - n, "%s %s", i ? "," : "", names[i]);
    if (n < sizeof msg)
        snprintf(msg + n, sizeof msg - n, "; got \"%.40s\"", s);
    return h->cfg_error(h, h->cfg_root(h), key, msg);
}

int gp_cfg_str(const hg_host *h, const char *key, int required, const char **out)
{
    char msg[96];
    int rc = h->cfg_string(h, h->cfg_root(h), key, out);
    if (rc == HG_ENOENT && !required)
        return 0;
    if (rc == HG_ENOENT) {
        snprintf(msg, sizeof msg, "missing required key '%s'", key);
        return h->cfg_error(h, h->cfg_root(h), NULL, msg);
    }
    return rc;
}

uint32_t gp_rate_allow(gp_rate *r, uint64_t now_ns, uint32_t want, uint64_t *wait_ns)
{
    double due;
    uint64_t may;
    *wait_ns = 0;
    if (r->rate <= 0)
        return want;
    if (r->start_ns == 0)
        r->start_ns = now_ns;
    /* frames due by now, counting the first one as due at the start */
    due = (double)(now_ns - r->start_ns) * r->rate / 1e9 + 1.0;
    may = due > (double)r->sent ? (uint64_t)(due - (double)r->sent) : 0;
    if (may >= want)
        return want;
    if (may == 0) {
        double next = (double)r->sent / r->rate * 1e9; /* when frame #sent is due */
        uint64_t at = r->start_ns + (uint64_t)next;
        *wait_ns = at > now_ns ? at - now_ns : 1;
        if (*wait_ns > GP_SLICE_NS)
            *wait_ns = GP_SLICE_NS;
    }
    return (uint32_t)may;
}

void gp_sleep(gp_base *b, uint64_t ns)
{
    if (ns > GP_SLICE_NS)
        ns = GP_SLICE_NS;
    (void)b->h->cancel_wait(b->h, b->h->cancel_token(b->h), ns);
}

uint32_t gp_pop_batch(gp_base *b, hg_proc *p, uint32_t port, hg_frame *fs, uint32_t max,
                      uint64_t wait_ns, int *why)
{
    uint32_t n = 0;
    *why = 0;
    while (n < max) {
        fs[n].struct_size = sizeof fs[n];
        *why = b->g->pop(p, port, &fs[n], n == 0 ? wait_ns : 0);
        if (*why != 0)
            break;
        n++;
    }
    return n;
}

int gp_idle_result(gp_base *b, int why)
{
    char msg[96];
    switch (why) {
    case HG_ECLOSED: return HG_PROCESS_DONE;
    case HG_EAGAIN:
    case HG_ECANCELED:
    case HG_ETIMEDOUT:
    case 0: return HG_PROCESS_IDLE;
    default:
        snprintf(msg, sizeof msg, "pop failed: %s", hg_strerror(why));
        return gp_fail(b, why, msg);
    }
}

int gp_push_all(gp_base *b, hg_proc *p, uint32_t port, hg_frame *fs, uint32_t n,
                hg_counter *dropped)
{
    uint32_t i, lost = 0;
    int rc = 0;
    for (i = 0; i < n; i++) {
        rc = gp_push(b, p, port, &fs[i]);
        if (rc == HG_EAGAIN) {
            lost++;
            rc = 0;
        } else if (rc != 0) {
            lost++;
            break;
        }
    }
    for (i = i + 1; i < n; i++, lost++)
        gp_drop(b, &fs[i]);
    if (lost != 0 && dropped != NULL)
        hg_counter_add(dropped, lost);
    return rc;
}

void gp_free(void *inst)
{
    free(inst);
}

int gp_base_setup(void *inst, hg_proc *p)
{
    (void)p;
    return gp_setup(inst);
}

int gp_net_open(gp_base *b, const hg_net_ext **x, const hg_net **net)
{
    char msg[160];
    int rc;
    *x = b->h->get_extension(b->h, HG_NET_EXTENSION);
    if (*x == NULL || !HG_HAS_FIELD(*x, hg_net_ext, net_close))
        return gp_fail(b, HG_ENOTSUP, "this host has no " HG_NET_EXTENSION " service");
    rc = (*x)->net_open(*x, b->h, net);
    if (rc != 0) {
        snprintf(msg, sizeof msg, "no network: %s%s", hg_strerror(rc),
                 rc == HG_ESTATE ? " (the runtime mode does not run)" : "");
        return gp_fail(b, rc, msg);
    }
    return 0;
}

int gp_alloc(gp_base *b, hg_proc *p, uint32_t size, hg_frame *f)
{
    uint64_t waited = 0, step = 50000;
    int rc;
    f->struct_size = sizeof *f;
    while ((rc = b->g->buf_alloc(p, size, f)) == HG_ENOMEM && waited < 1000000000ull) {
        gp_sleep(b, step);
        waited += step;
        if (step < 1000000)
            step *= 2;
    }
    return rc;
}

int gp_alloc_failed(gp_base *b, int rc, const char *who, uint32_t size)
{
    char msg[200];
    snprintf(msg, sizeof msg, "%s: no buffer of %u bytes: %s", who, size,
             rc == HG_EINVAL ? "larger than the graph's pool buffers (graph.pool.size)"
                             : rc == HG_ENOMEM ? "the graph's pool stayed exhausted for 1 s"
                                               : hg_strerror(rc));
    return gp_fail(b, rc, msg);
}
