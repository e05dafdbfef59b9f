/* plugin.h - the entry point of every hangar plugin: ABI version, the exported descriptor
 * and the engine descriptors it lists. A plugin defines exactly one exported symbol:
 *
 *     HG_EXPORT const hg_plugin hangar_plugin = { HG_PLUGIN_INIT, ... };
 *
 * Rules (see the SDK guide): every struct starts with struct_size and is append-only; readers
 * check HG_HAS_FIELD before reading a field added after 1.0; enums have fixed values. */
#ifndef HANGAR_PLUGIN_H
#define HANGAR_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI this header describes. A host refuses a plugin of another major; a host of a newer
 * minor loads a plugin of an older minor (fields the plugin lacks take their documented default).
 * A minor is bumped only when a struct's layout grows.
 *   1.0  hg_plugin, hg_engine (struct_size .. ops), the hg_host table, the four kinds' ops.
 *   1.1  hg_engine.config_keys (lets the host reject an engine's unknown keys before create).
 *   1.2  hg_stream_api.buf_unref (a stream can drop a frame emit refused or an action it took).
 *
 * Structs the host (or a runtime mode) writes into for a caller (hg_conn_record through
 * conn_info, hg_frame through pop, next_action and buf_alloc): the caller sets struct_size to
 * the size it has, and the writer writes no byte past it, only the whole fields that fit, and
 * sets struct_size to the bytes it wrote. */
#define HG_ABI_MAJOR 1
#define HG_ABI_MINOR 3

/* The name of the one symbol the host looks up with dlsym. */
#define HG_ENTRY_SYMBOL "hangar_plugin"

#if defined(_WIN32)
#define HG_EXPORT __declspec(dllexport)
#else
#define HG_EXPORT __attribute__((visibility("default")))
#endif

/* True when the struct at p (whose first member is struct_size) is large enough to hold field f
 * of type T. Read a field added after 1.0 only when this is true. */
#define HG_HAS_FIELD(p, T, f) \
    ((p)->struct_size >= offsetof(T, f) + sizeof(((T *)0)->f))

/* Engine kinds. Fixed values; new kinds are appended. */
enum {
    HG_KIND_RUNTIME_MODE = 1, /* ops: const hg_runtime_mode_ops * (runtime_mode.h) */
    HG_KIND_PIPELINE = 2,     /* ops: const hg_pipeline_ops *     (pipeline.h)     */
    HG_KIND_CONNECTOR = 3,    /* ops: const hg_connector_ops *    (connector.h)    */
    HG_KIND_PROCESSOR = 4     /* ops: const hg_processor_ops *    (processor.h)    */
};

/* Lifecycle states, shared by processors, pipelines, connectors and streams. Fixed values. */
enum {
    HG_STATE_CREATED = 1,
    HG_STATE_READY = 2,
    HG_STATE_RUNNING = 3,
    HG_STATE_PAUSED = 4,
    HG_STATE_STOPPING = 5,
    HG_STATE_STOPPED = 6,
    HG_STATE_FAILED = 7
};

/* Log levels. Fixed values. */
enum {
    HG_LOG_ERROR = 1,
    HG_LOG_WARN = 2,
    HG_LOG_INFO = 3,
    HG_LOG_DEBUG = 4,
    HG_LOG_TRACE = 5
};

/* One engine a plugin provides. Static data: lives as long as the shared object is loaded. */
typedef struct hg_engine {
    uint32_t struct_size; /* sizeof(hg_engine) at the plugin's build time */
    uint32_t kind;        /* HG_KIND_* */
    /* The name a configuration uses ("tcp-echo"): [a-z0-9_-]+, unique across all loaded
     * plugins. Borrowed; static. */
    const char *name;
    /* One line for `hangar plugins`. Borrowed; static; may be NULL. */
    const char *summary;
    /* The kind's ops table (e.g. const hg_pipeline_ops *). Borrowed; static; never NULL. */
    const void *ops;
    /* --- ABI 1.1 --- */
    /* NULL-terminated list of the configuration keys this engine accepts besides the ones the
     * host owns for its kind (name, engine, ...). The host reports any other key with a
     * "did you mean" before create is called, and still calls create, so the engine's own
     * errors are reported in the same run (the host is not started). NULL (or absent, in a
     * 1.0 plugin): the host does not check the engine's keys. Borrowed; static. */
    const char *const *config_keys;
} hg_engine;

/* The size of hg_engine in ABI 1.0, the smallest the host accepts. */
#define HG_ENGINE_SIZE_1_0 (offsetof(hg_engine, ops) + sizeof(const void *))

/* The descriptor a plugin exports as `hangar_plugin`. Static data. */
typedef struct hg_plugin {
    uint32_t struct_size; /* sizeof(hg_plugin) at the plugin's build time */
    uint16_t abi_major;   /* HG_ABI_MAJOR at the plugin's build time */
    uint16_t abi_minor;   /* HG_ABI_MINOR at the plugin's build time */
    /* Reverse-DNS id, unique ("org.hangar.tcp"). Borrowed; static. */
    const char *id;
    /* The plugin's own version (semver). Borrowed; static. */
    const char *version;
    /* One line for `hangar plugins`. Borrowed; static; may be NULL. */
    const char *summary;
    uint32_t n_engines;
    /* n_engines descriptors. Borrowed; static; each read by its own struct_size. */
    const hg_engine *engines;
    /* Optional process-wide set-up, called once before any engine of this plugin is created
     * (reference-counted across hosts in one process: only the first host's load calls it).
     * Returns 0 or a negative HG_E* code, which refuses the plugin. [control-thread] */
    int (*init)(void);
    /* Optional process-wide tear-down, called once after the last instance of the last host
     * that loaded this plugin is destroyed. Not called when init failed. [control-thread] */
    void (*deinit)(void);
} hg_plugin;

/* The size of hg_plugin in ABI 1.0. */
#define HG_PLUGIN_SIZE_1_0 sizeof(hg_plugin)

/* Initialises the first three members of a plugin descriptor. */
#define HG_PLUGIN_INIT sizeof(hg_plugin), HG_ABI_MAJOR, HG_ABI_MINOR

#ifdef __cplusplus
}
#endif

#endif /* HANGAR_PLUGIN_H */
