/* order.h - the order in which a host starts and stops its engines, computed from the wiring of
 * the configuration: an engine that names another (a generator's `connect: echo`, a proxy's
 * `upstream: echo`) depends on it, and so does the producer end of a graph link on its consumer.
 * A reference is a value that is exactly the name of a pipeline that listens (has `listen:`).
 * Dependencies start first and stop last; within that, engines that originate traffic (clients,
 * sources) start after and stop before the ones that serve it. */
#ifndef HG_ORDER_H
#define HG_ORDER_H

#include <stdint.h>

#include "config.h"
#include "diag.h"
#include "entry.h"
#include "registry.h"

/* Sets e->level of every entry of reg from the wiring: the references in each entry's config
 * (a scalar naming another entry) and the graph links (n_links of them): 0 for an engine that
 * depends on no other, else one more than the highest level of those it depends on. A cycle of
 * references between pipelines (connections would go round for ever) is an error in d, at the
 * reference that closes it; a cycle of graph links does not order anything (the graph checks
 * its own cycles) and is broken at the link met last. d may be NULL. Returns 0, HG_ECONFIG or
 * HG_ENOMEM. */
int hg__order_compute(const hg__engines *reg, const hg__link_cfg *links, uint32_t n_links,
                      hg__diag *d);
/* Sorts v (n entries) into start order: servers before originators, then by level, then in file
 * order. The stop order is its reverse. */
void hg__order_sort(hg__entry **v, uint32_t n);
/* 1 when a and b are stopped together (the same group of the stop order). */
int hg__order_same_group(const hg__entry *a, const hg__entry *b);

#endif
