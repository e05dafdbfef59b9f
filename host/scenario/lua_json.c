/* lua_json.c - JSON <-> Lua for scenarios: control replies become tables (null becomes the
 * sentinel hangar.null, arrays become sequences), tables become the JSON of `call`. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "scenario.h"

#define MAX_DEPTH 64

static const char null_key = 'N';

static int null_tostring(lua_State *L)
{
    lua_pushliteral(L, "null");
    return 1;
}

static int null_newindex(lua_State *L)
{
    return luaL_error(L, "hangar.null is read-only");
}

void hg__lua_push_null(lua_State *L)
{
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &null_key) != LUA_TNIL)
        return;
    lua_pop(L, 1);
    lua_newtable(L);
    lua_createtable(L, 0, 3);
    lua_pushcfunction(L, null_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushcfunction(L, null_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushliteral(L, "hangar.null");
    lua_setfield(L, -2, "__name");
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &null_key);
}

static int is_null(lua_State *L, int idx)
{
    int r;
    idx = lua_absindex(L, idx);
    hg__lua_push_null(L);
    r = lua_rawequal(L, idx, -1);
    lua_pop(L, 1);
    return r;
}

static void push_json(lua_State *L, const json_t *j, int depth)
{
    luaL_checkstack(L, 4, "JSON nested too deep");
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        const char *k;
        json_t *v;
        lua_createtable(L, 0, (int)json_object_size(j));
        json_object_foreach((json_t *)j, k, v) {
            push_json(L, v, depth + 1);
            lua_setfield(L, -2, k);
        }
        break;
    }
    case JSON_ARRAY: {
        size_t n = json_array_size(j);
        lua_createtable(L, (int)n, 0);
        for (size_t i = 0; i < n; i++) {
            push_json(L, json_array_get(j, i), depth + 1);
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        break;
    }
    case JSON_STRING: lua_pushlstring(L, json_string_value(j), json_string_length(j)); break;
    case JSON_INTEGER: lua_pushinteger(L, (lua_Integer)json_integer_value(j)); break;
    case JSON_REAL: lua_pushnumber(L, json_real_value(j)); break;
    case JSON_TRUE: lua_pushboolean(L, 1); break;
    case JSON_FALSE: lua_pushboolean(L, 0); break;
    default: hg__lua_push_null(L); break;
    }
}

void hg__lua_push_json(lua_State *L, const json_t *j)
{
    push_json(L, j, 0);
}

/* n when the table at idx is a non-empty sequence 1..n and has no other key, else 0. */
static lua_Integer seq_len(lua_State *L, int idx)
{
    lua_Integer n = (lua_Integer)lua_rawlen(L, idx), count = 0;
    if (n == 0)
        return 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 || lua_tointeger(L, -1) > n) {
            lua_pop(L, 1);
            return 0;
        }
        count++;
    }
    return count == n ? n : 0;
}

/* First pass: raises a Lua error on anything JSON cannot hold, allocating nothing, so that
 * the second pass (which allocates) cannot be interrupted by an error and leak. */
static void check(lua_State *L, int idx, int depth)
{
    if (depth > MAX_DEPTH)
        luaL_error(L, "JSON nested deeper than %d (a cycle?)", MAX_DEPTH);
    luaL_checkstack(L, 4, "JSON nested too deep");
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
    case LUA_TBOOLEAN: return;
    case LUA_TNUMBER:
        if (!lua_isinteger(L, idx) && !isfinite(lua_tonumber(L, idx)))
            luaL_error(L, "JSON has no NaN or infinity");
        return;
    case LUA_TSTRING: {
        size_t len;
        const char *str = lua_tolstring(L, idx, &len);
        json_t *j = json_stringn(str, len);
        if (!j)
            luaL_error(L, "JSON strings are UTF-8");
        json_decref(j);
        return;
    }
    case LUA_TTABLE:
        if (is_null(L, idx))
            return;
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            if (!lua_isinteger(L, -2) && lua_type(L, -2) != LUA_TSTRING)
                luaL_error(L, "JSON object keys are strings or integers, not %s",
                           luaL_typename(L, -2));
            check(L, lua_gettop(L), depth + 1);
            lua_pop(L, 1);
        }
        return;
    default: luaL_error(L, "JSON cannot hold a %s", luaL_typename(L, idx));
    }
}

static json_t *convert(lua_State *L, int idx);

static json_t *table_to_json(lua_State *L, int idx)
{
    lua_Integer n = seq_len(L, idx);
    json_t *out = n ? json_array() : json_object();
    if (n) {
        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, idx, i);
            json_array_append_new(out, convert(L, lua_gettop(L)));
            lua_pop(L, 1);
        }
        return out;
    }
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        char key[64];
        const char *k = key;
        if (lua_isinteger(L, -2))
            snprintf(key, sizeof(key), "%lld", (long long)lua_tointeger(L, -2));
        else
            k = lua_tostring(L, -2);
        json_object_set_new(out, k, convert(L, lua_gettop(L)));
        lua_pop(L, 1);
    }
    return out;
}

