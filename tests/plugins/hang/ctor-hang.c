/* ctor-hang.c - a fixture whose constructor never returns: the prober must time out, kill the
 * child and report the file. Kept in its own directory so other scans do not wait for it. */
#include <unistd.h>

#include "../fixture.h"

__attribute__((constructor)) static void hang_on_load(void)
{
    for (;;)
        pause();
}

static const hg_engine engines[] = {
    {sizeof(hg_engine), HG_KIND_PIPELINE, "fixture-hang", NULL, &fixture_pipeline_ops, NULL},
};

HG_EXPORT const hg_plugin hangar_plugin = {
    HG_PLUGIN_INIT, "org.hangar.test.ctor-hang", "1.0.0", NULL, 1, engines, NULL, NULL,
};
