/* gen_report.c - what tcp-gen tells: workers' numbers added to the totals every tick, the
 * latency counters every second, a progress line per second, the end of the run, and the
 * "summary" and "stats" JSON (the summary with an iperf3-like text). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"

const char *const hg__gen_fail_names[GEN_FAIL_N] = {
    "refused", "timeout", "reset", "eof", "unreachable", "other", "fd_limit"};

static void stats_add(gen_stats *a, const gen_stats *b)
{
    uint32_t i;
    a->requests += b->requests;
    a->responses += b->responses;
    a->errors += b->errors;
    a->bytes_in += b->bytes_in;
    a->bytes_out += b->bytes_out;
    a->connects += b->connects;
    for (i = 0; i < GEN_FAIL_N; i++)
        a->fail[i] += b->fail[i];
}

static void counters_add(gen *g, const gen_stats *d)
{
    uint32_t i;
    hg_counter_add(g->c_requests, d->requests);
    hg_counter_add(g->c_responses, d->responses);
    hg_counter_add(g->c_errors, d->errors);
    for (i = 0; i < GEN_FAIL_N; i++)
        if (d->fail[i] != 0)
            hg_counter_add(g->c_fail[i], d->fail[i]);
}

static void publish_latency_locked(gen *g)
{
    hg_counter_set(g->c_p50, hg__tcp_hist_pct(&g->cum, 50.0));
    hg_counter_set(g->c_p99, hg__tcp_hist_pct(&g->cum, 99.0));
    hg_counter_set(g->c_p999, hg__tcp_hist_pct(&g->cum, 99.9));
    hg_counter_set(g->c_max, g->cum.max);
}

static void fmt_ns(char *buf, size_t cap, uint64_t ns)
{
    if (ns < 1000)
        snprintf(buf, cap, "%llu ns", (unsigned long long)ns);
    else if (ns < 1000000)
        snprintf(buf, cap, "%.1f us", (double)ns / 1e3);
    else if (ns < 1000000000)
        snprintf(buf, cap, "%.2f ms", (double)ns / 1e6);
    else
        snprintf(buf, cap, "%.2f s", (double)ns / 1e9);
}

static double secs(uint64_t ns)
{
    return (double)ns / 1e9;
}

static void progress_locked(gen *g, uint64_t now)
{
    double dt = secs(now - g->t_report);
    uint64_t done = g->cfg.pattern == GEN_PINGPONG ? g->total.responses - g->at_report.responses
                                                   : g->total.requests - g->at_report.requests;
    uint64_t out = g->total.bytes_out - g->at_report.bytes_out;
    uint64_t in = g->total.bytes_in - g->at_report.bytes_in;
    char p99[32];
    fmt_ns(p99, sizeof p99, hg__tcp_hist_pct(&g->interval, 99.0));
    if (dt <= 0)
        dt = 1e-9;
    if (g->cfg.progress)
        hg_logf(g->host, HG_LOG_INFO, "[%6.1fs] %10.1f req/s  out %8.2f MB/s  in %8.2f MB/s  "
                "p99 %s  new conns %llu  errors %llu", secs(now - g->t_start), (double)done / dt,
                (double)out / dt / 1e6, (double)in / dt / 1e6,
                g->cfg.pattern == GEN_PINGPONG ? p99 : "-",
                (unsigned long long)(g->total.connects - g->at_report.connects),
                (unsigned long long)(g->total.errors - g->at_report.errors));
    hg__tcp_hist_clear(&g->interval);
    g->at_report = g->total;
    g->t_report = now;
}

/* Writes the failures by cause ("refused 3, timeout 1") into buf. */
static void causes_of(const gen_stats *t, char *buf, size_t cap)
{
    size_t used = 0;
    uint32_t i;
    buf[0] = '\0';
    for (i = 0; i < GEN_FAIL_N && used < cap; i++) {
        if (t->fail[i] != 0)
            used += (size_t)snprintf(buf + used, cap - used, "%s%s %llu", used ? ", " : "",
                                     hg__gen_fail_names[i], (unsigned long long)t->fail[i]);
    }
}

/* Decides the outcome of the finished run into g->failed and g->why: failed with more failures
 * than max_failures, without a connection, or without one answered request (ping-pong) or
 * written payload (stream). Caller holds g->mu. */
static void judge_locked(gen *g)
{
    const gen_stats *t = &g->total;
    char causes[160];
    g->failed = 1;
    if (t->errors > g->cfg.max_failures) {
        causes_of(t, causes, sizeof causes);
        snprintf(g->why, sizeof g->why, "%llu failure%s (%s), over max_failures %llu",
                 (unsigned long long)t->errors, t->errors == 1 ? "" : "s", causes,
                 (unsigned long long)g->cfg.max_failures);
    } else if (t->connects == 0) {
        snprintf(g->why, sizeof g->why, "no connection was established");
    } else if (g->cfg.pattern == GEN_PINGPONG && t->responses == 0) {
        snprintf(g->why, sizeof g->why, "no request was answered (%llu sent)",
                 (unsigned long long)t->requests);
    } else if (g->cfg.pattern == GEN_STREAM && t->requests == 0) {
        snprintf(g->why, sizeof g->why, "nothing was sent");
    } else {
        g->failed = 0;
        g->why[0] = '\0';
    }
}