static json_t *convert(lua_State *L, int idx)
{
    switch (lua_type(L, idx)) {
    case LUA_TBOOLEAN: return json_boolean(lua_toboolean(L, idx));
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx))
            return json_integer((json_int_t)lua_tointeger(L, idx));
        return json_real(lua_tonumber(L, idx));
    case LUA_TSTRING: {
        size_t len;
        const char *str = lua_tolstring(L, idx, &len);
        return json_stringn(str, len);
    }
    case LUA_TTABLE:
        if (!is_null(L, idx))
            return table_to_json(L, idx);
        return json_null();
    default: return json_null();
    }
}

json_t *hg__lua_to_json(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    check(L, idx, 0);
    return convert(L, idx);
}

/* v in the fewest significant digits (1..17) that read back as v, as jansson writes reals:
 * plain notation up to 1e17, no '+' or leading zeros in an exponent, ".0" when it would read
 * as an integer. */
static void shortest_real(double v, char *out, size_t len)
{
    char buf[48], *e;
    int p = 1;
    for (; p < 17; p++) {
        snprintf(buf, sizeof(buf), "%.*g", p, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    snprintf(buf, sizeof(buf), "%.*g", p, v);
    e = strchr(buf, 'e');
    if (e && atoi(e + 1) >= 0 && atoi(e + 1) < 17) { /* 100.0, not 1e2 */
        snprintf(buf, sizeof(buf), "%.*g", atoi(e + 1) + 1, v);
        e = strchr(buf, 'e');
    }
    if (e) {
        char *d = e + 1, *q;
        if (*d == '+')
            memmove(d, d + 1, strlen(d));
        else if (*d == '-')
            d++;
        for (q = d; *q == '0' && q[1]; q++)
            ;
        memmove(d, q, strlen(q) + 1);
    } else if (!strchr(buf, '.')) {
        strcat(buf, ".0");
    }
    snprintf(out, len, "%s", buf);
}

/* Copies the JSON text in, each real number token rewritten by shortest_real. */
static char *shorten_reals(const char *in)
{
    size_t n = strlen(in), o = 0;
    char *out = malloc(n * 2 + 64);
    int in_str = 0;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n;) {
        char c = in[i];
        size_t tok = 0, k;
        if (in_str || (c != '-' && (c < '0' || c > '9'))) {
            out[o++] = c;
            if (in_str && c == '\\' && i + 1 < n)
                out[o++] = in[++i];
            else if (c == '"')
                in_str = !in_str;
            i++;
            continue;
        }
        while (i + tok < n && strchr("0123456789+-.eE", in[i + tok]))
            tok++;
        if (strcspn(in + i, ".eE") < tok) {
            char num[64];
            shortest_real(strtod(in + i, NULL), num, sizeof(num));
            k = strlen(num);
            memcpy(out + o, num, k);
        } else {
            k = tok;
            memcpy(out + o, in + i, k);
        }
        o += k;
        i += tok;
    }
    out[o] = '\0';
    return out;
}

char *hg__lua_json_dumps(const json_t *j, size_t flags)
{
    char *full = json_dumps(j, flags | JSON_REAL_PRECISION(17)), *s;
    if (!full)
        return NULL;
    s = shorten_reals(full);
    free(full);
    return s;
}

static int l_encode(lua_State *L)
{
    json_t *j;
    char *s;
    hg__scn_checkany(L, 1);
    j = hg__lua_to_json(L, 1);
    s = hg__lua_json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    json_decref(j);
    if (!s)
        return luaL_error(L, "JSON encoding failed");
    lua_pushstring(L, s);
    free(s);
    return 1;
}

static int l_decode(lua_State *L)
{
    size_t len;
    const char *s = hg__scn_checklstring(L, 1, &len);
    json_error_t err;
    /* text from outside the script: a key given twice is an error, not its last copy */
    json_t *j = json_loadb(s, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &err);
    if (!j) {
        luaL_pushfail(L);
        lua_pushfstring(L, "%s at line %d column %d", err.text, err.line, err.column);
        return 2;
    }
    hg__lua_push_json(L, j);
    json_decref(j);
    return 1;
}

void hg__lua_json_push(lua_State *L)
{
    lua_createtable(L, 0, 2);
    lua_pushcfunction(L, l_encode);
    lua_setfield(L, -2, "encode");
    lua_pushcfunction(L, l_decode);
    lua_setfield(L, -2, "decode");
}
