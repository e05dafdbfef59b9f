/* small-struct.c - a fixture whose descriptor claims struct_size 8 (just the version header):
 * the host must refuse it without reading past those 8 bytes. */
#include "../fixture.h"

static const hg_engine engines[] = {
    {sizeof(hg_engine), HG_KIND_PIPELINE, "fixture-small", NULL, &fixture_pipeline_ops, NULL},
};

HG_EXPORT const hg_plugin hangar_plugin = {
    8, HG_ABI_MAJOR, HG_ABI_MINOR, "org.hangar.test.small-struct", "1.0.0", NULL, 1, engines,
    NULL, NULL,
};
