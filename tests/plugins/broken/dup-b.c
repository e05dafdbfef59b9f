/* dup-b.c - one of two fixtures that provide the same engine name: whichever comes later in
 * search order must be refused, naming the file that provides it first. */
#include "../fixture.h"

static const hg_engine engines[] = {
    {sizeof(hg_engine), HG_KIND_PIPELINE, "fixture-dup", "dup-b", &fixture_pipeline_ops, NULL},
};

HG_EXPORT const hg_plugin hangar_plugin = {
    HG_PLUGIN_INIT, "org.hangar.test.dup-b", "1.0.0", NULL, 1, engines, NULL, NULL,
};
