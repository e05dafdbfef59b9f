/* ctl_top.c - `hangar ctl status` and `hangar ctl top`: each engine's kind, state, uptime,
 * health and headline rates (connections, bytes, frames, drops per second), computed here from
 * the deltas of `counters` between two samples; the graph's processors and links' fill levels
 * when the host runs a graph (ctl_graph.c). status prints one view; top redraws it every
 * interval until `q` (plain lines when stdout is not a terminal). */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

/* The counter families that make the headline rates. */
enum { R_CONN, R_BYTES, R_FRAMES, R_DROPS, N_RATES };
static const char *const rate_names[N_RATES] = {"connections", "bytes", "frames", "drops"};

/* Which family a counter adds to, or -1. Drops win over frames (frames_dropped is a drop). */
static int family(const char *key)
{
    if (strstr(key, "drop") != NULL)
        return R_DROPS;
    if (strcmp(key, "connections_established") == 0)
        return R_CONN;
    if (strcmp(key, "bytes_in") == 0 || strcmp(key, "bytes_out") == 0)
        return R_BYTES;
    if (strncmp(key, "frames", 6) == 0)
        return R_FRAMES;
    return -1;
}

/* One `counters` reply and when it was taken. */
typedef struct sample {
    json_t *counters; /* the reply's "counters" object (owned) */
    json_t *graph;    /* the `graph` reply when the host runs a graph, else NULL (owned) */
    uint64_t at_ns;   /* the host's uptime_ns when it has one, else this client's clock */
} sample;

static void sample_free(sample *s)
{
    json_decref(s->counters);
    json_decref(s->graph);
    s->counters = s->graph = NULL;
}

/* Takes a sample (the graph too while *graph_ok). Returns 0, or 1 after saying why on err (the
 * exit status is 1). */
static int sample_take(hg__ctl_link *l, sample *s, int *graph_ok, FILE *err)
{
    json_t *r = hg__ctl_request(l, "counters", err);
    json_int_t up;
    if (r == NULL)
        return 1;
    if (!json_is_true(json_object_get(r, "ok"))) {
        const char *e = json_string_value(json_object_get(r, "error"));
        fprintf(err, "%s: counters: %s\n", l->who, e ? e : "the command failed");
        json_decref(r);
        return 1;
    }
    s->counters = json_incref(json_object_get(r, "counters"));
    json_decref(r);
    up = json_integer_value(json_object_get(json_object_get(s->counters, "host"), "uptime_ns"));
    s->at_ns = up > 0 ? (uint64_t)up : hg__ctl_now_ns();
    s->graph = hg__ctl_graph_sample(l, graph_ok);
    return 0;
}

/* Sums an instance's counters per family; has[f] says whether it reports any of f. */
static void totals(const json_t *inst, double *sum, int *has)
{
    const char *k;
    const json_t *v;
    memset(has, 0, N_RATES * sizeof *has);
    for (int f = 0; f < N_RATES; f++)
        sum[f] = 0;
    json_object_foreach((json_t *)inst, k, v) {
        int f = family(k);
        if (f >= 0 && json_is_integer(v)) {
            sum[f] += (double)json_integer_value(v);
            has[f] = 1;
        }
    }
}

/* The engine's health: its own `healthy` when it publishes one, else what its state says. */
static const char *health(const json_t *inst, const char **source)
{
    const json_t *h = json_object_get(inst, "healthy");
    const char *st = json_string_value(json_object_get(inst, "state"));
    *source = "engine";
    if (json_is_boolean(h) || json_is_integer(h))
        return json_is_true(h) || json_integer_value(h) != 0 ? "healthy" : "unhealthy";
    *source = "state";
    if (st == NULL)
        return "unknown";
    if (strcmp(st, "failed") == 0)
        return "failed";
    if (strcmp(st, "running") == 0 || strcmp(st, "paused") == 0)
        return "healthy";
    return "idle";
}

