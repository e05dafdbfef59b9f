/* lua_host.c - the `hangar` table of a scenario: start and check hosts, drive them through
 * control commands, wait for conditions, time helpers. Log capture is lua_log.c's. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include <hangar/plugin.h>
#include <hangar/status.h>

#include "ctl_socket.h"
#include "host_api.h"
#include "hub.h"
#include "scenario.h"

#define HOST_MT "hangar.host"
#define POLL_NS (5ull * 1000000ull)

typedef struct host_ud {
    hg__scn_host *sh; /* owned by the run (hg__scn.hosts) */
} host_ud;

/* ---- hosts of the run ---- */

static hg__scn_host *host_new(hg__scn *s, const char *label)
{
    hg__scn_host *sh = calloc(1, sizeof(*sh));
    if (!sh)
        return NULL;
    if (s->n_hosts == s->cap_hosts) {
        uint32_t cap = s->cap_hosts ? s->cap_hosts * 2 : 8;
        hg__scn_host **nh = realloc(s->hosts, cap * sizeof(*nh));
        if (!nh) {
            free(sh);
            return NULL;
        }
        s->hosts = nh;
        s->cap_hosts = cap;
    }
    snprintf(sh->label, sizeof(sh->label), "%s", label);
    pthread_mutex_init(&sh->mu, NULL);
    s->hosts[s->n_hosts++] = sh;
    return sh;
}

static void format_ns(uint64_t ns, char *buf, size_t len)
{
    if (ns % 1000000000ull == 0)
        snprintf(buf, len, "%llus", (unsigned long long)(ns / 1000000000ull));
    else if (ns % 1000000ull == 0)
        snprintf(buf, len, "%llums", (unsigned long long)(ns / 1000000ull));
    else
        snprintf(buf, len, "%gs", (double)ns / 1e9);
}

/* The names in a shutdown reply's not_stopped, space-separated ("" when every engine stopped). */
static void late_names(const json_t *reply, char *buf, size_t len)
{
    const json_t *late = json_object_get(reply, "not_stopped");
    size_t i, used = 0;
    json_t *v;
    buf[0] = '\0';
    json_array_foreach(late, i, v) {
        const char *name = json_string_value(v) ? json_string_value(v) : "?";
        int n = snprintf(buf + used, len - used, "%s%s", used ? " " : "", name);
        if (n < 0 || (size_t)n >= len - used)
            break;
        used += (size_t)n;
    }
}

/* Graceful shutdown the script did not ask for (the end of the run, done_testing, h:close):
 * silent unless engines overran control.shutdown_timeout, which a TAP diagnostic then says. */
static void shutdown_reported(hg__scn_host *sh, hg__tap *t)
{
    char *reply = NULL, names[512], limit[32];
    json_t *j;
    int rc = hg__host_command(sh->h, "shutdown", &reply);
    j = rc == 0 && reply ? json_loads(reply, 0, NULL) : NULL;
    free(reply);
    late_names(j, names, sizeof(names));
    json_decref(j);
    if (!*names || !t)
        return;
    format_ns(hg__host_config(sh->h)->shutdown_timeout_ns, limit, sizeof(limit));
    hg__tap_printf(t, "# host %s: engines that did not stop within %s: %s", sh->label, limit,
                   names);
}

/* Stops (kill, or a graceful shutdown reported to t when not NULL) and frees the host. */
static void host_close(hg__scn_host *sh, int kill, hg__tap *t)
{
    if (!sh->h)
        return;
    hg__scn_host_enter();
    if (kill)
        hg__host_kill(sh->h);
    else if (sh->started && !sh->stopped)
        shutdown_reported(sh, t);
    sh->stopped = 1;
    hg__host_destroy(sh->h);
    hg__scn_host_leave();
    sh->h = NULL;
}

void hg__lua_hosts_stop(lua_State *L, hg__scn *s, int kill)
{
    (void)L;
    for (uint32_t i = 0; i < s->n_hosts; i++)
        host_close(s->hosts[i], kill, &s->tap);
}

