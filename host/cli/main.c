/* main.c - the hangar command line: global options, then one subcommand (run, check, plugins,
 * scenario). Exit status: 0 ok, 1 runtime failure, 2 usage or configuration error. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hangar/plugin.h>

#include "cli.h"
#include "scenario_cli.h"
#include "cli_common.h"
#include "log.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: hangar [-v|-q] [--version] [--help] COMMAND [ARGS]\n"
            "\n"
            "commands:\n"
            "  run [CONFIG] [--set PATH=VALUE]... [--path DIR]... [--until-done] [--json] [-i]\n"
            "        run a host until SIGINT/SIGTERM/SIGHUP (a graceful shutdown; a second\n"
            "        signal, or SIGQUIT, kills) or `shutdown`; SIGUSR1/SIGUSR2 are ignored;\n"
            "        --until-done: also end when no client pipeline (tcp-gen) runs any more\n"
            "        (finished, stopped by `stop NAME`, or failed);\n"
            "        --json: print each pipeline's summary as one JSON object per line;\n"
            "        -i: a command prompt on the terminal (hangar ctl's commands);\n"
            "        with no CONFIG, a built-in demo (echo server + load generator)\n"
            "  check CONFIG [--set PATH=VALUE]... [--path DIR]...\n"
            "        validate a configuration and the plugins it names; start nothing\n"
            "  plugins [--path DIR]... [--json] [CONFIG]\n"
            "        list the plugins found on the search path and their engines\n"
            "  scenario SCRIPT.lua [--timeout D] [--memory SIZE] [--repeat N] [ARGS]\n"
            "        run a Lua test scenario; TAP on stdout (hangar scenario --help)\n"
            "  ctl [--socket PATH] [--config FILE] [--json] COMMAND...\n"
            "        send a command to a running host (status, top, counters, records, perf,\n"
            "        graph, reload, shutdown, ...; hangar ctl --help)\n"
            "\n"
            "options:\n"
            "  -v, --verbose   more log output (repeat for trace)\n"
            "  -q, --quiet     errors only\n"
            "  --set PATH=VALUE  override one config value (pipelines.echo.listen=127.0.0.1:0)\n"
            "  --path DIR        search DIR for plugins first\n"
            "  HANGAR_LOG=error|warn|info|debug|trace sets the level too;\n"
            "  HANGAR_PLUGIN_PATH=DIR:DIR adds plugin directories.\n"
            "\n"
            "exit status: 0 ok, 1 runtime failure (an engine failed, nothing runs, a graceful\n"
            "shutdown overran control.shutdown_timeout, or a kill), 2 usage or configuration\n"
            "error\n");
}

int main(int argc, char **argv)
{
    int i = 1;
    uint32_t level = hg__log_default_level();

    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return HG_EXIT_OK;
        } else if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0) {
            printf("hangar %s (plugin ABI %d.%d)\n", HG_VERSION, HG_ABI_MAJOR, HG_ABI_MINOR);
            return HG_EXIT_OK;
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            level = level < HG_LOG_TRACE ? level + 1 : level;
        } else if (strcmp(a, "-vv") == 0) {
            level = HG_LOG_TRACE;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            level = HG_LOG_ERROR;
        } else {
            fprintf(stderr, "hangar: unknown option '%s' (see hangar --help)\n", a);
            return HG_EXIT_USAGE;
        }
    }
    hg__log_set_default(level);
    if (i >= argc) {
        usage(stderr);
        return HG_EXIT_USAGE;
    }
    if (strcmp(argv[i], "run") == 0)
        return hg__cli_run(argc - i, argv + i);
    if (strcmp(argv[i], "check") == 0)
        return hg__cli_check(argc - i, argv + i);
    if (strcmp(argv[i], "plugins") == 0)
        return hg__cli_plugins(argc - i, argv + i);
    if (strcmp(argv[i], "scenario") == 0)
        return hg__cli_scenario(argc - i, argv + i);
    if (strcmp(argv[i], "ctl") == 0)
        return hg__cli_ctl(argc - i, argv + i);
    if (strcmp(argv[i], "help") == 0) {
        usage(stdout);
        return HG_EXIT_OK;
    }
    fprintf(stderr, "hangar: unknown command '%s' (commands: run, check, plugins, scenario, "
                    "ctl)\n", argv[i]);
    return HG_EXIT_USAGE;
}
