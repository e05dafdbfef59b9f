/* ctl_table.c - how `hangar ctl` and the prompt print replies for people: sizes, rates and
 * durations in human units, aligned tables, and renderers for counters, records, perf and any
 * other reply. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

static const char *const bin_units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
static const char *const bit_units[] = {"bit/s", "kbit/s", "Mbit/s", "Gbit/s", "Tbit/s"};
static const char *const rate_units[] = {"/s", "k/s", "M/s", "G/s"};

/* v in the unit that keeps it under step: one decimal below 100, none above ("12.4 MiB",
 * "512 B"). */
static char *scaled(double v, double step, const char *const *units, size_t n, char *buf,
                    size_t cap)
{
    size_t u = 0;
    if (v < 0)
        v = 0;
    while (v >= step && u + 1 < n) {
        v /= step;
        u++;
    }
    if (u == 0 || v >= 99.95)
        snprintf(buf, cap, "%.0f %s", v, units[u]);
    else
        snprintf(buf, cap, "%.1f %s", v, units[u]);
    return buf;
}

char *hg__fmt_size(double bytes, char *buf, size_t cap)
{
    return scaled(bytes, 1024, bin_units, sizeof bin_units / sizeof *bin_units, buf, cap);
}

char *hg__fmt_bitrate(double bytes_per_s, char *buf, size_t cap)
{
    return scaled(bytes_per_s * 8, 1000, bit_units, sizeof bit_units / sizeof *bit_units, buf,
                  cap);
}

char *hg__fmt_rate(double per_s, char *buf, size_t cap)
{
    scaled(per_s, 1000, rate_units, sizeof rate_units / sizeof *rate_units, buf, cap);
    /* "12 /s" reads badly: the unit of a plain count hugs it */
    if (per_s < 1000) {
        char *sp = strchr(buf, ' ');
        if (sp)
            memmove(sp, sp + 1, strlen(sp));
    }
    return buf;
}

char *hg__fmt_duration(double ns, char *buf, size_t cap)
{
    double s = ns / 1e9;
    if (ns < 0)
        ns = s = 0;
    if (ns < 1e3)
        snprintf(buf, cap, "%.0f ns", ns);
    else if (ns < 1e6)
        snprintf(buf, cap, ns < 99.95e3 ? "%.1f \u00b5s" : "%.0f \u00b5s", ns / 1e3);
    else if (ns < 1e9)
        snprintf(buf, cap, ns < 99.95e6 ? "%.1f ms" : "%.0f ms", ns / 1e6);
    else if (s < 60)
        snprintf(buf, cap, "%.1f s", s);
    else if (s < 3600)
        snprintf(buf, cap, "%dm%02ds", (int)(s / 60), (int)s % 60);
    else if (s < 86400)
        snprintf(buf, cap, "%dh%02dm", (int)(s / 3600), (int)(s / 60) % 60);
    else
        snprintf(buf, cap, "%dd%02dh", (int)(s / 86400), (int)(s / 3600) % 24);
    return buf;
}

void hg__table_init(hg__table *t, uint32_t cols)
{
    memset(t, 0, sizeof *t);
    t->cols = cols;
}

void hg__table_row(hg__table *t, const char *const *cells)
{
    if (t->rows == t->cap) {
        uint32_t cap = t->cap ? t->cap * 2 : 16;
        char **c = realloc(t->cells, (size_t)cap * t->cols * sizeof *c);
        if (c == NULL)
            return;
        t->cells = c;
        t->cap = cap;
    }
    for (uint32_t i = 0; i < t->cols; i++)
        t->cells[t->rows * t->cols + i] = strdup(cells[i] ? cells[i] : "-");
    t->rows++;
}

void hg__table_free(hg__table *t)
{
    for (uint32_t i = 0; i < t->rows * t->cols; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof *t);
}

