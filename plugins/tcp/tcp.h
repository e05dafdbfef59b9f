/* tcp.h - what the files of the tcp plugin share: the engines' ops tables, config helpers and
 * the "server" scaffolding (listener, per-worker connection lists, graceful/now stop) that
 * tcp-echo, tcp-sink and tcp-proxy are built on. Internal to the plugin. */
#ifndef HG_TCP_H
#define HG_TCP_H

#include <stdint.h>

#include <hangar/pipeline.h>
#include <hangar/plugin.h>

#define TCP_BACKLOG 4096
#define TCP_ADDR_MAX 256

/* The engines (one file each). */
extern const hg_pipeline_ops hg__tcp_echo_ops;
extern const hg_pipeline_ops hg__tcp_gen_ops;
extern const hg_pipeline_ops hg__tcp_proxy_ops;
extern const hg_pipeline_ops hg__tcp_sink_ops;
extern const char *const hg__tcp_echo_keys[];
extern const char *const hg__tcp_gen_keys[];
extern const char *const hg__tcp_proxy_keys[];
extern const char *const hg__tcp_sink_keys[];

/* --- configuration helpers (cfg.c) --- */

/* Where an address may name a pipeline of this host too. */
enum { TCP_ADDR_LITERAL = 0, TCP_ADDR_OR_NAME = 1 };

/* Checks "HOST:PORT" ("[v6]:PORT") and writes why it is wrong into why. Returns 0 or HG_EINVAL. */
int hg__tcp_check_hostport(const char *s, char *why, uint32_t cap);
/* Reads the address under key (required: absence is an error). Checks it as HOST:PORT, or (with
 * TCP_ADDR_OR_NAME) as the name of a pipeline through host->resolve_address. *out is borrowed
 * until destroy. Returns 0, HG_ENOENT (absent and not required), HG_ECONFIG (recorded). */
int hg__tcp_cfg_address(const hg_host *h, const hg_config *cfg, const char *key, int required,
                        int how, const char **out);
/* An integer in [min, max] under key; *out keeps its default when absent. Returns 0 or
 * HG_ECONFIG (recorded). */
int hg__tcp_cfg_uint(const hg_host *h, const hg_config *cfg, const char *key, uint64_t min,
                     uint64_t max, uint64_t *out);
/* A size in [min, max]; a duration; a boolean. Same returns. */
int hg__tcp_cfg_size(const hg_host *h, const hg_config *cfg, const char *key, uint64_t min,
                     uint64_t max, uint64_t *out);
int hg__tcp_cfg_duration(const hg_host *h, const hg_config *cfg, const char *key, uint64_t *out);
int hg__tcp_cfg_bool(const hg_host *h, const hg_config *cfg, const char *key, uint8_t *out);
/* One of `choices` (NULL-terminated); *out gets its index + 1. Same returns. */
int hg__tcp_cfg_choice(const hg_host *h, const hg_config *cfg, const char *key,
                       const char *const *choices, uint32_t *out);
/* Resolves addr (a HOST:PORT or a pipeline name) at start time into buf and logs why not.
 * Returns 0 or an HG_E* code. */
int hg__tcp_resolve(const hg_host *h, const char *addr, char *buf, uint32_t cap);
/* --- file descriptors (fdlimit.c) --- */

/* What a host needs beside an engine's connections: its workers' loops, listeners, the control
 * socket, logs. */
#define TCP_FD_SPARE 64u

/* Makes room for `fds` more file descriptors (the connections under key): when the process's
 * soft RLIMIT_NOFILE is below what it holds now + fds + TCP_FD_SPARE, raises it to the hard
 * limit (logged at info); when even the hard limit is too low, records a config error naming
 * both limits. Returns 0 or HG_ECONFIG. [control-thread] */
int hg__tcp_fd_reserve(const hg_host *h, const hg_config *cfg, const char *key, uint64_t fds);

/* Writes a JSON reply: copies text into reply (cap bytes), sets *len. Returns 0 or HG_ENOSPC. */
int hg__tcp_reply(const char *text, uint32_t n, char *reply, uint32_t cap, uint32_t *len);

/* --- server scaffolding (srv.c) --- */

/* An item on a worker's list: one accepted connection (echo, sink) or pair (proxy). Embedded in
 * the engine's own connection struct. Touched only on its worker's thread. */
typedef struct tcp_item {
    struct tcp_item *prev, *next;
} tcp_item;

typedef struct tcp_srv tcp_srv;

/* One worker's list, on its own cache line. */
typedef struct tcp_wlist {
    tcp_item head;    /* sentinel */
    tcp_srv *srv;
} __attribute__((aligned(64))) tcp_wlist;

struct tcp_srv {
    const hg_host *host;
    const hg_net *net;
    hg_listener *listener;
    uint32_t n_workers;
    tcp_wlist *wl;
    uint64_t max_open;  /* 0: no limit */
    uint64_t n_open;    /* atomic: items not yet removed */
    uint32_t stopping;  /* atomic: 0, or the HG_STOP_* asked */
    uint32_t reported;  /* atomic: STOPPED was reported */
    /* Closes an item's connection(s) (how: HG_CLOSE_*). [engine-thread] */
    void (*close_item)(tcp_item *it, uint32_t how);
    /* Ends an item for a graceful stop: closes it when idle, lets a busy one finish first.
     * NULL: leave items to their clients. [engine-thread] */
    void (*end_item)(tcp_item *it);
};

/* Sets up the scaffolding for an instance; end_item may be NULL (see tcp_srv). */
void hg__tcp_srv_init(tcp_srv *s, const hg_host *host, void (*close_item)(tcp_item *, uint32_t),
                      void (*end_item)(tcp_item *));
/* Whether a stop was asked. [any-thread, never blocks] */
int hg__tcp_srv_stopping(const tcp_srv *s);
/* Listens on addr with handler/ud, publishes "address". Returns 0 or an HG_E* code (logged). */
int hg__tcp_srv_start(tcp_srv *s, const hg_net *net, const char *addr,
                      const hg_conn_handler *handler, void *ud);
/* Admits a new item on the calling worker; returns HG_EAGAIN when max_open is reached (the
 * caller refuses the connection). [engine-thread] */
int hg__tcp_srv_add(tcp_srv *s, tcp_item *it);
/* Removes an item (its connections are closed); reports STOPPED when the last one goes while
 * stopping. [engine-thread: the worker that added it] */
void hg__tcp_srv_remove(tcp_srv *s, tcp_item *it);
/* Stops: closes the listener; HG_STOP_NOW closes every item, HG_STOP_GRACEFUL ends each with
 * end_item on its worker. [control-thread] */
void hg__tcp_srv_stop(tcp_srv *s, uint32_t how);
/* Frees what start allocated. */
void hg__tcp_srv_free(tcp_srv *s);

/* The calling worker's index (0 when the runtime does not say). */
uint32_t hg__tcp_worker(const hg_net *net, uint32_t n_workers);

#endif
