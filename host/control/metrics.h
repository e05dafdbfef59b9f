/* metrics.h - the Prometheus text exposition of a host (metrics.c), served by the `metrics` verb
 * and by the HTTP endpoint of control.metrics (metrics_http.c). */
#ifndef HG_METRICS_H
#define HG_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "entry.h"
#include "host_api.h"

/* What one exposition reads: the entries (runtime mode included) with the JSON object `counters`
 * shows for each (borrowed), and the host's own figures. */
typedef struct hg__metrics_src {
    hg__entry **entries;
    void **objs;          /* json_t *, one per entry */
    uint32_t n;
    uint64_t uptime_ns;
    uint32_t instances, failed, cut;
    void *graph;          /* json_t *: the `graph` reply (processors, links), or NULL */
} hg__metrics_src;

/* The exposition text (malloc'd; the caller frees), or NULL when out of memory. Reads the
 * instances' counters and histograms under their own locks. [hub thread] */
char *hg__metrics_text(const hg__metrics_src *src);

typedef struct hg__metrics_http hg__metrics_http;

/* Serves control.metrics (HOST:PORT) on libmicrohttpd's own thread: GET /metrics (the `metrics`
 * verb's text, read on that thread as the hub reads `counters`), /healthz (200 while the hub
 * answers) and
 * /readyz (200 while the host runs: started, not stopping). On failure err says why (the port
 * taken names it). Returns 0 and *out, HG_EADDRINUSE, HG_EINVAL, HG_EIO. [any-thread] */
int hg__metrics_http_open(hg__host *h, const char *addr, hg__metrics_http **out, char *err,
                          size_t cap);
/* The port it listens on (the one the system chose for port 0). */
unsigned hg__metrics_http_port(const hg__metrics_http *m);
/* Stops serving: closes the listener and every connection, joins the thread. NULL is fine. */
void hg__metrics_http_close(hg__metrics_http *m);
/* Whether HOST:PORT can be listened on now (a trial bind, closed at once): 0, or
 * HG_EADDRINUSE / HG_EINVAL / HG_EIO with err saying why. Port 0 always can. [any-thread] */
int hg__metrics_addr_probe(const char *addr, char *err, size_t cap);

/* host_ops.c: the operations side of a host. */
struct json_t;
/* The `counters` object of one entry (commands.c). [hub thread, list_mu held] */
struct json_t *hg__entry_json(hg__host *h, hg__entry *e);
/* The exposition of the host now (malloc'd; NULL when out of memory): each entry read as
 * `counters` reads it, under list_mu, so that none is removed meanwhile. Used by the verb and
 * by the HTTP thread, which so never waits for the hub. [any-thread] */
char *hg__ops_metrics_text(hg__host *h);
/* The `metrics` verb: {"ok":true,"text":EXPOSITION}. [hub thread] */
struct json_t *hg__ops_metrics(hg__host *h, const char *arg);
/* The `log-level [NAME] LEVEL` verb: the host's level, or one instance's (NAME); LEVEL `default`
 * gives NAME the host's level again. [hub thread] */
struct json_t *hg__ops_log_level(hg__host *h, const char *arg);
/* At create: log.format, log.file (an error into d at the key's position when it cannot be
 * opened) and log.engines. Returns 0 or HG_ECONFIG. [the creating thread] */
int hg__host_ops_setup(hg__host *h, hg__diag *d);
/* At start: serves control.metrics when configured. Returns 0 or the error (logged, naming the
 * address and why). [the starting thread] */
int hg__host_ops_start(hg__host *h);
/* Adds "metrics_address" (HOST:PORT, the port the system chose for 0) to the host's `counters`
 * object while the endpoint serves. [hub thread] */
void hg__host_ops_show(hg__host *h, struct json_t *host_obj);
/* At destroy: stops serving. */
void hg__host_ops_stop(hg__host *h);

#endif