/* The end of the run: its outcome as the facts `outcome` and `outcome_reason`, a log line. */
static void publish_outcome(gen *g)
{
    const hg_host *h = g->host;
    h->set_info(h, "outcome", g->failed ? "failed" : "passed");
    h->set_info(h, "outcome_reason", g->why);
    if (g->failed)
        hg_logf(h, HG_LOG_WARN, "done: %llu requests, %llu errors; failed: %s",
                (unsigned long long)g->total.requests, (unsigned long long)g->total.errors,
                g->why);
    else
        hg_logf(h, HG_LOG_INFO, "done: %llu requests, %llu errors; passed",
                (unsigned long long)g->total.requests, (unsigned long long)g->total.errors);
}

/* The worker's latencies since the last flush into the host's histogram: each bucket of its
 * own at its upper end (so an observation is never counted under a bound it is above). */
static void export_latency(gen *g, const tcp_hist *wh)
{
    if (g->h_latency == NULL || wh->total == 0)
        return;
    for (uint32_t i = wh->lo; i < wh->hi; i++)
        if (wh->counts[i] != 0)
            hg_histogram_add(g->h_latency, hg__tcp_hist_bucket_top(i), wh->counts[i]);
    hg_histogram_add_sum(g->h_latency, wh->sum);
}

void hg__gen_flush(gen_worker *w, int final)
{
    gen *g = w->g;
    uint64_t now = g->host->now_ns(g->host);
    int last = 0;
    pthread_mutex_lock(&g->mu);
    stats_add(&g->total, &w->d);
    counters_add(g, &w->d);
    hg__tcp_hist_merge(&g->cum, &w->hist);
    hg__tcp_hist_merge(&g->interval, &w->hist);
    if (now - g->t_report >= GEN_REPORT_NS) {
        publish_latency_locked(g);
        progress_locked(g, now);
    }
    if (final && --g->running == 0) {
        last = 1;
        g->finished = 1;
        g->t_end = now;
        publish_latency_locked(g);
        judge_locked(g);
        free(g->summary);
        g->summary = hg__gen_summary_locked(g, now, &g->summary_len);
    }
    pthread_mutex_unlock(&g->mu);
    memset(&w->d, 0, sizeof w->d);
    export_latency(g, &w->hist);
    hg__tcp_hist_clear(&w->hist);
    if (last) {
        publish_outcome(g);
        g->host->set_state(g->host, HG_STATE_STOPPED, 0, NULL);
    }
}

void hg__gen_tick(void *ud, hg_timer *t)
{
    hg__gen_flush(ud, 0);
}

/* --- JSON --- */

typedef struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    char *np;
    int n;
    if (b->oom)
        return;
    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if ((size_t)n < b->cap - b->len)
            break;
        np = realloc(b->p, (b->cap + (size_t)n) * 2);
        if (np == NULL) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = (b->cap + (size_t)n) * 2;
    }
    b->len += (size_t)n;
}

static void sb_json_str(sbuf *b, const char *s)
{
    sb_printf(b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            sb_printf(b, "\\%c", c);
        else if (c == '\n')
            sb_printf(b, "\\n");
        else if (c < 0x20)
            sb_printf(b, "\\u%04x", c);
        else
            sb_printf(b, "%c", c);
    }
    sb_printf(b, "\"");
}

typedef struct figures {
    double seconds, rps, out_per_s, in_per_s, cps;
    uint64_t bytes, p50, p99, p999, max, mean;
} figures;

static void figures_of(const gen *g, uint64_t now, figures *f)
{
    uint64_t end = g->finished ? g->t_end : now;
    uint64_t done = g->cfg.pattern == GEN_PINGPONG ? g->total.responses : g->total.requests;
    f->seconds = g->t_start != 0 && end > g->t_start ? secs(end - g->t_start) : 0;
    f->bytes = g->total.bytes_in + g->total.bytes_out;
    f->rps = f->seconds > 0 ? (double)done / f->seconds : 0;
    f->out_per_s = f->seconds > 0 ? (double)g->total.bytes_out / f->seconds : 0;
    f->in_per_s = f->seconds > 0 ? (double)g->total.bytes_in / f->seconds : 0;
    f->cps = f->seconds > 0 ? (double)g->total.connects / f->seconds : 0;
    f->p50 = hg__tcp_hist_pct(&g->cum, 50.0);
    f->p99 = hg__tcp_hist_pct(&g->cum, 99.0);
    f->p999 = hg__tcp_hist_pct(&g->cum, 99.9);
    f->max = g->cum.max;
    f->mean = g->cum.total ? g->cum.sum / g->cum.total : 0;
}

