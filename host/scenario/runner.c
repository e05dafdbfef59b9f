/* runner.c - `hangar scenario`: loads a Lua 5.4 script, runs it under a watchdog, turns every way
 * it can end (tests, syntax or runtime errors, os.exit, bail_out, timeout) into well-formed TAP,
 * and stops every host it started. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
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
#define GRACE_NS (10ull * 1000000000ull) /* after the timeout, before the watchdog gives up */

typedef struct abort_obj {
    int kind;
    int code;
} abort_obj;

static const char ctx_key = 'S';
static const char names_key = 'N'; /* registry: function -> "hangar.sleep" */
static atomic_int interrupted;

/* ---- helpers the other files use ---- */

hg__scn *hg__scn_get(lua_State *L)
{
    hg__scn *s;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &ctx_key);
    s = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return s;
}

int hg__scn_interrupted(void)
{
    return atomic_load(&interrupted);
}

int hg__scn_abort(lua_State *L, int kind, int code)
{
    abort_obj *a = lua_newuserdatauv(L, sizeof(*a), 0);
    a->kind = kind;
    a->code = code;
    luaL_setmetatable(L, ABORT_MT);
    return lua_error(L);
}

int hg__scn_is_abort(lua_State *L, int idx, int *kind)
{
    abort_obj *a = luaL_testudata(L, idx, ABORT_MT);
    if (a && kind)
        *kind = a->kind;
    return a != NULL;
}

void hg__scn_check(lua_State *L)
{
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

static int l_exit(lua_State *L)
{
    int code = 0;
    if (lua_isboolean(L, 1))
        code = lua_toboolean(L, 1) ? 0 : 1;
    else if (!lua_isnoneornil(L, 1))
        code = (int)hg__scn_checkinteger(L, 1);
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

/* ---- the watchdog ---- */

typedef struct watchdog {
    pthread_t thr;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    uint64_t timeout_ns;
    const char *text;
} watchdog;

static int wait_until(watchdog *w, uint64_t deadline_ns)
{
    struct timespec ts = {(time_t)(deadline_ns / 1000000000ull),
                          (long)(deadline_ns % 1000000000ull)};
    while (!w->stop) {
        if (pthread_cond_timedwait(&w->cv, &w->mu, &ts) == ETIMEDOUT)
            return w->stop;
    }
    return 1;
}

static void *watchdog_main(void *arg)
{
    watchdog *w = arg;
    int stopped;
    pthread_mutex_lock(&w->mu);
    stopped = wait_until(w, hg__scn_now_ns() + w->timeout_ns);
    if (!stopped) {
        atomic_store(&interrupted, 1);
        stopped = wait_until(w, hg__scn_now_ns() + GRACE_NS); /* hosts stop within their bounds */
    }
    pthread_mutex_unlock(&w->mu);
    if (!stopped) {
        /* The main thread is stuck in C code that ignores the flag: end the process. */
        printf("# scenario timed out after %s\nBail out!  scenario did not stop after its "
               "timeout\n", w->text);
        fflush(stdout);
        _exit(1);
    }
    return NULL;
}

static int watchdog_start(watchdog *w, uint64_t timeout_ns, const char *text)
{
    pthread_condattr_t ca;
    memset(w, 0, sizeof(*w));
    w->timeout_ns = timeout_ns;
    w->text = text;
    atomic_store(&interrupted, 0);
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&w->thr, NULL, watchdog_main, w) != 0)
        return HG_ENOMEM;
    return 0;
}

static void watchdog_stop(watchdog *w)
{
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thr, NULL);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
}

/* The count hook interrupts a busy loop once the watchdog set the flag. */
static void hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    if (hg__scn_interrupted())
        hg__scn_abort(L, HG__ABORT_TIMEOUT, 0);
}

/* ---- one run ---- */

typedef struct run_opts {
    const char *script;
    int nargs;
    char **args;
    uint64_t timeout_ns;
    const char *timeout_text;
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
    hg__tap_open(L);
    hg__lua_host_open(L);
    install_overrides(L);
    return 0;
}

/* Reports how the script ended when it did not return normally. */
static void report_end(hg__scn *s, lua_State *L, int st)
{
    hg__tap *t = &s->tap;
    abort_obj *a = luaL_testudata(L, -1, ABORT_MT);
    char name[96];
    t->depth = t->base; /* an abort may have unwound subtests */
    t->todo_left = 0;
    if (!a) {
        s->ended_early = 1;
        hg__tap_result(t, 0, "script runs without error", NULL, 0);
        hg__tap_diag(t, lua_tostring(L, -1) ? lua_tostring(L, -1) : "(error object is not a string)");
        (void)st;
        return;
    }
    s->abort_kind = a->kind;
    s->exit_code = a->code;
    if (a->kind == HG__ABORT_TIMEOUT) {
        s->ended_early = 1;
        snprintf(name, sizeof(name), "scenario finishes within %s", s->timeout_text);
        hg__tap_result(t, 0, name, NULL, 0);
        hg__tap_printf(t, "# scenario timed out after %s", s->timeout_text);
    } else if (a->kind == HG__ABORT_EXIT) {
        hg__tap_level *lv = &t->lv[t->depth];
        int settled = lv->done || (lv->planned >= 0 && lv->planned == lv->n);
        if (a->code == 0 && settled)
            return;
        snprintf(name, sizeof(name), "script exited with status %d", a->code);
        hg__tap_result(t, a->code == 0, name, NULL, 0);
        if (lv->planned < 0 && !lv->done)
            lv->done = 1; /* os.exit ends the script like done_testing() */
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
    if (st != LUA_OK)
        report_end(s, L, st);
    lua_settop(L, 0);
    return 1;
}

static int run_once(const run_opts *o, int depth)
{
    hg__scn s;
    watchdog w;
    lua_State *L;
    int passed = 0, loaded;
    memset(&s, 0, sizeof(s));
    hg__tap_init(&s.tap, depth, o->quiet);
    s.script = o->script;
    script_dir_of(o->script, s.script_dir, sizeof(s.script_dir));
    s.verbose = o->verbose;
    s.timeout_ns = o->timeout_ns;
    snprintf(s.timeout_text, sizeof(s.timeout_text), "%s", o->timeout_text);
    L = luaL_newstate();
    if (!L)
        return -1;
    lua_pushcfunction(L, open_state);
    lua_pushlightuserdata(L, &s);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
        fprintf(stderr, "hangar scenario: %s\n", lua_tostring(L, -1));
        lua_close(L);
        return -1;
    }
    set_args(L, o, s.script_dir);
    if (watchdog_start(&w, o->timeout_ns, o->timeout_text) < 0) {
        lua_close(L);
        return -1;
    }
    lua_sethook(L, hook, LUA_MASKCOUNT, 1000);
    loaded = run_script(&s, L);
    lua_sethook(L, NULL, 0, 0);
    hg__lua_tcp_close_all(L); /* the script's own peers first: engines then stop at once */
    hg__lua_hosts_stop(L, &s, s.abort_kind == HG__ABORT_TIMEOUT);
    watchdog_stop(&w);
    atomic_store(&interrupted, 0);
    hg__lua_hosts_check_logs(L, &s);
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
          "  --timeout D   limit for each run of the script (default 60s)\n"
          "  --repeat N    run the script N times, each run a TAP subtest\n"
          "  -v            host log lines to stderr too\n"
          "  -q            no note() output\n",
          f);
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
    run_opts o = {.timeout_ns = 60ull * 1000000000ull, .timeout_text = "60s"};
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
