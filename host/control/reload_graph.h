/* reload_graph.h - the graph section of a reload as one graph commit (reload_graph.c). */
#ifndef HG_RELOAD_GRAPH_H
#define HG_RELOAD_GRAPH_H

#include <jansson.h>

#include "config.h"
#include "diag.h"

typedef struct hg__host hg__host;

/* The commit that turns the running graph section into nc's: processors removed or changed are
 * removed, new or changed ones added, links that differ unlinked and linked (those of a replaced
 * processor end with it and are linked again). Checked against the live graph; errors (a change
 * of graph.pool, a bad processor or link) into d. *out: the change (free it with
 * hg__reload_graph_free; it borrows nc's nodes), or NULL when the sections are equal. Returns 0,
 * HG_ECONFIG, HG_ENOMEM. [control-thread] */
int hg__reload_graph_plan(hg__host *h, const hg__config *nc, hg__node **out, hg__diag *d);
/* Applies change (may be NULL: nothing to do) as one commit; its reply's fields go into what.
 * Returns 0, or the commit's code with its errors in d (nothing of the graph changed). */
int hg__reload_graph_commit(hg__host *h, const hg__node *change, json_t *what, hg__diag *d);
void hg__reload_graph_free(hg__node *change);

#endif
