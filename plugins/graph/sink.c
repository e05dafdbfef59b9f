/* sink.c - the `count-sink` processor: takes every frame off port in and counts frames, bytes
 * and gaps in the sequence numbers the host stamps on push; with `rate`, takes at most that many
 * frames a second (a slow consumer on purpose). */
#include <sched.h>
#include <stdlib.h>

#include "gp.h"

static const hg_port_decl ports[] = {
    {sizeof(hg_port_decl), HG_PORT_IN, "in", HG_TYPE_ANY, 0},
};
const char *const gp_count_sink_keys[] = {"rate", NULL};

typedef struct sink {
    gp_base b;
    gp_rate rate;
    uint64_t next_seq;
    uint8_t have_seq;
    uint8_t busy; /* the last turn found frames */
    hg_counter *frames, *bytes, *gaps, *missing;
} sink;

static int sink_create(const hg_host *h, const hg_config *cfg, void **out)
{
    sink *s = calloc(1, sizeof *s);
    int rc = 0;
    (void)cfg;
    if (s == NULL)
        return HG_ENOMEM;
    s->b.h = h;
    GP_KEEP(rc, gp_cfg_rate(h, "rate", &s->rate.rate));
    if (rc == 0)
        rc = gp_counter(h, "frames", &s->frames);
    if (rc == 0)
        rc = gp_counter(h, "bytes", &s->bytes);
    if (rc == 0)
        rc = gp_counter(h, "gaps", &s->gaps);
    if (rc == 0)
        rc = gp_counter(h, "missing", &s->missing);
    if (rc != 0) {
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

static int sink_process(void *inst, hg_proc *p)
{
    sink *s = inst;
    hg_frame fs[GP_BATCH];
    uint64_t bytes = 0, gaps = 0, missing = 0, wait = 0;
    uint32_t n, want = GP_BATCH;
    int why;

    if (s->rate.rate > 0) {
        want = gp_rate_allow(&s->rate, s->b.h->now_ns(s->b.h), GP_BATCH, &wait);
        if (want == 0) {
            gp_sleep(&s->b, wait);
            return 0;
        }
    }
    n = gp_pop_batch(&s->b, p, 0, fs, want, 0, &why);
    if (n == 0 && why == HG_EAGAIN && s->busy) {
        /* the input just ran dry: let the producer fill it once before parking, so a sleep
         * and its wake-up are paid per batch rather than per frame */
        sched_yield();
        n = gp_pop_batch(&s->b, p, 0, fs, want, 0, &why);
    }
    s->busy = n > 0;
    if (n == 0) {
        if (s->rate.rate > 0 && why == HG_EAGAIN)
            s->rate.start_ns = s->rate.sent = 0; /* idle: no budget piles up meanwhile */
        return gp_idle_result(&s->b, why);
    }
    for (uint32_t i = 0; i < n; i++) {
        bytes += fs[i].len;
        if (s->have_seq && fs[i].seq != s->next_seq) {
            gaps++;
            if (fs[i].seq > s->next_seq)
                missing += fs[i].seq - s->next_seq;
        }
        s->next_seq = fs[i].seq + 1;
        s->have_seq = 1;
        gp_drop(&s->b, &fs[i]);
    }
    s->rate.sent += n;
    hg_counter_add(s->frames, n);
    hg_counter_add(s->bytes, bytes);
    if (gaps) {
        hg_counter_add(s->gaps, gaps);
        hg_counter_add(s->missing, missing);
    }
    return 0;
}

const hg_processor_ops gp_count_sink_ops = {
    .struct_size = sizeof(hg_processor_ops),
    .n_ports = 1,
    .ports = ports,
    .create = sink_create,
    .destroy = gp_free,
    .setup = gp_base_setup,
    .process = sink_process,
};
