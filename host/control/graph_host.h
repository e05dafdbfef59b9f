/* graph_host.h - the host's side of the graph runtime (host/graph): its creation from the config
 * (graph.pool, the graph section checked), the start commit, the shutdown drain and the verbs. */
#ifndef HG_GRAPH_HOST_H
#define HG_GRAPH_HOST_H

#include <jansson.h>

#include "diag.h"
#include "graph.h"

typedef struct hg__host hg__host;

/* Creates h->graph (pool from graph.pool) and checks the config's graph section: errors into d
 * with their positions. Returns 0, HG_ECONFIG, HG_ENOMEM. [creating thread] */
int hg__host_graph_create(hg__host *h, hg__diag *d);
/* Commits the config's graph section (processors created on their threads, wired, running).
 * Returns 0 or the commit's error (logged). [control-thread] */
int hg__host_graph_start(hg__host *h);
/* Drains the graph (sources first, links into their consumers, within shutdown_timeout; at once
 * when immediate). Returns processors cut at the deadline. [control-thread] */
uint32_t hg__host_graph_shutdown(hg__host *h, int immediate);
void hg__host_graph_destroy(hg__host *h);
/* The graph's processors: how many, and how many of them failed. [any-thread] */
void hg__host_graph_counts(hg__host *h, uint32_t *processors, uint32_t *failed);

/* Verbs; each returns a JSON reply (new reference). `graph` reads (any thread); the others
 * change the graph ([control-thread]). */
json_t *hg__cmd_graph(hg__host *h, const char *arg);
json_t *hg__cmd_commit(hg__host *h, const char *arg);
json_t *hg__cmd_add(hg__host *h, const char *arg);
json_t *hg__cmd_remove(hg__host *h, const char *arg);
json_t *hg__cmd_link(hg__host *h, const char *arg);
json_t *hg__cmd_unlink(hg__host *h, const char *arg);
json_t *hg__cmd_step(hg__host *h, const char *arg);
/* pause (1) / resume (0) of a processor; *handled 0 when NAME is not one (NULL returned). */
json_t *hg__cmd_proc_pause(hg__host *h, const char *arg, int pause, int *handled);

#endif
