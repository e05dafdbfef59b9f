/* tap.c - the scenario's TAP 13 producer and its Test::More-style Lua globals (plan, ok, is,
 * like, cmp_ok, is_deeply, subtest, todo, skip, done_testing, bail_out). Failing checks print
 * where they were and got/expected as diagnostics. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>

#include <hangar/status.h>

#include "scenario.h"

void hg__tap_init(hg__tap *t, int depth, int quiet)
{
    memset(t, 0, sizeof(*t));
    t->depth = depth;
    t->base = depth;
    t->quiet = quiet;
    for (int i = 0; i < HG__TAP_MAX_DEPTH; i++)
        t->lv[i].planned = -1;
}

void hg__tap_printf(hg__tap *t, const char *fmt, ...)
{
    va_list ap;
    flockfile(stdout);
    for (int i = 0; i < t->depth; i++)
        fputs("    ", stdout);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    funlockfile(stdout);
    fflush(stdout);
}

void hg__tap_diag(hg__tap *t, const char *text)
{
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        int len = nl ? (int)(nl - p) : (int)strlen(p);
        hg__tap_printf(t, "# %.*s", len, p);
        if (!nl)
            break;
        p = nl + 1;
    }
}

/* A test name on one line, with '#' escaped as TAP wants. */
static void clean_name(const char *name, char *out, size_t cap)
{
    size_t j = 0;
    for (size_t i = 0; name[i] && j + 3 < cap; i++) {
        char c = name[i];
        if (c == '#')
            out[j++] = '\\';
        out[j++] = (c == '\n' || c == '\r') ? ' ' : c;
    }
    out[j] = '\0';
}

int hg__tap_result(hg__tap *t, int ok, const char *name, const char *file, int line)
{
    hg__tap_level *lv = &t->lv[t->depth];
    int todo = t->todo_left != 0;
    char clean[512] = "";
    /* After a trailing plan a test line would be a TAP parse error: it becomes a comment, and
     * the count no longer matching the plan fails the run. */
    const char *late = lv->plan_at_end ? "# after the plan: " : "";
    lv->n++;
    if (name && *name)
        clean_name(name, clean, sizeof(clean));
    hg__tap_printf(t, "%s%sok %d%s%s%s%s", late, ok ? "" : "not ", lv->n, *clean ? " - " : "",
                   clean, todo ? " # TODO " : "", todo ? t->todo_why : "");
    if (t->todo_left > 0)
        t->todo_left--;
    if (ok)
        return 1;
    if (!todo)
        lv->failed++;
    if (*clean)
        hg__tap_printf(t, "#   Failed %stest '%s'", todo ? "(TODO) " : "", clean);
    else
        hg__tap_printf(t, "#   Failed %stest", todo ? "(TODO) " : "");
    if (file)
        hg__tap_printf(t, "#   at %s line %d.", file, line);
    return 0;
}

int hg__tap_plan(hg__tap *t, int n)
{
    hg__tap_level *lv = &t->lv[t->depth];
    if (lv->planned >= 0)
        return HG_ESTATE;
    lv->planned = n;
    hg__tap_printf(t, "1..%d", n);
    return 0;
}

int hg__tap_finish(hg__tap *t, int require_plan)
{
    hg__tap_level *lv = &t->lv[t->depth];
    char msg[160];
    if (lv->planned < 0) {
        if (require_plan && !lv->done) {
            hg__tap_result(t, 0, "the scenario declares a plan or calls done_testing()", NULL, 0);
            hg__tap_printf(t, "# Tests were run but no plan was declared and done_testing() "
                              "was not seen.");
        }
        lv->planned = lv->n;
        lv->plan_at_end = 1;
        hg__tap_printf(t, "1..%d", lv->n);
        if (lv->n == 0)
            hg__tap_printf(t, "# No tests run!");
        else if (lv->failed)
            snprintf(msg, sizeof(msg), "# Looks like you failed %d test%s of %d.", lv->failed,
                     lv->failed == 1 ? "" : "s", lv->n);
        if (lv->n != 0 && lv->failed)
            hg__tap_printf(t, "%s", msg);
        return lv->failed == 0 && lv->n > 0;
    }
    if (lv->planned != lv->n)
        hg__tap_printf(t, "# Looks like you planned %d test%s but ran %d.", lv->planned,
                       lv->planned == 1 ? "" : "s", lv->n);
    if (lv->failed)
        hg__tap_printf(t, "# Looks like you failed %d test%s of %d run.", lv->failed,
                       lv->failed == 1 ? "" : "s", lv->n);
    return lv->failed == 0 && lv->planned == lv->n;
}

