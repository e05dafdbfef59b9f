/* test-hub.c - the hub and the control thread: instances added to and removed from a running
 * host; `counters` answered at once while the control thread is stuck in an engine; and the
 * 10 s command bound holding for every client queued behind that engine. The last test leaves
 * the host stuck for good (its engine never returns), so the process exits without freeing it. */
#define _GNU_SOURCE
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hangar/hangar.h>

#include "clock.h"
#include "config.h"
#include "host_api.h"
#include "tap.h"

static char *plugin_dirs[] = {HG_UV_DIR, HG_FIXTURE_DIR, NULL};

static hg__host *host_new(const char *pipelines)
{
    char yaml[2048];
    hg__host_opts o;
    hg__diag d;
    hg__host *h = NULL;
    snprintf(yaml, sizeof yaml,
             "hangar: 1\nruntime: { mode: uv, workers: 1 }\n"
             "control: { shutdown_timeout: 2s }\npipelines:\n%s", pipelines);
    hg__diag_init(&d);
    memset(&o, 0, sizeof o);
    o.src.yaml = yaml;
    o.src.limits = (hg__cfg_limits)HG__CFG_LIMITS_DEFAULT;
    o.extra_plugin_path = plugin_dirs;
    o.log_level = HG_LOG_WARN;
    o.log_to_stderr = 1;
    if (hg__host_create(&o, &d, &h) != 0) {
        for (uint32_t i = 0; i < d.n; i++)
            tap_diag("%s", d.items[i].msg);
        h = NULL;
    }
    hg__diag_free(&d);
    return h;
}

static json_t *cmd(hg__host *h, const char *text)
{
    char *reply = NULL;
    json_t *j = NULL;
    if (hg__host_command(h, text, &reply) == 0)
        j = json_loads(reply, 0, NULL);
    free(reply);
    return j;
}

static const char *state_of(hg__host *h, const char *name)
{
    static char buf[32];
    json_t *j = cmd(h, name);
    snprintf(buf, sizeof buf, "%s", json_string_value(json_object_get(j, "state")) ?: "?");
    json_decref(j);
    return buf;
}

static hg__config *part(const char *yaml, hg__diag *d)
{
    hg__config_src src;
    hg__config *c = NULL;
    memset(&src, 0, sizeof src);
    src.yaml = yaml;
    src.limits = (hg__cfg_limits)HG__CFG_LIMITS_DEFAULT;
    return hg__config_load(&src, &c, d) == 0 ? c : NULL;
}

static void test_hub_add_remove(void)
{
    hg__host *h = host_new("  - {name: a, engine: fixture-oneshot, hold: true}\n");
    hg__diag d;
    uint32_t cut = 99;
    json_t *j;

    ok(h != NULL && hg__host_start(h) == 0, "a host with one engine starts");
    hg__diag_init(&d);
    is_int(hg__host_add(h, part("hangar: 1\npipelines:\n"
                                "  - {name: b, engine: fixture-oneshot, hold: true}\n", &d), &d),
           0, "an instance is added to the running host");
    is_str(state_of(h, "state b"), "running", "  and runs at once");
    j = cmd(h, "counters");
    ok(json_object_get(json_object_get(j, "counters"), "b") != NULL &&
           json_integer_value(json_object_get(
               json_object_get(json_object_get(j, "counters"), "host"), "instances")) == 2,
       "  counters show it beside the first (2 instances)");
    json_decref(j);

    hg__diag_free(&d);
    is_int(hg__host_add(h, part("hangar: 1\npipelines:\n"
                                "  - {name: c, engine: fixture-oneshot, hold: true}\n"
                                "  - {name: a, engine: fixture-oneshot, hold: true}\n", &d), &d),
           HG_ECONFIG, "a change naming an instance that runs already is refused");
    ok(d.n == 1 && strstr(d.items[0].msg, "a: an instance of that name runs already"),
       "  saying which (%s)", d.n ? d.items[0].msg : "no error");
    j = cmd(h, "state c");
    ok(!json_is_true(json_object_get(j, "ok")), "  and nothing of it was added (no 'c')");
    json_decref(j);

    hg__diag_free(&d);
    is_int(hg__host_add(h, part("hangar: 1\npipelines:\n"
                                "  - {name: d, engine: fixture-oneshot, runs: nope}\n", &d), &d),
           HG_ECONFIG, "an instance whose engine refuses its config is refused");
    ok(d.n >= 1, "  with the engine's error (%s)", d.n ? d.items[0].msg : "none");
    j = cmd(h, "state d");
    ok(!json_is_true(json_object_get(j, "ok")), "  and not added");
    json_decref(j);

    is_int(hg__host_remove(h, "b", &cut), 0, "the added instance is removed");
    is_int(cut, 0, "  cutting no connection");
    j = cmd(h, "state b");
    ok(!json_is_true(json_object_get(j, "ok")), "  and is gone");
    json_decref(j);
    is_str(state_of(h, "state a"), "running", "the first instance still runs");
    is_int(hg__host_remove(h, "b", NULL), HG_ENOENT, "removing it again: ENOENT");
    is_int(hg__host_shutdown(h), 0, "the host shuts down cleanly");
    hg__diag_free(&d);
    hg__host_destroy(h);
}

