/* plugins.c - `hangar plugins [--path DIR]... [--json] [CONFIG]`: probes every candidate on
 * the search path (in a child process) and lists each plugin with its engines, and each refused
 * file with the reason. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "cli_common.h"
#include "config.h"
#include "entry.h"
#include "loader.h"

static const char usage_text[] =
    "usage: hangar plugins [--path DIR]... [--json] [CONFIG]\n"
    "  lists the plugins found on the search path: --path entries, then CONFIG's plugin_path,\n"
    "  then $HANGAR_PLUGIN_PATH, then the installed plugin directory. Refused files are listed\n"
    "  with the reason (on stderr, or in \"refused\" with --json). Engines of a kind this\n"
    "  host does not run yet (connectors, processors) are marked (\"runs\": false).\n";

/* The kinds this host runs: those with an adapter (engine/adapter.c), the same table that
 * refuses the others at create. */
static int host_runs(uint32_t kind)
{
    /* processors run in the host's graph (host/graph), not through an entry adapter */
    return hg__adapter_for(kind) != NULL || kind == HG_KIND_PROCESSOR;
}

static const uint32_t all_kinds[] = {HG_KIND_RUNTIME_MODE, HG_KIND_PIPELINE, HG_KIND_CONNECTOR,
                                     HG_KIND_PROCESSOR};

static void print_text(const hg__probe_set *set)
{
    uint32_t listed = 0;

    for (uint32_t i = 0; i < set->n; i++) {
        const hg__probe *p = &set->items[i];
        if (p->status != 0)
            continue;
        if (listed++)
            printf("\n");
        printf("%s %s (ABI %u.%u) %s\n", p->id, p->version, p->abi_major, p->abi_minor, p->path);
        if (p->summary)
            printf("  %s\n", p->summary);
        for (uint32_t k = 0; k < p->n_engines; k++) {
            const hg__engine_info *e = &p->engines[k];
            printf("  %-12s %-20s %s%s\n", hg__kind_name(e->kind), e->name,
                   e->summary ? e->summary : "",
                   host_runs(e->kind) ? "" : " (this host does not run it yet)");
        }
    }
    if (listed == 0)
        printf("no plugins found\n");
    for (int runs = 1; runs >= 0; runs--) {
        const char *sep = runs ? "\nthis host runs: " : "; not yet: ";
        for (size_t k = 0; k < sizeof all_kinds / sizeof all_kinds[0]; k++) {
            if (host_runs(all_kinds[k]) == runs) {
                printf("%s%s", sep, hg__kind_name(all_kinds[k]));
                sep = ", ";
            }
        }
    }
    printf("\n");
    fflush(stdout);
    for (uint32_t i = 0; i < set->n; i++)
        if (set->items[i].status != 0)
            fprintf(stderr, "refused: %s\n", set->items[i].error);
}

static json_t *plugin_json(const hg__probe *p)
{
    json_t *engines = json_array();
    json_t *o;

    for (uint32_t k = 0; engines && k < p->n_engines; k++) {
        const hg__engine_info *e = &p->engines[k];
        json_array_append_new(engines, json_pack("{s:s, s:s, s:s?, s:b}", "kind",
                                                 hg__kind_name(e->kind), "name", e->name,
                                                 "summary", e->summary, "runs",
                                                 host_runs(e->kind)));
    }
    o = json_pack("{s:s, s:s, s:s?, s:s, s:i, s:i, s:o}", "id", p->id, "version", p->version,
                  "summary", p->summary, "path", p->path, "abi_major", (json_int_t)p->abi_major,
                  "abi_minor", (json_int_t)p->abi_minor, "engines", engines);
    return o;
}

static int print_json(const hg__probe_set *set, char *const *search_path)
{
    json_t *root = json_pack("{s:[], s:[], s:[], s:[], s:[]}", "search_path", "plugins",
                             "refused", "runs", "not_yet");
    json_t *sp = json_object_get(root, "search_path");
    json_t *plugins = json_object_get(root, "plugins");
    json_t *refused = json_object_get(root, "refused");
    int rc;

    if (!root)
        return HG_ENOMEM;
    for (char *const *e = search_path; *e; e++)
        json_array_append_new(sp, json_string(*e));
    for (size_t k = 0; k < sizeof all_kinds / sizeof all_kinds[0]; k++)
        json_array_append_new(json_object_get(root, host_runs(all_kinds[k]) ? "runs" : "not_yet"),
                              json_string(hg__kind_name(all_kinds[k])));
    for (uint32_t i = 0; i < set->n; i++) {
        const hg__probe *p = &set->items[i];
        if (p->status == 0)
            json_array_append_new(plugins, plugin_json(p));
        else
            json_array_append_new(refused, json_pack("{s:s, s:s, s:s}", "path", p->path,
                                                     "status", hg_err_name(p->status), "error",
                                                     p->error ? p->error : p->path));
    }
    rc = json_dumpf(root, stdout, JSON_INDENT(2)) == 0 ? 0 : HG_EIO;
    printf("\n");
    json_decref(root);
    return rc;
}

/* The config's plugin_path, already resolved against the config's directory. */
static int load_config(const hg__cli_opts *o, hg__config **cfg)
{
    hg__config_src src;
    hg__diag d;
    int rc;

    memset(&src, 0, sizeof src);
    src.path = o->config;
    src.sets = o->sets;
    src.n_sets = o->n_sets;
    src.limits = (hg__cfg_limits)HG__CFG_LIMITS_DEFAULT;
    hg__diag_init(&d);
    rc = hg__config_load(&src, cfg, &d);
    if (rc != 0)
        hg__diag_print(&d, stderr);
    hg__diag_free(&d);
    return rc;
}

static int wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    return 0;
}

int hg__cli_plugins(int argc, char **argv)
{
    static const char *const allow[] = {"--json", NULL};
    hg__probe_set set = {0};
    hg__config *cfg = NULL;
    char **search_path = NULL;
    hg__cli_opts o;
    int rc;

    if (wants_help(argc, argv)) {
        fputs(usage_text, stdout);
        return HG_EXIT_OK;
    }
    rc = hg__cli_parse("plugins", argc, argv, allow, &o);
    if (rc != 0)
        goto out;
    if (o.config && load_config(&o, &cfg) != 0) {
        rc = HG_EXIT_USAGE;
        goto out;
    }
    rc = hg__plugin_search_path((const char *const *)o.paths, o.n_paths,
                                cfg ? (const char *const *)cfg->plugin_path : NULL,
                                cfg ? cfg->n_plugin_path : 0, &search_path);
    if (rc == 0)
        rc = hg__probe_path(search_path, &set);
    if (rc != 0) {
        fprintf(stderr, "hangar plugins: %s\n", hg_strerror(rc));
        rc = HG_EXIT_RUNTIME;
        goto out;
    }
    if (o.json)
        rc = print_json(&set, search_path) == 0 ? HG_EXIT_OK : HG_EXIT_RUNTIME;
    else
        print_text(&set);
out:
    hg__probe_set_free(&set);
    hg__strv_free(search_path);
    hg__config_free(cfg);
    hg__cli_opts_free(&o);
    return rc;
}
