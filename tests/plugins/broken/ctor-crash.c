/* ctor-crash.c - a fixture whose constructor crashes with SIGSEGV as soon as it is loaded: the
 * prober must report it and go on with the other files. */
#include <signal.h>

#include "../fixture.h"

__attribute__((constructor)) static void crash_on_load(void)
{
    raise(SIGSEGV);
}

static const hg_engine engines[] = {
    {sizeof(hg_engine), HG_KIND_PIPELINE, "fixture-crash", NULL, &fixture_pipeline_ops, NULL},
};

HG_EXPORT const hg_plugin hangar_plugin = {
    HG_PLUGIN_INIT, "org.hangar.test.ctor-crash", "1.0.0", NULL, 1, engines, NULL, NULL,
};
