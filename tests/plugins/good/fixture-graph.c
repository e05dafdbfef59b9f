/* fixture-graph.c - processors for the graph tests and scenarios: a source (fixture-gen), a sink
 * that counts and checks seq (fixture-sink), one that fails where told (fixture-fail), and one
 * that commits a graph change from setup or process (fixture-committer). */
#include <stdlib.h>
#include <string.h>

#include <hangar/hangar.h>

typedef struct fx {
    const hg_host *host;
    const hg_graph_api *g;
    const hg_config *cfg;
    int64_t count, size;
    uint8_t keep;
    const char *fail, *when, *change;
    int committed;
    uint64_t sent, next_seq;
    hg_counter *c_sent, *c_recv, *c_gaps, *c_back, *c_commit_rc;
} fx;

static int fx_create(const hg_host *host, const hg_config *cfg, void **out)
{
    fx *f = calloc(1, sizeof(*f));
    const hg_config *root = host->cfg_root(host);
    if (f == NULL)
        return HG_ENOMEM;
    (void)cfg;
    f->host = host;
    f->size = 64;
    host->cfg_int(host, root, "count", &f->count);
    host->cfg_int(host, root, "size", &f->size);
    host->cfg_bool(host, root, "keep", &f->keep);
    host->cfg_string(host, root, "fail", &f->fail);
    host->cfg_string(host, root, "when", &f->when);
    host->cfg_string(host, root, "change", &f->change);
    if (f->size < 1 || f->size > 65536 || f->count < 0) {
        host->cfg_error(host, root, f->size < 1 || f->size > 65536 ? "size" : "count",
                        "out of range");
        free(f);
        return HG_ECONFIG;
    }
    if (f->fail != NULL && strcmp(f->fail, "create") == 0) {
        free(f);
        return HG_EFAIL;
    }
    host->counter(host, "sent", HG_COUNTER_SUM, &f->c_sent);
    host->counter(host, "received", HG_COUNTER_SUM, &f->c_recv);
    host->counter(host, "gaps", HG_COUNTER_SUM, &f->c_gaps);
    host->counter(host, "backwards", HG_COUNTER_SUM, &f->c_back);
    host->counter(host, "commit_rc", HG_COUNTER_GAUGE, &f->c_commit_rc);
    *out = f;
    return 0;
}

static void fx_destroy(void *inst)
{
    free(inst);
}

static void maybe_commit(fx *f, hg_proc *p, const char *when)
{
    if (f->change == NULL || f->committed || f->when == NULL || strcmp(f->when, when) != 0)
        return;
    f->committed = 1;
    hg_counter_set(f->c_commit_rc, (uint64_t)(int64_t)f->g->commit(p, f->change));
}

static int fx_setup(void *inst, hg_proc *p)
{
    fx *f = inst;
    f->g = f->host->get_extension(f->host, HG_GRAPH_EXTENSION);
    if (f->g == NULL)
        return HG_ENOTSUP;
    if (f->fail != NULL && strcmp(f->fail, "setup") == 0)
        return HG_EFAIL;
    maybe_commit(f, p, "setup");
    return 0;
}

/* ---- fixture-gen: `count` frames (0: until stopped) of `size` bytes, payload = its index ---- */

static int gen_process(void *inst, hg_proc *p)
{
    fx *f = inst;
    for (int k = 0; k < 64; k++) {
        hg_frame fr = {sizeof(hg_frame), HG_TYPE_BYTES, NULL, NULL, 0, 0, 0, 0};
        int rc;
        if (f->count > 0 && f->sent >= (uint64_t)f->count)
            return HG_PROCESS_DONE;
        if (f->g->buf_alloc(p, (uint32_t)f->size, &fr) != 0)
            return 0; /* the pool is empty for a moment: consumers give buffers back */
        memcpy(fr.data, &f->sent, f->size >= 8 ? 8 : (size_t)f->size);
        fr.ts_ns = f->host->now_ns(f->host);
        rc = f->g->push(p, 0, &fr, UINT64_MAX);
        if (rc != 0) {
            f->g->buf_unref(fr.buf);
            if (rc == HG_ECLOSED)
                return f->keep ? HG_PROCESS_IDLE : HG_PROCESS_DONE;
            return rc == HG_ECANCELED || rc == HG_EAGAIN ? HG_PROCESS_IDLE : rc;
        }
        f->sent++;
        hg_counter_add(f->c_sent, 1);
    }
    return 0;
}

/* ---- fixture-sink: counts frames, seq gaps and seq going backwards ---- */

