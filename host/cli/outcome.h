/* outcome.h - how `hangar run` decides whether a run passed from what its engines say. */
#ifndef HG_CLI_OUTCOME_H
#define HG_CLI_OUTCOME_H

#include "host_api.h"

/* Reads the fact `outcome` of every pipeline (`counters NAME`); for each that says "failed",
 * prints "hangar: NAME failed: <outcome_reason>" on stderr. Engines that publish no outcome
 * (servers) and runs still "running" count as passed.
 * Returns: the number of pipelines whose run failed. [any-thread but the hub's] */
uint32_t hg__cli_failed_outcomes(hg__host *h);

#endif
