/* ctl_graph.c - the graph in `hangar ctl status` and `top`: the host's `graph` reply (docs/
 * GRAPH.md) turned into a table of its links' fill levels and rates, and into rows for the
 * processors that `counters` does not list (frame and drop rates from two samples' deltas). */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

json_t *hg__ctl_graph_sample(hg__ctl_link *l, int *supported)
{
    json_t *r;
    FILE *sink;
    if (!*supported)
        return NULL;
    sink = fopen("/dev/null", "w");
    r = hg__ctl_request(l, "graph", sink ? sink : stderr);
    if (sink)
        fclose(sink);
    if (r != NULL && json_is_true(json_object_get(r, "ok")))
        return r;
    *supported = 0; /* not this host (no graph: ENOTSUP, or no such verb): not asked again */
    json_decref(r);
    return NULL;
}

/* The element of array a whose key k (and k2 when given) equal those of like, or NULL. */
static const json_t *find(const json_t *a, const json_t *like, const char *k, const char *k2)
{
    const json_t *x;
    size_t i;
    json_array_foreach(a, i, x) {
        if (json_equal(json_object_get(x, k), json_object_get(like, k)) &&
            (k2 == NULL || json_equal(json_object_get(x, k2), json_object_get(like, k2))))
            return x;
    }
    return NULL;
}

/* A processor of the graph reply as an instance object of `counters`: its own counters, its
 * frames in and out, engine, kind, state, error. New reference (NULL for NULL). */
static json_t *as_instance(const json_t *p)
{
    json_t *o;
    if (p == NULL)
        return NULL;
    o = json_is_object(json_object_get(p, "counters"))
            ? json_deep_copy(json_object_get(p, "counters")) : json_object();
    json_object_set(o, "engine", json_object_get(p, "engine"));
    json_object_set_new(o, "kind", json_string("processor"));
    json_object_set(o, "state", json_object_get(p, "state"));
    json_object_set(o, "error", json_object_get(p, "error") ? json_object_get(p, "error")
                                                            : json_null());
    json_object_set(o, "frames_in", json_object_get(p, "frames_in"));
    json_object_set(o, "frames_out", json_object_get(p, "frames_out"));
    return o;
}

/* (now - then) / dt of key k, or null without both or without time. */
static json_t *per_s(const json_t *now, const json_t *then, const char *k, double dt)
{
    const json_t *a = json_object_get(now, k), *b = json_object_get(then, k);
    double d;
    if (!json_is_integer(a) || !json_is_integer(b) || dt <= 0)
        return json_null();
    d = (double)(json_integer_value(a) - json_integer_value(b));
    return json_real(d > 0 ? d / dt : 0);
}

/* A link with its fill (queued / capacity) and its delivered and dropped frames per second. */
static json_t *link_view(const json_t *k, const json_t *before, double dt)
{
    json_t *o = json_deep_copy(k), *rates = json_object();
    double cap = json_number_value(json_object_get(k, "capacity"));
    if (cap > 0 && json_is_number(json_object_get(k, "queued")))
        json_object_set_new(o, "fill", json_real(json_number_value(json_object_get(k, "queued"))
                                                 / cap));
    json_object_set_new(rates, "delivered", per_s(k, before, "delivered", dt));
    json_object_set_new(rates, "dropped", per_s(k, before, "dropped", dt));
    json_object_set_new(o, "rates", rates);
    return o;
}

json_t *hg__ctl_graph_view(const json_t *prev, const json_t *cur, double dt, json_t *engines)
{
    const json_t *p, *k, *before_links = json_object_get(prev, "links");
    json_t *links = json_array();
    size_t i;
    if (cur == NULL) {
        json_decref(links);
        return NULL;
    }
    json_array_foreach(json_object_get(cur, "processors"), i, p) {
        json_t *now, *then;
        const char *name = json_string_value(json_object_get(p, "name"));
        if (find(engines, p, "name", NULL) != NULL)
            continue; /* `counters` has it already (hosts that list processors there) */
        now = as_instance(p);
        then = as_instance(find(json_object_get(prev, "processors"), p, "name", NULL));
        json_array_append_new(engines, hg__ctl_engine_view(name ? name : "?", now, then, dt));
        json_decref(now);
        json_decref(then);
    }
    json_array_foreach(json_object_get(cur, "links"), i, k)
        json_array_append_new(links, link_view(k, find(before_links, k, "from", "to"), dt));
    return links;
}

/* "FILL" of a link: "59% (76/128)", or "-" without the figures. */
static const char *fill_text(const json_t *k, char *buf, size_t cap)
{
    const json_t *fill = json_object_get(k, "fill");
    if (!json_is_number(fill))
        return "-";
    snprintf(buf, cap, "%.0f%% (%.0f/%.0f)", json_number_value(fill) * 100,
             json_number_value(json_object_get(k, "queued")),
             json_number_value(json_object_get(k, "capacity")));
    return buf;
}

static const char *rate_of(const json_t *k, const char *what, char *buf, size_t cap)
{
    const json_t *v = json_object_get(json_object_get(k, "rates"), what);
    return json_is_number(v) ? hg__fmt_rate(json_number_value(v), buf, cap) : "-";
}

void hg__ctl_show_links(const json_t *links, FILE *out, int width)
{
    static const char *const head[] = {"LINK", "POLICY", "FILL", "PEAK", "FRAMES/S", "DROPS/S",
                                       "DROPPED"};
    char name[160], fill[48], peak[24], fr[32], dr[32], dropped[32];
    const json_t *k;
    hg__table t;
    size_t i;
    if (json_array_size(links) == 0)
        return;
    hg__table_init(&t, 7);
    hg__table_row(&t, head);
    json_array_foreach(links, i, k) {
        const char *row[7];
        snprintf(name, sizeof name, "%s -> %s",
                 json_string_value(json_object_get(k, "from")) ?: "?",
                 json_string_value(json_object_get(k, "to")) ?: "?");
        hg__ctl_value_text("high_water", json_object_get(k, "high_water"), peak, sizeof peak);
        hg__ctl_value_text("dropped", json_object_get(k, "dropped"), dropped, sizeof dropped);
        row[0] = name;
        row[1] = json_string_value(json_object_get(k, "policy"));
        row[2] = fill_text(k, fill, sizeof fill);
        row[3] = peak;
        row[4] = rate_of(k, "delivered", fr, sizeof fr);
        row[5] = rate_of(k, "dropped", dr, sizeof dr);
        row[6] = dropped;
        hg__table_row(&t, row);
    }
    fputc('\n', out);
    hg__table_print(&t, out, width);
    hg__table_free(&t);
}
