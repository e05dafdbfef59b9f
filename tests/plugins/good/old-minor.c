/* old-minor.c - a plugin as built against ABI 1.0, before hg_engine.config_keys existed: it
 * carries its own copy of the 1.0 layouts. A 1.1 host must load it, step through its engine array
 * by the plugin's struct_size (not its own sizeof) and read config_keys as NULL. */
#include "../fixture.h"

/* hg_engine as ABI 1.0 defined it. */
typedef struct engine_1_0 {
    uint32_t struct_size;
    uint32_t kind;
    const char *name;
    const char *summary;
    const void *ops;
} engine_1_0;

/* hg_plugin as ABI 1.0 defined it. */
typedef struct plugin_1_0 {
    uint32_t struct_size;
    uint16_t abi_major;
    uint16_t abi_minor;
    const char *id;
    const char *version;
    const char *summary;
    uint32_t n_engines;
    const engine_1_0 *engines;
    int (*init)(void);
    void (*deinit)(void);
} plugin_1_0;

/* Two engines, so that reading the array with the host's stride would misplace the second. */
static const engine_1_0 engines[] = {
    {sizeof(engine_1_0), HG_KIND_PIPELINE, "fixture-old-first", "an ABI 1.0 engine",
     &fixture_pipeline_ops},
    {sizeof(engine_1_0), HG_KIND_PIPELINE, "fixture-old-second", "another ABI 1.0 engine",
     &fixture_pipeline_ops},
};

HG_EXPORT const plugin_1_0 hangar_plugin = {
    sizeof(plugin_1_0), 1, 0, "org.hangar.test.old-minor", "1.0.0", "built against ABI 1.0", 2,
    engines, NULL, NULL,
};
