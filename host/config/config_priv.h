/* config_priv.h - the inside of the config checker, shared by config.c (load, top-level sections),
 * config_graph.c (pipelines, connectors and their streams, the graph) and config_set.c (--set). */
#ifndef HG_CONFIG_PRIV_H
#define HG_CONFIG_PRIV_H

#include <stdint.h>

#include "cfgtree.h"
#include "cfgview.h"
#include "config.h"
#include "diag.h"

/* One check of a config: where the results go and what was seen so far. */
typedef struct hg__checker {
    hg__config *cfg;
    hg__diag *d;
    const hg__node **name_nodes; /* every instance name seen, for uniqueness */
    uint32_t n_names;
    int oom;
} hg__checker;

/* strdup that marks the checker out of memory on failure. Returns the copy or NULL. */
char *hg__config_xstrdup(hg__checker *c, const char *s);

/* Reads a string from a fixed set; a wrong one is reported with a did-you-mean. Returns the
 * index or -1 (absent or wrong; wrong ones are reported). */
int hg__config_get_choice(hg__cfgctx *ctx, const hg__node *map, const char *key,
                          const char *const *set, uint32_t n, const char *what);

/* An integer in [lo, hi]; keeps *out (the default) when absent or wrong. */
void hg__config_get_int_range(hg__cfgctx *ctx, const hg__node *map, const char *key, int64_t lo,
                              int64_t hi, uint32_t *out);

/* A section that must be a list of maps: reports a wrong type; returns the list or NULL. */
const hg__node *hg__config_get_list(hg__cfgctx *ctx, const hg__node *map, const char *key);

/* A section that must be a map; NULL when absent or wrong (reported). */
const hg__node *hg__config_get_map(hg__cfgctx *ctx, const hg__node *map, const char *key);

/* The instance sections (config_graph.c): each item is checked and added to c->cfg. `list` may
 * be NULL (the section is absent). */
void hg__config_check_pipelines(hg__checker *c, const hg__node *list);
void hg__config_check_connectors(hg__checker *c, const hg__node *list);

/* `graph:` (config_graph.c): its processors, then its links, resolved against the instances
 * and streams checked before. */
void hg__config_check_graph(hg__checker *c, const hg__node *root);

/* Across the instances checked (config_ports.c): two `listen:` keys with the same fixed port
 * on overlapping addresses, which `run` would refuse (EADDRINUSE), reported at the later one. */
void hg__config_check_ports(hg__checker *c);

/* A path of the config resolved against its directory (malloc'd; NULL and c->oom on OOM). */
char *hg__config_resolve_path(hg__checker *c, const char *p);

/* config_ops.c: log.engines, log.format, log.file (from check_log) and control.metrics (from
 * check_control), into c->cfg; hg__config_ops_free frees what they set. */
void hg__config_check_log_ops(hg__checker *c, hg__cfgctx *ctx, const hg__node *log);
void hg__config_check_metrics(hg__checker *c, hg__cfgctx *ctx, const hg__node *ctl);
void hg__config_ops_free(hg__config *cfg);

/* One `--set PATH=VALUE` (config_set.c): the value is read as YAML and grafted into cfg->doc.
 * Returns 0, HG_ECONFIG (reported as "--set PATH: ...") or HG_ENOMEM. */
int hg__config_apply_set(hg__config *cfg, const char *spec, const hg__cfg_limits *lim,
                         hg__diag *d);

#endif
