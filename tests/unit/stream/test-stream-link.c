/* test-stream-link.c - the graph's way into streams (hg__stream_link) on a real host with the
 * connectors plugin: the event channel of a running ticker, its one-receiver rule, the action
 * channel, HG_ENOENT and HG_ENOTSUP. With arguments CONFIG CONNECTOR STREAM N it is instead a
 * plain stream consumer for scripts/bench/tail: it drains N events and prints events/s. */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "host_api.h"
#include "host_priv.h"
#include "stream.h"
#include "cancel.h"
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

/* Model-first: an engine of the host (here the ticker's table) opens streams at run time. */
static void test_model(hg__host *h)
{
    const hg_host *me = hg__inst_host(hg__host_find(h, "clock")->in);
    const hg_model_api *api = me->get_extension(me, HG_MODEL_EXTENSION);
    const hg_stream_api *sapi = me->get_extension(me, HG_STREAM_EXTENSION);
    hg_model_stream *m = NULL, *bad = NULL;
    hg_frame ev[10];
    char path[] = "/tmp/hg-model-XXXXXX", spec[200];
    int fd = mkstemp(path), turns = 0, got = 0, n, in_order = 1;
    FILE *f = fdopen(fd, "w");
    uint64_t t0;
    ok(api != NULL, "the host offers hangar.model/1");
    is_int(api->open(me, "nope", "{name: s}", &bad), HG_ENOENT, "an engine not loaded: ENOENT");
    is_int(api->open(me, "tcp-echo", "{name: s}", &bad), HG_ENOTSUP, "a pipeline: ENOTSUP");
    is_int(api->open(me, "tail", "{name: s, path: /nonexistent}", &bad), HG_ECONFIG,
           "a spec the connector refuses: HG_ECONFIG");
    is_int(api->open(me, "tail", "{name: s, max_pending_events: 0, path: /etc/hostname}", &bad),
           HG_ECONFIG, "a zero bound: HG_ECONFIG");
    snprintf(spec, sizeof spec, "{name: lines, path: %s, from: start, max_pending_events: 16}",
             path);
    is_int(api->open(me, "tail", spec, &m), 0, "a model opens a tail stream at run time");
    for (int i = 0; i < 100; i++)
        fprintf(f, "line %d\n", i);
    fclose(f);
    t0 = hg__now_ns();
    while (got < 100 && hg__now_ns() - t0 < 5000000000ull) {
        n = api->drain(m, ev, 10);
        for (int i = 0; i < n; i++) {
            char want[32];
            snprintf(want, sizeof want, "line %d", got + i);
            in_order &= ev[i].len == strlen(want) && memcmp(ev[i].data, want, ev[i].len) == 0;
            sapi->buf_unref(ev[i].buf);
        }
        got += n > 0 ? n : 0;
        turns += n > 0;
        if (n <= 0)
            hg__cancel_wait(hg__inst_token(hg__host_find(h, "clock")->in), 1000000u);
    }
    is_int(got, 100, "it drains all 100 lines");
    ok(turns >= 10, "never more than 10 a turn (%d turns)", turns);
    ok(in_order, "in order");
    ok(api->healthy(m), "the stream is healthy");
    api->close(m);
    unlink(path);
    is_int(api->open(me, "exec", "{name: echo, command: [cat]}", &m), 0,
           "a model opens an exec stream");
    is_int(api->send(m, "ping", 4), 0, "and sends it an action");
    t0 = hg__now_ns();
    while ((n = api->drain(m, ev, 10)) == 0 && hg__now_ns() - t0 < 5000000000ull)
        hg__cancel_wait(hg__inst_token(hg__host_find(h, "clock")->in), 1000000u);
    ok(n == 1 && ev[0].len == 4 && memcmp(ev[0].data, "ping", 4) == 0,
       "the child's answer comes back as an event");
    if (n > 0)
        sapi->buf_unref(ev[0].buf);
    api->close(m);
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
    test_model(h);
    is_int(hg__host_shutdown(h), 0, "the host shuts down with the link taken");
    hg__host_destroy(h);
    return tap_done();
}
