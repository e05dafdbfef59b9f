/* ur_plugin.c - the uring runtime mode's plugin descriptor, its rt_mode (what ../common/rt_base.c
 * calls for the ring parts) and its `usable` check, which refuses the mode where io_uring is refused. */
#include "ur.h"

#include <stdio.h>

static int ur_usable(const hg_host *host, const hg_config *cfg)
{
    char why[256], msg[400];

    if (ur_probe(why, sizeof why) != 0) {
        snprintf(msg, sizeof msg, "runtime mode 'uring' cannot run here: %s; use mode 'uv' "
                 "(libuv) or 'blocking' (poll) instead", why);
        return host->cfg_error(host, cfg, "mode", msg);
    }
    return 0;
}

const rt_mode rt_this_mode = {
    .name = "uring",
    .tmpl = &bk_net_template,
    .worker_size = sizeof(urw),
    .worker_init = urw_init,
    .worker_fini = urw_fini,
    .worker_run = urw_run,
    .wake = urw_wake,
    .slot_size = sizeof(urslot),
    .slot_adopt = bkl_slot_adopt,
    .slot_close = urw_slot_close,
    .cut_owner = bkw_cut_owner,
    .free_owner_timers = bkw_free_owner_timers,
    .usable = ur_usable,
};

static const hg_engine ur_engines[] = { {
    .struct_size = sizeof(hg_engine),
    .kind = HG_KIND_RUNTIME_MODE,
    .name = "uring",
    .summary = "io_uring runtime: worker threads, one ring each, polls and waits batched in one "
               "system call per turn (Linux; refused plainly where io_uring is)",
    .ops = &rt_mode_ops,
    .config_keys = rt_config_keys,
} };

HG_EXPORT const hg_plugin hangar_plugin = {
    HG_PLUGIN_INIT,
    .id = "org.hangar.runtime.uring",
    .version = "0.1.0",
    .summary = "the io_uring runtime mode",
    .n_engines = 1,
    .engines = ur_engines,
};