void hg__lua_hosts_free(hg__scn *s)
{
    for (uint32_t i = 0; i < s->n_hosts; i++) {
        hg__scn_host *sh = s->hosts[i];
        host_close(sh, 1, NULL);
        hg__scn_log_free(sh);
        pthread_mutex_destroy(&sh->mu);
        free(sh);
    }
    free(s->hosts);
    s->hosts = NULL;
    s->n_hosts = s->cap_hosts = 0;
}

/* ---- start and check ---- */

/* Reads the set= table at t into "path=value" strings anchored by a table pushed above it, and
 * a userdata array pointing to them (pushed last). */
static void read_sets(lua_State *L, int t, const char *fn, hg__config_src *src)
{
    const char **sets;
    int n = 0;
    if (lua_type(L, t) != LUA_TTABLE)
        luaL_error(L, "%s: set= is a table ({[\"a.b\"] = v} or {\"a.b=v\"}), got a %s", fn,
                   luaL_typename(L, t));
    lua_newtable(L); /* anchors the "path=value" strings */
    lua_pushnil(L);
    while (lua_next(L, t)) {
        if (lua_type(L, -2) == LUA_TSTRING) {
            const char *path = lua_tostring(L, -2);
            const char *value = luaL_tolstring(L, -1, NULL);
            lua_pushfstring(L, "%s=%s", path, value);
        } else if (lua_type(L, -1) == LUA_TSTRING) {
            lua_pushvalue(L, -1);
        } else {
            luaL_error(L, "%s: set= items are \"path=value\" strings, got a %s", fn,
                       luaL_typename(L, -1));
        }
        lua_rawseti(L, t + 1, ++n);
        lua_settop(L, t + 2);
    }
    sets = lua_newuserdatauv(L, sizeof(*sets) * (size_t)(n + 1), 0);
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, t + 1, i + 1);
        sets[i] = lua_tostring(L, -1);
        lua_pop(L, 1);
    }
    src->sets = sets;
    src->n_sets = (uint32_t)n;
}

/* Fills opts from the table at idx; the strings it points to are anchored on the stack. Paths
 * the script wrote resolve against its directory: config= itself, and the relative paths of
 * inline yaml= (plugin_path, control.socket); a file's own resolve against the file's. */
static void read_opts(lua_State *L, int idx, hg__host_opts *o, const char **label)
{
    int method;
    const char *fn = hg__scn_fname(L, &method);
    memset(o, 0, sizeof(*o));
    o->src.limits = (hg__cfg_limits)HG__CFG_LIMITS_DEFAULT;
    hg__scn_checktype(L, idx, LUA_TTABLE);
    if (lua_getfield(L, idx, "config") != LUA_TNIL && lua_type(L, -1) != LUA_TSTRING)
        luaL_error(L, "%s: config= is a file name (a string), got a %s", fn,
                   luaL_typename(L, -1));
    *label = lua_tostring(L, -1);
    o->src.path = *label ? hg__scn_push_path(L, *label) : NULL;
    if (lua_getfield(L, idx, "yaml") != LUA_TNIL && lua_type(L, -1) != LUA_TSTRING)
        luaL_error(L, "%s: yaml= is YAML text (a string), got a %s", fn, luaL_typename(L, -1));
    o->src.yaml = lua_tostring(L, -1);
    o->src.dir = hg__scn_get(L)->script_dir;
    if (o->src.path && o->src.yaml)
        luaL_error(L, "%s: give config= or yaml=, not both", fn);
    if (!o->src.path && !o->src.yaml && lua_getfield(L, idx, "default") != LUA_TBOOLEAN)
        luaL_error(L, "%s: give config= (a file) or yaml= (text); default=true starts the "
                      "built-in demo", fn);
    else if (!o->src.path && !o->src.yaml)
        lua_pop(L, 1);
    if (!*label)
        *label = o->src.yaml ? "<inline>" : "<default>";
    lua_getfield(L, idx, "log");
    if (!lua_isnil(L, -1)) {
        const char *level = lua_tostring(L, -1);
        o->log_level = level ? (int32_t)hg__log_level_from_name(level) : 0;
        if (o->log_level == 0)
            luaL_error(L, "%s: log= is one of error, warn, info, debug, trace", fn);
    }
    lua_getfield(L, idx, "set");
    if (!lua_isnil(L, -1))
        read_sets(L, lua_gettop(L), fn, &o->src);
}

