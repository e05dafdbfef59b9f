/* cli.h - the subcommands of the hangar executable. Each takes the arguments from the subcommand
 * on: argv[0] is the subcommand's own name ("plugins"). Returns the process exit status:
 * 0 ok, 1 runtime failure, 2 usage or configuration error. */
#ifndef HG_CLI_H
#define HG_CLI_H

int hg__cli_run(int argc, char **argv);
int hg__cli_check(int argc, char **argv);
int hg__cli_plugins(int argc, char **argv);
int hg__cli_ctl(int argc, char **argv);

#endif