static int sink_process(void *inst, hg_proc *p)
{
    fx *f = inst;
    hg_frame fr = {sizeof(hg_frame), 0, NULL, NULL, 0, 0, 0, 0};
    int rc, n = 0;
    maybe_commit(f, p, "process");
    while ((rc = f->g->pop(p, 0, &fr, 0)) == 0) {
        if (fr.seq < f->next_seq)
            hg_counter_add(f->c_back, 1);
        else if (fr.seq != f->next_seq)
            hg_counter_add(f->c_gaps, 1);
        f->next_seq = fr.seq + 1;
        if (fr.buf != NULL)
            f->g->buf_unref(fr.buf);
        hg_counter_add(f->c_recv, 1);
        fr.struct_size = sizeof(hg_frame);
        if (++n == 256)
            return 0;
        if (f->fail != NULL && strcmp(f->fail, "process") == 0)
            return HG_EPROTO;
    }
    if (rc == HG_ECLOSED)
        return f->keep ? HG_PROCESS_IDLE : HG_PROCESS_DONE;
    return n > 0 ? 0 : HG_PROCESS_IDLE;
}

/* ---- fixture-committer: pass-through that commits `change` once (when: setup | process) ---- */

static int committer_process(void *inst, hg_proc *p)
{
    fx *f = inst;
    hg_frame fr = {sizeof(hg_frame), 0, NULL, NULL, 0, 0, 0, 0};
    int rc, n = 0;
    maybe_commit(f, p, "process");
    while ((rc = f->g->pop(p, 0, &fr, 0)) == 0) {
        if (f->g->push(p, 1, &fr, UINT64_MAX) != 0 && fr.buf != NULL)
            f->g->buf_unref(fr.buf);
        fr.struct_size = sizeof(hg_frame);
        n++;
    }
    if (rc == HG_ECLOSED)
        return HG_PROCESS_DONE;
    return n > 0 ? 0 : HG_PROCESS_IDLE;
}

static const char *const keys[] = {"count", "size", "keep", "fail", "when", "change", NULL};

static const hg_port_decl gen_ports[] = {
    {sizeof(hg_port_decl), HG_PORT_OUT, "out", HG_TYPE_BYTES, HG_PORT_MULTI},
};
static const hg_port_decl sink_ports[] = {
    {sizeof(hg_port_decl), HG_PORT_IN, "in", HG_TYPE_ANY, HG_PORT_MULTI},
};
static const hg_port_decl text_ports[] = {
    {sizeof(hg_port_decl), HG_PORT_IN, "in", HG_TYPE_TEXT, 0},
};
static const hg_port_decl pass_ports[] = {
    {sizeof(hg_port_decl), HG_PORT_IN, "in", HG_TYPE_ANY, 0},
    {sizeof(hg_port_decl), HG_PORT_OUT, "out", HG_TYPE_ANY, 0},
};

#define OPS(ports, fn)                                                                        \
    {sizeof(hg_processor_ops), sizeof(ports) / sizeof((ports)[0]), ports, fx_create,         \
     fx_destroy, fx_setup, fn, NULL, NULL}
static const hg_processor_ops gen_ops = OPS(gen_ports, gen_process);
static const hg_processor_ops sink_ops = OPS(sink_ports, sink_process);
static const hg_processor_ops text_ops = OPS(text_ports, sink_process);
static const hg_processor_ops fail_ops = OPS(pass_ports, sink_process);
static const hg_processor_ops committer_ops = OPS(pass_ports, committer_process);

static const hg_engine engines[] = {
    {sizeof(hg_engine), HG_KIND_PROCESSOR, "fixture-gen",
     "a source: count frames of size bytes (0: until stopped)", &gen_ops, keys},
    {sizeof(hg_engine), HG_KIND_PROCESSOR, "fixture-sink",
     "a sink counting frames, seq gaps and seq going backwards", &sink_ops, keys},
    {sizeof(hg_engine), HG_KIND_PROCESSOR, "fixture-text-sink",
     "a sink whose input takes text frames only", &text_ops, keys},
    {sizeof(hg_engine), HG_KIND_PROCESSOR, "fixture-fail",
     "a processor that fails in create, setup or process (fail: WHERE)", &fail_ops, keys},
    {sizeof(hg_engine), HG_KIND_PROCESSOR, "fixture-committer",
     "a pass-through committing `change` from setup or process", &committer_ops, keys},
};

HG_EXPORT const hg_plugin hangar_plugin = {
    HG_PLUGIN_INIT, "org.hangar.test.fixture-graph", "1.0.0", "graph test processors", 5,
    engines, NULL, NULL,
};
