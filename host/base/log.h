/* log.h - the host's logger: levelled lines to stderr and to optional sinks (the Lua runner
 * captures a host's lines for log_like). One logger per host; thread-safe. */
#ifndef HG_LOG_H
#define HG_LOG_H

#include <stddef.h>
#include <stdint.h>

typedef struct hg__logger hg__logger;

/* Line formats (log.format). Fixed values: config.c stores them. */
enum { HG__LOG_FORMAT_TEXT = 0, HG__LOG_FORMAT_LOGFMT = 1, HG__LOG_FORMAT_JSON = 2 };

/* A sink gets every line that passes the level: the level, who ("host", an instance name) and
 * the message. Called with the logger's lock held: it must not log. */
typedef void (*hg__log_sink)(void *ud, uint32_t level, const char *who, const char *msg);

/* The process-wide default level: HANGAR_LOG (error|warn|info|debug|trace) or INFO, adjusted by
 * -v/-q on the command line (hg__log_set_default). */
uint32_t hg__log_default_level(void);
void hg__log_set_default(uint32_t level);
/* 1 when HANGAR_LOG, -v or -q chose the default level (it then wins over a config's log.level). */
int hg__log_default_explicit(void);
/* "info" -> HG_LOG_INFO; returns 0 when unknown. */
uint32_t hg__log_level_from_name(const char *name);
const char *hg__log_level_name(uint32_t level);

int hg__logger_new(uint32_t level, hg__logger **out);
void hg__logger_free(hg__logger *lg);
void hg__logger_set_level(hg__logger *lg, uint32_t level);
uint32_t hg__logger_level(const hg__logger *lg);
/* 0 on success. to_stderr: 0 to stop writing to stderr (the Lua runner shows lines as TAP notes). */
void hg__logger_set_stderr(hg__logger *lg, int to_stderr);
/* The line format: HG__LOG_FORMAT_*. [any-thread] */
void hg__logger_set_format(hg__logger *lg, uint32_t format);
/* Lines that went to stderr go to the file at path instead (appended, created mode 0640), kept
 * to reopen it (hg__logger_reopen). Returns 0, or an HG_E* code with err saying why (the
 * logger is unchanged). [any-thread] */
int hg__logger_set_file(hg__logger *lg, const char *path, char *err, size_t cap);
/* Opens the log file again by its path (logrotate moved it: SIGUSR1), then closes the old one.
 * Returns 0; HG_ENOENT when lines go to stderr; or an HG_E* code with err set, the old file
 * kept. [any-thread] */
int hg__logger_reopen(hg__logger *lg, char *err, size_t cap);
/* The level of lines from `who` (an instance name): its own (hg__logger_set_who_level) or the
 * logger's. [any-thread, never blocks] */
uint32_t hg__logger_level_for(hg__logger *lg, const char *who);
/* Sets who's own level; 0 removes it (who then follows the logger's level). Returns 0,
 * HG_EINVAL (a bad name or level), HG_ENOSPC (too many), HG_ENOMEM. [any-thread] */
int hg__logger_set_who_level(hg__logger *lg, const char *who, uint32_t level);
int hg__logger_add_sink(hg__logger *lg, hg__log_sink fn, void *ud);
void hg__log(hg__logger *lg, uint32_t level, const char *who, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void hg__log_msg(hg__logger *lg, uint32_t level, const char *who, const char *msg);

#endif
