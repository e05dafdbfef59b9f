/* ctl.h - what `hangar ctl` (ctl.c), its renderers (ctl_table.c), its live views (ctl_top.c)
 * and `hangar run -i` (prompt.c) share: a way to send one command and read its JSON reply, the
 * human formats of sizes, rates and durations, and one entry that runs a ctl command. */
#ifndef HG_CTL_H
#define HG_CTL_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

/* Sends one command line (no newline) and returns its JSON reply in *reply (malloc'd, the caller
 * frees). Returns 0, or a negative HG_E* code after writing why to err (no host answered, it
 * closed, it took too long). [any-thread: the link's own caller, one at a time] */
typedef int (*hg__ctl_send_fn)(void *ud, const char *line, char **reply, FILE *err);

typedef struct hg__ctl_link {
    hg__ctl_send_fn send;
    void *ud;
    const char *where; /* named in messages: the socket path, or "this host" */
    const char *who;   /* what messages start with: "hangar ctl", "hangar" */
    int interactive;   /* 1: the prompt (no `top`; `shutdown` ends it) */
} hg__ctl_link;

/* Sends line and parses the reply. Returns the reply (new reference), or NULL after writing why
 * to err (nothing answered, or what came back is not a JSON object). [any-thread, one caller
 * per link] */
json_t *hg__ctl_request(hg__ctl_link *l, const char *line, FILE *err);

/* Runs the ctl command in words (`counters echo`, `records load --limit 20`, `status`, `top`,
 * `graph --dot`, or any host verb, passed through) and prints the reply to out as a table, or as
 * JSON when json is set; errors go to err. Returns the exit status: 0 when the command
 * succeeded, 1 when the host refused it or did not answer, 2 for bad usage. `top` installs
 * SIGINT/SIGTERM handlers while it runs (restored to the default after). [one thread per link] */
int hg__ctl_exec(hg__ctl_link *l, int argc, char **argv, int json, FILE *out, FILE *err);

/* Human formats into buf (at least 32 bytes); each returns buf. Sizes in binary units
 * ("12.4 MiB"), bit rates from bytes per second in decimal units ("1.2 Gbit/s"), durations from
 * nanoseconds ("3.2 ms", "4m05s"), event rates ("120/s", "1.2 k/s"). [any-thread] */
char *hg__fmt_size(double bytes, char *buf, size_t cap);
char *hg__fmt_bitrate(double bytes_per_s, char *buf, size_t cap);
char *hg__fmt_duration(double ns, char *buf, size_t cap);
char *hg__fmt_rate(double per_s, char *buf, size_t cap);

/* A table of text cells printed in aligned columns (numbers right-aligned). */
typedef struct hg__table {
    uint32_t cols, rows, cap;
    char **cells; /* rows * cols, row 0 the header */
} hg__table;

void hg__table_init(hg__table *t, uint32_t cols);
/* Appends a row of t->cols cells (copied; NULL prints "-"). */
void hg__table_row(hg__table *t, const char *const *cells);
/* Prints the table, each line at most width columns when width > 0 (cut, not wrapped). */
void hg__table_print(const hg__table *t, FILE *out, int width);
void hg__table_free(hg__table *t);

/* The renderers of ok replies (ctl_table.c): counters, records, perf, and any other reply as
 * key: value lines (tables for arrays of objects). */
void hg__ctl_show_counters(const json_t *reply, FILE *out);
void hg__ctl_show_records(const json_t *reply, FILE *out);
void hg__ctl_show_perf(const json_t *reply, FILE *out);
void hg__ctl_show_generic(const json_t *reply, FILE *out);
/* A value as text by what its key names: sizes for bytes, durations for *_ns, else plain. */
void hg__ctl_value_text(const char *key, const json_t *v, char *buf, size_t cap);

/* `status` and `top` (ctl_top.c): argv from the verb on. Return the exit status. */
int hg__ctl_status(hg__ctl_link *l, int argc, char **argv, int json, FILE *out, FILE *err);
int hg__ctl_top(hg__ctl_link *l, int argc, char **argv, int json, FILE *out, FILE *err);

/* One engine's row of the status view as JSON: name, engine, kind, state, uptime_ns, health,
 * health_from, error, connections_open, rates (per second over dt_s between before and inst,
 * two instance objects of `counters`; null for a family it does not count, or no before).
 * New reference. [any-thread] */
json_t *hg__ctl_engine_view(const char *name, const json_t *inst, const json_t *before,
                            double dt_s);

/* The graph (ctl_graph.c): the host's `graph` reply, or NULL when it has no graph (then
 * *supported is cleared and it is not asked again). */
json_t *hg__ctl_graph_sample(hg__ctl_link *l, int *supported);
/* Appends a row per processor of cur (a `graph` reply; rates against prev, which may be NULL) to
 * engines unless engines has a row of that name already, and returns its links with their fill and rates (new reference; NULL for no cur). */
json_t *hg__ctl_graph_view(const json_t *prev, const json_t *cur, double dt, json_t *engines);
/* Prints the links' table (nothing when there are none). */
void hg__ctl_show_links(const json_t *links, FILE *out, int width);

/* Monotonic now in ns (the host's clock on this machine: started_ns is on it). */
uint64_t hg__ctl_now_ns(void);

#endif
