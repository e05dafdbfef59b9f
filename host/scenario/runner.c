/* runner.c - `hangar scenario`: loads a Lua 5.4 script, runs it under a watchdog (watchdog.c) and
 * a memory cap (memcap.c), turns every way it can end (tests, syntax or runtime errors, os.exit,
 * bail_out, timeout, memory) into well-formed TAP, and stops every host it started. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>

#include <hangar/status.h>

#include "clock.h"
#include "crash.h"
#include "log.h"
#include "scenario.h"
#include "units.h"

#define ABORT_MT "hangar.abort"
#define DEFAULT_MEMORY (1ull << 30)

static const char ctx_key = 'S';
static const char names_key = 'N'; /* registry: function -> "hangar.sleep" */
static const char abort_key = 'A'; /* registry: the abort object, made before the script runs */

/* ---- helpers the other files use ---- */

hg__scn *hg__scn_get(lua_State *L)
{
    hg__scn *s;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &ctx_key);
    s = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return s;
}

int hg__scn_abort(lua_State *L, int kind, lua_Integer code)
{
    hg__scn *s = hg__scn_get(L);
    if (s->abort_kind == HG__ABORT_NONE) {
        s->abort_kind = kind;
        s->exit_code = code;
        s->abort_ns = hg__scn_now_ns();
    }
    /* made in advance: raising it allocates nothing, even at the memory limit */
    lua_rawgetp(L, LUA_REGISTRYINDEX, &abort_key);
    return lua_error(L);
}

int hg__scn_is_abort(lua_State *L, int idx, int *kind)
{
    int is = luaL_testudata(L, idx, ABORT_MT) != NULL;
    if (is && kind)
        *kind = hg__scn_get(L)->abort_kind;
    return is;
}

void hg__scn_check(lua_State *L)
{
    hg__scn *s = hg__scn_get(L);
    if (s->abort_kind != HG__ABORT_NONE)
        hg__scn_abort(L, s->abort_kind, s->exit_code);
    if (hg__scn_interrupted())
        hg__scn_abort(L, HG__ABORT_TIMEOUT, 0);
}

uint64_t hg__scn_now_ns(void)
{
    return hg__now_ns();
}

void hg__scn_sleep(lua_State *L, uint64_t ns)
{
    uint64_t end = hg__scn_now_ns() + ns;
    for (;;) {
        uint64_t now = hg__scn_now_ns(), step;
        hg__scn_check(L);
        if (now >= end)
            return;
        step = end - now < 20000000ull ? end - now : 20000000ull;
        struct timespec ts = {(time_t)(step / 1000000000ull), (long)(step % 1000000000ull)};
        nanosleep(&ts, NULL);
    }
}

void hg__scn_where(lua_State *L, int level, char *file, size_t len, int *line)
{
    lua_Debug ar;
    snprintf(file, len, "?");
    *line = 0;
    /* Skip C frames (a check called through pcall) to the nearest Lua code. */
    for (; lua_getstack(L, level, &ar); level++) {
        lua_getinfo(L, "Sl", &ar);
        if (ar.currentline > 0) {
            snprintf(file, len, "%s", ar.short_src);
            *line = ar.currentline;
            return;
        }
    }
}

uint64_t hg__scn_duration(lua_State *L, int idx, uint64_t def_ns)
{
    uint64_t ns;
    if (lua_isnoneornil(L, idx))
        return def_ns;
    if (lua_type(L, idx) == LUA_TNUMBER) {
        lua_Number n = lua_tonumber(L, idx);
        if (!(n >= 0 && n < 1e9))
            hg__scn_argerror(L, idx, "a duration is a number of seconds >= 0");
        return (uint64_t)(n * 1e9);
    }
    if (hg__parse_duration(hg__scn_checklstring(L, idx, NULL), &ns) < 0)
        hg__scn_argerror(L, idx, "not a duration (\"10ms\", \"2s\" or seconds)");
    return ns;
}

/* ---- argument errors that name the function ---- */

const char *hg__scn_fname(lua_State *L, int *method)
{
    lua_Debug ar;
    const char *name;
    *method = 0;
    if (!lua_getstack(L, 0, &ar))
        return "?";
    lua_getinfo(L, "nf", &ar);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &names_key);
    if (lua_type(L, -1) == LUA_TTABLE) {
        lua_pushvalue(L, -2);
        lua_rawget(L, -2);
    } else {
        lua_pushnil(L);
    }
    name = lua_tostring(L, -1); /* anchored by the names table */
    lua_pop(L, 3);
    *method = ar.namewhat && strcmp(ar.namewhat, "method") == 0;
    if (name)
        return name;
    return ar.name ? ar.name : "?";
}

