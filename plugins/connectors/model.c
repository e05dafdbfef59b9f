/* model.c - "stream-model", an example graph processor acting as the model of a stream: at setup
 * it opens a stream of a connector engine through hangar.model/1 (`connector:` and `spec:`, the
 * stream's item as YAML text), then each turn drains at most `per_turn` events and pushes them to
 * its `out` port, and sends what arrives on its `in` port as the stream's actions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cn.h"

enum { P_IN, P_OUT };

static const hg_port_decl ports[] = {
    {sizeof(hg_port_decl), HG_PORT_IN, "in", HG_TYPE_ANY, 0},
    {sizeof(hg_port_decl), HG_PORT_OUT, "out", HG_TYPE_ANY, 0},
};

typedef struct model {
    const hg_host *h;
    const hg_model_api *mapi;
    const hg_graph_api *gapi;
    const char *connector, *spec;
    int64_t per_turn;
    hg_model_stream *m;
    hg_frame *ev;
    hg_counter *dropped;
} model;

static int md_create(const hg_host *h, const hg_config *cfg, void **out)
{
    model *md = calloc(1, sizeof *md);
    int rc = 0;
    if (md == NULL)
        return HG_ENOMEM;
    md->h = h;
    md->per_turn = 64;
    md->mapi = h->get_extension(h, HG_MODEL_EXTENSION);
    md->gapi = h->get_extension(h, HG_GRAPH_EXTENSION);
    if (h->cfg_string(h, cfg, "connector", &md->connector) != 0 || md->connector == NULL)
        rc = h->cfg_error(h, cfg, "connector", "stream-model needs 'connector': the engine of "
                                                "the stream it opens");
    if (h->cfg_string(h, cfg, "spec", &md->spec) != 0 || md->spec == NULL)
        rc = h->cfg_error(h, cfg, "spec", "stream-model needs 'spec': the stream's item as YAML "
                                          "text (\"{name: s, path: /var/log/app.log}\")");
    h->cfg_int(h, cfg, "per_turn", &md->per_turn);
    if (md->per_turn < 1 || md->per_turn > 65536)
        rc = h->cfg_error(h, cfg, "per_turn", "'per_turn' is between 1 and 65536");
    if (rc == 0 && (md->mapi == NULL || md->gapi == NULL))
        rc = HG_ENOTSUP;
    if (rc == 0 && (md->ev = calloc((size_t)md->per_turn, sizeof *md->ev)) == NULL)
        rc = HG_ENOMEM;
    if (rc == 0)
        rc = h->counter(h, "events_dropped", HG_COUNTER_SUM, &md->dropped);
    if (rc != 0) {
        free(md->ev);
        free(md);
        return rc < 0 ? rc : HG_ECONFIG;
    }
    *out = md;
    return 0;
}

static void md_destroy(void *inst)
{
    model *md = inst;
    free(md->ev);
    free(md);
}

static int md_setup(void *inst, hg_proc *p)
{
    model *md = inst;
    (void)p;
    return md->mapi->open(md->h, md->connector, md->spec, &md->m);
}

/* Moves up to per_turn events to `out`. Returns how many it moved. */
static int events_out(model *md, hg_proc *p)
{
    int n = md->mapi->drain(md->m, md->ev, (uint32_t)md->per_turn);
    for (int i = 0; i < n; i++) {
        md->ev[i].struct_size = sizeof(hg_frame);
        if (md->gapi->push(p, P_OUT, &md->ev[i], CN_FOREVER) != 0) {
            md->gapi->buf_unref(md->ev[i].buf);
            hg_counter_add(md->dropped, 1);
        }
    }
    return n > 0 ? n : 0;
}

/* Sends up to per_turn frames of `in` as actions. Returns how many it took. */
static int actions_in(model *md, hg_proc *p)
{
    int n = 0;
    while (n < md->per_turn) {
        hg_frame f;
        memset(&f, 0, sizeof f);
        f.struct_size = sizeof f;
        if (md->gapi->pop(p, P_IN, &f, 0) != 0)
            break;
        if (md->mapi->send(md->m, f.data, f.len) != 0)
            hg_counter_add(md->dropped, 1);
        md->gapi->buf_unref(f.buf);
        n++;
    }
    return n;
}

static int md_process(void *inst, hg_proc *p)
{
    model *md = inst;
    if (events_out(md, p) + actions_in(md, p) > 0)
        return 0;
    /* the stream's events do not wake the graph: look again in a millisecond */
    md->h->cancel_wait(md->h, md->h->cancel_token(md->h), 1000000u);
    return 0;
}

static void md_teardown(void *inst, hg_proc *p)
{
    model *md = inst;
    (void)p;
    if (md->m != NULL)
        md->mapi->close(md->m);
    md->m = NULL;
}

const hg_processor_ops cn_model_ops = {
    sizeof(hg_processor_ops), 2, ports, md_create, md_destroy, md_setup, md_process,
    md_teardown, NULL,
};
