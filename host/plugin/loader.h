/* loader.h - finds plugin shared objects on the search path, probes them in a child process
 * (so a plugin that crashes while loading is reported, not fatal), opens the ones a
 * configuration needs with dlopen(RTLD_NOW|RTLD_LOCAL) and checks every descriptor. */
#ifndef HG_LOADER_H
#define HG_LOADER_H

#include <stdint.h>

#include <hangar/plugin.h>

#include "diag.h"

/* What is known about one engine of one plugin file. */
typedef struct hg__engine_info {
    char *name;
    char *summary;
    uint32_t kind;            /* HG_KIND_* */
} hg__engine_info;

/* The result of probing one candidate file. */
typedef struct hg__probe {
    char *path;
    int status;               /* 0: loadable; else an HG_E* code and `error` says why */
    char *error;              /* "PATH: reason" when status != 0 */
    char *id, *version, *summary;
    uint16_t abi_major, abi_minor;
    hg__engine_info *engines;
    uint32_t n_engines;
} hg__probe;

typedef struct hg__probe_set {
    hg__probe *items;
    uint32_t n;
} hg__probe_set;

/* A plugin opened in this process. */
typedef struct hg__plugin {
    char *path;
    void *dl;                 /* dlopen handle */
    const hg_plugin *desc;    /* the exported descriptor, read by its struct_size */
    uint8_t inited;           /* init() was called */
    const hg_plugin *sym;     /* the exported symbol itself (the init/deinit refcount key) */
    hg_plugin copy;           /* what desc points to: the symbol's bytes up to its struct_size,
                               * the rest zero (a field the plugin lacks reads as its default) */
} hg__plugin;

/* A usable engine, with defaults filled for fields an older plugin lacks. */
typedef struct hg__engine_def {
    const char *name;
    uint32_t kind;
    const char *summary;
    const void *ops;
    const char *const *config_keys; /* NULL: not checked */
    hg__plugin *plugin;
} hg__engine_def;

typedef struct hg__registry hg__registry;

/* Builds the search path: each of cfg_dirs (already resolved), then $HANGAR_PLUGIN_PATH
 * (colon-separated), then the installed plugin directory. extra (e.g. `--path`) goes first.
 * *out is a NULL-terminated array of strings, freed with hg__strv_free. */
int hg__plugin_search_path(const char *const *extra, uint32_t n_extra,
                           const char *const *cfg_dirs, uint32_t n_cfg, char ***out);
void hg__strv_free(char **v);

/* Lists the candidate files (*.so, sorted, per directory in path order; a path entry that is a
 * file is itself a candidate; a directory hg__plugin_path_unsafe refuses is not read but is
 * itself a candidate, refused with the reason) and probes each in a child process. Refusals
 * (unsafe owner or mode, missing symbol,
 * wrong ABI major, struct_size too small, NULL ops, bad names, duplicate engine names across
 * files (the later file is refused), not a shared object, unreadable, crashed) are in the items'
 * status/error. Returns 0 or HG_ENOMEM. */
int hg__probe_path(char *const *search_path, hg__probe_set *out);
void hg__probe_set_free(hg__probe_set *set);
/* hg__probe_path with a bound on each file's load time in the child (hg__probe_path uses
 * HG__PROBE_TIMEOUT_MS); a file that takes longer is refused as timed out. */
#define HG__PROBE_TIMEOUT_MS 5000u
int hg__probe_path_timeout(char *const *search_path, uint32_t timeout_ms, hg__probe_set *out);
/* The candidate files of a search path, in probe order, deduplicated by realpath; directories
 * that do not exist are skipped. *out is NULL-terminated, freed with hg__strv_free. Returns 0 or
 * HG_ENOMEM. */
int hg__plugin_candidates(char *const *search_path, char ***out);

/* Whether the file or directory at path could be changed by someone other than its owner, so
 * that loading from it would run their code: refused when it (a symlink: its target), or the
 * directory holding a file (a symlink: the link's and the target's), is owned by neither root nor
 * the effective user, or is writable by others or by a group (a directory with the sticky bit
 * excepted, and a group that is the owner's own personal group, as umask 002 systems create).
 * Returns 1 with the reason ("writable by others (mode 0777); a plugin must be writable only by
 * its owner", "its directory D is ...") in why; 0 when safe or missing (opening then says so). */
int hg__plugin_path_unsafe(const char *path, char *why, size_t cap);
/* Checks a descriptor already dlsym'd (used by the probe child and by registry loads).
 * Appends "PATH: reason" lines to d. Returns 0, HG_EABI, HG_EINVAL. */
int hg__check_descriptor(const char *path, const hg_plugin *desc, hg__diag *d);
/* Opens one file with dlopen(RTLD_NOW|RTLD_LOCAL) (refusing what hg__plugin_path_unsafe refuses,
 * and what is not a regular file) and looks up HG_ENTRY_SYMBOL, without checking it. On error,
 * "PATH: reason" goes into d and *dl may still be open (dlclose it when non-NULL). Returns 0,
 * HG_EPERM (unsafe) or HG_ELOAD. */
int hg__open_plugin_file(const char *path, void **dl, const hg_plugin **sym, hg__diag *d);
/* Engine i of a descriptor that passed hg__check_descriptor, read by the engines' own
 * struct_size (the array stride), with the fields its ABI minor lacks defaulted (config_keys
 * NULL for a 1.0 engine). */
void hg__descriptor_engine(const hg_plugin *desc, uint32_t i, hg_engine *out);
/* "runtime_mode", "pipeline", "connector", "processor", or "unknown". */
const char *hg__kind_name(uint32_t kind);
/* 1 when name matches [a-z0-9_-]+. */
int hg__engine_name_valid(const char *name);

/* A registry of opened plugins. */
int hg__registry_new(hg__registry **out);
/* Opens (in this process) every probed file that provides one of the engines named in `needed`
 * (NULL-terminated), checks it again and registers its engines. Unknown engines are not an error
 * here (the caller reports them with their config position). Returns 0 or HG_ELOAD with the
 * reasons in d. */
int hg__registry_load_needed(hg__registry *r, const hg__probe_set *probes,
                             const char *const *needed, hg__diag *d);
/* Opens one file directly (tests). */
int hg__registry_load_file(hg__registry *r, const char *path, hg__diag *d);
/* The engine's definition, valid until hg__registry_free; NULL when no loaded plugin has it. */
const hg__engine_def *hg__registry_find(const hg__registry *r, const char *engine);
/* Every known engine name (for "did you mean"); NULL-terminated, borrowed. */
const char *const *hg__registry_names(const hg__registry *r);
/* Calls deinit for plugins whose last user this was, then dlclose. */
void hg__registry_free(hg__registry *r);

/* The directory plugins are installed into (<libdir>/hangar/plugins), set at build time. */
const char *hg__installed_plugin_dir(void);

#endif