static void text_of(const gen *g, const figures *f, sbuf *t)
{
    char a[32], b[32], c[32], d[32], e[32], causes[160];
    /* The target as resolved, or as written when it could not be (a start that failed). */
    sb_printf(t, "tcp-gen %s: %s, %llu B payload, %llu connection%s to %s\n",
              g->host->name(g->host), g->cfg.pattern == GEN_PINGPONG ? "ping-pong" : "stream",
              (unsigned long long)g->cfg.payload, (unsigned long long)g->cfg.connections,
              g->cfg.connections == 1 ? "" : "s", g->addr[0] ? g->addr : g->cfg.connect);
    sb_printf(t, "  time         %.2f s%s\n", f->seconds,
              g->finished ? "" : g->started ? " (running)" : " (not started)");
    sb_printf(t, "  requests     %llu sent, %llu answered, %.1f/s\n",
              (unsigned long long)g->total.requests, (unsigned long long)g->total.responses,
              f->rps);
    sb_printf(t, "  sent         %.2f MB, %.2f MB/s (%.1f Mbit/s)\n",
              (double)g->total.bytes_out / 1e6, f->out_per_s / 1e6, f->out_per_s * 8 / 1e6);
    sb_printf(t, "  received     %.2f MB, %.2f MB/s (%.1f Mbit/s)\n",
              (double)g->total.bytes_in / 1e6, f->in_per_s / 1e6, f->in_per_s * 8 / 1e6);
    sb_printf(t, "  connections  %llu established, %.1f/s\n",
              (unsigned long long)g->total.connects, f->cps);
    if (g->cum.total != 0) {
        fmt_ns(a, sizeof a, f->p50);
        fmt_ns(b, sizeof b, f->p99);
        fmt_ns(c, sizeof c, f->p999);
        fmt_ns(d, sizeof d, f->max);
        fmt_ns(e, sizeof e, f->mean);
        sb_printf(t, "  latency      p50 %s, p99 %s, p99.9 %s, max %s, mean %s\n", a, b, c, d, e);
    }
    causes_of(&g->total, causes, sizeof causes);
    sb_printf(t, "  failures     %s\n", causes[0] ? causes : "none");
    if (g->finished)
        sb_printf(t, "  outcome      %s%s%s\n", g->failed ? "failed" : "passed",
                  g->failed ? ": " : "", g->why);
}

static void numbers_of(const gen *g, const figures *f, sbuf *b)
{
    uint32_t i;
    sb_printf(b, "\"finished\":%s,\"pattern\":\"%s\",\"payload\":%llu,\"seconds\":%.6f,"
              "\"requests\":%llu,\"responses\":%llu,\"rps\":%.3f,\"bytes\":%llu,"
              "\"bytes_in\":%llu,\"bytes_out\":%llu,\"bytes_in_per_s\":%.3f,"
              "\"bytes_out_per_s\":%.3f,\"connections\":%llu,"
              "\"cps\":%.3f,\"errors\":%llu,\"latency_p50_ns\":%llu,\"latency_p99_ns\":%llu,"
              "\"latency_p999_ns\":%llu,\"latency_max_ns\":%llu,\"latency_mean_ns\":%llu,"
              "\"failures\":{",
              g->finished ? "true" : "false",
              g->cfg.pattern == GEN_PINGPONG ? "ping-pong" : "stream",
              (unsigned long long)g->cfg.payload, f->seconds,
              (unsigned long long)g->total.requests, (unsigned long long)g->total.responses,
              f->rps, (unsigned long long)f->bytes, (unsigned long long)g->total.bytes_in,
              (unsigned long long)g->total.bytes_out, f->in_per_s, f->out_per_s,
              (unsigned long long)g->total.connects, f->cps, (unsigned long long)g->total.errors,
              (unsigned long long)f->p50, (unsigned long long)f->p99, (unsigned long long)f->p999,
              (unsigned long long)f->max, (unsigned long long)f->mean);
    for (i = 0; i < GEN_FAIL_N; i++)
        sb_printf(b, "%s\"%s\":%llu", i ? "," : "", hg__gen_fail_names[i],
                  (unsigned long long)g->total.fail[i]);
    sb_printf(b, "},\"max_failures\":%llu,\"outcome\":\"%s\",\"outcome_reason\":",
              (unsigned long long)g->cfg.max_failures,
              !g->finished ? "running" : g->failed ? "failed" : "passed");
    sb_json_str(b, g->why);
}

static char *finish_sb(sbuf *b, uint32_t *len)
{
    if (b->oom) {
        free(b->p);
        return NULL;
    }
    *len = (uint32_t)b->len;
    return b->p;
}

char *hg__gen_summary_locked(gen *g, uint64_t now, uint32_t *len)
{
    sbuf b = {0}, t = {0};
    figures f;
    figures_of(g, now, &f);
    text_of(g, &f, &t);
    sb_printf(&b, "{\"text\":");
    sb_json_str(&b, t.oom ? "" : t.p);
    free(t.p);
    sb_printf(&b, ",");
    numbers_of(g, &f, &b);
    sb_printf(&b, "}");
    return finish_sb(&b, len);
}

char *hg__gen_stats_locked(gen *g, uint64_t now, uint32_t *len)
{
    sbuf b = {0};
    figures f;
    figures_of(g, now, &f);
    sb_printf(&b, "{");
    numbers_of(g, &f, &b);
    sb_printf(&b, "}");
    return finish_sb(&b, len);
}
