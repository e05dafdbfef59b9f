/* metrics.c - the host's counters in the Prometheus text exposition format (0.0.4), for the
 * `metrics` verb and the HTTP endpoint: every instance's counters (SUM as hangar_KIND_NAME_total,
 * GAUGE as hangar_KIND_NAME), its histograms (_bucket, _sum, _count), its facts and state as
 * labels of hangar_instance_info, and the host's own (up, uptime, instances, failed). Series of
 * one name are grouped under one # HELP and # TYPE, families sorted by name. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "metrics.h"

enum { T_COUNTER, T_GAUGE, T_HISTOGRAM };
static const char *const type_names[] = {"counter", "gauge", "histogram"};

typedef struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

typedef struct family {
    char *name;
    int type;
    sbuf lines;
} family;

typedef struct collector {
    family *fam;
    uint32_t n, cap;
    uint32_t conflicts; /* samples left out: their name was taken by another type */
    uint32_t guess;     /* the family after the last one found: instances of one engine list
                         * their counters in the same order, so it is most often the next */
    int oom;
    const char *labels; /* the current instance's labels: instance_name="x",engine="y" */
    const char *kind;
} collector;

static void sb_vadd(sbuf *b, const char *fmt, va_list ap)
{
    va_list cp;
    int n;
    if (b->oom)
        return;
    va_copy(cp, ap);
    n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, cp);
    va_end(cp);
    if (n < 0) {
        b->oom = 1;
        return;
    }
    if (b->p == NULL || (size_t)n >= b->cap - b->len) {
        size_t nc = (b->cap + (size_t)n + 1) * 2;
        char *np = realloc(b->p, nc);
        if (np == NULL) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = nc;
        vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    }
    b->len += (size_t)n;
}

