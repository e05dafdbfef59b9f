/* graph_summary.c - the graph's part of `hangar run`'s closing report: each processor's
 * counters (frames, bytes, gaps, filtered, ...) and whether every frame is accounted for. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config.h"
#include "graph_summary.h"

static int has_processors(hg__host *h)
{
    const hg__config *cfg = hg__host_config(h);
    for (uint32_t i = 0; i < cfg->n_instances; i++)
        if (cfg->instances[i].section == HG__SEC_PROCESSOR)
            return 1;
    return 0;
}

static long long jint(json_t *o, const char *key)
{
    return (long long)json_integer_value(json_object_get(o, key));
}

static void print_processor(json_t *p)
{
    json_t *c = json_object_get(p, "counters"), *v;
    const char *k;
    printf("  %-12s %-11s %-8s", json_string_value(json_object_get(p, "name")),
           json_string_value(json_object_get(p, "engine")),
           json_string_value(json_object_get(p, "state")));
    json_object_foreach(c, k, v)
        printf(" %s %lld", k, (long long)json_integer_value(v));
    if (json_is_string(json_object_get(p, "error")) &&
        json_string_length(json_object_get(p, "error")) > 0)
        printf(" (%s)", json_string_value(json_object_get(p, "error")));
    putchar('\n');
}

char *hg__cli_graph_snapshot(hg__host *h)
{
    char *reply = NULL;
    if (!has_processors(h) || hg__host_command(h, "graph", &reply) != 0) {
        free(reply);
        return NULL;
    }
    return reply;
}

void hg__cli_print_graph(hg__host *h, const char *snapshot, int as_json)
{
    json_t *j, *procs, *acc;
    size_t i;
    (void)h;
    if (snapshot == NULL)
        return;
    j = json_loads(snapshot, 0, NULL);
    procs = json_object_get(j, "processors");
    acc = json_object_get(j, "accounted");
    if (json_is_array(procs) && json_is_object(acc)) {
        if (as_json) {
            json_t *s = json_pack("{sO sO}", "processors", procs, "accounted", acc);
            char *t = json_dumps(s, JSON_COMPACT | JSON_SORT_KEYS);
            printf("{\"name\":\"graph\",\"summary\":%s}\n", t ? t : "null");
            free(t);
            json_decref(s);
        } else {
            printf("== graph\n");
            for (i = 0; i < json_array_size(procs); i++)
                print_processor(json_array_get(procs, i));
            printf("  accounted    %lld pushed = %lld delivered + %lld dropped + %lld queued\n",
                   jint(acc, "pushed"), jint(acc, "delivered"), jint(acc, "dropped"),
                   jint(acc, "queued"));
        }
    }
    json_decref(j);
    fflush(stdout);
}