json_t *hg__ctl_engine_view(const char *name, const json_t *inst, const json_t *before,
                            double dt_s)
{
    json_t *o = json_object(), *rates = json_object();
    const char *st = json_string_value(json_object_get(inst, "state")), *src;
    json_int_t started = json_integer_value(json_object_get(inst, "started_ns"));
    double now[N_RATES], then[N_RATES];
    int has[N_RATES], had[N_RATES];
    int live = st && (strcmp(st, "running") == 0 || strcmp(st, "paused") == 0);
    uint64_t clock = hg__ctl_now_ns();
    json_object_set_new(o, "name", json_string(name));
    json_object_set(o, "engine", json_object_get(inst, "engine"));
    json_object_set(o, "kind", json_object_get(inst, "kind"));
    json_object_set(o, "state", json_object_get(inst, "state"));
    json_object_set_new(o, "uptime_ns", live && started > 0 && clock > (uint64_t)started
                                            ? json_integer((json_int_t)(clock - (uint64_t)started))
                                            : json_null());
    json_object_set_new(o, "health", json_string(health(inst, &src)));
    json_object_set_new(o, "health_from", json_string(src));
    json_object_set(o, "error", json_object_get(inst, "error") ? json_object_get(inst, "error")
                                                               : json_null());
    totals(inst, now, has);
    totals(before, then, had);
    for (int f = 0; f < N_RATES; f++) {
        double d = now[f] - then[f];
        json_object_set_new(rates, rate_names[f],
                            has[f] && had[f] && dt_s > 0 ? json_real(d > 0 ? d / dt_s : 0)
                                                         : json_null());
    }
    if (has[R_CONN])
        json_object_set(o, "connections_open", json_object_get(inst, "connections_open"));
    json_object_set_new(o, "rates", rates);
    return o;
}

/* The view of two samples (prev may hold no counters: no rates yet). */
static json_t *view(const sample *prev, const sample *cur)
{
    json_t *o = json_object(), *engines = json_array(), *inst, *links;
    double dt = prev->counters && cur->at_ns > prev->at_ns
                    ? (double)(cur->at_ns - prev->at_ns) / 1e9 : 0;
    const char *name;
    json_object_set_new(o, "ok", json_true());
    json_object_set(o, "host", json_object_get(cur->counters, "host"));
    json_object_foreach(cur->counters, name, inst) {
        if (strcmp(name, "host") != 0)
            json_array_append_new(engines, hg__ctl_engine_view(name, inst, json_object_get(
                                                                  prev->counters, name), dt));
    }
    links = hg__ctl_graph_view(prev->graph, cur->graph, dt, engines);
    json_object_set_new(o, "engines", engines);
    if (links != NULL)
        json_object_set_new(o, "links", links);
    json_object_set_new(o, "interval_s", json_real(dt));
    return o;
}

static const char *rate_text(const json_t *rates, int f, char *buf, size_t cap)
{
    const json_t *v = json_object_get(rates, rate_names[f]);
    if (!json_is_number(v))
        return "-";
    return f == R_BYTES ? hg__fmt_bitrate(json_number_value(v), buf, cap)
                        : hg__fmt_rate(json_number_value(v), buf, cap);
}

static void engine_row(hg__table *t, const json_t *e)
{
    const json_t *rates = json_object_get(e, "rates");
    char up[32], r[N_RATES][32], open[24];
    const char *row[11];
    row[0] = json_string_value(json_object_get(e, "name"));
    row[1] = json_string_value(json_object_get(e, "engine"));
    row[2] = json_string_value(json_object_get(e, "kind"));
    row[3] = json_string_value(json_object_get(e, "state"));
    row[4] = json_is_integer(json_object_get(e, "uptime_ns"))
                 ? hg__fmt_duration((double)json_integer_value(json_object_get(e, "uptime_ns")),
                                    up, sizeof up)
                 : "-";
    row[5] = json_string_value(json_object_get(e, "health"));
    row[6] = rate_text(rates, R_CONN, r[R_CONN], sizeof r[0]);
    hg__ctl_value_text("connections_open", json_object_get(e, "connections_open"), open,
                       sizeof open);
    row[7] = open;
    row[8] = rate_text(rates, R_BYTES, r[R_BYTES], sizeof r[0]);
    row[9] = rate_text(rates, R_FRAMES, r[R_FRAMES], sizeof r[0]);
    row[10] = rate_text(rates, R_DROPS, r[R_DROPS], sizeof r[0]);
    hg__table_row(t, row);
}

