/* test-stream-link.c - the graph's way into streams (hg__stream_link) on a real host with the
 * connectors plugin: the event channel of a running ticker, its one-receiver rule, the action
 * channel, HG_ENOENT and HG_ENOTSUP. With arguments CONFIG CONNECTOR STREAM N it is instead a
 * plain stream consumer for scripts/bench/tail: it drains N events and prints events/s. */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "host_api.h"
#include "stream.h"
#include "stream_link.h"
#include "tap.h"

static hg__host *make(const char *path, const char *yaml)
{
    hg__host_opts o;
    hg__diag d;
    hg__host *h = NULL;
    char *const extra[] = {HG_CONNECTORS_DIR, HG_TCP_DIR, NULL};
    memset(&o, 0, sizeof o);
    hg__diag_init(&d);
    o.src.path = path;
    o.src.yaml = yaml;
    o.src.limits = (hg__cfg_limits)HG__CFG_LIMITS_DEFAULT;
    o.extra_plugin_path = extra;
    if (hg__host_create(&o, &d, &h) != 0)
        for (uint32_t i = 0; i < d.n; i++)
            fprintf(stderr, "%s\n", d.items[i].msg);
    hg__diag_free(&d);
    return h;
}

static int consume(const char *cfg, const char *conn, const char *stream, uint64_t n)
{
    hg__host *h = make(cfg, NULL);
    hg__link *l;
    void *items[256];
    uint64_t got = 0, t0 = 0;
    if (h == NULL || hg__stream_link(h, conn, stream, HG__STREAM_EVENTS, &l) != 0 ||
        hg__host_start(h) != 0)
        return 1;
    while (got < n) {
        int k = hg__link_drain(l, items, 256);
        for (int spin = 0; k == 0 && spin < 64; spin++) { /* a batch is likely on its way */
            sched_yield();
            k = hg__link_drain(l, items, 256);
        }
        if (k <= 0) {
            if (hg__link_recv(l, items, 2000000000u, NULL) != 0)
                break;
            k = 1;
        }
        if (t0 == 0)
            t0 = hg__now_ns();
        for (int i = 0; i < k; i++)
            hg__stream_frame_release(items[i], NULL);
        got += (uint64_t)k;
    }
    printf("events %llu seconds %.3f events_per_s %.0f\n", (unsigned long long)got,
           (double)(hg__now_ns() - t0) / 1e9, (double)got / ((double)(hg__now_ns() - t0) / 1e9));
    hg__host_shutdown(h);
    hg__host_destroy(h);
    return got == n ? 0 : 1;
}

int main(int argc, char **argv)
{
    hg__host *h;
    hg__link *ev = NULL, *ev2 = NULL, *ac = NULL;
    void *item;
    hg_frame *f;
    if (argc == 5)
        return consume(argv[1], argv[2], argv[3], strtoull(argv[4], NULL, 10));
    h = make(NULL, "hangar: 1\n"
                   "pipelines:\n  - { name: echo, engine: tcp-echo, listen: \"127.0.0.1:0\" }\n"
                   "connectors:\n  - name: clock\n    engine: ticker\n"
                   "    streams: [ { name: t, interval: 1ms } ]\n");
    ok(h != NULL, "a host with a ticker connector and a pipeline is created");
    if (h == NULL)
        return tap_done();
    is_int(hg__stream_link(h, "nope", "t", HG__STREAM_EVENTS, &ev), HG_ENOENT,
           "an unknown connector is HG_ENOENT");
    is_int(hg__stream_link(h, "clock", "nope", HG__STREAM_EVENTS, &ev), HG_ENOENT,
           "an unknown stream is HG_ENOENT");
    is_int(hg__stream_link(h, "echo", "t", HG__STREAM_EVENTS, &ev), HG_ENOTSUP,
           "a pipeline is not a connector: HG_ENOTSUP");
    is_int(hg__stream_link(h, "clock", "t", HG__STREAM_EVENTS, &ev), 0,
           "from: clock.t gives the event channel");
    is_int(hg__stream_link(h, "clock", "t", HG__STREAM_EVENTS, &ev2), HG_ESTATE,
           "a second receiver is refused");
    is_int(hg__stream_link(h, "clock", "t", HG__STREAM_ACTIONS, &ac), 0,
           "to: clock.t gives the action channel");
    hg__host_start(h);
    is_int(hg__link_recv(ev, &item, 2000000000u, NULL), 0, "a tick arrives through the link");
    f = item;
    ok(f->type == HG_TYPE_TICK && f->len > 0 && strstr((char *)f->data, "\"tick\"") != NULL,
       "as a tick frame with its payload");
    hg__stream_frame_release(item, NULL);
    hg__stream_unlink(h, "clock", "t");
    is_int(hg__stream_link(h, "clock", "t", HG__STREAM_EVENTS, &ev2), 0,
           "after unlink the events can be taken again");
    is_int(hg__host_shutdown(h), 0, "the host shuts down with the link taken");
    hg__host_destroy(h);
    return tap_done();
}
