/* test-stream.c - the stream runtime: a full event channel under block stalls the stream without
 * loss, drop policies count exactly what they dropped, the state cell reads consistently while
 * written, a stream thread lands on the core its policy picks (sched_getaffinity), and a cancel
 * of the parent token stops the stream. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cancel.h"
#include "instance.h"
#include "stream.h"
#include "tap.h"

typedef struct body {
    uint64_t n;           /* events to emit */
    uint64_t sent, refused;
    int cpu;              /* where the body ran */
    int nr_allowed;       /* CPUs in its affinity mask */
} body;

static int run_emit(void *ud, hg_stream *s)
{
    body *b = ud;
    cpu_set_t set;
    const hg_stream_api *api = &hg__stream_api_table;
    sched_getaffinity(0, sizeof set, &set);
    b->nr_allowed = CPU_COUNT(&set);
    b->cpu = sched_getcpu();
    for (uint64_t i = 0; i < b->n; i++) {
        hg_frame f = {sizeof(hg_frame), HG_TYPE_BYTES, NULL, NULL, 0, 0, 0, 0};
        int rc;
        if (api->buf_alloc(s, 24, &f) != 0)
            return HG_ENOMEM;
        snprintf((char *)f.data, 24, "%u", (unsigned)i);
        rc = api->emit(s, &f, UINT64_MAX);
        if (rc == 0)
            b->sent++;
        else {
            api->buf_unref(f.buf);
            b->refused++;
            if (rc == HG_ECANCELED)
                break;
        }
    }
    api->publish(s, HG_STATE_RUNNING, "{\"done\":true}");
    /* wait for the cancel, as a stream does */
    while (!hg__cancel_is_set(api->token(s)))
        hg__cancel_wait(api->token(s), 1000000000u);
    return 0;
}

static hg__inst *in;

static hg_stream *mk_list(uint32_t cap, uint32_t policy, int32_t core, const int32_t *cores,
                          uint32_t n)
{
    hg__stream_spec sp = {"c", "s", NULL, cap, 8, policy, core, cores, n, 0};
    hg_stream *s = NULL;
    hg__stream_new(&sp, &s);
    return s;
}

static hg_stream *mk(uint32_t cap, uint32_t policy, int32_t core)
{
    hg__stream_spec sp = {"c", "s", NULL, cap, 8, policy, core, NULL, 0, 0};
    hg_stream *s = NULL;
    hg__stream_new(&sp, &s);
    return s;
}

static void test_stream_block_stalls_without_loss(void)
{
    hg_stream *s = mk(8, HG_POLICY_BLOCK, HG_CORE_ANY);
    body b = {5000, 0, 0, -1, 0};
    hg__stream_stats st;
    uint64_t got = 0, expect = 0, bad = 0;
    hg__stream_start(s, hg__inst_host(in), hg__inst_token(in), run_emit, &b);
    while (got < 5000) {
        void *item;
        if (hg__link_recv(hg__stream_events(s), &item, 2000000000u, NULL) != 0)
            break;
        bad += strtoull((char *)((hg_frame *)item)->data, NULL, 10) != expect++;
        got++;
        hg__stream_frame_release(item, NULL);
    }
    is_int(got, 5000, "5000 events through a channel of 8 under block all arrive");
    is_int(bad, 0, "in order");
    hg__stream_stats_get(s, &st);
    is_int(st.dropped, 0, "none dropped");
    hg__stream_cancel(s);
    is_int(hg__stream_join(s, 2000000000u), 0, "the stream stops on cancel");
    hg__stream_free(s);
}

static void test_stream_drop_policies_count_exactly(uint32_t policy, const char *name)
{
    hg_stream *s = mk(16, policy, HG_CORE_ANY);
    body b = {1000, 0, 0, -1, 0};
    hg__stream_stats st;
    uint64_t got = 0;
    void *item;
    hg__stream_start(s, hg__inst_host(in), hg__inst_token(in), run_emit, &b);
    while (hg__stream_stats_get(s, &st), st.state_version == 0)
        sched_yield(); /* nobody reads until the body emitted all 1000 */
    while (hg__link_try_recv(hg__stream_events(s), &item) == 0) {
        got++;
        hg__stream_frame_release(item, NULL);
    }
    hg__stream_stats_get(s, &st);
    is_int(got, 16, "%s: a channel of 16 holds the 16 it kept", name);
    is_int(st.dropped, 1000 - 16, "%s: exactly 984 counted dropped", name);
    is_int(st.events, st.delivered + st.dropped + st.queued, "%s: events add up", name);
    hg__stream_cancel(s);
    hg__stream_join(s, 2000000000u);
    hg__stream_free(s);
}