/* Prints the view: a host line, the engines' table, failed engines' errors, the links. */
static void render(const json_t *v, FILE *out, int width)
{
    static const char *const head[] = {"NAME", "ENGINE", "KIND", "STATE", "UPTIME", "HEALTH",
                                       "CONN/S", "OPEN", "BYTES/S", "FRAMES/S", "DROPS/S"};
    const json_t *host = json_object_get(v, "host"), *e;
    char up[32];
    hg__table t;
    size_t i;
    size_t n = 0;
    json_array_foreach(json_object_get(v, "engines"), i, e)
        n += strcmp(json_string_value(json_object_get(e, "kind")) ?: "", "runtime_mode") != 0;
    fprintf(out, "host %s, up %s, %zu engine%s, %" JSON_INTEGER_FORMAT
                 " failed\n",
            json_string_value(json_object_get(host, "state")) ?: "?",
            hg__fmt_duration((double)json_integer_value(json_object_get(host, "uptime_ns")), up,
                             sizeof up),
            n, n == 1 ? "" : "s", json_integer_value(json_object_get(host, "failed")));
    hg__table_init(&t, 11);
    hg__table_row(&t, head);
    json_array_foreach(json_object_get(v, "engines"), i, e)
        engine_row(&t, e);
    hg__table_print(&t, out, width);
    hg__table_free(&t);
    json_array_foreach(json_object_get(v, "engines"), i, e) {
        const char *err = json_string_value(json_object_get(e, "error"));
        if (err != NULL)
            fprintf(out, "%s: %s\n", json_string_value(json_object_get(e, "name")), err);
    }
    hg__ctl_show_links(json_object_get(v, "links"), out, width);
}

/* --interval S and (top) -n N after the verb. Returns 0, or 2 after saying what is wrong. */
static int view_opts(const char *who, int argc, char **argv, int top, double *interval,
                     long *count, FILE *err)
{
    for (int i = 1; i < argc; i++) {
        int is_n = top && strcmp(argv[i], "-n") == 0;
        char *end = NULL;
        if ((strcmp(argv[i], "--interval") != 0 && !is_n) || i + 1 >= argc) {
            fprintf(err, "%s: %s takes --interval SECONDS%s, not '%s'\n", who, argv[0],
                    top ? " and -n COUNT" : "", argv[i]);
            return 2;
        }
        if (is_n)
            *count = strtol(argv[++i], &end, 10);
        else
            *interval = strtod(argv[++i], &end);
        if (*end != '\0' || end == argv[i] || (is_n ? *count < 1 : !(*interval >= 0.05 &&
                                                                       *interval <= 3600))) {
            fprintf(err, "%s: %s: '%s' is not %s\n", who, argv[0], argv[i],
                    is_n ? "a count from 1" : "an interval in seconds from 0.05 to 3600");
            return 2;
        }
    }
    return 0;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void print_json(const json_t *v, FILE *out)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(15));
    fprintf(out, "%s\n", s ? s : "{}");
    free(s);
    fflush(out);
}

int hg__ctl_status(hg__ctl_link *l, int argc, char **argv, int json, FILE *out, FILE *err)
{
    sample a = {0}, b = {0};
    double interval = 1;
    long count = 1;
    int supported = 1, rc = view_opts(l->who, argc, argv, 0, &interval, &count, err);
    json_t *v;
    if (rc != 0)
        return rc;
    if (sample_take(l, &a, &supported, err) != 0)
        return 1;
    sleep_s(interval);
    if (sample_take(l, &b, &supported, err) != 0) {
        sample_free(&a);
        return 1;
    }
    v = view(&a, &b);
    if (json)
        print_json(v, out);
    else
        render(v, out, 0);
    fflush(out);
    json_decref(v);
    sample_free(&a);
    sample_free(&b);
    return 0;
}

/* The terminal top draws on: raw keys from stdin, the alternate screen, restored on the way out
 * (SIGINT/SIGTERM end the loop rather than the process). */
typedef struct term {
    int keys;            /* stdin is a terminal: q quits */
    int screen;          /* stdout is a terminal: redraw in place */
    struct termios saved;
} term;

static volatile sig_atomic_t stop_asked;

static void on_stop(int sig)
{
    (void)sig;
    stop_asked = 1;
}

