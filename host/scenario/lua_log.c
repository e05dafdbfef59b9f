/* lua_log.c - a scenario host's captured log: the sink that keeps every line, log_like /
 * no_log_like / logged / log, expected error lines, and the end-of-run check that fails the
 * scenario on an error line nobody expected. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include <hangar/plugin.h>

#include "log.h"
#include "scenario.h"

#define MAX_LINES 100000u

/* ---- log capture ---- */

/* [any-thread] Called with the host's logger lock held. */
void hg__scn_log_sink(void *ud, uint32_t level, const char *who, const char *msg)
{
    hg__scn_host *sh = ud;
    size_t len = strlen(msg) + strlen(who ? who : "") + 24;
    char *text = malloc(len);
    if (!text)
        return;
    snprintf(text, len, "[%s] %s: %s", hg__log_level_name(level), who ? who : "host", msg);
    pthread_mutex_lock(&sh->mu);
    if (sh->n_lines == sh->cap_lines && sh->n_lines < MAX_LINES) {
        uint32_t cap = sh->cap_lines ? sh->cap_lines * 2 : 64;
        hg__scn_log_line *nl = realloc(sh->lines, cap * sizeof(*nl));
        if (nl) {
            sh->lines = nl;
            sh->cap_lines = cap;
        }
    }
    if (sh->n_lines < sh->cap_lines) {
        sh->lines[sh->n_lines++] = (hg__scn_log_line){level, 0, text};
        text = NULL;
    } else {
        sh->dropped++;
    }
    pthread_mutex_unlock(&sh->mu);
    free(text);
}

/* Pushes a sequence of the host's log lines so far. */
static void push_lines(lua_State *L, hg__scn_host *sh)
{
    pthread_mutex_lock(&sh->mu);
    lua_createtable(L, (int)sh->n_lines, 0);
    for (uint32_t i = 0; i < sh->n_lines; i++) {
        lua_pushstring(L, sh->lines[i].text);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    pthread_mutex_unlock(&sh->mu);
}

static void mark_seen(hg__scn_host *sh, uint32_t i)
{
    pthread_mutex_lock(&sh->mu);
    if (i < sh->n_lines)
        sh->lines[i].seen = 1;
    pthread_mutex_unlock(&sh->mu);
}

/* string.find(s, pattern) for the string at s_idx and pattern at p_idx. */
static int find(lua_State *L, int s_idx, int p_idx)
{
    int found;
    lua_getglobal(L, "string");
    lua_getfield(L, -1, "find");
    lua_remove(L, -2);
    lua_pushvalue(L, s_idx);
    lua_pushvalue(L, p_idx);
    lua_call(L, 2, 1);
    found = !lua_isnil(L, -1);
    lua_pop(L, 1);
    return found;
}

/* A log line as one diagnostic line (a message may hold newlines). */
static void diag_line(hg__tap *t, const char *indent, const char *text)
{
    char buf[1024];
    size_t j = 0;
    for (size_t i = 0; text[i] && j + 1 < sizeof(buf); i++)
        buf[j++] = text[i] == '\n' || text[i] == '\r' ? ' ' : text[i];
    buf[j] = '\0';
    hg__tap_printf(t, "# %s%s", indent, buf);
}

/* The error lines the host logged so far, for a start failure's message. */
void hg__scn_log_push_errors(lua_State *L, hg__scn_host *sh)
{
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    pthread_mutex_lock(&sh->mu);
    for (uint32_t i = 0; i < sh->n_lines; i++) {
        if (sh->lines[i].level > HG_LOG_WARN)
            continue;
        luaL_addstring(&b, "\n  ");
        luaL_addstring(&b, sh->lines[i].text);
    }
    pthread_mutex_unlock(&sh->mu);
    luaL_pushresult(&b);
}

/* ---- the end-of-run check ---- */

static int find_protected(lua_State *L)
{
    lua_pushboolean(L, find(L, 1, 2));
    return 1;
}

/* 1 when line (at the top) matches one of the host's expect_error_log patterns. */
static int expected_error(lua_State *L, hg__scn_host *sh)
{
    int line = lua_gettop(L);
    for (uint32_t i = 0; i < sh->n_expected; i++) {
        int hit;
        lua_pushcfunction(L, find_protected);
        lua_pushvalue(L, line);
        lua_pushstring(L, sh->expected[i]);
        hit = lua_pcall(L, 2, 1, 0) == LUA_OK && lua_toboolean(L, -1);
        lua_pop(L, 1);
        if (hit)
            return 1;
    }
    return 0;
}

static void check_host_logs(lua_State *L, hg__scn *s, hg__scn_host *sh)
{
    int bad = 0, base = lua_gettop(L);
    char name[224];
    if (sh->expect_errors || sh->logs_checked)
        return;
    sh->logs_checked = 1;
    for (uint32_t i = 0; i < sh->n_lines; i++) {
        if (sh->lines[i].level != HG_LOG_ERROR || sh->lines[i].seen)
            continue;
        lua_pushstring(L, sh->lines[i].text);
        if (!expected_error(L, sh)) {
            if (bad == 0) {
                snprintf(name, sizeof(name), "host %s logged no unexpected error", sh->label);
                hg__tap_result(&s->tap, 0, name, NULL, 0);
            }
            if (bad++ < 20)
                diag_line(&s->tap, "    ", sh->lines[i].text);
        }
        lua_settop(L, base);
    }
    if (bad > 20)
        hg__tap_printf(&s->tap, "#     (%d more)", bad - 20);
}

void hg__lua_hosts_check_logs(lua_State *L, hg__scn *s)
{
    s->tap.depth = s->tap.base;
    for (uint32_t i = 0; i < s->n_hosts; i++)
        check_host_logs(L, s, s->hosts[i]);
}

void hg__scn_log_free(hg__scn_host *sh)
{
    for (uint32_t j = 0; j < sh->n_lines; j++)
        free(sh->lines[j].text);
    for (uint32_t j = 0; j < sh->n_expected; j++)
        free(sh->expected[j]);
    free(sh->lines);
    free(sh->expected);
    sh->lines = NULL;
    sh->expected = NULL;
    sh->n_lines = sh->n_expected = 0;
}

/* ---- methods ---- */

static int l_log(lua_State *L)
{
    push_lines(L, hg__lua_host_arg(L, 1));
    return 1;
}

/* Matches pattern (at 2) against every line; marks matches seen; pushes the count. */
static int count_matches(lua_State *L, hg__scn_host *sh, int mark)
{
    int n = 0, lines;
    hg__scn_checklstring(L, 2, NULL);
    push_lines(L, sh);
    lines = lua_gettop(L);
    for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(L, lines); i++) {
        lua_rawgeti(L, lines, i);
        if (find(L, lua_gettop(L), 2)) {
            n++;
            if (mark)
                mark_seen(sh, (uint32_t)(i - 1));
        }
        lua_pop(L, 1);
    }
    return n;
}

