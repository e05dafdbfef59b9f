/* abi-major.c - a fixture built for ABI 2.0: the host must refuse it, naming both versions. */
#include "../fixture.h"

static const hg_engine engines[] = {
    {sizeof(hg_engine), HG_KIND_PIPELINE, "fixture-abi2", "from the future", &fixture_pipeline_ops,
     NULL},
};

HG_EXPORT const hg_plugin hangar_plugin = {
    sizeof(hg_plugin), 2, 0, "org.hangar.test.abi-major", "2.0.0", "built for ABI 2", 1, engines,
    NULL, NULL,
};