static void term_enter(term *t, FILE *out, int json)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop; /* no SA_RESTART: the wait for a key returns */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    t->keys = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &t->saved) == 0;
    if (t->keys) {
        struct termios raw = t->saved;
        raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
        raw.c_cc[VMIN] = 1;
        raw.c_cc[VTIME] = 0;
        tcsetattr(STDIN_FILENO, TCSANOW, &raw);
    }
    t->screen = !json && isatty(fileno(out)); /* JSON lines are never drawn in place */
    if (t->screen)
        fputs("\033[?1049h\033[?25l", out); /* alternate screen, cursor hidden */
}

static void term_leave(term *t, FILE *out)
{
    if (t->screen)
        fputs("\033[?25h\033[?1049l", out);
    fflush(out);
    if (t->keys)
        tcsetattr(STDIN_FILENO, TCSANOW, &t->saved);
}

/* Waits up to s seconds for a key. Returns 1 when the user asked to quit (q, Q, Ctrl-D). */
static int wait_key(const term *t, double s)
{
    uint64_t end = hg__ctl_now_ns() + (uint64_t)(s * 1e9);
    if (!t->keys) {
        sleep_s(s);
        return stop_asked;
    }
    while (!stop_asked) {
        uint64_t now = hg__ctl_now_ns();
        struct pollfd p = {STDIN_FILENO, POLLIN, 0};
        char c;
        if (now >= end)
            return 0;
        if (poll(&p, 1, (int)((end - now) / 1000000) + 1) <= 0)
            continue;
        if (read(STDIN_FILENO, &c, 1) != 1 || c == 'q' || c == 'Q' || c == 4)
            return 1;
    }
    return 1;
}

/* Draws one frame: in place on a terminal (cut to its size), else as plain lines. */
static void frame(const term *t, const json_t *v, double interval, FILE *out)
{
    struct winsize ws = {0, 0, 0, 0};
    char *text = NULL, stamp[32];
    size_t len = 0;
    time_t now = time(NULL);
    FILE *m = open_memstream(&text, &len);
    int width = 0, lines = 0;
    if (m == NULL)
        return;
    if (t->screen && ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        width = ws.ws_col;
    strftime(stamp, sizeof stamp, "%H:%M:%S", localtime(&now));
    fprintf(m, "hangar top - %s - every %.3g s%s\n", stamp, interval,
            t->keys ? " - q quits" : "");
    render(v, m, width);
    fclose(m);
    if (!t->screen) {
        fprintf(out, "%s\n", text);
    } else {
        fputs("\033[H", out);
        for (char *p = text, *nl; *p && (ws.ws_row == 0 || lines < ws.ws_row); p = nl + 1) {
            nl = strchr(p, '\n');
            fprintf(out, "%s%.*s\033[K", lines ? "\r\n" : "", (int)(nl - p), p);
            lines++;
        }
        fputs("\033[J", out);
    }
    fflush(out);
    free(text);
}

int hg__ctl_top(hg__ctl_link *l, int argc, char **argv, int json, FILE *out, FILE *err)
{
    sample prev = {0}, cur = {0};
    double interval = 1;
    long count = 0, shown = 0;
    int supported = 1, rc = view_opts(l->who, argc, argv, 1, &interval, &count, err);
    char *why = NULL;
    size_t why_len = 0;
    FILE *later; /* what goes wrong is said once the screen is restored */
    term t;
    if (rc != 0)
        return rc;
    if (sample_take(l, &prev, &supported, err) != 0)
        return 1;
    if ((later = open_memstream(&why, &why_len)) == NULL)
        later = err;
    stop_asked = 0;
    term_enter(&t, out, json);
    while (!wait_key(&t, shown ? interval : 0.2)) {
        json_t *v;
        if ((rc = sample_take(l, &cur, &supported, later)) != 0)
            break;
        v = view(&prev, &cur);
        if (json)
            print_json(v, out);
        else
            frame(&t, v, interval, out);
        json_decref(v);
        sample_free(&prev);
        prev = cur;
        cur.counters = cur.graph = NULL;
        if (++shown == count)
            break;
    }
    term_leave(&t, out);
    if (later != err) {
        fclose(later);
        fputs(why ? why : "", err);
        free(why);
    }
    sample_free(&prev);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    return rc;
}