static int l_logged(lua_State *L)
{
    lua_pushinteger(L, count_matches(L, hg__lua_host_arg(L, 1), 0));
    return 1;
}

/* log_like / no_log_like: one test each. */
static int log_test(lua_State *L, int want)
{
    hg__scn_host *sh = hg__lua_host_arg(L, 1);
    hg__tap *t = &hg__scn_get(L)->tap;
    char file[256], name[256];
    int line, n, ok, lines;
    lua_settop(L, 3);
    n = count_matches(L, sh, want);
    lines = lua_gettop(L);
    ok = want ? n > 0 : n == 0;
    snprintf(name, sizeof(name), "%s", lua_tostring(L, 3) ? lua_tostring(L, 3) : "");
    if (!*name)
        snprintf(name, sizeof(name), "log %s '%s'", want ? "matches" : "does not match",
                 lua_tostring(L, 2));
    hg__scn_where(L, 1, file, sizeof(file), &line);
    if (!hg__tap_result(t, ok, name, file, line)) {
        lua_Integer total = (lua_Integer)lua_rawlen(L, lines);
        if (want)
            hg__tap_printf(t, "#     none of %lld log lines matches '%s'; the last ones:",
                           (long long)total, lua_tostring(L, 2));
        else
            hg__tap_printf(t, "#     log lines matching '%s':", lua_tostring(L, 2));
        for (lua_Integer i = want ? (total > 10 ? total - 9 : 1) : 1; i <= total; i++) {
            lua_rawgeti(L, lines, i);
            if (want || find(L, lua_gettop(L), 2))
                diag_line(t, "      ", lua_tostring(L, -1));
            lua_pop(L, 1);
        }
    }
    lua_pushboolean(L, ok);
    return 1;
}

static int l_log_like(lua_State *L)
{
    return log_test(L, 1);
}

static int l_no_log_like(lua_State *L)
{
    return log_test(L, 0);
}

static int l_expect_error_log(lua_State *L)
{
    hg__scn_host *sh = hg__lua_host_arg(L, 0);
    char **ne;
    hg__scn_checklstring(L, 2, NULL);
    lua_pushliteral(L, "");
    find(L, lua_gettop(L), 2); /* a malformed pattern raises here, not at the end */
    ne = realloc(sh->expected, (sh->n_expected + 1) * sizeof(*ne));
    if (!ne)
        return luaL_error(L, "out of memory");
    sh->expected = ne;
    sh->expected[sh->n_expected] = strdup(lua_tostring(L, 2));
    if (sh->expected[sh->n_expected])
        sh->n_expected++;
    return 0;
}

void hg__lua_log_methods(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"log", l_log},
        {"logged", l_logged},
        {"log_like", l_log_like},
        {"no_log_like", l_no_log_like},
        {"expect_error_log", l_expect_error_log},
        {NULL, NULL},
    };
    luaL_setfuncs(L, methods, 0);
}