/* Display columns of UTF-8 text: the bytes that start a character. */
static int text_width(const char *s)
{
    int w = 0;
    for (; s && *s; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

/* 1 when every cell of column c below the header is a number or "-" (printed right-aligned). */
static int numeric_column(const hg__table *t, uint32_t c)
{
    for (uint32_t r = 1; r < t->rows; r++) {
        const char *s = t->cells[r * t->cols + c];
        if (s == NULL || strcmp(s, "-") == 0)
            continue;
        if (!(s[0] >= '0' && s[0] <= '9') && !(s[0] == '-' && s[1] >= '0' && s[1] <= '9'))
            return 0;
    }
    return 1;
}

/* Writes line to out cut at width display columns (0: whole). */
static void put_cut(const char *line, int width, FILE *out)
{
    int w = 0;
    const char *p = line;
    for (; *p && (width <= 0 || w < width || ((unsigned char)*p & 0xC0) == 0x80); p++)
        w += ((unsigned char)*p & 0xC0) != 0x80;
    while (p > line && p[-1] == ' ')
        p--;
    fprintf(out, "%.*s\n", (int)(p - line), line);
}

void hg__table_print(const hg__table *t, FILE *out, int width)
{
    int *wid = calloc(t->cols ? t->cols : 1, sizeof *wid), *num = calloc(t->cols ? t->cols : 1,
                                                                           sizeof *num);
    char *line = NULL;
    size_t len = 0;
    if (wid == NULL || num == NULL)
        goto out;
    for (uint32_t c = 0; c < t->cols; c++) {
        num[c] = numeric_column(t, c);
        for (uint32_t r = 0; r < t->rows; r++) {
            int w = text_width(t->cells[r * t->cols + c]);
            wid[c] = w > wid[c] ? w : wid[c];
        }
    }
    for (uint32_t r = 0; r < t->rows; r++) {
        FILE *m = open_memstream(&line, &len);
        if (m == NULL)
            break;
        for (uint32_t c = 0; c < t->cols; c++) {
            const char *s = t->cells[r * t->cols + c];
            int pad = wid[c] - text_width(s);
            fprintf(m, "%s%*s%s%*s", c ? "  " : "", num[c] ? pad : 0, "", s ? s : "",
                    num[c] ? 0 : pad, "");
        }
        fclose(m);
        put_cut(line, width, out);
        free(line);
        line = NULL;
    }
out:
    free(wid);
    free(num);
}

static int ends_with(const char *s, const char *tail)
{
    size_t a = strlen(s), b = strlen(tail);
    return a >= b && strcmp(s + a - b, tail) == 0;
}

static void ago(double stamp_ns, char *buf, size_t cap)
{
    char d[32];
    if (stamp_ns <= 0)
        snprintf(buf, cap, "-");
    else
        snprintf(buf, cap, "%s ago",
                 hg__fmt_duration((double)hg__ctl_now_ns() - stamp_ns, d, sizeof d));
}

void hg__ctl_value_text(const char *key, const json_t *v, char *buf, size_t cap)
{
    double x = json_number_value(v);
    char *s;
    if (v == NULL || json_is_null(v)) {
        snprintf(buf, cap, "-");
    } else if (json_is_string(v)) {
        snprintf(buf, cap, "%s", json_string_value(v));
    } else if (json_is_boolean(v)) {
        snprintf(buf, cap, "%s", json_is_true(v) ? "true" : "false");
    } else if (!json_is_number(v)) {
        s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        snprintf(buf, cap, "%s", s ? s : "?");
        free(s);
    } else if (strcmp(key, "started_ns") == 0 || strcmp(key, "stopped_ns") == 0) {
        ago(x, buf, cap); /* monotonic stamps: how long ago, or "-" when not yet */
    } else if (ends_with(key, "_ns") && x > 0) {
        hg__fmt_duration(x, buf, cap);
    } else if ((strncmp(key, "bytes", 5) == 0 || strstr(key, "_bytes") != NULL) && x >= 1024) {
        char d[32];
        snprintf(buf, cap, "%s (%.0f)", hg__fmt_size(x, d, sizeof d), x);
    } else if (ends_with(key, "_pct")) {
        snprintf(buf, cap, "%.1f %%", x);
    } else if (json_is_real(v)) {
        snprintf(buf, cap, "%.4g", x);
    } else {
        snprintf(buf, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    }
}

/* key: value lines for an object's members, `skip` left out. */
static void show_members(const json_t *o, const char *const *skip, int indent, FILE *out);

/* An array of objects as a table whose columns are the first object's keys. */
static void show_object_array(const json_t *a, int indent, FILE *out)
{
    const json_t *first = json_array_get(a, 0), *o, *v;
    const char *k;
    uint32_t n = (uint32_t)json_object_size(first), c = 0;
    const char **cells = calloc(n ? n : 1, sizeof *cells);
    char (*text)[96] = calloc(n ? n : 1, sizeof *text);
    hg__table t;
    size_t i;
    if (cells == NULL || text == NULL)
        goto out;
    hg__table_init(&t, n);
    json_object_foreach((json_t *)first, k, v)
        cells[c++] = k;
    hg__table_row(&t, cells);
    json_array_foreach(a, i, o) {
        c = 0;
        json_object_foreach((json_t *)first, k, v) {
            hg__ctl_value_text(k, json_object_get(o, k), text[c], sizeof text[c]);
            cells[c] = text[c];
            c++;
        }
        hg__table_row(&t, cells);
    }
    fprintf(out, "%*s", indent, "");
    hg__table_print(&t, out, 0);
    hg__table_free(&t);
out:
    free(cells);
    free(text);
}

static void show_member(const char *k, const json_t *v, int indent, FILE *out)
{
    char buf[512];
    size_t i;
    const json_t *x;
    if (json_is_object(v) && json_object_size(v) > 0) {
        fprintf(out, "%*s%s:\n", indent, "", k);
        show_members(v, NULL, indent + 2, out);
    } else if (json_is_array(v) && json_is_object(json_array_get(v, 0))) {
        fprintf(out, "%*s%s:\n", indent, "", k);
        show_object_array(v, indent + 2, out);
    } else if (json_is_array(v) && json_array_size(v) > 0) {
        fprintf(out, "%*s%s:\n", indent, "", k);
        json_array_foreach(v, i, x) {
            hg__ctl_value_text(k, x, buf, sizeof buf);
            fprintf(out, "%*s  %s\n", indent, "", buf);
        }
    } else {
        hg__ctl_value_text(k, v, buf, sizeof buf);
        fprintf(out, "%*s%s: %s\n", indent, "", k, json_is_array(v) ? "(none)" : buf);
    }
}

static void show_members(const json_t *o, const char *const *skip, int indent, FILE *out)
{
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)o, k, v) {
        int skipped = 0;
        for (const char *const *s = skip; s && *s; s++)
            skipped |= strcmp(*s, k) == 0;
        if (!skipped)
            show_member(k, v, indent, out);
    }
}

void hg__ctl_show_generic(const json_t *reply, FILE *out)
{
    static const char *const skip[] = {"ok", NULL};
    if (json_object_size(reply) <= 1)
        fputs("ok\n", out);
    else
        show_members(reply, skip, 0, out);
}

void hg__ctl_show_counters(const json_t *reply, FILE *out)
{
    static const char *const skip[] = {"engine", "kind", "state", NULL};
    const json_t *all = json_object_get(reply, "counters"), *inst;
    const char *name;
    int first = 1;
    json_object_foreach((json_t *)all, name, inst) {
        const char *engine = json_string_value(json_object_get(inst, "engine"));
        fprintf(out, "%s%s  (%s%s%s, %s)\n", first ? "" : "\n", name, engine ? engine : "",
                engine ? " " : "", json_string_value(json_object_get(inst, "kind")),
                json_string_value(json_object_get(inst, "state")));
        show_members(inst, skip, 2, out);
        first = 0;
    }
}

/* t_<what>_ns less t_open_ns as a duration, or "-" when either is not set. */
static const char *since_open(const json_t *r, const char *key, char *buf, size_t cap)
{
    json_int_t open = json_integer_value(json_object_get(r, "t_open_ns"));
    json_int_t at = json_integer_value(json_object_get(r, key));
    if (open <= 0 || at <= 0 || at < open)
        return "-";
    return hg__fmt_duration((double)(at - open), buf, cap);
}

void hg__ctl_show_records(const json_t *reply, FILE *out)
{
    static const char *const head[] = {"ID", "WORKER", "DIR", "PEER", "LOCAL", "CONNECT",
                                       "FIRST BYTE", "DURATION", "IN", "OUT", "CAUSE", "STATUS"};
    const json_t *a = json_object_get(reply, "records"), *r;
    char id[24], wk[16], c1[32], c2[32], c3[32], in[32], o[32];
    hg__table t;
    size_t i;
    hg__table_init(&t, 12);
    hg__table_row(&t, head);
    json_array_foreach(a, i, r) {
        const char *row[12];
        snprintf(id, sizeof id, "%" JSON_INTEGER_FORMAT,
                 json_integer_value(json_object_get(r, "id")));
        snprintf(wk, sizeof wk, "%" JSON_INTEGER_FORMAT,
                 json_integer_value(json_object_get(r, "worker")));
        row[0] = id;
        row[1] = wk;
        row[2] = json_is_true(json_object_get(r, "outgoing")) ? "out" : "in";
        row[3] = json_string_value(json_object_get(r, "peer"));
        row[4] = json_string_value(json_object_get(r, "local"));
        row[5] = since_open(r, "t_established_ns", c1, sizeof c1);
        row[6] = since_open(r, "t_first_byte_ns", c2, sizeof c2);
        row[7] = since_open(r, "t_close_ns", c3, sizeof c3);
        row[8] = hg__fmt_size((double)json_integer_value(json_object_get(r, "bytes_in")), in,
                              sizeof in);
        row[9] = hg__fmt_size((double)json_integer_value(json_object_get(r, "bytes_out")), o,
                              sizeof o);
        row[10] = json_string_value(json_object_get(r, "close_cause"));
        row[11] = json_string_value(json_object_get(r, "status"));
        hg__table_row(&t, row);
    }
    hg__table_print(&t, out, 0);
    hg__table_free(&t);
    fprintf(out, "%zu record%s; %" JSON_INTEGER_FORMAT " dropped from the ring\n",
            json_array_size(a), json_array_size(a) == 1 ? "" : "s",
            json_integer_value(json_object_get(reply, "dropped")));
    if (json_is_false(json_object_get(reply, "enabled")))
        fputs("(records are off for this instance: set `records: true` in its config)\n", out);
}

void hg__ctl_show_perf(const json_t *reply, FILE *out)
{
    static const char *const head[] = {"THREAD", "INSTANCE", "ENGINE", "BUSY%", "BUSY", "IDLE",
                                       "TURNS", "EVENTS"};
    const json_t *a = json_object_get(reply, "threads"), *r;
    char pct[16], busy[32], idle[32], turns[24], events[24];
    hg__table t;
    size_t i;
    hg__table_init(&t, 8);
    hg__table_row(&t, head);
    json_array_foreach(a, i, r) {
        const char *row[8];
        row[0] = json_string_value(json_object_get(r, "name"));
        row[1] = json_string_value(json_object_get(r, "instance"));
        row[2] = json_string_value(json_object_get(r, "engine"));
        snprintf(pct, sizeof pct, "%.1f", json_number_value(json_object_get(r, "busy_pct")));
        row[3] = pct;
        row[4] = hg__fmt_duration(json_number_value(json_object_get(r, "busy_ns")), busy,
                                  sizeof busy);
        row[5] = hg__fmt_duration(json_number_value(json_object_get(r, "idle_ns")), idle,
                                  sizeof idle);
        hg__ctl_value_text("turns", json_object_get(r, "turns"), turns, sizeof turns);
        hg__ctl_value_text("events", json_object_get(r, "events"), events, sizeof events);
        row[6] = turns;
        row[7] = events;
        hg__table_row(&t, row);
    }
    if (json_array_size(a) == 0)
        fputs("no engine threads report perf\n", out);
    else
        hg__table_print(&t, out, 0);
    hg__table_free(&t);
}
