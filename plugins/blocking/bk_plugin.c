/* bk_plugin.c - the blocking runtime mode's plugin descriptor and its rt_mode: what
 * ../common/rt_base.c (the ops both modes share) calls for the poll-loop parts. */
#include "bk.h"

const rt_mode rt_this_mode = {
    .name = "blocking",
    .tmpl = &bk_net_template,
    .worker_size = sizeof(bkw),
    .worker_init = bkw_init,
    .worker_fini = bkw_fini,
    .worker_run = bkw_run,
    .wake = bkw_wake,
    .slot_size = sizeof(rt_slot),
    .slot_adopt = bkl_slot_adopt,
    .slot_close = bkl_slot_close,
    .cut_owner = bkw_cut_owner,
    .free_owner_timers = bkw_free_owner_timers,
};

static const hg_engine bk_engines[] = { {
    .struct_size = sizeof(hg_engine),
    .kind = HG_KIND_RUNTIME_MODE,
    .name = "blocking",
    .summary = "blocking runtime: worker threads with blocking sockets and a poll loop (debugging, small loads)",
    .ops = &rt_mode_ops,
    .config_keys = rt_config_keys,
} };

HG_EXPORT const hg_plugin hangar_plugin = {
    HG_PLUGIN_INIT,
    .id = "org.hangar.runtime.blocking",
    .version = "0.1.0",
    .summary = "the blocking runtime mode",
    .n_engines = 1,
    .engines = bk_engines,
};