void hg__scn_name_funcs(lua_State *L, int idx, const char *prefix)
{
    idx = lua_absindex(L, idx);
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &names_key) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_rawsetp(L, LUA_REGISTRYINDEX, &names_key);
    }
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -1) == LUA_TFUNCTION && lua_type(L, -2) == LUA_TSTRING) {
            lua_pushvalue(L, -1);
            lua_pushfstring(L, "%s%s", prefix, lua_tostring(L, -3));
            lua_rawset(L, -5);
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

int hg__scn_argerror(lua_State *L, int arg, const char *msg)
{
    int method;
    const char *name = hg__scn_fname(L, &method);
    if (method && --arg == 0)
        return luaL_error(L, "calling '%s' on bad self (%s)", name, msg);
    return luaL_error(L, "bad argument #%d to '%s' (%s)", arg, name, msg);
}

static int type_error(lua_State *L, int arg, const char *expected)
{
    const char *msg = lua_pushfstring(L, "%s expected, got %s", expected,
                                      lua_isnone(L, arg) ? "no value" : luaL_typename(L, arg));
    return hg__scn_argerror(L, arg, msg);
}

const char *hg__scn_checklstring(lua_State *L, int arg, size_t *len)
{
    const char *s = lua_tolstring(L, arg, len);
    if (!s)
        type_error(L, arg, lua_typename(L, LUA_TSTRING));
    return s;
}

lua_Integer hg__scn_checkinteger(lua_State *L, int arg)
{
    int isnum = 0;
    lua_Integer n = lua_tointegerx(L, arg, &isnum);
    if (!isnum && lua_isnumber(L, arg))
        hg__scn_argerror(L, arg, "number has no integer representation");
    if (!isnum)
        type_error(L, arg, lua_typename(L, LUA_TNUMBER));
    return n;
}

void hg__scn_checktype(lua_State *L, int arg, int type)
{
    if (lua_type(L, arg) != type)
        type_error(L, arg, lua_typename(L, type));
}

void hg__scn_checkany(lua_State *L, int arg)
{
    if (lua_isnone(L, arg))
        hg__scn_argerror(L, arg, "value expected");
}

void *hg__scn_checkudata(lua_State *L, int arg, const char *tname)
{
    void *p = luaL_testudata(L, arg, tname);
    if (!p)
        type_error(L, arg, tname);
    return p;
}

const char *hg__scn_push_path(lua_State *L, const char *path)
{
    const char *dir = hg__scn_get(L)->script_dir;
    if (path[0] == '/' || !*dir)
        return lua_pushstring(L, path);
    return lua_pushfstring(L, "%s/%s", dir, path);
}

static int traceback(lua_State *L)
{
    if (hg__scn_is_abort(L, 1, NULL))
        return 1;
    if (lua_type(L, 1) != LUA_TSTRING) {
        luaL_tolstring(L, 1, NULL);
        lua_replace(L, 1);
    }
    luaL_traceback(L, L, lua_tostring(L, 1), 1);
    return 1;
}

int hg__scn_pcall(lua_State *L, int nargs, int nres)
{
    int base = lua_gettop(L) - nargs, st;
    lua_pushcfunction(L, traceback);
    lua_insert(L, base);
    st = lua_pcall(L, nargs, nres, base);
    lua_remove(L, base);
    if (st != LUA_OK && hg__scn_is_abort(L, -1, NULL))
        lua_error(L);
    return st;
}

/* ---- pcall, xpcall, coroutine.resume and os.exit as a scenario needs them ---- */

static int l_is_abort(lua_State *L)
{
    lua_pushboolean(L, hg__scn_is_abort(L, 1, NULL));
    return 1;
}

/* os.exit([code [, close]]): true is 0, false is 1; any other integer but 0 is a failure (no
 * truncation to 8 bits: os.exit(256) does not pass). close is moot: the runner closes the
 * state. */
static int l_exit(lua_State *L)
{
    lua_Integer code = 0;
    if (lua_isboolean(L, 1))
        code = lua_toboolean(L, 1) ? 0 : 1;
    else if (!lua_isnoneornil(L, 1))
        code = hg__scn_checkinteger(L, 1);
    return hg__scn_abort(L, HG__ABORT_EXIT, code);
}

/* Protected calls must not keep the objects that end a script. */
static const char wrappers[] =
    "local is_abort, pcall, xpcall, resume, error, unpack = ...\n"
    "local function pass(ok, ...)\n"
    "  if not ok and is_abort((...)) then error((...), 0) end\n"
    "  return ok, ...\n"
    "end\n"
    "_G.pcall = function(f, ...) return pass(pcall(f, ...)) end\n"
    "_G.xpcall = function(f, h, ...)\n"
    "  return pass(xpcall(f, function(e) if is_abort(e) then return e end return h(e) end, ...))\n"
    "end\n"
    "coroutine.resume = function(co, ...) return pass(resume(co, ...)) end\n";

static void install_overrides(lua_State *L)
{
    lua_getglobal(L, "os");
    lua_pushcfunction(L, l_exit);
    lua_setfield(L, -2, "exit");
    lua_pop(L, 1);
    if (luaL_loadbuffer(L, wrappers, sizeof(wrappers) - 1, "=hangar") != LUA_OK)
        lua_error(L);
    lua_pushcfunction(L, l_is_abort);
    lua_getglobal(L, "pcall");
    lua_getglobal(L, "xpcall");
    lua_getglobal(L, "coroutine");
    lua_getfield(L, -1, "resume");
    lua_remove(L, -2);
    lua_getglobal(L, "error");
    lua_call(L, 5, 0);
}

/* The count hook interrupts a busy loop once the watchdog set the flag, and raises an abort
 * again that the script kept. */
static void hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    hg__scn_check(L);
}

