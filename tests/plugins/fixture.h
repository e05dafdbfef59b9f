/* fixture.h - a minimal pipeline engine shared by the deliberately broken fixture plugins, so
 * that each of them differs from a good plugin by exactly the fault it is named after. SDK only. */
#ifndef HG_FIXTURE_H
#define HG_FIXTURE_H

#include <stdlib.h>

#include <hangar/hangar.h>

typedef struct fixture_inst {
    const hg_host *host;
} fixture_inst;

static int fixture_create(const hg_host *host, const hg_config *cfg, void **out)
{
    fixture_inst *in = calloc(1, sizeof(*in));
    (void)cfg;
    if (!in)
        return HG_ENOMEM;
    in->host = host;
    *out = in;
    return 0;
}

static void fixture_destroy(void *inst)
{
    free(inst);
}

/* Has nothing to serve: reports stopped at once. */
static int fixture_start(void *inst, const hg_net *net)
{
    fixture_inst *in = inst;
    (void)net;
    in->host->set_state(in->host, HG_STATE_STOPPED, 0, NULL);
    return 0;
}

static void fixture_stop(void *inst, uint32_t how)
{
    fixture_inst *in = inst;
    (void)how;
    in->host->set_state(in->host, HG_STATE_STOPPED, 0, NULL);
}

static const hg_pipeline_ops fixture_pipeline_ops = {
    .struct_size = sizeof(hg_pipeline_ops),
    .create = fixture_create,
    .destroy = fixture_destroy,
    .start = fixture_start,
    .stop = fixture_stop,
};

#endif
