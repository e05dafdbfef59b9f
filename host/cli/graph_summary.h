/* graph_summary.h - what `hangar run` prints about the configuration's graph when it ends. */
#ifndef HG_GRAPH_SUMMARY_H
#define HG_GRAPH_SUMMARY_H

#include "host_api.h"

/* The `graph` reply now (malloc'd JSON text), or NULL when the configuration has no processors
 * or the host did not answer: taken before the shutdown, which ends the processors and drops
 * them from the list. [any-thread but the hub's] */
char *hg__cli_graph_snapshot(hg__host *h);

/* Prints "== graph", one line per processor of snapshot (name, engine, state, its counters) and
 * the accounting of the same moment; with as_json one JSON line
 * {"name":"graph","summary":{"processors":[...],"accounted":{...}}}. Prints nothing for a NULL
 * snapshot. [any-thread] */
void hg__cli_print_graph(hg__host *h, const char *snapshot, int as_json);

#endif