/* ---- one run ---- */

typedef struct run_opts {
    const char *script;
    int nargs;
    char **args;
    uint64_t timeout_ns;
    const char *timeout_text;
    uint64_t memory;          /* bytes; 0: unlimited */
    const char *memory_text;
    int verbose, quiet;
} run_opts;

static void set_args(lua_State *L, const run_opts *o, const char *dir)
{
    char cwd[4096];
    lua_createtable(L, o->nargs, 2);
    lua_pushstring(L, "hangar scenario");
    lua_rawseti(L, -2, -1);
    lua_pushstring(L, o->script);
    lua_rawseti(L, -2, 0);
    for (int i = 0; i < o->nargs; i++) {
        lua_pushstring(L, o->args[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setglobal(L, "arg");
    /* hangar.script_dir: configs beside a script are found wherever it runs from; hangar.cwd:
     * where the run started, for paths given on the command line */
    lua_getglobal(L, "hangar");
    lua_pushstring(L, dir);
    lua_setfield(L, -2, "script_dir");
    if (getcwd(cwd, sizeof(cwd)))
        lua_pushstring(L, cwd);
    else
        lua_pushliteral(L, ".");
    lua_setfield(L, -2, "cwd");
    lua_pop(L, 1);
}

/* The script's directory into out: absolute when realpath can resolve it, as written else. */
static void script_dir_of(const char *script, char *out, size_t len)
{
    const char *slash = strrchr(script, '/');
    char *rel, *abs;
    if (!slash)
        rel = strdup(".");
    else if (slash == script)
        rel = strdup("/");
    else
        rel = strndup(script, (size_t)(slash - script));
    abs = rel ? realpath(rel, NULL) : NULL;
    snprintf(out, len, "%s", abs ? abs : rel ? rel : ".");
    free(abs);
    free(rel);
}

static int abort_tostring(lua_State *L)
{
    lua_pushliteral(L, "hangar: the scenario ended (os.exit, bail_out or --timeout)");
    return 1;
}

static int open_state(lua_State *L)
{
    hg__scn *s = lua_touserdata(L, 1);
    luaL_openlibs(L);
    lua_pushlightuserdata(L, s);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &ctx_key);
    luaL_newmetatable(L, ABORT_MT);
    lua_pushcfunction(L, abort_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1);
    lua_newuserdatauv(L, 1, 0);
    luaL_setmetatable(L, ABORT_MT);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &abort_key);
    hg__tap_open(L);
    hg__lua_host_open(L);
    install_overrides(L);
    return 0;
}

/* os.exit(code): 0 once the plan is met (or after done_testing()) ends the run as it stands;
 * anything else is a failed test saying why. */
static void report_exit(hg__scn *s)
{
    hg__tap *t = &s->tap;
    hg__tap_level *lv = &t->lv[t->depth];
    int settled = lv->done || (lv->planned >= 0 && lv->planned == lv->n);
    char name[96];
    if (s->exit_code == 0 && settled)
        return;
    if (s->exit_code != 0) {
        snprintf(name, sizeof(name), "script exited with status %lld", (long long)s->exit_code);
        hg__tap_result(t, 0, name, NULL, 0);
    } else {
        hg__tap_result(t, 0, "script exited with status 0 before its plan was met", NULL, 0);
        if (lv->planned >= 0)
            hg__tap_printf(t, "# os.exit(0) after %d of the %d planned tests: the others never "
                           "ran", lv->n - 1, lv->planned);
        else
            hg__tap_printf(t, "# os.exit(0) with no plan and before done_testing(): nothing says "
                           "the script ran all its tests");
    }
    if (lv->planned < 0 && !lv->done)
        lv->done = 1; /* os.exit ends the script like done_testing() */
}

/* Reports how the script ended when it did not return normally, or returned after keeping an
 * abort (the run's abort_kind, whatever error object came out). */
static void report_end(hg__scn *s, lua_State *L, int st)
{
    hg__tap *t = &s->tap;
    char name[96];
    uint64_t late;
    t->depth = t->base; /* an abort may have unwound subtests */
    t->todo_left = 0;
    if (s->abort_kind == HG__ABORT_NONE) {
        s->ended_early = 1;
        if (s->mem.hit && (st == LUA_ERRMEM || st == LUA_ERRERR ||
                           strncmp(lua_tostring(L, -1) ? lua_tostring(L, -1) : "",
                                   "not enough memory", 17) == 0))
            return; /* the memory limit: the end checks say so */
        hg__tap_result(t, 0, "script runs without error", NULL, 0);
        hg__tap_diag(t, lua_tostring(L, -1) ? lua_tostring(L, -1) : "(error object is not a string)");
        return;
    }
    if (s->abort_kind == HG__ABORT_TIMEOUT) {
        s->ended_early = 1;
        snprintf(name, sizeof(name), "scenario finishes within %s", s->timeout_text);
        hg__tap_result(t, 0, name, NULL, 0);
        hg__tap_printf(t, "# scenario timed out after %s", s->timeout_text);
        late = s->abort_ns - s->start_ns - s->timeout_ns;
        if (s->abort_ns > s->start_ns + s->timeout_ns && late >= 100000000ull)
            hg__tap_printf(t, "# the script was stopped %.2fs past it, when a call the timeout "
                           "cannot interrupt returned", (double)late / 1e9);
    } else if (s->abort_kind == HG__ABORT_EXIT) {
        report_exit(s);
    }
}

static int run_script(hg__scn *s, lua_State *L)
{
    int st = luaL_loadfilex(L, s->script, "t");
    if (st != LUA_OK) {
        hg__tap *t = &s->tap;
        hg__tap_plan(t, 1);
        hg__tap_result(t, 0, "script loads", NULL, 0);
        hg__tap_diag(t, lua_tostring(L, -1));
        lua_pop(L, 1);
        return 0;
    }
    lua_pushcfunction(L, traceback);
    lua_insert(L, -2);
    st = lua_pcall(L, 0, 0, -2);
    if (st != LUA_OK || s->abort_kind != HG__ABORT_NONE)
        report_end(s, L, st);
    lua_settop(L, 0);
    return 1;
}

/* A Lua state for the run s, its libraries and bindings opened, under the memory cap. Returns
 * NULL (said on stderr) when it cannot be made. */
static lua_State *new_state(hg__scn *s, const run_opts *o)
{
    lua_State *L = luaL_newstate();
    if (!L)
        return NULL;
    hg__scn_mem_install(L, &s->mem, (size_t)o->memory);
    lua_pushcfunction(L, open_state);
    lua_pushlightuserdata(L, s);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
        fprintf(stderr, "hangar scenario: %s\n", lua_tostring(L, -1));
        lua_close(L);
        return NULL;
    }
    set_args(L, o, s->script_dir);
    return L;
}

