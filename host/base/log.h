/* log.h - the host's logger: levelled lines to stderr and to optional sinks (the Lua runner
 * captures a host's lines for log_like). One logger per host; thread-safe. */
#ifndef HG_LOG_H
#define HG_LOG_H

#include <stdint.h>

typedef struct hg__logger hg__logger;

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
int hg__logger_add_sink(hg__logger *lg, hg__log_sink fn, void *ud);
void hg__log(hg__logger *lg, uint32_t level, const char *who, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void hg__log_msg(hg__logger *lg, uint32_t level, const char *who, const char *msg);

#endif