static void test_stream_pinned_where_policy_says(void)
{
    cpu_set_t set;
    int ncpu, first = -1;
    sched_getaffinity(0, sizeof set, &set);
    ncpu = CPU_COUNT(&set);
    for (int c = 0; c < CPU_SETSIZE && first < 0; c++)
        if (CPU_ISSET(c, &set))
            first = c;
    {
        hg_stream *s = mk(4, HG_POLICY_DROP_NEWEST, first);
        body b = {1, 0, 0, -1, 0};
        hg__stream_start(s, hg__inst_host(in), hg__inst_token(in), run_emit, &b);
        hg__stream_cancel(s);
        hg__stream_join(s, 2000000000u);
        is_int(b.nr_allowed, 1, "core %d: the stream's thread may run on one CPU only", first);
        is_int(b.cpu, first, "and ran there");
        hg__stream_free(s);
    }
    {
        hg_stream *s[4];
        body b[4];
        int distinct = 0;
        for (int i = 0; i < 4; i++) {
            b[i] = (body){1, 0, 0, -1, 0};
            s[i] = mk(4, HG_POLICY_DROP_NEWEST, HG__CORE_LEAST_LOADED);
            hg__stream_start(s[i], hg__inst_host(in), hg__inst_token(in), run_emit, &b[i]);
        }
        hg__cancel_fire(hg__inst_token(in)); /* the parent's cancel stops all four */
        for (int i = 0; i < 4; i++) {
            is_int(hg__stream_join(s[i], 2000000000u), 0, "least-loaded stream %d stops when "
                   "its parent token is cancelled", i);
            distinct += b[i].nr_allowed == 1;
        }
        is_int(distinct, 4, "each least-loaded thread was pinned to one CPU");
        if (ncpu >= 2)
            ok(b[0].cpu != b[1].cpu, "the first two least-loaded streams went to different "
               "cores (%d, %d)", b[0].cpu, b[1].cpu);
        for (int i = 0; i < 4; i++)
            hg__stream_free(s[i]);
    }
}

/* core: [a, b]: each start of the stream takes the next core of the list. */
static void test_stream_round_robin_over_a_list(void)
{
    cpu_set_t set;
    int32_t cores[2] = {-1, -1};
    int n = 0, seen[4];
    hg_stream *s;
    sched_getaffinity(0, sizeof set, &set);
    for (int c = 0; c < CPU_SETSIZE && n < 2; c++)
        if (CPU_ISSET(c, &set))
            cores[n++] = c;
    if (n < 2)
        cores[1] = cores[0];
    s = mk_list(4, HG_POLICY_DROP_NEWEST, HG__CORE_ROUND_ROBIN, cores, 2);
    for (int i = 0; i < 4; i++) {
        body b = {1, 0, 0, -1, 0};
        hg__stream_start(s, hg__inst_host(in), hg__inst_token(in), run_emit, &b);
        hg__stream_cancel(s);
        hg__stream_join(s, 2000000000u);
        seen[i] = b.nr_allowed == 1 ? b.cpu : -1;
    }
    ok(seen[0] == cores[0] && seen[1] == cores[1] && seen[2] == cores[0] && seen[3] == cores[1],
       "four starts with core: [%d, %d] ran pinned on %d, %d, %d, %d", cores[0], cores[1],
       seen[0], seen[1], seen[2], seen[3]);
    hg__stream_free(s);
}

static hg_stream *cell;
static int stop_reader;
static uint64_t torn;

static void *reader(void *arg)
{
    char buf[512];
    uint32_t state;
    (void)arg;
    while (!__atomic_load_n(&stop_reader, __ATOMIC_ACQUIRE)) {
        unsigned a = 0, b2 = 0;
        hg__stream_state(cell, &state, buf, sizeof buf);
        const char *pb = strstr(buf, "\"b\":");
        if (buf[0] && (sscanf(buf, "{\"a\":%u", &a) != 1 || pb == NULL ||
                       sscanf(pb, "\"b\":%u", &b2) != 1 || a != b2))
            torn++;
    }
    return NULL;
}

static void test_stream_state_cell_reads_never_torn(void)
{
    pthread_t th;
    char d[512], pad[401];
    uint32_t state;
    memset(pad, 'x', 400);
    pad[400] = '\0';
    cell = mk(4, HG_POLICY_BLOCK, HG_CORE_ANY);
    pthread_create(&th, NULL, reader, NULL);
    for (unsigned i = 1; i <= 200000; i++) {
        /* a and b 400 bytes apart: a reader that mixed two publishes sees them differ */
        snprintf(d, sizeof d, "{\"a\":%u,\"p\":\"%s\",\"b\":%u}", i, pad, i);
        hg__stream_api_table.publish(cell, HG_STATE_RUNNING, d);
    }
    __atomic_store_n(&stop_reader, 1, __ATOMIC_RELEASE);
    pthread_join(th, NULL);
    is_int(torn, 0, "200000 publishes read from another thread: no torn snapshot");
    is_int(hg__stream_state(cell, &state, d, sizeof d), 200000, "the version counts publishes");
    hg__stream_free(cell);
}

int main(void)
{
    hg__inst_new_standalone("c", NULL, NULL, NULL, &in);
    test_stream_block_stalls_without_loss();
    test_stream_drop_policies_count_exactly(HG_POLICY_DROP_NEWEST, "drop_newest");
    test_stream_drop_policies_count_exactly(HG_POLICY_DROP_OLDEST, "drop_oldest");
    test_stream_state_cell_reads_never_torn();
    test_stream_round_robin_over_a_list();
    test_stream_pinned_where_policy_says();
    hg__inst_free(in);
    return tap_done();
}