/* ---- the Lua side ---- */

static hg__tap *tap_of(lua_State *L)
{
    return &hg__scn_get(L)->tap;
}

/* Records a result with the caller's position; the name is the argument at name_idx. */
static int record(lua_State *L, int ok, int name_idx)
{
    char file[256];
    int line = 0;
    const char *name;
    hg__scn_check(L); /* no result counts after the timeout or an abort the script kept */
    name = lua_isnoneornil(L, name_idx) ? NULL : luaL_tolstring(L, name_idx, NULL);
    hg__scn_where(L, 1, file, sizeof(file), &line);
    return hg__tap_result(tap_of(L), ok, name, file, line);
}

#define SHOW_MAX 160

/* Pushes a value the way a diagnostic shows it on one line: strings quoted with control bytes
 * escaped and cut after SHOW_MAX bytes (with their length), the rest through tostring. */
static const char *show(lua_State *L, int idx)
{
    luaL_Buffer b;
    size_t len;
    const unsigned char *str;
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) != LUA_TSTRING)
        return luaL_tolstring(L, idx, NULL);
    str = (const unsigned char *)lua_tolstring(L, idx, &len);
    luaL_buffinit(L, &b);
    luaL_addchar(&b, '\'');
    for (size_t i = 0; i < len && i < SHOW_MAX; i++) {
        char esc[8];
        if (str[i] == '\n')
            luaL_addstring(&b, "\\n");
        else if (str[i] == '\r')
            luaL_addstring(&b, "\\r");
        else if (str[i] == '\t')
            luaL_addstring(&b, "\\t");
        else if (str[i] < 0x20 || str[i] == 0x7f) {
            snprintf(esc, sizeof(esc), "\\x%02x", str[i]);
            luaL_addstring(&b, esc);
        } else
            luaL_addchar(&b, (char)str[i]);
    }
    luaL_addchar(&b, '\'');
    if (len > SHOW_MAX) {
        char more[48];
        snprintf(more, sizeof(more), "... (%zu bytes)", len);
        luaL_addstring(&b, more);
    }
    luaL_pushresult(&b);
    return lua_tostring(L, -1);
}

static void diag_got_expected(lua_State *L, int got, int exp)
{
    hg__tap *t = tap_of(L);
    hg__tap_printf(t, "#          got: %s", show(L, got));
    hg__tap_printf(t, "#     expected: %s", show(L, exp));
    lua_pop(L, 2);
}

static int l_ok(lua_State *L)
{
    luaL_checkany(L, 1);
    lua_pushboolean(L, record(L, lua_toboolean(L, 1), 2));
    return 1;
}

static int l_pass(lua_State *L)
{
    lua_pushboolean(L, record(L, 1, 1));
    return 1;
}

static int l_fail(lua_State *L)
{
    lua_pushboolean(L, record(L, 0, 1));
    return 1;
}

static int l_is(lua_State *L)
{
    int ok;
    lua_settop(L, 3);
    ok = lua_compare(L, 1, 2, LUA_OPEQ);
    if (!record(L, ok, 3))
        diag_got_expected(L, 1, 2);
    lua_pushboolean(L, ok);
    return 1;
}

static int l_isnt(lua_State *L)
{
    int ok;
    lua_settop(L, 3);
    ok = !lua_compare(L, 1, 2, LUA_OPEQ);
    if (!record(L, ok, 3)) {
        hg__tap_printf(tap_of(L), "#          got: %s", show(L, 1));
        hg__tap_printf(tap_of(L), "#     expected: anything else");
    }
    lua_pushboolean(L, ok);
    return 1;
}

/* like/unlike: string.find(got, pattern) through the string library, so patterns are Lua's. */
static int matches(lua_State *L, int got, int pat)
{
    int found;
    if (lua_type(L, got) != LUA_TSTRING && lua_type(L, got) != LUA_TNUMBER)
        return -1;
    lua_getglobal(L, "string");
    lua_getfield(L, -1, "find");
    lua_remove(L, -2);
    lua_pushvalue(L, got);
    lua_pushvalue(L, pat);
    lua_call(L, 2, 1);
    found = !lua_isnil(L, -1);
    lua_pop(L, 1);
    return found;
}

