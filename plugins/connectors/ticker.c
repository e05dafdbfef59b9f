/* ticker.c - the ticker connector: one event every `interval` on an absolute schedule (tick k is
 * due at start + k * interval, so waits never add up to drift); lateness stats in its state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cn.h"

typedef struct tick_stream {
    cn c;
    char name[64];
    uint64_t interval_ns;
} tick_stream;

static const char *const stream_keys[] = {"interval", NULL};

static int tk_open(void *inst, const hg_stream_desc *d, hg_stream *s, void **ud)
{
    cn *c = inst;
    tick_stream *t;
    uint64_t iv = 1000000000u;
    int rc = c->h->cfg_duration(c->h, d->cfg, "interval", &iv);
    (void)s;
    if (cn_check_keys(c, d->cfg, stream_keys) != 0)
        return HG_ECONFIG;
    if (rc != 0 && rc != HG_ENOENT)
        return HG_ECONFIG;
    if (iv < 100000u) {
        c->h->cfg_error(c->h, d->cfg, "interval", "'interval' must be at least 100us");
        return HG_ECONFIG;
    }
    if ((t = calloc(1, sizeof *t)) == NULL)
        return HG_ENOMEM;
    t->c = *c;
    t->interval_ns = iv;
    snprintf(t->name, sizeof t->name, "%s", d->name);
    *ud = t;
    return 0;
}

static int tk_run(void *ud, hg_stream *s)
{
    tick_stream *t = ud;
    const hg_host *h = t->c.h;
    uint64_t start = h->now_ns(h), k = 0, late_max = 0, late_sum = 0, missed = 0;
    char buf[160];
    t->c.api->publish(s, HG_STATE_RUNNING, "{}");
    for (;;) {
        uint64_t due = start + (k + 1) * t->interval_ns, now = h->now_ns(h), late;
        if (now < due && cn_sleep(&t->c, s, due - now))
            break;
        now = h->now_ns(h);
        late = now > due ? now - due : 0;
        k++;
        if (late >= t->interval_ns) { /* a stalled channel: skip the slots that passed */
            uint64_t skip = late / t->interval_ns;
            missed += skip;
            k += skip;
            late -= skip * t->interval_ns;
        }
        late_sum += late;
        if (late > late_max)
            late_max = late;
        snprintf(buf, sizeof buf, "{\"tick\":%llu,\"late_ns\":%llu}", (unsigned long long)k,
                 (unsigned long long)late);
        if (cn_emit(&t->c, s, HG_TYPE_TICK, buf, (uint32_t)strlen(buf)) == HG_ECANCELED)
            break;
        snprintf(buf, sizeof buf, "{\"ticks\":%llu,\"missed\":%llu,\"late_max_ns\":%llu,"
                 "\"late_mean_ns\":%llu}", (unsigned long long)k, (unsigned long long)missed,
                 (unsigned long long)late_max, (unsigned long long)(late_sum / k));
        t->c.api->publish(s, HG_STATE_RUNNING, buf);
    }
    t->c.api->publish(s, HG_STATE_STOPPED, "{}");
    return 0;
}

static void tk_close(void *ud)
{
    free(ud);
}

const hg_connector_ops cn_ticker_ops = {
    sizeof(hg_connector_ops), cn_create, cn_destroy, tk_open, tk_run, tk_close, NULL,
};
