/* bad-name.c - a fixture whose engine name is not [a-z0-9_-]+: the host must refuse it. */
#include "../fixture.h"

static const hg_engine engines[] = {
    {sizeof(hg_engine), HG_KIND_PIPELINE, "Bad Name", NULL, &fixture_pipeline_ops, NULL},
};

HG_EXPORT const hg_plugin hangar_plugin = {
    HG_PLUGIN_INIT, "org.hangar.test.bad-name", "1.0.0", NULL, 1, engines, NULL, NULL,
};
