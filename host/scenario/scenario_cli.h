/* scenario_cli.h - the entry point of `hangar scenario`, which the CLI calls. */
#ifndef HG_SCENARIO_CLI_H
#define HG_SCENARIO_CLI_H

/* `hangar scenario [--timeout D] [--memory SIZE] [--repeat N] [-v|-q] SCRIPT.lua [ARGS]`;
 * argv[0] is the subcommand's name. Returns the process exit status: 0 when every test passed
 * and the plan matched, 1 when a test failed (or the run overran --timeout or reached
 * --memory), 2 when the script cannot be opened or the options are wrong, 255 after bail_out.
 * [main thread] */
int hg__cli_scenario(int argc, char **argv);

#endif
