/* scenario.h - the Lua scenario runner's internal interface: the run context shared by the TAP
 * producer (tap.c), the host bindings (lua_host.c), the TCP peers (lua_tcp.c), the JSON bridge
 * (lua_json.c) and the driver (runner.c). Everything here runs on the scenario's main thread
 * unless a comment says otherwise. */
#ifndef HG_SCENARIO_H
#define HG_SCENARIO_H

#include <pthread.h>
#include <stdint.h>

#include <jansson.h>
#include <lua.h>

#include "scenario_cli.h"

/* ---- TAP (tap.c) ---- */

#define HG__TAP_MAX_DEPTH 16

typedef struct hg__tap_level {
    int n;          /* tests run at this level */
    int failed;     /* failures that count (TODO failures do not) */
    int planned;    /* -1: no plan yet */
    int done;       /* done_testing() seen */
    int plan_at_end; /* the plan was printed after the tests: a later result is only a comment */
} hg__tap_level;

typedef struct hg__tap {
    hg__tap_level lv[HG__TAP_MAX_DEPTH];
    int depth;      /* current level; output is indented by 4 spaces per level */
    int base;       /* the level of the run's top (1 inside a --repeat subtest) */
    int todo_left;  /* tests still TODO; -1: until todo_end() */
    char todo_why[256];
    int quiet;      /* -q: note() prints nothing */
} hg__tap;