static int run_once(const run_opts *o, int depth)
{
    hg__scn s;
    hg__scn_watchdog w;
    lua_State *L;
    int passed = 0, loaded;
    memset(&s, 0, sizeof(s));
    hg__tap_init(&s.tap, depth, o->quiet);
    s.script = o->script;
    script_dir_of(o->script, s.script_dir, sizeof(s.script_dir));
    s.verbose = o->verbose;
    s.timeout_ns = o->timeout_ns;
    snprintf(s.timeout_text, sizeof(s.timeout_text), "%s", o->timeout_text);
    snprintf(s.memory_text, sizeof(s.memory_text), "%s", o->memory_text);
    L = new_state(&s, o);
    if (!L)
        return -1;
    s.start_ns = hg__scn_now_ns();
    if (hg__scn_watchdog_start(&w, s.start_ns, o->timeout_ns, o->timeout_text) < 0) {
        lua_close(L);
        return -1;
    }
    lua_sethook(L, hook, LUA_MASKCOUNT, 1000);
    loaded = run_script(&s, L);
    lua_sethook(L, NULL, 0, 0);
    hg__scn_winding();
    hg__lua_tcp_close_all(L); /* the script's own peers first: engines then stop at once */
    hg__lua_hosts_stop(L, &s, s.abort_kind == HG__ABORT_TIMEOUT || hg__scn_interrupted());
    hg__scn_watchdog_stop(&w);
    hg__lua_hosts_check_logs(L, &s);
    if (s.abort_kind != HG__ABORT_BAIL)
        hg__scn_end_checks(&s);
    if (s.abort_kind == HG__ABORT_SKIP_ALL)
        passed = s.tap.lv[s.tap.base].failed == 0; /* a host's error line after the skip */
    else if (s.abort_kind != HG__ABORT_BAIL)
        passed = hg__tap_finish(&s.tap, loaded && !s.ended_early && s.abort_kind != HG__ABORT_EXIT) &&
                 loaded;
    lua_close(L);
    hg__lua_hosts_free(&s);
    if (s.abort_kind == HG__ABORT_BAIL)
        return 255;
    return passed ? 0 : 1;
}

