/* null-ops.c - a fixture whose engine has no ops table: the host must refuse it. */
#include "../fixture.h"

static const hg_engine engines[] = {
    {sizeof(hg_engine), HG_KIND_PIPELINE, "fixture-noops", NULL, NULL, NULL},
};

HG_EXPORT const hg_plugin hangar_plugin = {
    HG_PLUGIN_INIT, "org.hangar.test.null-ops", "1.0.0", NULL, 1, engines, NULL, NULL,
};