static int like_common(lua_State *L, int want)
{
    int m, ok;
    lua_settop(L, 3);
    luaL_checkstring(L, 2);
    m = matches(L, 1, 2);
    ok = m >= 0 && m == want;
    if (!record(L, ok, 3)) {
        hg__tap_printf(tap_of(L), "#                   %s", show(L, 1));
        hg__tap_printf(tap_of(L), "#     %13s '%s'", want ? "doesn't match" : "matches",
                       lua_tostring(L, 2));
    }
    lua_pushboolean(L, ok);
    return 1;
}

static int l_like(lua_State *L)
{
    return like_common(L, 1);
}

static int l_unlike(lua_State *L)
{
    return like_common(L, 0);
}

static int l_cmp_ok(lua_State *L)
{
    static const char *const ops[] = {"==", "~=", "!=", "<", "<=", ">", ">=", NULL};
    int op, ok;
    lua_settop(L, 4);
    op = luaL_checkoption(L, 2, NULL, ops);
    switch (op) {
    case 0: ok = lua_compare(L, 1, 3, LUA_OPEQ); break;
    case 1:
    case 2: ok = !lua_compare(L, 1, 3, LUA_OPEQ); break;
    case 3: ok = lua_compare(L, 1, 3, LUA_OPLT); break;
    case 4: ok = lua_compare(L, 1, 3, LUA_OPLE); break;
    case 5: ok = lua_compare(L, 3, 1, LUA_OPLT); break;
    default: ok = lua_compare(L, 3, 1, LUA_OPLE); break;
    }
    if (!record(L, ok, 4)) {
        if (op == 0) {
            diag_got_expected(L, 1, 3);
        } else {
            hg__tap_printf(tap_of(L), "#     %s", show(L, 1));
            hg__tap_printf(tap_of(L), "#         %s", ops[op]);
            hg__tap_printf(tap_of(L), "#     %s", show(L, 3));
        }
    }
    lua_pushboolean(L, ok);
    return 1;
}

/* is_deeply: structural equality of tables; path collects where they first differ. */
typedef struct deep {
    char path[512];
    char got[256];
    char exp[256];
} deep;

static void path_key(lua_State *L, int key, char *path, size_t cap)
{
    size_t n = strlen(path);
    if (lua_isinteger(L, key))
        snprintf(path + n, cap - n, "[%lld]", (long long)lua_tointeger(L, key));
    else if (lua_type(L, key) == LUA_TNUMBER)
        snprintf(path + n, cap - n, "[%g]", (double)lua_tonumber(L, key));
    else if (lua_type(L, key) == LUA_TSTRING)
        snprintf(path + n, cap - n, ".%s", lua_tostring(L, key));
    else
        snprintf(path + n, cap - n, "[%s]", luaL_typename(L, key));
}

static int differ(lua_State *L, int a, int b, deep *d)
{
    snprintf(d->got, sizeof(d->got), "%s", show(L, a));
    lua_pop(L, 1);
    snprintf(d->exp, sizeof(d->exp), "%s", show(L, b));
    lua_pop(L, 1);
    return 0;
}

static int deep_eq(lua_State *L, int a, int b, int depth, deep *d);

/* Every key of a must hold an equal value in b; when missing_only (a is then the expected
 * table), only that each key of a exists in b. */
static int deep_keys(lua_State *L, int a, int b, int depth, deep *d, int missing_only)
{
    size_t plen = strlen(d->path);
    lua_pushnil(L);
    while (lua_next(L, a)) {
        int v = lua_gettop(L), eq;
        lua_pushvalue(L, v - 1);
        lua_rawget(L, b);
        path_key(L, v - 1, d->path, sizeof(d->path));
        if (missing_only) {
            eq = !lua_isnil(L, -1);
            if (!eq) {
                snprintf(d->got, sizeof(d->got), "Does not exist");
                snprintf(d->exp, sizeof(d->exp), "%s", show(L, v));
            }
        } else
            eq = deep_eq(L, v, v + 1, depth + 1, d);
        lua_settop(L, v - 1);
        if (!eq)
            return 0;
        d->path[plen] = '\0';
    }
    return 1;
}

