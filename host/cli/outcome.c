/* outcome.c - how `hangar run` decides whether a run passed: an engine that judges its own
 * run (tcp-gen) publishes the facts `outcome` (running, passed, failed) and `outcome_reason`;
 * the command line only reads them, whatever the engine. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "outcome.h"

/* 1 when the pipeline's outcome is "failed" (its reason printed), else 0. */
static int failed_one(hg__host *h, const char *name)
{
    char text[160], *reply = NULL;
    json_t *j, *in;
    const char *outcome, *why;
    int failed = 0;
    snprintf(text, sizeof text, "counters %s", name);
    if (hg__host_command(h, text, &reply) != 0)
        return 0;
    j = json_loads(reply, 0, NULL);
    in = json_object_get(json_object_get(j, "counters"), name);
    outcome = json_string_value(json_object_get(in, "outcome"));
    if (outcome != NULL && strcmp(outcome, "failed") == 0) {
        why = json_string_value(json_object_get(in, "outcome_reason"));
        fprintf(stderr, "hangar: %s failed: %s\n", name, why && *why ? why : "(no reason given)");
        failed = 1;
    }
    json_decref(j);
    free(reply);
    return failed;
}

uint32_t hg__cli_failed_outcomes(hg__host *h)
{
    const hg__config *cfg = hg__host_config_now(h); /* after reloads: what ran last */
    uint32_t n = 0;
    for (uint32_t i = 0; i < cfg->n_instances; i++)
        if (cfg->instances[i].section == HG__SEC_PIPELINE)
            n += (uint32_t)failed_one(h, cfg->instances[i].name);
    return n;
}
