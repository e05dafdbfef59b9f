/* log.c - the host's logger: levelled lines stamped with the wall-clock date and time, to stderr
 * or a file (reopened on SIGUSR1) as text, logfmt or JSON, and to registered sinks; a level per
 * instance name on top of the logger's. One logger per host; a mutex keeps lines whole when
 * several threads log. Control characters in a message are escaped (\n, \xNN): one call is one
 * line, and no message drives the terminal. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <hangar/plugin.h>

#include "log.h"

#define MAX_SINKS 4
#define MAX_WHO 256 /* instances with a level of their own */

typedef struct who_level {
    char name[64];
    uint32_t level;
} who_level;

struct hg__logger {
    pthread_mutex_t mu;
    uint32_t level;
    int to_stderr;
    uint32_t format;     /* HG__LOG_FORMAT_* (atomic) */
    FILE *file;          /* NULL: stderr */
    char *path;          /* the file's path, to reopen */
    pthread_mutex_t who_mu; /* who[] */
    who_level *who;
    uint32_t n_who;      /* atomic: 0 spares the lookup */
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
    pthread_mutex_init(&lg->who_mu, NULL);
    lg->level = level ? level : hg__log_default_level();
    lg->to_stderr = 1;
    *out = lg;
    return 0;
}

void hg__logger_free(hg__logger *lg)
{
    if (lg == NULL)
        return;
    if (lg->file != NULL)
        fclose(lg->file);
    free(lg->path);
    free(lg->who);
    pthread_mutex_destroy(&lg->who_mu);
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

/* The wall-clock stamp: "2026-12-07 14:03:07.123" (text) or "2026-12-07T14:03:07.123+01:00". */
static void stamp_of(char *buf, size_t cap, int iso)
{
    struct timespec ts;
    struct tm tm;
    char date[32], zone[8] = "";
    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    strftime(date, sizeof date, iso ? "%Y-%m-%dT%H:%M:%S" : "%Y-%m-%d %H:%M:%S", &tm);
    if (iso) {
        strftime(zone, sizeof zone, "%z", &tm); /* +0100 -> +01:00 */
        if (strlen(zone) == 5) {
            zone[6] = '\0';
            zone[5] = zone[4];
            zone[4] = zone[3];
            zone[3] = ':';
        }
    }
    snprintf(buf, cap, "%s.%03ld%s", date, ts.tv_nsec / 1000000L, zone);
}

/* s between double quotes with " and \ escaped (s has no control bytes: escaped before), and
 * for JSON, bytes that are not UTF-8 as \ufffd. */
static void put_quoted(FILE *f, const char *s, int json)
{
    const unsigned char *p = (const unsigned char *)s;
    fputc('"', f);
    while (*p) {
        if (*p == '"' || *p == '\\') {
            fputc('\\', f);
            fputc(*p++, f);
        } else if (*p < 0x80 || !json) {
            fputc(*p++, f);
        } else {
            size_t n = *p >= 0xf0 && *p < 0xf5 ? 4 : *p >= 0xe0 ? 3 : *p >= 0xc2 && *p < 0xe0 ? 2 : 0;
            size_t k = 1;
            while (n && k < n && (p[k] & 0xc0) == 0x80)
                k++;
            if (n == 0 || k < n || *p > 0xf4) {
                fputs("\\ufffd", f);
                p++;
            } else {
                fwrite(p, 1, n, f);
                p += n;
            }
        }
    }
    fputc('"', f);
}

static void write_line(FILE *f, uint32_t format, uint32_t level, const char *who, const char *msg)
{
    char stamp[48];
    stamp_of(stamp, sizeof stamp, format != HG__LOG_FORMAT_TEXT);
    if (format == HG__LOG_FORMAT_JSON) {
        fprintf(f, "{\"time\":\"%s\",\"level\":\"%s\",\"engine\":", stamp,
                hg__log_level_name(level));
        put_quoted(f, who, 1);
        fputs(",\"msg\":", f);
        put_quoted(f, msg, 1);
        fputs("}\n", f);
    } else if (format == HG__LOG_FORMAT_LOGFMT) {
        fprintf(f, "time=%s level=%s engine=", stamp, hg__log_level_name(level));
        put_quoted(f, who, 0);
        fputs(" msg=", f);
        put_quoted(f, msg, 0);
        fputc('\n', f);
    } else {
        fprintf(f, "%s %-5s %s: %s\n", stamp, hg__log_level_name(level), who, msg);
    }
    fflush(f);
}

static void emit(hg__logger *lg, uint32_t level, const char *who, const char *msg)
{
    pthread_mutex_lock(&lg->mu);
    if (lg->file != NULL)
        write_line(lg->file, __atomic_load_n(&lg->format, __ATOMIC_RELAXED), level, who, msg);
    else if (lg->to_stderr)
        write_line(stderr, __atomic_load_n(&lg->format, __ATOMIC_RELAXED), level, who, msg);
    for (uint32_t i = 0; i < lg->n_sinks; i++)
        lg->sinks[i].fn(lg->sinks[i].ud, level, who, msg);
    pthread_mutex_unlock(&lg->mu);
}

void hg__logger_set_format(hg__logger *lg, uint32_t format)
{
    __atomic_store_n(&lg->format, format <= HG__LOG_FORMAT_JSON ? format : 0, __ATOMIC_RELAXED);
}

static FILE *open_log(const char *path, char *err, size_t cap, int *rc)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    FILE *f;
    if (fd < 0) {
        snprintf(err, cap, "cannot open the log file '%s': %s", path, strerror(errno));
        *rc = errno == ENOENT ? HG_ENOENT : errno == EACCES ? HG_EPERM : HG_EIO;
        return NULL;
    }
    f = fdopen(fd, "a");
    if (f == NULL) {
        close(fd);
        snprintf(err, cap, "cannot open the log file '%s': out of memory", path);
        *rc = HG_ENOMEM;
    }
    return f;
}