static int deep_eq(lua_State *L, int a, int b, int depth, deep *d)
{
    if (lua_rawequal(L, a, b))
        return 1;
    if (lua_type(L, a) != LUA_TTABLE || lua_type(L, b) != LUA_TTABLE)
        return lua_compare(L, a, b, LUA_OPEQ) ? 1 : differ(L, a, b, d);
    if (depth > 64) {
        snprintf(d->got, sizeof(d->got), "(nested too deep)");
        snprintf(d->exp, sizeof(d->exp), "(nested too deep)");
        return 0;
    }
    luaL_checkstack(L, 8, "is_deeply");
    return deep_keys(L, a, b, depth, d, 0) && deep_keys(L, b, a, depth, d, 1);
}

static int l_is_deeply(lua_State *L)
{
    deep d;
    int ok;
    lua_settop(L, 3);
    memset(&d, 0, sizeof(d));
    ok = deep_eq(L, 1, 2, 0, &d);
    lua_settop(L, 3);
    if (!record(L, ok, 3)) {
        hg__tap *t = tap_of(L);
        hg__tap_printf(t, "#     Structures begin differing at:");
        hg__tap_printf(t, "#          got%s = %s", d.path, d.got);
        hg__tap_printf(t, "#     expected%s = %s", d.path, d.exp);
    }
    lua_pushboolean(L, ok);
    return 1;
}

