/* check.c - `hangar check CONFIG`: load the configuration and the plugins it names and
 * create every instance (engines validate their keys) without starting anything. Also the
 * option parsing that run and check share. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hangar/plugin.h>

#include "cli.h"
#include "cli_common.h"
#include "crash.h"
#include "host_api.h"
#include "log.h"
#include "metrics.h"

static int takes_value(const char *a, const char *name, int *i, int argc, char **argv,
                       const char **val)
{
    size_t n = strlen(name);
    if (strncmp(a, name, n) == 0 && a[n] == '=') {
        *val = a + n + 1;
        return 1;
    }
    if (strcmp(a, name) == 0) {
        if (*i + 1 >= argc) {
            *val = NULL;
            return 1;
        }
        *val = argv[++*i];
        return 1;
    }
    return 0;
}

static int allowed(const char *a, const char *const *allow)
{
    for (; allow && *allow; allow++)
        if (strcmp(a, *allow) == 0)
            return 1;
    return 0;
}

static const char run_usage[] =
    "usage: hangar run [CONFIG] [--set PATH=VALUE]... [--path DIR]... [--until-done] [--json]\n"
    "                  [-i]\n"
    "  runs a host (with no CONFIG, a built-in demo) until SIGINT, SIGTERM or SIGHUP (a\n"
    "  graceful shutdown within control.shutdown_timeout; a second one kills), SIGQUIT (kills\n"
    "  at once, exit 1) or a `shutdown` command; SIGUSR1 reopens log.file, SIGUSR2 is logged\n"
    "  and ignored.\n"
    "  --until-done  also end when no client pipeline (tcp-gen) runs any more\n"
    "  --json        print each pipeline's summary as one JSON object per line\n"
    "  -i, --interactive  a command prompt on the terminal (the commands of hangar ctl, with\n"
    "                history and Tab completion); quit, shutdown or Ctrl-D stops the host\n"
    "  --set PATH=VALUE  override one config value; --path DIR  search DIR for plugins first\n";

static const char check_usage[] =
    "usage: hangar check CONFIG [--set PATH=VALUE]... [--path DIR]...\n"
    "  validates a configuration and the plugins it names; starts nothing. Exit 0, or 2 with\n"
    "  every error as FILE:LINE:COL: message on stderr.\n";

/* --help of run and check: their usage on stdout. */
static void print_usage(const char *cmd)
{
    fputs(strcmp(cmd, "run") == 0 ? run_usage : check_usage, stdout);
}

int hg__cli_parse(const char *cmd, int argc, char **argv, const char *const *allow,
                  hg__cli_opts *o)
{
    uint32_t level = hg__log_default_level();
    memset(o, 0, sizeof *o);
    o->sets = calloc((size_t)argc + 1, sizeof *o->sets);
    o->paths = calloc((size_t)argc + 1, sizeof *o->paths);
    if (o->sets == NULL || o->paths == NULL)
        return HG_EXIT_RUNTIME;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = NULL;
        if (takes_value(a, "--set", &i, argc, argv, &val)) {
            if (val == NULL || strchr(val, '=') == NULL) {
                fprintf(stderr, "hangar %s: --set needs PATH=VALUE\n", cmd);
                return HG_EXIT_USAGE;
            }
            o->sets[o->n_sets++] = val;
        } else if (takes_value(a, "--path", &i, argc, argv, &val)) {
            if (val == NULL) {
                fprintf(stderr, "hangar %s: --path needs a directory\n", cmd);
                return HG_EXIT_USAGE;
            }
            o->paths[o->n_paths++] = (char *)val;
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            level = level < HG_LOG_TRACE ? level + 1 : level;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            level = HG_LOG_ERROR;
        } else if (strcmp(a, "--until-done") == 0 && allowed(a, allow)) {
            o->until_done = 1;
        } else if (strcmp(a, "--json") == 0 && allowed(a, allow)) {
            o->json = 1;
        } else if ((strcmp(a, "-i") == 0 || strcmp(a, "--interactive") == 0) &&
                   allowed("-i", allow)) {
            o->interactive = 1;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            print_usage(cmd);
            o->help = 1;
            return 0;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "hangar %s: unknown option '%s' (see hangar --help)\n", cmd, a);
            return HG_EXIT_USAGE;
        } else if (o->config == NULL) {
            o->config = a;
        } else {
            fprintf(stderr, "hangar %s: one configuration file only ('%s' and '%s')\n", cmd,
                    o->config, a);
            return HG_EXIT_USAGE;
        }
    }
    hg__log_set_default(level);
    return 0;
}

void hg__cli_opts_free(hg__cli_opts *o)
{
    free(o->sets);
    free(o->paths);
    memset(o, 0, sizeof *o);
}

/* control.metrics names a port that something listens on already: `run` would fail to start,
 * so check says so now, at the key (a trial bind, closed at once). Returns 1 when it did. */
static int metrics_port_taken(const hg__config *cfg)
{
    char err[512];
    const hg__node *v = cfg->metrics_node;
    if (cfg->metrics_addr == NULL || hg__metrics_addr_probe(cfg->metrics_addr, err, sizeof err) == 0)
        return 0;
    fprintf(stderr, "%s:%u:%u: control: %s\n", cfg->file, v ? v->line : 0, v ? v->col : 0, err);
    return 1;
}

int hg__cli_check(int argc, char **argv)
{
    hg__cli_opts o;
    hg__host_opts ho;
    hg__diag d;
    hg__host *h = NULL;
    int rc = hg__cli_parse("check", argc, argv, NULL, &o);

    if (rc != 0 || o.help)
        goto out;
    if (o.config == NULL) {
        fprintf(stderr, "usage: hangar check CONFIG [--set PATH=VALUE]... [--path DIR]...\n");
        rc = HG_EXIT_USAGE;
        goto out;
    }
    memset(&ho, 0, sizeof ho);
    ho.src.path = o.config;
    ho.src.sets = o.sets;
    ho.src.n_sets = o.n_sets;
    ho.src.limits = (hg__cfg_limits)HG__CFG_LIMITS_DEFAULT;
    ho.extra_plugin_path = o.paths;
    ho.log_to_stderr = 1;
    hg__diag_init(&d);
    hg__crash_install(); /* engines' create runs here: a crash in it is named */
    if (hg__host_create(&ho, &d, &h) != 0) {
        hg__diag_print(&d, stderr);
        rc = HG_EXIT_USAGE;
    } else if (metrics_port_taken(hg__host_config(h))) {
        hg__host_destroy(h);
        rc = HG_EXIT_USAGE;
    } else {
        const hg__config *cfg = hg__host_config(h);
        printf("%s: ok (%u instance%s%s)\n", o.config, cfg->n_instances,
               cfg->n_instances == 1 ? "" : "s",
               cfg->n_instances == 0 ? ": `hangar run` would have nothing to run" : "");
        hg__host_destroy(h);
        rc = HG_EXIT_OK;
    }
    hg__diag_free(&d);
out:
    hg__cli_opts_free(&o);
    return rc;
}
