/* no-symbol.c - a fixture that exports a descriptor under the wrong name: the host must refuse
 * it for lacking the `hangar_plugin` symbol. */
#include "../fixture.h"

static const hg_engine engines[] = {
    {sizeof(hg_engine), HG_KIND_PIPELINE, "fixture-nosym", NULL, &fixture_pipeline_ops, NULL},
};

HG_EXPORT const hg_plugin hangar_plugin_misspelt = {
    HG_PLUGIN_INIT, "org.hangar.test.no-symbol", "1.0.0", NULL, 1, engines, NULL, NULL,
};