/* Pushes the diagnostics as a sequence of "FILE:LINE:COL: msg" strings. */
static void push_diag(lua_State *L, const hg__diag *d)
{
    lua_createtable(L, (int)d->n, 0);
    for (uint32_t i = 0; i < d->n; i++) {
        char *m = hg__diag_format(d, i);
        lua_pushstring(L, m ? m : "(out of memory)");
        free(m);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}

/* Creates the host of sh from o, capturing its log. On failure pushes the error table. */
static int create(lua_State *L, hg__scn_host *sh, hg__host_opts *o)
{
    hg__diag d;
    int rc;
    hg__diag_init(&d);
    o->log_sink = hg__scn_log_sink;
    o->log_sink_ud = sh;
    o->log_to_stderr = hg__scn_get(L)->verbose;
    hg__scn_host_enter();
    rc = hg__host_create(o, &d, &sh->h);
    hg__scn_host_leave();
    if (rc < 0) {
        if (d.n == 0)
            hg__diag_add(&d, NULL, 0, 0, "%s", hg_strerror(rc));
        push_diag(L, &d);
    }
    hg__diag_free(&d);
    return rc;
}

static int l_check(lua_State *L)
{
    hg__host_opts o;
    const char *label;
    hg__scn_host *sh;
    read_opts(L, 1, &o, &label);
    sh = host_new(hg__scn_get(L), label);
    if (!sh)
        return luaL_error(L, "out of memory");
    sh->expect_errors = 1; /* check reports errors as data */
    if (create(L, sh, &o) < 0) {
        lua_pushboolean(L, 0);
        lua_insert(L, -2);
        return 2;
    }
    host_close(sh, 0, NULL);
    lua_pushboolean(L, 1);
    lua_newtable(L);
    return 2;
}

static int l_start(lua_State *L)
{
    hg__host_opts o;
    const char *label;
    hg__scn_host *sh;
    host_ud *u;
    int rc;
    read_opts(L, 1, &o, &label);
    sh = host_new(hg__scn_get(L), label);
    if (!sh)
        return luaL_error(L, "out of memory");
    lua_getfield(L, 1, "expect_errors");
    sh->expect_errors = lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (create(L, sh, &o) < 0) {
        lua_getglobal(L, "table");
        lua_getfield(L, -1, "concat");
        lua_pushvalue(L, -3);
        lua_pushliteral(L, "\n  ");
        lua_call(L, 2, 1);
        return luaL_error(L, "%s does not validate:\n  %s", label, lua_tostring(L, -1));
    }
    hg__scn_host_enter();
    rc = hg__host_start(sh->h);
    hg__scn_host_leave();
    hg__scn_check(L);
    sh->started = 1;
    if (rc < 0) {
        sh->stopped = 1;
        hg__scn_log_push_errors(L, sh);
        return luaL_error(L, "%s did not start: %s%s", label, hg_strerror(rc), lua_tostring(L, -1));
    }
    u = lua_newuserdatauv(L, sizeof(*u), 0);
    u->sh = sh;
    luaL_setmetatable(L, HOST_MT);
    return 1;
}

/* ---- handle methods ---- */

hg__scn_host *hg__lua_host_arg(lua_State *L, int open)
{
    host_ud *u = hg__scn_checkudata(L, 1, HOST_MT);
    if (open && !u->sh->h)
        luaL_error(L, "host %s is closed", u->sh->label);
    return u->sh;
}

static hg__scn_host *check_host(lua_State *L)
{
    return hg__lua_host_arg(L, 1);
}

/* Pushes the reply of one command (or `call` when name is not NULL) as a table. */
static void command(lua_State *L, hg__scn_host *sh, const char *text, const char *name,
                    const char *args)
{
    char *reply = NULL;
    json_error_t err;
    json_t *j;
    int rc;
    hg__scn_host_enter();
    rc = name ? hg__host_call(sh->h, name, args, &reply) : hg__host_command(sh->h, text, &reply);
    hg__scn_host_leave();
    if (rc == HG_ETIMEDOUT) {
        /* the same reply the control socket gives: a table, not an error */
        hg__hub_busy b = hg__host_busy(sh->h);
        char msg[256];
        free(reply);
        hg__scn_check(L);
        if (b.engine != NULL)
            snprintf(msg, sizeof msg, "the host did not answer: its control thread has been "
                     "inside engine '%s' (%s) for %.1fs, over this command's bound", b.engine,
                     b.what, (double)(hg__scn_now_ns() - b.since_ns) / 1e9);
        else
            snprintf(msg, sizeof msg, "the host did not answer within this command's bound");
        lua_createtable(L, 0, 3);
        lua_pushboolean(L, 0);
        lua_setfield(L, -2, "ok");
        lua_pushstring(L, msg);
        lua_setfield(L, -2, "error");
        lua_pushstring(L, "ETIMEDOUT");
        lua_setfield(L, -2, "code");
        return;
    }
    if (rc < 0) {
        free(reply);
        hg__scn_check(L);
        luaL_error(L, "command '%s' to host %s: %s", name ? name : text, sh->label,
                   hg_strerror(rc));
    }
    j = json_loads(reply ? reply : "", 0, &err);
    if (!j) {
        lua_pushfstring(L, "command '%s': the reply is not JSON (%s): %s", name ? name : text,
                        err.text, reply ? reply : "(none)");
        free(reply);
        lua_error(L);
    }
    free(reply);
    hg__lua_push_json(L, j);
    json_decref(j);
    hg__scn_check(L);
}

/* h:command(text): a Lua string may hold a NUL byte, which would end the C string early and
 * run its first part; such a command is answered as the control socket answers it. */
static int l_command(lua_State *L)
{
    hg__scn_host *sh = check_host(L);
    size_t len;
    const char *text = hg__scn_checklstring(L, 2, &len);
    const char *nul = memchr(text, '\0', len);
    char *reply;
    json_t *j;
    if (nul == NULL) {
        command(L, sh, text, NULL, NULL);
        return 1;
    }
    reply = hg__ctl_nul_reply((size_t)(nul - text));
    j = reply ? json_loads(reply, 0, NULL) : NULL;
    free(reply);
    if (j == NULL)
        return luaL_error(L, "out of memory");
    hg__lua_push_json(L, j);
    json_decref(j);
    return 1;
}

static int l_call(lua_State *L)
{
    hg__scn_host *sh = check_host(L);
    size_t len, alen = 0;
    const char *name = hg__scn_checklstring(L, 2, &len);
    json_t *raw = NULL;
    if (strlen(name) != len)
        hg__scn_argerror(L, 2, "an instance name (this one has a NUL byte)");
    if (lua_type(L, 3) == LUA_TSTRING && strlen(lua_tolstring(L, 3, &alen)) != alen)
        hg__scn_argerror(L, 3, "a verb or JSON text without NUL bytes");
    /* A string is JSON text when it parses as JSON; otherwise it is the verb itself. */
    if (lua_type(L, 3) == LUA_TSTRING &&
        (raw = json_loads(lua_tostring(L, 3), JSON_DECODE_ANY, NULL)) != NULL) {
        json_decref(raw);
        command(L, sh, NULL, name, lua_tostring(L, 3));
    } else {
        json_t *j = lua_isnoneornil(L, 3)          ? json_object()
                    : lua_type(L, 3) == LUA_TSTRING ? json_string(lua_tostring(L, 3))
                                                    : hg__lua_to_json(L, 3);
        char *args = hg__lua_json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
        json_decref(j);
        if (!args)
            return luaL_error(L, "out of memory");
        lua_pushstring(L, args);
        free(args);
        command(L, sh, NULL, name, lua_tostring(L, -1));
    }
    return 1;
}

/* Runs "verb [name]" and pushes reply[field] (reply[field][name] when nested); raises the
 * reply's error when it is not ok. */
static int query(lua_State *L, const char *verb, int name_idx, const char *field, int nested)
{
    hg__scn_host *sh = check_host(L);
    const char *name = NULL;
    if (name_idx) {
        size_t len;
        name = hg__scn_checklstring(L, name_idx, &len);
        if (!*name || strcspn(name, " \t\r\n") != len)
            hg__scn_argerror(L, name_idx, "an instance name");
    }
    lua_pushfstring(L, name ? "%s %s" : "%s", verb, name);
    command(L, sh, lua_tostring(L, -1), NULL, NULL);
    lua_getfield(L, -1, "ok");
    if (lua_toboolean(L, -1) != 1) {
        lua_getfield(L, -2, "error");
        return luaL_error(L, "%s: %s", lua_tostring(L, -4),
                          lua_tostring(L, -1) ? lua_tostring(L, -1) : "failed");
    }
    lua_getfield(L, -2, field);
    if (nested && name && lua_istable(L, -1))
        lua_getfield(L, -1, name);
    return 1;
}

static int l_counters(lua_State *L)
{
    return query(L, "counters", lua_isnoneornil(L, 2) ? 0 : 2, "counters", 1);
}

static int l_records(lua_State *L)
{
    return query(L, "records", 2, "records", 0);
}

static int l_perf(lua_State *L)
{
    return query(L, "perf", 0, "threads", 0);
}

static int l_state(lua_State *L)
{
    return query(L, "state", 2, "state", 0);
}

static int l_address(lua_State *L)
{
    query(L, "counters", 2, "counters", 1);
    if (!lua_istable(L, -1))
        return 0;
    lua_getfield(L, -1, "address");
    return 1;
}

/* Polls the function at fn_idx until it returns true or the timeout at t_idx passes. */
static int wait_for(lua_State *L, int fn_idx, int t_idx)
{
    uint64_t timeout = hg__scn_duration(L, t_idx, 5000000000ull);
    uint64_t deadline = hg__scn_now_ns() + timeout;
    hg__tap *t = &hg__scn_get(L)->tap;
    char file[256], name[96], tbuf[32];
    int line, st;
    hg__scn_checktype(L, fn_idx, LUA_TFUNCTION);
    hg__scn_where(L, 1, file, sizeof(file), &line);
    for (;;) {
        lua_pushvalue(L, fn_idx);
        st = hg__scn_pcall(L, 0, 1);
        if (st != LUA_OK) {
            hg__tap_result(t, 0, "wait_for condition runs without error", file, line);
            hg__tap_diag(t, lua_tostring(L, -1) ? lua_tostring(L, -1) : "(error object)");
            lua_pushboolean(L, 0);
            return 1;
        }
        if (lua_toboolean(L, -1))
            return 1;
        lua_pop(L, 1);
        if (hg__scn_now_ns() >= deadline)
            break;
        hg__scn_sleep(L, POLL_NS);
    }
    format_ns(timeout, tbuf, sizeof(tbuf));
    snprintf(name, sizeof(name), "wait_for timed out after %s", tbuf);
    hg__tap_result(t, 0, name, file, line);
    lua_pushboolean(L, 0);
    return 1;
}

static int l_wait_for(lua_State *L)
{
    check_host(L);
    return wait_for(L, 2, 3);
}

static int l_hangar_wait_for(lua_State *L)
{
    return wait_for(L, 1, 2);
}

/* shutdown(): true, or nil, a message naming the engines that overran control.shutdown_timeout,
 * and the reply ({cut = N, not_stopped = {...}}) as a third value either way. */
static int l_shutdown(lua_State *L)
{
    hg__scn_host *sh = check_host(L);
    char *reply = NULL;
    json_t *j = NULL, *late;
    int rc = 0;
    hg__scn_host_enter();
    if (!sh->stopped)
        rc = hg__host_command(sh->h, "shutdown", &reply);
    hg__scn_host_leave();
    sh->stopped = 1;
    hg__scn_check(L);
    if (rc < 0) {
        free(reply);
        luaL_pushfail(L);
        lua_pushstring(L, hg_strerror(rc));
        return 2;
    }
    j = reply ? json_loads(reply, 0, NULL) : NULL;
    free(reply);
    late = json_object_get(j, "not_stopped");
    if (json_array_size(late) > 0) {
        luaL_Buffer b;
        size_t i;
        json_t *v;
        luaL_pushfail(L);
        luaL_buffinit(L, &b);
        luaL_addstring(&b, "engines that did not stop within the shutdown timeout:");
        json_array_foreach(late, i, v) {
            luaL_addchar(&b, ' ');
            luaL_addstring(&b, json_string_value(v) ? json_string_value(v) : "?");
        }
        luaL_pushresult(&b);
    } else {
        lua_pushboolean(L, 1);
        lua_pushnil(L);
    }
    if (j)
        hg__lua_push_json(L, j);
    else
        lua_newtable(L);
    json_decref(j);
    return 3;
}

static int l_kill(lua_State *L)
{
    hg__scn_host *sh = check_host(L);
    hg__scn_host_enter();
    hg__host_kill(sh->h);
    hg__scn_host_leave();
    sh->stopped = 1;
    return 0;
}

/* close(): shutdown if needed and free the host now (its log stays for the end checks). */
static int l_close(lua_State *L)
{
    host_ud *u = hg__scn_checkudata(L, 1, HOST_MT);
    host_close(u->sh, 0, &hg__scn_get(L)->tap);
    return 0;
}

static int l_done(lua_State *L)
{
    lua_pushboolean(L, hg__host_done(check_host(L)->h));
    return 1;
}

/* wait_done([timeout]): until every finite engine finished (or the host stopped). */
static int l_wait_done(lua_State *L)
{
    hg__scn_host *sh = check_host(L);
    uint64_t deadline = hg__scn_now_ns() + hg__scn_duration(L, 2, 30000000000ull);
    for (;;) {
        uint64_t now = hg__scn_now_ns();
        uint64_t step = deadline > now ? deadline - now : 0;
        if (step > 50000000ull)
            step = 50000000ull;
        if (hg__host_wait(sh->h, 1, step) == 0) {
            lua_pushboolean(L, 1);
            return 1;
        }
        hg__scn_check(L);
        if (hg__scn_now_ns() >= deadline)
            break;
    }
    lua_pushboolean(L, 0);
    return 1;
}

static int l_tostring(lua_State *L)
{
    host_ud *u = hg__scn_checkudata(L, 1, HOST_MT);
    lua_pushfstring(L, "hangar.host(%s)", u->sh->label);
    return 1;
}

/* ---- the hangar table ---- */

static int l_sleep(lua_State *L)
{
    hg__scn_sleep(L, hg__scn_duration(L, 1, 0));
    return 0;
}

static int l_now(lua_State *L)
{
    lua_pushnumber(L, (lua_Number)hg__scn_now_ns() / 1e9);
    return 1;
}

static int l_duration(lua_State *L)
{
    hg__scn_checkany(L, 1);
    lua_pushnumber(L, (lua_Number)hg__scn_duration(L, 1, 0) / 1e9);
    return 1;
}

/* The table on top as package.loaded[name] (require finds it; Lua's own messages and
 * tracebacks name its functions), and its functions named for hg__scn_fname. */
static void register_module(lua_State *L, const char *name)
{
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "%s.", name);
    hg__scn_name_funcs(L, -1, prefix);
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_pushvalue(L, -2);
    lua_setfield(L, -2, name);
    lua_pop(L, 1);
}