/* Appends n bytes of p (no formatting: the hot path of a scrape). */
static void sb_put(sbuf *b, const char *p, size_t n)
{
    if (b->oom)
        return;
    if (b->cap - b->len < n + 1) {
        size_t nc = (b->cap + n + 1) * 2;
        char *np = realloc(b->p, nc);
        if (np == NULL) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = nc;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_str(sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

static void sb_u64(sbuf *b, uint64_t v)
{
    char tmp[24], *p = tmp + sizeof tmp;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    sb_put(b, p, (size_t)(tmp + sizeof tmp - p));
}

/* NAME{LABELS} VALUE\n, the value an integer. */
static void sb_sample(sbuf *b, const char *name, const char *suffix, const char *labels,
                      uint64_t v)
{
    sb_str(b, name);
    sb_str(b, suffix);
    sb_put(b, "{", 1);
    sb_str(b, labels);
    sb_put(b, "} ", 2);
    sb_u64(b, v);
    sb_put(b, "\n", 1);
}

static void sb_add(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sb_vadd(b, fmt, ap);
    va_end(ap);
}

/* A label value with \, " and newline escaped, as the format asks. */
static void sb_label_value(sbuf *b, const char *s)
{
    sb_put(b, "\"", 1);
    for (; *s; s++) {
        if (*s == '\\' || *s == '"') {
            sb_put(b, "\\", 1);
            sb_put(b, s, 1);
        } else if (*s == '\n') {
            sb_put(b, "\\n", 2);
        } else {
            sb_put(b, s, 1);
        }
    }
    sb_put(b, "\"", 1);
}

/* The family called name of type, created when new; NULL when the name has another type (the
 * sample is counted as a conflict) or out of memory. */
static family *found(collector *c, uint32_t i, int type)
{
    c->guess = i + 1;
    if (c->fam[i].type == type)
        return &c->fam[i];
    c->conflicts++;
    return NULL;
}

static family *family_of(collector *c, const char *name, int type)
{
    if (c->guess < c->n && strcmp(c->fam[c->guess].name, name) == 0)
        return found(c, c->guess, type);
    for (uint32_t i = 0; i < c->n; i++)
        if (strcmp(c->fam[i].name, name) == 0)
            return found(c, i, type);
    c->guess = c->n + 1;
    if (c->n == c->cap) {
        uint32_t nc = c->cap ? c->cap * 2 : 32;
        family *p = realloc(c->fam, nc * sizeof *p);
        if (p == NULL) {
            c->oom = 1;
            return NULL;
        }
        c->fam = p;
        c->cap = nc;
    }
    memset(&c->fam[c->n], 0, sizeof c->fam[c->n]);
    c->fam[c->n].name = strdup(name);
    c->fam[c->n].type = type;
    if (c->fam[c->n].name == NULL) {
        c->oom = 1;
        return NULL;
    }
    return &c->fam[c->n++];
}

/* A time counter in ns, us or ms is exported in seconds (Prometheus' base unit; promtool flags
 * abbreviated units): the scale from the counter's unit, and the name's length without the
 * suffix. Returns 0 for any other name. */
static double time_scale(const char *name, size_t *stem)
{
    static const struct { const char *suffix; double scale; } units[] = {
        {"_ns", 1e-9}, {"_us", 1e-6}, {"_ms", 1e-3}};
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (n > 3 && strcmp(name + n - 3, units[i].suffix) == 0) {
            *stem = n - 3;
            return units[i].scale;
        }
    }
    return 0;
}

/* hangar_KIND_NAME, with _total for a counter unless the name ends with it already, and a time
 * unit suffix as _seconds (*scale set; 0 when the value goes as it is). */
static void metric_name(char *out, size_t cap, const char *kind, const char *name, int type,
                        double *scale)
{
    size_t n = strlen(name), stem = n;
    int has_total = n >= 6 && strcmp(name + n - 6, "_total") == 0;
    *scale = time_scale(name, &stem);
    snprintf(out, cap, "hangar_%s_%.*s%s%s", kind, (int)stem, name, *scale ? "_seconds" : "",
             type == T_COUNTER && !has_total ? "_total" : "");
}

static void add_counter(void *ud, const char *name, uint32_t type, uint64_t value)
{
    collector *c = ud;
    char full[160];
    int t = type == HG_COUNTER_GAUGE ? T_GAUGE : T_COUNTER;
    double scale;
    family *f;
    metric_name(full, sizeof full, c->kind, name, t, &scale);
    f = family_of(c, full, t);
    if (f != NULL && scale != 0)
        sb_add(&f->lines, "%s{%s} %.15g\n", full, c->labels, (double)value * scale);
    else if (f != NULL)
        sb_sample(&f->lines, full, "", c->labels, value);
}

static void add_hist(void *ud, const char *name, double scale, const hg_histogram *cell)
{
    collector *c = ud;
    char full[160];
    uint64_t cum = 0;
    family *f;
    snprintf(full, sizeof full, "hangar_%s_%s", c->kind, name);
    f = family_of(c, full, T_HISTOGRAM);
    if (f == NULL)
        return;
    for (uint32_t i = 0; i <= cell->n_bounds; i++) {
        cum += __atomic_load_n(&cell->counts[i], __ATOMIC_RELAXED);
        if (i < cell->n_bounds)
            sb_add(&f->lines, "%s_bucket{%s,le=\"%.15g\"} %llu\n", full, c->labels,
                   (double)cell->bounds[i] * scale, (unsigned long long)cum);
        else
            sb_add(&f->lines, "%s_bucket{%s,le=\"+Inf\"} %llu\n", full, c->labels,
                   (unsigned long long)cum);
    }
    sb_add(&f->lines, "%s_sum{%s} %.15g\n", full, c->labels,
           (double)__atomic_load_n(&cell->sum, __ATOMIC_RELAXED) * scale);
    sb_add(&f->lines, "%s_count{%s} %llu\n", full, c->labels, (unsigned long long)cum);
}

/* 1 when key may be a label name ([a-zA-Z_][a-zA-Z0-9_]*, not reserved by the format). */
static int label_name_ok(const char *key)
{
    if (!((*key >= 'a' && *key <= 'z') || *key == '_') || strncmp(key, "__", 2) == 0)
        return 0;
    return strcmp(key, "instance_name") != 0 && strcmp(key, "engine") != 0 &&
           strcmp(key, "kind") != 0 && strcmp(key, "state") != 0 && strcmp(key, "le") != 0;
}

/* hangar_instance_info{labels,kind,state,FACT="value"...} 1, from the `counters` object; and
 * the integers the kind's adapter adds there (a runtime mode's byte totals) as counters. */
static void add_info(collector *c, json_t *obj, const char *kind)
{
    family *f = family_of(c, "hangar_instance_info", T_GAUGE);
    const char *key;
    json_t *v;
    sbuf l = {0};
    sb_add(&l, "%s,kind=", c->labels);
    sb_label_value(&l, kind);
    sb_add(&l, ",state=");
    sb_label_value(&l, json_string_value(json_object_get(obj, "state")) ?: "unknown");
    json_object_foreach(obj, key, v) {
        if (json_is_string(v) && label_name_ok(key) && strcmp(key, "error") != 0) {
            sb_add(&l, ",%s=", key);
            sb_label_value(&l, json_string_value(v));
        }
    }
    if (f != NULL && !l.oom)
        sb_add(&f->lines, "hangar_instance_info{%s} 1\n", l.p);
    c->oom |= l.oom;
    free(l.p);
}

/* The adapter's extra integers (absent from the typed counters) as counters. */
static void add_shown(collector *c, hg__inst *in, json_t *obj)
{
    const char *key;
    json_t *v;
    uint64_t dummy;
    json_object_foreach(obj, key, v) {
        /* the host's own integers in that object: its times */
        int host_key = strcmp(key, "started_ns") == 0 || strcmp(key, "stopped_ns") == 0;
        if (json_is_integer(v) && !host_key && hg__inst_counter(in, key, &dummy) != 0)
            add_counter(c, key, HG_COUNTER_SUM, (uint64_t)json_integer_value(v));
    }
}

static void add_streams(collector *c, const char *name, const char *engine, json_t *streams);

static void add_entry(collector *c, hg__entry *e, json_t *obj)
{
    sbuf labels = {0};
    const char *kind = hg__kind_name(e->def->kind);
    sb_add(&labels, "instance_name=");
    sb_label_value(&labels, hg__inst_name(e->in));
    sb_add(&labels, ",engine=");
    sb_label_value(&labels, e->def->name);
    if (labels.oom) {
        c->oom = 1;
        free(labels.p);
        return;
    }
    c->labels = labels.p;
    c->kind = kind;
    hg__inst_counter_each(e->in, add_counter, c);
    hg__inst_hist_each(e->in, add_hist, c);
    if (e->ad != NULL && e->ad->show != NULL) /* only a kind that adds to `counters` */
        add_shown(c, e->in, obj);
    add_info(c, obj, kind);
    c->labels = NULL;
    free(labels.p);
    if (json_is_object(json_object_get(obj, "streams")))
        add_streams(c, hg__inst_name(e->in), e->def->name, json_object_get(obj, "streams"));
}

/* Sets c->labels to `instance_name="NAME",engine="ENGINE"` plus extra (may be NULL) and
 * returns the buffer to free, or NULL on OOM. */
static char *labels_of(collector *c, const char *name, const char *engine, const char *k,
                       const char *v)
{
    sbuf l = {0};
    sb_add(&l, "instance_name=");
    sb_label_value(&l, name);
    sb_add(&l, ",engine=");
    sb_label_value(&l, engine ? engine : "");
    if (k != NULL) {
        sb_add(&l, ",%s=", k);
        sb_label_value(&l, v);
    }
    if (l.oom) {
        c->oom = 1;
        free(l.p);
        return NULL;
    }
    c->labels = l.p;
    return l.p;
}

/* Each stream of a connector (`counters`' "streams" object) as hangar_stream_* series with a
 * `stream` label: integers as counters, healthy as a 0/1 gauge. */
static void add_streams(collector *c, const char *name, const char *engine, json_t *streams)
{
    const char *sname, *key;
    json_t *s, *v;
    json_object_foreach(streams, sname, s) {
        char *l = labels_of(c, name, engine, "stream", sname);
        if (l == NULL)
            return;
        c->kind = "stream";
        json_object_foreach(s, key, v) {
            if (json_is_boolean(v))
                add_counter(c, key, HG_COUNTER_GAUGE, json_is_true(v));
            else if (json_is_integer(v) && json_integer_value(v) >= 0)
                /* what is queued now goes up and down; the rest are running sums */
                add_counter(c, key, strlen(key) >= 6 && strcmp(key + strlen(key) - 6, "queued") == 0
                                        ? HG_COUNTER_GAUGE : HG_COUNTER_SUM,
                            (uint64_t)json_integer_value(v));
        }
        c->labels = NULL;
        free(l);
    }
}

/* The graph (the `graph` reply): each processor as an instance of kind processor (its integer
 * counters as counters), each link as hangar_link_* with from/to labels. */
static void add_graph(collector *c, json_t *graph)
{
    size_t i;
    json_t *p, *v;
    const char *key;
    json_array_foreach(json_object_get(graph, "processors"), i, p) {
        json_t *info = json_object();
        char *l = labels_of(c, json_string_value(json_object_get(p, "name")) ?: "?",
                            json_string_value(json_object_get(p, "engine")), NULL, NULL);
        if (l == NULL || info == NULL) {
            free(l);
            json_decref(info);
            return;
        }
        c->kind = "processor";
        add_counter(c, "frames_in", HG_COUNTER_SUM,
                    (uint64_t)json_integer_value(json_object_get(p, "frames_in")));
        add_counter(c, "frames_out", HG_COUNTER_SUM,
                    (uint64_t)json_integer_value(json_object_get(p, "frames_out")));
        json_object_foreach(json_object_get(p, "counters"), key, v)
            if (json_is_integer(v) && json_integer_value(v) >= 0)
                add_counter(c, key, HG_COUNTER_SUM, (uint64_t)json_integer_value(v));
        json_object_set(info, "state", json_object_get(p, "state"));
        json_object_set(info, "mode", json_object_get(p, "mode"));
        add_info(c, info, "processor");
        json_decref(info);
        c->labels = NULL;
        free(l);
    }
    json_array_foreach(json_object_get(graph, "links"), i, p) {
        sbuf l = {0};
        static const char *const sums[] = {"pushed", "delivered", "dropped"};
        sb_add(&l, "from=");
        sb_label_value(&l, json_string_value(json_object_get(p, "from")) ?: "");
        sb_add(&l, ",to=");
        sb_label_value(&l, json_string_value(json_object_get(p, "to")) ?: "");
        if (l.oom) {
            c->oom = 1;
            free(l.p);
            return;
        }
        c->labels = l.p;
        c->kind = "link";
        for (size_t k = 0; k < 3; k++)
            add_counter(c, sums[k], HG_COUNTER_SUM,
                        (uint64_t)json_integer_value(json_object_get(p, sums[k])));
        add_counter(c, "queued", HG_COUNTER_GAUGE,
                    (uint64_t)json_integer_value(json_object_get(p, "queued")));
        add_counter(c, "capacity", HG_COUNTER_GAUGE,
                    (uint64_t)json_integer_value(json_object_get(p, "capacity")));
        c->labels = NULL;
        free(l.p);
    }
}

static void add_host_value(collector *c, const char *name, int type, double v)
{
    family *f = family_of(c, name, type);
    if (f != NULL)
        sb_add(&f->lines, "%s %.15g\n", name, v);
}

static int cmp_family(const void *a, const void *b)
{
    return strcmp(((const family *)a)->name, ((const family *)b)->name);
}

static const char *help_of(const family *f)
{
    static const struct { const char *name, *help; } known[] = {
        {"hangar_up", "1 while the host answers"},
        {"hangar_uptime_seconds", "seconds since the host started"},
        {"hangar_instances", "engine instances of the host"},
        {"hangar_instances_failed", "instances in state failed"},
        {"hangar_connections_cut_total", "connections cut by a stop that overran its bound"},
        {"hangar_instance_info", "an instance: its engine, kind, state and facts"},
        {"hangar_metrics_conflicts", "samples left out: their name has another type"},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(known[i].name, f->name) == 0)
            return known[i].help;
    return f->type == T_COUNTER ? "an engine counter (a sum)"
           : f->type == T_GAUGE ? "an engine gauge"
                                : "an engine histogram";
}

static char *render(collector *c)
{
    sbuf out = {0};
    qsort(c->fam, c->n, sizeof *c->fam, cmp_family);
    for (uint32_t i = 0; i < c->n; i++) {
        family *f = &c->fam[i];
        sb_add(&out, "# HELP %s %s\n# TYPE %s %s\n%s", f->name, help_of(f), f->name,
               type_names[f->type], f->lines.p ? f->lines.p : "");
        c->oom |= f->lines.oom;
    }
    if (out.oom || c->oom) {
        free(out.p);
        return NULL;
    }
    return out.p;
}

char *hg__metrics_text(const hg__metrics_src *src)
{
    collector c = {0};
    char *text;
    for (uint32_t i = 0; i < src->n; i++)
        add_entry(&c, src->entries[i], src->objs[i]);
    if (src->graph != NULL)
        add_graph(&c, src->graph);
    add_host_value(&c, "hangar_up", T_GAUGE, 1);
    add_host_value(&c, "hangar_uptime_seconds", T_GAUGE, (double)src->uptime_ns / 1e9);
    add_host_value(&c, "hangar_instances", T_GAUGE, src->instances);
    add_host_value(&c, "hangar_instances_failed", T_GAUGE, src->failed);
    add_host_value(&c, "hangar_connections_cut_total", T_COUNTER, src->cut);
    add_host_value(&c, "hangar_metrics_conflicts", T_GAUGE, c.conflicts);
    text = render(&c);
    for (uint32_t i = 0; i < c.n; i++) {
        free(c.fam[i].name);
        free(c.fam[i].lines.p);
    }
    free(c.fam);
    return text;
}