/* diag/note: the arguments through tostring, concatenated. */
static int print_comment(lua_State *L, int is_note)
{
    luaL_Buffer b;
    int n = lua_gettop(L);
    luaL_buffinit(L, &b);
    for (int i = 1; i <= n; i++) {
        luaL_tolstring(L, i, NULL);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    if (!is_note || !tap_of(L)->quiet)
        hg__tap_diag(tap_of(L), lua_tostring(L, -1));
    return 0;
}

static int l_diag(lua_State *L)
{
    return print_comment(L, 0);
}

static int l_note(lua_State *L)
{
    return print_comment(L, 1);
}

static int l_plan(lua_State *L)
{
    hg__tap *t = tap_of(L);
    hg__tap_level *lv = &t->lv[t->depth];
    hg__scn_check(L);
    if (lua_type(L, 1) == LUA_TSTRING && strcmp(lua_tostring(L, 1), "skip_all") == 0) {
        if (lv->n > 0 || lv->planned >= 0)
            return luaL_error(L, "plan('skip_all') after the plan or tests");
        lv->planned = 0;
        hg__tap_printf(t, "1..0 # SKIP %s", luaL_optstring(L, 2, ""));
        return hg__scn_abort(L, HG__ABORT_SKIP_ALL, 0);
    }
    lua_Integer n = luaL_checkinteger(L, 1);
    luaL_argcheck(L, n >= 0 && n < 1000000, 1, "a plan is a count of tests");
    if (lv->n > 0)
        return luaL_error(L, "plan() after tests ran (use done_testing())");
    if (hg__tap_plan(t, (int)n) < 0)
        return luaL_error(L, "plan() given twice");
    return 0;
}

/* At the top level, done_testing() ends the run: the script's TCP peers are closed, the hosts
 * it left running shut down and their logs checked (tests of their own), the timeout and the
 * memory limit too, before the plan, so that nothing the end of the run reports comes after
 * it. */
static void finish_run(lua_State *L, hg__tap *t)
{
    hg__scn *s = hg__scn_get(L);
    if (t->depth != t->base)
        return;
    hg__lua_tcp_close_all(L);
    hg__lua_hosts_stop(L, s, 0);
    hg__scn_check(L);
    hg__lua_hosts_check_logs(L, s);
    hg__scn_end_checks(s);
}

static int l_done_testing(lua_State *L)
{
    hg__tap *t = tap_of(L);
    hg__tap_level *lv = &t->lv[t->depth];
    lua_Integer n = -1;
    hg__scn_check(L);
    if (lv->done) {
        record(L, 0, 0);
        hg__tap_printf(t, "# done_testing() was already called");
        return 0;
    }
    if (!lua_isnoneornil(L, 1))
        n = luaL_checkinteger(L, 1);
    luaL_argcheck(L, n >= -1 && n < 1000000, 1, "a count of tests");
    finish_run(L, t);
    if (n >= 0 && lv->planned >= 0 && lv->planned != n)
        hg__tap_printf(t, "# done_testing(%d) does not match the plan %d", (int)n, lv->planned);
    else if (n >= 0 && lv->planned < 0 && hg__tap_plan(t, (int)n) == 0)
        lv->plan_at_end = 1;
    if (lv->planned < 0 && hg__tap_plan(t, lv->n) == 0)
        lv->plan_at_end = 1;
    lv->done = 1;
    return 0;
}

static int l_skip(lua_State *L)
{
    hg__tap *t = tap_of(L);
    const char *why = luaL_optstring(L, 1, "");
    lua_Integer n = luaL_optinteger(L, 2, 1);
    hg__scn_check(L);
    for (lua_Integer i = 0; i < n && i < 100000; i++) {
        t->lv[t->depth].n++;
        hg__tap_printf(t, "ok %d # skip %s", t->lv[t->depth].n, why);
    }
    return 0;
}

static int l_todo(lua_State *L)
{
    hg__tap *t = tap_of(L);
    snprintf(t->todo_why, sizeof(t->todo_why), "%s", luaL_optstring(L, 1, ""));
    t->todo_left = lua_isnoneornil(L, 2) ? -1 : (int)luaL_checkinteger(L, 2);
    return 0;
}

static int l_todo_end(lua_State *L)
{
    tap_of(L)->todo_left = 0;
    return 0;
}

static int l_bail_out(lua_State *L)
{
    const char *why = luaL_optstring(L, 1, "");
    hg__scn_check(L);
    /* TAP's bail-out is one line: line breaks in the reason become spaces */
    fputs("Bail out!  ", stdout);
    for (const char *p = why; *p; p++)
        putchar(*p == '\n' || *p == '\r' ? ' ' : *p);
    putchar('\n');
    fflush(stdout);
    return hg__scn_abort(L, HG__ABORT_BAIL, 255);
}

/* subtest(name, fn): fn's tests at one level deeper, then one result for the whole. */
static int l_subtest(lua_State *L)
{
    hg__tap *t = tap_of(L);
    const char *name = luaL_checkstring(L, 1);
    int depth = t->depth, ok, st;
    char file[256];
    int line;
    luaL_checktype(L, 2, LUA_TFUNCTION);
    if (depth + 1 >= HG__TAP_MAX_DEPTH)
        return luaL_error(L, "subtests nested too deep");
    hg__scn_where(L, 1, file, sizeof(file), &line);
    t->depth++;
    memset(&t->lv[t->depth], 0, sizeof(t->lv[0]));
    t->lv[t->depth].planned = -1;
    hg__tap_printf(t, "# Subtest: %s", name);
    lua_pushvalue(L, 2);
    st = hg__scn_pcall(L, 0, 0); /* an abort unwinds through here; the runner resets depth */
    if (st != LUA_OK) {
        hg__tap_result(t, 0, "subtest runs without error", NULL, 0);
        hg__tap_diag(t, lua_tostring(L, -1) ? lua_tostring(L, -1) : "(error object)");
        lua_pop(L, 1);
    }
    ok = hg__tap_finish(t, 0);
    t->depth = depth;
    lua_pushboolean(L, hg__tap_result(t, ok, name, file, line));
    return 1;
}

void hg__tap_open(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"plan", l_plan},       {"ok", l_ok},
        {"pass", l_pass},       {"fail", l_fail},
        {"is", l_is},           {"isnt", l_isnt},
        {"like", l_like},       {"unlike", l_unlike},
        {"cmp_ok", l_cmp_ok},   {"is_deeply", l_is_deeply},
        {"diag", l_diag},       {"note", l_note},
        {"skip", l_skip},       {"todo", l_todo},
        {"todo_end", l_todo_end}, {"subtest", l_subtest},
        {"done_testing", l_done_testing}, {"bail_out", l_bail_out},
        {NULL, NULL},
    };
    for (const luaL_Reg *r = fns; r->name; r++) {
        lua_pushcfunction(L, r->func);
        lua_setglobal(L, r->name);
    }
}