int hg__logger_set_file(hg__logger *lg, const char *path, char *err, size_t cap)
{
    int rc = 0;
    char *p = strdup(path);
    FILE *f = p ? open_log(path, err, cap, &rc) : NULL;
    if (f == NULL) {
        free(p);
        return p ? rc : HG_ENOMEM;
    }
    pthread_mutex_lock(&lg->mu);
    if (lg->file != NULL)
        fclose(lg->file);
    free(lg->path);
    lg->file = f;
    lg->path = p;
    pthread_mutex_unlock(&lg->mu);
    return 0;
}

int hg__logger_reopen(hg__logger *lg, char *err, size_t cap)
{
    char *path;
    FILE *f;
    int rc = 0;
    pthread_mutex_lock(&lg->mu);
    path = lg->path ? strdup(lg->path) : NULL;
    pthread_mutex_unlock(&lg->mu);
    if (path == NULL) {
        snprintf(err, cap, "no log file: lines go to stderr");
        return HG_ENOENT;
    }
    f = open_log(path, err, cap, &rc);
    free(path);
    if (f == NULL)
        return rc;
    pthread_mutex_lock(&lg->mu);
    fclose(lg->file);
    lg->file = f;
    pthread_mutex_unlock(&lg->mu);
    return 0;
}

uint32_t hg__logger_level_for(hg__logger *lg, const char *who)
{
    uint32_t level = hg__logger_level(lg);
    if (who == NULL || __atomic_load_n(&lg->n_who, __ATOMIC_ACQUIRE) == 0)
        return level;
    pthread_mutex_lock(&lg->who_mu);
    for (uint32_t i = 0; i < lg->n_who; i++) {
        if (strcmp(lg->who[i].name, who) == 0) {
            level = lg->who[i].level;
            break;
        }
    }
    pthread_mutex_unlock(&lg->who_mu);
    return level;
}

int hg__logger_set_who_level(hg__logger *lg, const char *who, uint32_t level)
{
    int rc = 0;
    uint32_t i;
    if (who == NULL || *who == '\0' || strlen(who) >= sizeof lg->who[0].name ||
        level > HG_LOG_TRACE)
        return HG_EINVAL;
    pthread_mutex_lock(&lg->who_mu);
    for (i = 0; i < lg->n_who && strcmp(lg->who[i].name, who) != 0; i++)
        ;
    if (level == 0 && i < lg->n_who) {
        lg->who[i] = lg->who[lg->n_who - 1];
        __atomic_store_n(&lg->n_who, lg->n_who - 1, __ATOMIC_RELEASE);
    } else if (level != 0 && i < lg->n_who) {
        lg->who[i].level = level;
    } else if (level != 0 && i == MAX_WHO) {
        rc = HG_ENOSPC;
    } else if (level != 0) {
        if (lg->who == NULL && (lg->who = calloc(MAX_WHO, sizeof *lg->who)) == NULL) {
            rc = HG_ENOMEM;
        } else {
            snprintf(lg->who[i].name, sizeof lg->who[i].name, "%s", who);
            lg->who[i].level = level;
            __atomic_store_n(&lg->n_who, i + 1, __ATOMIC_RELEASE);
        }
    }
    pthread_mutex_unlock(&lg->who_mu);
    return rc;
}

void hg__log_msg(hg__logger *lg, uint32_t level, const char *who, const char *msg)
{
    char *escaped = NULL;

    level = clamp_level(level);
    if (who == NULL)
        who = "host";
    if (lg == NULL || level > hg__logger_level_for(lg, who))
        return;
    if (msg == NULL)
        msg = "";
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

    if (lg == NULL || clamp_level(level) > hg__logger_level_for(lg, who ? who : "host"))
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    hg__log_msg(lg, level, who, buf);
}
