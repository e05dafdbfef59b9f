/* example.c - an example hangar plugin: one processor engine, "example-upper", that copies each
 * text frame from its input port to its output port in upper case. Built against the installed
 * SDK only; see README.md. */
#include <stdlib.h>

#include <hangar/hangar.h>

/* Port numbers are indexes into this array. */
enum { PORT_IN = 0, PORT_OUT = 1 };

static const hg_port_decl ports[] = {
    {sizeof(hg_port_decl), HG_PORT_IN, "in", HG_TYPE_TEXT, 0},
    {sizeof(hg_port_decl), HG_PORT_OUT, "out", HG_TYPE_TEXT, 0},
};

/* Everything an instance needs hangs off its own pointer: no global state. */
typedef struct upper {
    const hg_host *host;
    const hg_graph_api *graph; /* looked up in setup */
    hg_counter *frames;        /* frames converted */
} upper;

static int upper_create(const hg_host *host, const hg_config *cfg, void **out)
{
    upper *u = calloc(1, sizeof(*u));
    int rc;

    (void)cfg; /* no keys of its own */
    if (!u)
        return HG_ENOMEM;
    u->host = host;
    rc = host->counter(host, "frames", HG_COUNTER_SUM, &u->frames);
    if (rc != 0) {
        free(u);
        return rc;
    }
    *out = u;
    return 0;
}

static void upper_destroy(void *inst)
{
    free(inst);
}

static int upper_setup(void *inst, hg_proc *p)
{
    upper *u = inst;

    (void)p;
    u->graph = u->host->get_extension(u->host, HG_GRAPH_EXTENSION);
    return u->graph ? 0 : HG_ENOTSUP;
}

/* One turn: take a frame, write its upper-case copy into a new buffer, push that. The input
 * buffer may be shared with other readers, so it is never written in place. */
static int upper_process(void *inst, hg_proc *p)
{
    upper *u = inst;
    hg_frame in, out;
    int rc = u->graph->pop(p, PORT_IN, &in, 0);

    if (rc == HG_EAGAIN)
        return HG_PROCESS_IDLE;
    if (rc == HG_ECLOSED)
        return HG_PROCESS_DONE;
    if (rc != 0)
        return rc;
    out = in;
    rc = u->graph->buf_alloc(p, in.len ? in.len : 1, &out);
    if (rc == 0) {
        for (uint32_t i = 0; i < in.len; i++) {
            uint8_t c = in.data[i];
            out.data[i] = (c >= 'a' && c <= 'z') ? (uint8_t)(c - 'a' + 'A') : c;
        }
        out.len = in.len;
        out.type = HG_TYPE_TEXT;
        out.ts_ns = in.ts_ns;
        rc = u->graph->push(p, PORT_OUT, &out, 0);
        if (rc != 0)
            u->graph->buf_unref(out.buf); /* not pushed: still ours */
        else
            hg_counter_add(u->frames, 1);
    }
    if (in.buf)
        u->graph->buf_unref(in.buf);
    if (rc == HG_EAGAIN || rc == HG_ECANCELED)
        return 0; /* dropped by the link's policy, or stopping */
    return rc == HG_ECLOSED ? HG_PROCESS_DONE : rc;
}

static const hg_processor_ops upper_ops = {
    .struct_size = sizeof(hg_processor_ops),
    .n_ports = 2,
    .ports = ports,
    .create = upper_create,
    .destroy = upper_destroy,
    .setup = upper_setup,
    .process = upper_process,
};

static const hg_engine engines[] = {
    {
        .struct_size = sizeof(hg_engine),
        .kind = HG_KIND_PROCESSOR,
        .name = "example-upper",
        .summary = "copies text frames from in to out in upper case",
        .ops = &upper_ops,
        .config_keys = (const char *const[]){NULL}, /* accepts no keys of its own */
    },
};

/* The one exported symbol. */
HG_EXPORT const hg_plugin hangar_plugin = {
    HG_PLUGIN_INIT,
    .id = "org.example.upper",
    .version = "0.1.0",
    .summary = "an example plugin built outside the hangar tree",
    .n_engines = 1,
    .engines = engines,
};