/* ---- the command ---- */

static void usage(FILE *f)
{
    fputs("usage: hangar scenario [OPTIONS] SCRIPT.lua [OPTIONS] [--] [ARGS...]\n"
          "  ARGS go to the script's `arg` table; TAP goes to stdout\n"
          "  --timeout D   limit for each run of the script (default 60s): a run that takes\n"
          "                longer fails, even when the time went to one long C call; a script\n"
          "                stuck in one is ended 1.5s after the timeout (Bail out!, status 1)\n"
          "  --memory SIZE what the script's Lua state may allocate (default 1GiB; 512MiB,\n"
          "                2GiB, ...; unlimited: no limit); reaching it fails the run\n"
          "  --repeat N    run the script N times, each run a TAP subtest\n"
          "  -v            host log lines to stderr too\n"
          "  -q            no note() output\n"
          "os.exit(0) passes only once the plan is met or after done_testing(); before,\n"
          "it fails the run like any other code (pcall cannot keep an exit).\n"
          "exit status: 0 every test passed and the plan matched, 1 a failure (also a run\n"
          "over --timeout or --memory), 2 bad options or script, 255 bail_out()\n",
          f);
}

/* --memory SIZE: a size with units (hg__parse_size), at least 1MiB (less cannot even open the
 * libraries), or "unlimited". Returns 1 or -1 (said on stderr). */
static int take_memory(const char *text, run_opts *o)
{
    uint64_t bytes;
    if (strcmp(text, "unlimited") == 0) {
        o->memory = 0;
    } else if (hg__parse_size(text, &bytes) < 0 || bytes > SIZE_MAX) {
        fprintf(stderr, "hangar scenario: --memory: not a size: %s (512MiB, 2GiB or unlimited)\n",
                text);
        return -1;
    } else if (bytes < (1ull << 20)) {
        fprintf(stderr, "hangar scenario: --memory: %s is below the 1MiB a script needs to "
                "start%s\n", text, bytes == 0 ? " (no limit is --memory unlimited)" : "");
        return -1;
    } else {
        o->memory = bytes;
    }
    o->memory_text = text;
    return 1;
}

/* One runner option at argv[*i]. Returns 1 (taken; *i moved past its value), 0 (not a runner
 * option), 2 (--help), -1 (bad value). */
