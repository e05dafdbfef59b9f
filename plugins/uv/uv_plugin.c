/* uv_plugin.c - the uv runtime mode's plugin descriptor and its rt_mode: what ../common/rt_base.c
 * (the ops both modes share) calls for the libuv parts. */
#include "uvrt.h"

const rt_mode rt_this_mode = {
    .name = "uv",
    .tmpl = &uv_net_template,
    .worker_size = sizeof(uvw),
    .worker_init = uvw_init,
    .worker_fini = uvw_fini,
    .worker_run = uvw_run,
    .wake = uvw_wake,
    .slot_size = sizeof(uv_slot),
    .slot_adopt = uvl_slot_adopt,
    .slot_close = uvl_slot_close,
    .cut_owner = uvw_cut_owner,
    .free_owner_timers = uvw_free_owner_timers,
};

static const hg_engine uv_engines[] = { {
    .struct_size = sizeof(hg_engine),
    .kind = HG_KIND_RUNTIME_MODE,
    .name = "uv",
    .summary = "libuv runtime: one event loop per worker thread, SO_REUSEPORT listeners",
    .ops = &rt_mode_ops,
    .config_keys = rt_config_keys,
} };

HG_EXPORT const hg_plugin hangar_plugin = {
    HG_PLUGIN_INIT,
    .id = "org.hangar.runtime.uv",
    .version = "0.1.0",
    .summary = "the uv runtime mode",
    .n_engines = 1,
    .engines = uv_engines,
};
