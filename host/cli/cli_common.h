/* cli_common.h - what the subcommands share: option parsing helpers and exit codes. */
#ifndef HG_CLI_COMMON_H
#define HG_CLI_COMMON_H

#include <stdint.h>

enum { HG_EXIT_OK = 0, HG_EXIT_RUNTIME = 1, HG_EXIT_USAGE = 2 };

/* Options common to run and check: CONFIG, --set PATH=VALUE (repeatable), --path DIR
 * (repeatable), -v/-q. Unknown options are a usage error. */
typedef struct hg__cli_opts {
    const char *config;
    const char **sets;
    uint32_t n_sets;
    char **paths;        /* NULL-terminated */
    uint32_t n_paths;
    int until_done;      /* run */
    int json;            /* run: summaries as JSON */
    int interactive;     /* run -i: a command prompt on the terminal (prompt.h) */
    int help;            /* --help/-h was given: the usage is printed, nothing else to do */
} hg__cli_opts;

/* Parses argv (after the subcommand). `allow` lists the extra flags accepted ("--until-done",
 * "--json"). --help or -h prints the subcommand's usage on stdout and sets o->help. Returns 0,
 * or HG_EXIT_USAGE after printing the problem. */
int hg__cli_parse(const char *cmd, int argc, char **argv, const char *const *allow,
                  hg__cli_opts *o);
void hg__cli_opts_free(hg__cli_opts *o);

#endif
