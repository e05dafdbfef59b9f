/* config.h - the host's configuration: the YAML schema of CONFIG.md checked key by key, `--set`
 * overrides, and the built-in default. Engine-specific keys are checked later by the engines
 * themselves through the hg_config view (and by hg_engine.config_keys). */
#ifndef HG_CONFIG_H
#define HG_CONFIG_H

#include <stdint.h>
#include <sys/socket.h>

#include "cfgtree.h"
#include "diag.h"

/* The longest control socket path: sun_path (108) less the NUL and a temporary suffix. */
#define HG__CTL_PATH_MAX 100

/* Sections an engine instance can be declared in. */
enum { HG__SEC_PIPELINE = 1, HG__SEC_CONNECTOR = 2, HG__SEC_PROCESSOR = 3 };

/* Core policies of a stream's `core:` beyond the SDK's HG_CORE_ANY / HG_CORE_AUTO. */
enum {
    HG__CORE_LEAST_LOADED = -10, /* the allowed core with the fewest stream threads */
    HG__CORE_ROUND_ROBIN = -11   /* the next of the stream's `core: [list]` */
};

typedef struct hg__stream_cfg {
    char *name;
    const hg__node *node;      /* the stream's map */
    uint32_t max_pending_events;
    uint32_t policy;           /* HG_POLICY_* */
    int32_t core;              /* >= 0, HG_CORE_ANY, HG_CORE_AUTO, HG__CORE_LEAST_LOADED or
                                  HG__CORE_ROUND_ROBIN over cores[] */
    int32_t *cores;            /* `core: [list]`: the round-robin list */
    uint32_t n_cores;
    uint32_t max_pending_actions; /* default 1024 */
    uint8_t healthy_at_start;  /* `healthy_at_start:` (default 0) */
} hg__stream_cfg;

typedef struct hg__instance_cfg {
    char *name;
    char *engine;              /* the engine name it asks for */
    uint32_t section;          /* HG__SEC_* */
    const hg__node *node;      /* the whole item map (host keys included) */
    const hg__node *engine_node; /* the `engine:` value node, for positions */
    uint8_t records;           /* pipelines: `records: true` */
    uint32_t records_max;      /* pipelines: `records_max:` ring size (default 4096) */
    int32_t core;              /* `core:` (>= 0, HG_CORE_ANY; default HG_CORE_AUTO) */
    hg__stream_cfg *streams;   /* connectors */
    uint32_t n_streams;
} hg__instance_cfg;

typedef struct hg__link_cfg {
    char *from_node, *from_port; /* "src.out" split */
    char *to_node, *to_port;
    uint32_t capacity;           /* default 1024 */
    uint32_t policy;             /* HG_POLICY_*; default BLOCK */
    const hg__node *node;
} hg__link_cfg;

/* Host-owned keys of an instance item, per section (engines must not reuse them). */
extern const char *const hg__pipeline_host_keys[];
extern const char *const hg__connector_host_keys[];
extern const char *const hg__processor_host_keys[];
/* Host-owned keys of a connector's stream item; the rest are the connector engine's. */
extern const char *const hg__stream_host_keys[];

typedef struct hg__config {
    hg__doc *doc;               /* owns every node */
    char *file;                 /* path as given, or "<default>" / "<inline>" */
    char *dir;                  /* directory relative paths resolve against */
    char **plugin_path;         /* resolved against dir; n_plugin_path entries */
    uint32_t n_plugin_path;
    uint32_t log_level;         /* HG_LOG_*; default INFO */
    char *runtime_mode;         /* default "uv" */
    uint32_t workers;           /* default 2 */
    int32_t *cores;             /* n_cores */
    uint32_t n_cores;
    const hg__node *runtime_node; /* the `runtime:` map, or NULL */
    char *control_socket;       /* NULL: none; resolved against dir */
    char *metrics_addr;         /* control.metrics HOST:PORT; NULL: not served */
    const hg__node *metrics_node; /* its value node, for positions */
    uint32_t log_format;        /* HG__LOG_FORMAT_* (log.h); default text */
    char *log_file;             /* log.file resolved against dir; NULL: stderr */
    char **log_engine_names;    /* log.engines: an instance name and its level each */
    uint32_t *log_engine_levels;
    uint32_t n_log_engines;
    uint64_t shutdown_timeout_ns; /* default 5 s */
    hg__instance_cfg *instances;  /* pipelines, then connectors, then processors, in file order */
    uint32_t n_instances;
    hg__link_cfg *links;
    uint32_t n_links;
    hg__doc **set_docs;         /* the parsed --set values' documents (own their names) */
    uint32_t n_set_docs;
} hg__config;

/* One `--set path=value` override: path segments separated by '.', a sequence item named by its
 * `name:` (pipelines.echo.listen) or its index (graph.links.0.capacity); value parsed as YAML. */
typedef struct hg__config_src {
    const char *path;           /* a file, or NULL */
    const char *yaml;           /* inline YAML when path is NULL; NULL too: the built-in default */
    const char *const *sets;    /* "path=value" strings */
    uint32_t n_sets;
    hg__cfg_limits limits;
    const char *dir;            /* inline YAML: the directory its relative paths resolve against
                                 * (a scenario's own directory); NULL: the working directory */
} hg__config_src;

/* Loads, applies the --set overrides and checks the whole schema. Every error goes into d;
 * returns 0 (and *out), HG_ECONFIG (nothing allocated), HG_ENOMEM. */
int hg__config_load(const hg__config_src *src, hg__config **out, hg__diag *d);
/* The same, but when only the schema is wrong (the YAML read cleanly and every --set applied)
 * it returns HG_ECONFIG with *out set to what was understood, so that a check can go on with the
 * engines of the well-formed instances and report every error of the file in one run. */
int hg__config_load_partial(const hg__config_src *src, hg__config **out, hg__diag *d);
void hg__config_free(hg__config *cfg);
/* The instance named name, or NULL. */
const hg__instance_cfg *hg__config_find(const hg__config *cfg, const char *name);

/* Reads a control.metrics address: IPv4 "A.B.C.D:PORT", "[IPv6]:PORT" or "localhost:PORT"
 * (127.0.0.1), PORT 0..65535. Returns 0 with *ss and *len set, or -1. [any-thread] */
int hg__metrics_parse_addr(const char *text, struct sockaddr_storage *ss, socklen_t *len);
/* The port of an AF_INET or AF_INET6 address. */
unsigned hg__sockaddr_port(const struct sockaddr_storage *ss);

/* The built-in default configuration (echo + generator; later a small graph). */
extern const char hg__default_config_yaml[];

/* "did you mean": the candidate closest to word (edit distance <= max(2, len/3)), or NULL. */
const char *hg__did_you_mean(const char *word, const char *const *candidates, uint32_t n);

#endif