static int take_opt(int argc, char **argv, int *i, run_opts *o, int *repeat)
{
    const char *a = argv[*i];
    if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
        o->verbose = 1;
    } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
        o->quiet = 1;
    } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
        return 2;
    } else if (strcmp(a, "--timeout") == 0 && *i + 1 < argc) {
        o->timeout_text = argv[++*i];
        if (hg__parse_duration(o->timeout_text, &o->timeout_ns) < 0 || o->timeout_ns == 0) {
            fprintf(stderr, "hangar scenario: --timeout: not a duration: %s\n", argv[*i]);
            return -1;
        }
    } else if (strcmp(a, "--memory") == 0 && *i + 1 < argc) {
        return take_memory(argv[++*i], o);
    } else if (strcmp(a, "--repeat") == 0 && *i + 1 < argc) {
        char *end;
        long n = strtol(argv[++*i], &end, 10);
        if (*end || n < 1 || n > 1000000) {
            fprintf(stderr, "hangar scenario: --repeat: not a count: %s\n", argv[*i]);
            return -1;
        }
        *repeat = (int)n;
    } else {
        return 0;
    }
    return 1;
}

/* Runner options come before the script, or right after it (until the first other argument or
 * `--`); the rest are the script's. Returns 0, 1 (--help), -1 (usage error). */
static int parse_opts(int argc, char **argv, run_opts *o, int *repeat)
{
    int i = 1, r;
    for (; i < argc && argv[i][0] == '-' && strcmp(argv[i], "--") != 0; i++) {
        r = take_opt(argc, argv, &i, o, repeat);
        if (r == 0)
            fprintf(stderr, "hangar scenario: unknown option %s\n", argv[i]);
        if (r == 0 || r == 2)
            usage(r ? stdout : stderr);
        if (r != 1)
            return r == 2 ? 1 : -1;
    }
    if (i < argc && strcmp(argv[i], "--") == 0)
        i++;
    if (i >= argc) {
        usage(stderr);
        return -1;
    }
    o->script = argv[i++];
    for (; i < argc; i++) {
        r = strcmp(argv[i], "--") == 0 ? 0 : take_opt(argc, argv, &i, o, repeat);
        if (r < 0)
            return -1;
        if (r == 2)
            usage(stdout);
        if (r == 2)
            return 1;
        if (r == 0)
            break;
    }
    if (i < argc && strcmp(argv[i], "--") == 0)
        i++;
    o->args = argv + i;
    o->nargs = argc - i;
    return 0;
}

static int run_repeated(const run_opts *o, int repeat)
{
    int failed = 0, rc = 0;
    printf("1..%d\n", repeat);
    for (int r = 1; r <= repeat; r++) {
        printf("    # Subtest: run %d of %d\n", r, repeat);
        fflush(stdout);
        rc = run_once(o, 1);
        if (rc < 0 || rc == 255)
            return rc < 0 ? 1 : rc;
        printf("%sok %d - run %d of %d\n", rc == 0 ? "" : "not ", r, r, repeat);
        fflush(stdout);
        failed += rc != 0;
    }
    if (failed)
        printf("# Looks like %d of %d runs failed.\n", failed, repeat);
    return failed ? 1 : 0;
}

int hg__cli_scenario(int argc, char **argv)
{
    /* 1GiB: a scenario holds replies (16MiB at most each), logs and test data, a few MiB in
     * practice; a runaway (a string doubled in a loop) stops there before it takes the machine */
    run_opts o = {.timeout_ns = 60ull * 1000000000ull, .timeout_text = "60s",
                  .memory = DEFAULT_MEMORY, .memory_text = "1GiB"};
    int repeat = 1, rc;
    FILE *f;
    rc = parse_opts(argc, argv, &o, &repeat);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    printf("TAP version 13\n");
    fflush(stdout);
    {
        struct stat st;
        /* a FIFO or a device would block the open itself, before any timeout runs */
        if (stat(o.script, &st) == 0 && !S_ISREG(st.st_mode)) {
            printf("Bail out!  %s is not a regular file\n", o.script);
            fflush(stdout);
            fprintf(stderr, "hangar scenario: %s is not a regular file\n", o.script);
            return 2;
        }
    }
    f = fopen(o.script, "r");
    if (!f) {
        int e = errno;
        printf("Bail out!  cannot open %s: %s\n", o.script, strerror(e));
        fflush(stdout);
        fprintf(stderr, "hangar scenario: cannot open %s: %s\n", o.script, strerror(e));
        return 2;
    }
    fclose(f);
    hg__crash_install(); /* a plugin that crashes a scenario's host is named */
    if (repeat == 1) {
        rc = run_once(&o, 0);
        fflush(stdout);
        return rc < 0 ? 1 : rc;
    }
    rc = run_repeated(&o, repeat);
    fflush(stdout);
    return rc;
}
