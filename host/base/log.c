/* log.c - the host's logger: levelled, timestamped lines to stderr and to registered sinks.
 * One logger per host; a mutex keeps lines whole when several threads log. Control characters in
 * a message are escaped (\n, \xNN): one call is one line, and no message drives the terminal. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <hangar/plugin.h>

#include "log.h"

#define MAX_SINKS 4

struct hg__logger {
    pthread_mutex_t mu;
    uint32_t level;
    int to_stderr;
    struct {
        hg__log_sink fn;
        void *ud;
    } sinks[MAX_SINKS];
    uint32_t n_sinks;
};

static const char *const level_names[] = {NULL, "error", "warn", "info", "debug", "trace"};
static uint32_t default_level; /* 0 until first asked: then HANGAR_LOG or info */
static int default_explicit;   /* HANGAR_LOG, -v or -q chose it */
static pthread_mutex_t default_mu = PTHREAD_MUTEX_INITIALIZER;

uint32_t hg__log_level_from_name(const char *name)
{
    if (name == NULL)
        return 0;
    for (uint32_t i = HG_LOG_ERROR; i <= HG_LOG_TRACE; i++)
        if (strcasecmp(name, level_names[i]) == 0)
            return i;
    if (strcasecmp(name, "warning") == 0)
        return HG_LOG_WARN;
    return 0;
}

const char *hg__log_level_name(uint32_t level)
{
    if (level < HG_LOG_ERROR || level > HG_LOG_TRACE)
        return "?";
    return level_names[level];
}

uint32_t hg__log_default_level(void)
{
    uint32_t lv;
    pthread_mutex_lock(&default_mu);
    if (default_level == 0) {
        const char *env = getenv("HANGAR_LOG");
        lv = hg__log_level_from_name(env);
        /* Asked once per process (the first time), so this says it once. */
        if (lv == 0 && env != NULL && *env != '\0')
            fprintf(stderr, "hangar: HANGAR_LOG='%s' is not a log level (error, warn, info, "
                    "debug, trace); using info\n", env);
        default_level = lv ? lv : HG_LOG_INFO;
        default_explicit = default_explicit || lv != 0;
    }
    lv = default_level;
    pthread_mutex_unlock(&default_mu);
    return lv;
}

void hg__log_set_default(uint32_t level)
{
    if (level < HG_LOG_ERROR)
        level = HG_LOG_ERROR;
    if (level > HG_LOG_TRACE)
        level = HG_LOG_TRACE;
    pthread_mutex_lock(&default_mu);
    default_explicit = default_explicit || level != default_level ||
                       hg__log_level_from_name(getenv("HANGAR_LOG")) != 0;
    default_level = level;
    pthread_mutex_unlock(&default_mu);
}

int hg__log_default_explicit(void)
{
    int e;
    hg__log_default_level();
    pthread_mutex_lock(&default_mu);
    e = default_explicit;
    pthread_mutex_unlock(&default_mu);
    return e;
}

int hg__logger_new(uint32_t level, hg__logger **out)
{
    hg__logger *lg = calloc(1, sizeof *lg);
    if (lg == NULL)
        return HG_ENOMEM;
    pthread_mutex_init(&lg->mu, NULL);
    lg->level = level ? level : hg__log_default_level();
    lg->to_stderr = 1;
    *out = lg;
    return 0;
}

void hg__logger_free(hg__logger *lg)
{
    if (lg == NULL)
        return;
    pthread_mutex_destroy(&lg->mu);
    free(lg);
}

void hg__logger_set_level(hg__logger *lg, uint32_t level)
{
    __atomic_store_n(&lg->level, level, __ATOMIC_RELAXED);
}

uint32_t hg__logger_level(const hg__logger *lg)
{
    return __atomic_load_n(&lg->level, __ATOMIC_RELAXED);
}

void hg__logger_set_stderr(hg__logger *lg, int to_stderr)
{
    pthread_mutex_lock(&lg->mu);
    lg->to_stderr = to_stderr;
    pthread_mutex_unlock(&lg->mu);
}

int hg__logger_add_sink(hg__logger *lg, hg__log_sink fn, void *ud)
{
    int rc = 0;
    pthread_mutex_lock(&lg->mu);
    if (lg->n_sinks == MAX_SINKS) {
        rc = HG_ENOSPC;
    } else {
        lg->sinks[lg->n_sinks].fn = fn;
        lg->sinks[lg->n_sinks].ud = ud;
        lg->n_sinks++;
    }
    pthread_mutex_unlock(&lg->mu);
    return rc;
}

/* A level outside ERROR..TRACE is logged at the nearest one: 0 as an error, above TRACE as trace. */
static uint32_t clamp_level(uint32_t level)
{
    if (level < HG_LOG_ERROR)
        return HG_LOG_ERROR;
    return level > HG_LOG_TRACE ? HG_LOG_TRACE : level;
}

/* 1 when s holds a byte a terminal acts on: a C0 control (newline, ESC, ...) or DEL. */
static int has_control(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

/* s with newline, CR and tab as \n, \r, \t and every other control byte as \xNN, so one call
 * is one line and a message cannot drive the terminal. A new string (NULL: out of memory). */
static char *escape_controls(const char *s)
{
    char *out = malloc(4 * strlen(s) + 1), *p = out;
    if (out == NULL)
        return NULL;
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\n' || c == '\r' || c == '\t') {
            *p++ = '\\';
            *p++ = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
        } else if (c < 0x20 || c == 0x7f) {
            p += sprintf(p, "\\x%02x", c);
        } else {
            *p++ = (char)c;
        }
    }
    *p = '\0';
    return out;
}

static void emit(hg__logger *lg, uint32_t level, const char *who, const char *msg)
{
    struct timespec ts;
    struct tm tm;
    char stamp[32];

    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%H:%M:%S", &tm);
    pthread_mutex_lock(&lg->mu);
    if (lg->to_stderr)
        fprintf(stderr, "%s.%03ld %-5s %s: %s\n", stamp, ts.tv_nsec / 1000000L,
                hg__log_level_name(level), who, msg);
    for (uint32_t i = 0; i < lg->n_sinks; i++)
        lg->sinks[i].fn(lg->sinks[i].ud, level, who, msg);
    pthread_mutex_unlock(&lg->mu);
}

void hg__log_msg(hg__logger *lg, uint32_t level, const char *who, const char *msg)
{
    char *escaped = NULL;

    level = clamp_level(level);
    if (lg == NULL || level > hg__logger_level(lg))
        return;
    if (msg == NULL)
        msg = "";
    if (who == NULL)
        who = "host";
    if (has_control(msg)) {
        escaped = escape_controls(msg);
        msg = escaped ? escaped : "(a message with control characters, not shown: out of memory)";
    }
    emit(lg, level, who, msg);
    free(escaped);
}

void hg__log(hg__logger *lg, uint32_t level, const char *who, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;

    if (lg == NULL || clamp_level(level) > hg__logger_level(lg))
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    hg__log_msg(lg, level, who, buf);
}