/* Starts a TAP level at depth (0 for a plain run). */
void hg__tap_init(hg__tap *t, int depth, int quiet);
/* Prints one line at the current indentation. */
void hg__tap_printf(hg__tap *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints text as diagnostics, "# " before each of its lines. */
void hg__tap_diag(hg__tap *t, const char *text);
/* Records one test: prints `ok N - name` (with `# TODO` inside a todo block) and, when it
 * failed, Test::More's "Failed test 'name' at FILE line N." lines. file may be NULL. After a
 * trailing plan (done_testing) the line is printed as a comment, so the TAP stays valid while
 * the count no longer matches the plan. Returns ok. */
int hg__tap_result(hg__tap *t, int ok, const char *name, const char *file, int line);
/* Declares the plan of the current level; prints `1..n`. Returns 0 or HG_ESTATE (a plan was
 * already given). */
int hg__tap_plan(hg__tap *t, int n);
/* Ends the current level: prints the plan when none was given (a missing plan and no
 * done_testing is reported as a failed test first when require_plan). Returns 1 when every test
 * of the level passed and the plan matched. */
int hg__tap_finish(hg__tap *t, int require_plan);
/* Registers the Test::More-style globals (plan, ok, is, ... done_testing). */
void hg__tap_open(lua_State *L);

/* ---- the run (runner.c) ---- */

typedef struct hg__scn_host hg__scn_host;

/* How a script ended early: the payload of the error object hg__scn_abort raises. */
enum {
    HG__ABORT_NONE = 0,
    HG__ABORT_EXIT = 1,     /* os.exit(code) */
    HG__ABORT_BAIL = 2,     /* bail_out(why) */
    HG__ABORT_TIMEOUT = 3,  /* --timeout passed */
    HG__ABORT_SKIP_ALL = 4  /* plan("skip_all", why) */
};

/* The capped allocator of a run's Lua state (memcap.c). Only the scenario's thread allocates
 * through it: the Lua state is never used from another thread. */
typedef struct hg__scn_mem {
    size_t limit;          /* bytes; 0: no limit */
    size_t used, peak;     /* what Lua has allocated now, and at most */
    size_t refused;        /* the request that set hit, until the next request; 0: none */
    const void *refused_ptr;
    int hit;               /* a request was refused (and not taken back by a retry) */
    size_t hit_size, hit_used;
    lua_Alloc orig;        /* the allocator luaL_newstate chose, which does the work */
    void *orig_ud;
} hg__scn_mem;

typedef struct hg__scn {
    hg__tap tap;
    hg__scn_host **hosts;   /* every host the run started; owned */
    uint32_t n_hosts, cap_hosts;
    int verbose;            /* -v: host log lines go to stderr too */
    uint64_t timeout_ns;
    char timeout_text[32];  /* as the user wrote it, for the diagnostic */
    uint64_t start_ns;      /* when the script started (the watchdog's clock) */
    uint64_t abort_ns;      /* when the first abort was raised */
    hg__scn_mem mem;
    char memory_text[32];   /* --memory as the user wrote it */
    const char *script;
    char script_dir[4096];  /* the script's directory, absolute when it can be resolved */
    int abort_kind;         /* HG__ABORT_*: the first abort raised; sticky (raised again) */
    lua_Integer exit_code;  /* os.exit's code */
    int ended_early;        /* a Lua error or the timeout ended the script */
    int overrun_reported, memory_reported; /* the end checks ran their test */
} hg__scn;

/* The run a Lua state belongs to. */
hg__scn *hg__scn_get(lua_State *L);
/* Records the abort that ends the script (kind HG__ABORT_*; the first one raised is the one
 * that counts) and raises the error object that carries it. pcall cannot keep it: the wrappers
 * raise it again, and so does every later hg__scn_check, should a script get hold of the raw
 * pcall. Does not return. */
int hg__scn_abort(lua_State *L, int kind, lua_Integer code);
/* 1 when the value at idx is such an object; *kind gets the run's abort kind. */
int hg__scn_is_abort(lua_State *L, int idx, int *kind);
/* Raises the run's abort again when one was raised, and the timeout abort when the --timeout
 * passed; blocking calls call it between slices, the count hook and every test function too. */
void hg__scn_check(lua_State *L);
/* Sleeps ns in slices, raising the timeout abort when the --timeout passes meanwhile. */
void hg__scn_sleep(lua_State *L, uint64_t ns);
/* Where the Lua code `level` frames up is: its short source into file, its line. */
void hg__scn_where(lua_State *L, int level, char *file, size_t len, int *line);
/* A duration argument: a number of seconds or a string with units ("10ms"); def_ns when the
 * argument is absent or nil. Raises a Lua error when it does not parse. */
uint64_t hg__scn_duration(lua_State *L, int idx, uint64_t def_ns);
/* CLOCK_MONOTONIC in ns. */
uint64_t hg__scn_now_ns(void);
/* Names the running C function as the scenario API spells it ("hangar.sleep",
 * "hangar.tcp.connect", "h:counters"), else as Lua knows it, else "?". *method: called with `:`. */
const char *hg__scn_fname(lua_State *L, int *method);
/* Records every function of the table at idx under prefix..key for hg__scn_fname. */
void hg__scn_name_funcs(lua_State *L, int idx, const char *prefix);
/* Raises "bad argument #arg to 'hangar.sleep' (msg)" (luaL_argerror with hg__scn_fname's name).
 * Does not return. */
int hg__scn_argerror(lua_State *L, int arg, const char *msg);
/* Argument checks raising through hg__scn_argerror ("string expected, got nil"). */
const char *hg__scn_checklstring(lua_State *L, int arg, size_t *len);
lua_Integer hg__scn_checkinteger(lua_State *L, int arg);
void hg__scn_checktype(lua_State *L, int arg, int type);
void hg__scn_checkany(lua_State *L, int arg);
void *hg__scn_checkudata(lua_State *L, int arg, const char *tname);
/* A path the script wrote: relative ones resolve against the script's directory. Pushes it. */
const char *hg__scn_push_path(lua_State *L, const char *path);
/* lua_pcall with a traceback handler: the function and its nargs arguments on the stack.
 * Returns LUA_OK with nres results on the stack, or an error status with the message (and its
 * traceback) on the stack; an abort object (timeout, os.exit, bail_out) is raised again. */
int hg__scn_pcall(lua_State *L, int nargs, int nres);

/* ---- the watchdog (watchdog.c) ---- */

typedef struct hg__scn_watchdog {
    pthread_t thr;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    uint64_t start_ns, timeout_ns;
    const char *text;       /* the timeout as the user wrote it */
} hg__scn_watchdog;

/* Starts the watchdog of one run: at start_ns + timeout_ns it sets the interrupted flag (the
 * count hook and hg__scn_check turn it into the timeout abort). When the scenario's thread then
 * stays in Lua for 1.5 s (a C function such as string.rep, which no hook interrupts), or the run
 * does not wind down within 10 s (a host call or shutdown stuck in a plugin), it prints a TAP
 * `Bail out!` and ends the process with status 1. Returns 0 or HG_ENOMEM. [scenario thread] */
int hg__scn_watchdog_start(hg__scn_watchdog *w, uint64_t start_ns, uint64_t timeout_ns,
                           const char *text);
/* Stops and joins the watchdog; clears the interrupted flag. [scenario thread] */
void hg__scn_watchdog_stop(hg__scn_watchdog *w);
/* 1 once the --timeout passed. [any-thread] */
int hg__scn_interrupted(void);
/* Brackets a call into a host (start, command, shutdown, kill, destroy): a stuck plugin there is
 * given the watchdog's 10 s to wind down, not the 1.5 s of code the hook cannot interrupt.
 * [scenario thread] */
void hg__scn_host_enter(void);
void hg__scn_host_leave(void);
/* The script returned: the run is winding down (hosts stop within their own bounds).
 * [scenario thread] */
void hg__scn_winding(void);
/* The end-of-run checks, each reported once as a failed test: the run took longer than its
 * --timeout (the time went to a call the hook could not interrupt) and the script reached its
 * --memory limit. After a plan printed at the end, the failure is a comment and a `Bail out!`
 * line follows, so that the TAP itself fails. Called by done_testing() before its plan and at
 * the end of the run. */
void hg__scn_end_checks(hg__scn *s);

/* ---- the memory cap (memcap.c) ---- */

/* Puts the capped allocator (limit bytes, 0: none) in front of L's own; m must outlive L
 * (lua_close frees through it). Lua sees a refused allocation as "not enough memory", after an
 * emergency collection. [scenario thread] */
void hg__scn_mem_install(lua_State *L, hg__scn_mem *m, size_t limit);
/* Bytes in a short human form ("1.5 GiB", "640 KiB", "12 B"). */
void hg__scn_fmt_size(size_t bytes, char *buf, size_t len);

/* ---- the host bindings (lua_host.c) and their log capture (lua_log.c) ---- */

typedef struct hg__scn_log_line {
    uint32_t level;
    uint8_t seen; /* a log_like matched it */
    char *text;   /* "[level] who: msg"; owned */
} hg__scn_log_line;

/* One host the run started. Owned by the run (hg__scn.hosts); freed after lua_close. */
struct hg__scn_host {
    struct hg__host *h;   /* NULL once destroyed */
    char label[160];      /* the config file, "<inline>" or "<default>" */
    int started, stopped, expect_errors;
    int logs_checked;     /* the end-of-run log check ran (done_testing or the end) */
    pthread_mutex_t mu;   /* guards lines: the sink runs on host threads */
    hg__scn_log_line *lines;
    uint32_t n_lines, cap_lines, dropped;
    char **expected;      /* expect_error_log patterns; owned */
    uint32_t n_expected;
};

/* The host handle at stack index 1; raises when it is not one, or (open) when closed. */
hg__scn_host *hg__lua_host_arg(lua_State *L, int open);
/* The host's log sink (hg__host_opts.log_sink; ud is the hg__scn_host). [any-thread] */
void hg__scn_log_sink(void *ud, uint32_t level, const char *who, const char *msg);
/* Pushes the host's warn and error lines so far, each on its own indented line. */
void hg__scn_log_push_errors(lua_State *L, hg__scn_host *sh);
/* Frees the captured lines and expected patterns. */
void hg__scn_log_free(hg__scn_host *sh);
/* Adds log, logged, log_like, no_log_like, expect_error_log to the method table on top. */
void hg__lua_log_methods(lua_State *L);

/* Registers the global `hangar` table (start, check, sleep, now, tcp, json, null, ...). */
void hg__lua_host_open(lua_State *L);
/* Stops every host the run started (kill when the run timed out, graceful shutdown otherwise,
 * with a TAP diagnostic naming the engines that overran control.shutdown_timeout), then frees
 * them; their log lines stay for hg__lua_hosts_check_logs. */
void hg__lua_hosts_stop(lua_State *L, hg__scn *s, int kill);
/* Reports every unexpected error-level log line of every host not checked yet as a failed
 * test. */
void hg__lua_hosts_check_logs(lua_State *L, hg__scn *s);
/* Frees the run's host records (after lua_close). */
void hg__lua_hosts_free(hg__scn *s);

/* ---- TCP peers (lua_tcp.c) and JSON (lua_json.c) ---- */

/* Pushes the `hangar.tcp` table. */
void hg__lua_tcp_push(lua_State *L);
/* Closes every TCP peer (connection or listener) the script still holds. */
void hg__lua_tcp_close_all(lua_State *L);
/* json_dumps with the fewest digits that read back as the same doubles (0.397411, not
 * 0.39741100000000001). */
char *hg__lua_json_dumps(const json_t *j, size_t flags);
/* Pushes the `hangar.json` table (encode, decode). */
void hg__lua_json_push(lua_State *L);
/* Pushes the sentinel `hangar.null` (JSON null). */
void hg__lua_push_null(lua_State *L);
/* Pushes j as a Lua value: objects and arrays as tables, null as hangar.null. */
void hg__lua_push_json(lua_State *L, const json_t *j);
/* Converts the Lua value at idx to JSON; raises a Lua error on a value JSON cannot hold. */
json_t *hg__lua_to_json(lua_State *L, int idx);

#endif