typedef struct client {
    hg__host *h;
    const char *name;
    uint64_t sent_ns, took_ns;
    int rc;
} client;

static void *client_main(void *arg)
{
    client *c = arg;
    char *reply = NULL;
    c->sent_ns = hg__now_ns();
    c->rc = hg__host_call(c->h, c->name, "\"block\"", &reply);
    c->took_ns = hg__now_ns() - c->sent_ns;
    free(reply);
    return NULL;
}

static void test_hub_bound_holds(void)
{
    hg__host *h = host_new("  - {name: hold, engine: fixture-oneshot, hold: true}\n");
    client c[3];
    pthread_t t[3];
    uint64_t worst = 0, t0;
    int reads_ok = 1;
    json_t *j;

    ok(h != NULL && hg__host_start(h) == 0, "a host starts");
    for (int i = 0; i < 3; i++) {
        c[i] = (client){h, "hold", 0, 0, 0};
        pthread_create(&t[i], NULL, client_main, &c[i]);
        usleep(1000000); /* staggered: each client has its own bound */
    }
    /* meanwhile the hub answers reads at once */
    for (int i = 0; i < 20; i++) {
        uint64_t s = hg__now_ns(), took;
        j = cmd(h, "counters hold");
        took = hg__now_ns() - s;
        if (!json_is_true(json_object_get(j, "ok")))
            reads_ok = 0;
        if (took > worst)
            worst = took;
        json_decref(j);
        usleep(100000);
    }
    ok(reads_ok && worst < 500000000ull,
       "counters are answered while the control thread is stuck (slowest %.1f ms)",
       (double)worst / 1e6);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 3; i++)
        ok(c[i].rc == HG_ETIMEDOUT && c[i].took_ns >= 10000000000ull &&
               c[i].took_ns < 10600000000ull,
           "client %d: ETIMEDOUT after its own 10 s (%.3f s)", i + 1, (double)c[i].took_ns / 1e9);
    t0 = hg__now_ns();
    {
        char *reply = NULL;
        int rc = hg__host_call(h, "hold", "\"summary\"", &reply);
        free(reply);
        ok(rc == HG_ETIMEDOUT && hg__now_ns() - t0 < 200000000ull,
           "a call sent once the control thread is stuck past the bound fails at once (%.1f ms)",
           (double)(hg__now_ns() - t0) / 1e6);
    }
    /* the host is stuck in the engine for good: it can be neither shut down nor freed */
}

int main(void)
{
    test_hub_add_remove();
    test_hub_bound_holds();
    fflush(stdout);
    _exit(tap_done());
}
