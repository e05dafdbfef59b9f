/* host_api.h - a hangar host: configuration, plugins, engine instances, the control hub thread that
 * owns them, and the command channel. Several hosts can live in one process (Lua scenarios);
 * none of them touches process-wide state: no signal handler, no crash report (the CLI
 * installs those: cli/run.c, cli/check.c, scenario/runner.c). */
#ifndef HG_HOST_API_H
#define HG_HOST_API_H

#include <stdint.h>

#include "config.h"
#include "diag.h"
#include "log.h"

typedef struct hg__host hg__host;

typedef struct hg__host_opts {
    hg__config_src src;          /* what to load */
    char *const *extra_plugin_path; /* searched first (`--path`); NULL-terminated; may be NULL */
    int32_t log_level;           /* 0: the config's (or the process default when higher) */
    int log_to_stderr;           /* 1: lines go to stderr too */
    hg__log_sink log_sink;       /* optional extra sink (Lua log capture) */
    void *log_sink_ud;
} hg__host_opts;

/* Loads the configuration and the plugins it names and creates every instance (engines
 * validate their config); starts nothing. Every error goes into d ("FILE:LINE:COL: msg").
 * Returns 0 and *out, HG_ECONFIG, HG_ELOAD, HG_ENOMEM. */
int hg__host_create(const hg__host_opts *opts, hg__diag *d, hg__host **out);
/* Starts the control hub, the runtime mode and every engine. Returns 0 or an HG_E* code (the
 * host is then stopped; the reason is logged). */
int hg__host_start(hg__host *h);
/* Sends one control command ("counters echo", "shutdown", ...) and waits (bounded) for the
 * reply, a JSON text in *reply (malloc'd; the caller frees). Returns 0 even for a command that
 * failed (the reply says {"ok":false,"error":...}); HG_ETIMEDOUT or HG_ECLOSED when the hub did
 * not answer. [any-thread but the hub's] */
int hg__host_command(hg__host *h, const char *text, char **reply);
/* The same with a JSON argument for `call NAME JSON`. */
int hg__host_call(hg__host *h, const char *name, const char *json_args, char **reply);
/* Graceful shutdown bounded by control.shutdown_timeout: stop accepting, drain, stop engines
 * in dependency order. Returns 0, or HG_ETIMEDOUT (the engines that did not stop are logged). */
int hg__host_shutdown(hg__host *h);
/* Adds the instances of part (a configuration of their own, e.g. loaded from another file) to
 * the host, created and, when the host runs, started in dependency order. The change is checked
 * whole first (a name that runs already, an engine this host has not loaded, an engine that
 * refuses its configuration, a reference cycle): on any error nothing is added and every error
 * goes into d. Takes part in every case (the host keeps it while its instances live). Returns
 * 0, HG_ECONFIG, HG_ETIMEDOUT. [any-thread but the host's own] */
int hg__host_add(hg__host *h, hg__config *part, hg__diag *d);
/* Stops the instance named name (gracefully within control.shutdown_timeout, then at once) and
 * removes it; *cut (may be NULL) gets the connections that cut. Returns 0, HG_ENOENT,
 * HG_ETIMEDOUT. [any-thread but the host's own] */
int hg__host_remove(hg__host *h, const char *name, uint32_t *cut);
/* Immediate stop. */
void hg__host_kill(hg__host *h);
/* Blocks until the host stops (after shutdown, kill, or every engine finished when
 * `until_done`) or timeout_ns passes. Returns 0 or HG_ETIMEDOUT. */
int hg__host_wait(hg__host *h, int until_done, uint64_t timeout_ns);
/* 1 once every finite engine (generators) has stopped and no other engine runs traffic. */
int hg__host_done(hg__host *h);
/* Shuts down if needed and frees everything. */
void hg__host_destroy(hg__host *h);
hg__logger *hg__host_logger(hg__host *h);
/* The configuration the host was created from (its host-wide settings hold for its life). */
const hg__config *hg__host_config(const hg__host *h);
/* The configuration the running instances came from last: the one of the last reload applied,
 * else hg__host_config's. Valid until the next reload; read it from another thread only once no
 * reload can run (the host stopped). */
const hg__config *hg__host_config_now(const hg__host *h);
/* Count of instances that failed. */
uint32_t hg__host_failed_count(hg__host *h);

#endif