void hg__lua_host_open(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"command", l_command},   {"call", l_call},
        {"counters", l_counters}, {"records", l_records},
        {"perf", l_perf},         {"state", l_state},
        {"address", l_address},   {"wait_for", l_wait_for},
        {"shutdown", l_shutdown}, {"kill", l_kill},
        {"close", l_close},       {"done", l_done},
        {"wait_done", l_wait_done}, {NULL, NULL},
    };
    static const luaL_Reg fns[] = {
        {"start", l_start}, {"check", l_check},       {"sleep", l_sleep},
        {"now", l_now},     {"duration", l_duration}, {"wait_for", l_hangar_wait_for},
        {NULL, NULL},
    };
    luaL_newmetatable(L, HOST_MT);
    luaL_newlib(L, methods);
    hg__lua_log_methods(L);
    hg__scn_name_funcs(L, -1, "h:");
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushcfunction(L, l_close);
    lua_setfield(L, -2, "__close");
    lua_pop(L, 1);

    luaL_newlib(L, fns);
    hg__lua_push_null(L);
    lua_setfield(L, -2, "null");
    hg__lua_tcp_push(L);
    register_module(L, "hangar.tcp");
    lua_setfield(L, -2, "tcp");
    hg__lua_json_push(L);
    register_module(L, "hangar.json");
    lua_setfield(L, -2, "json");
    lua_pushstring(L, HG_VERSION);
    lua_setfield(L, -2, "version");
    register_module(L, "hangar");
    lua_setglobal(L, "hangar");
}
