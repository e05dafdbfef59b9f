/* lua.c - the `lua` processor: a script's process(data) turns each frame's payload (a string)
 * into the strings it returns, pushed on port out (nil: nothing); optional setup() and
 * teardown(); commit(CHANGE) applies a graph change. One Lua state per instance, used only on
 * the processor's own thread, under a memory cap. An error fails the processor with Lua's
 * message, which names the script's line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "gp.h"

static const hg_port_decl ports[] = {
    {sizeof(hg_port_decl), HG_PORT_IN, "in", HG_TYPE_ANY, 0},
    {sizeof(hg_port_decl), HG_PORT_OUT, "out", HG_TYPE_BYTES, 0},
};
const char *const gp_lua_keys[] = {"script", "memory", NULL};

typedef struct lproc {
    gp_base b;
    lua_State *L;
    size_t used, limit;
    hg_proc *p;        /* inside setup, process and teardown: what commit acts on */
    uint8_t has_setup, has_teardown;
    hg_counter *frames_in, *frames_out, *dropped;
} lproc;

static const char self_key = 'k';

/* lua_Alloc with a cap: growth past the limit is refused (Lua's "not enough memory"). */
static void *cap_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    lproc *l = ud;
    size_t old = ptr ? osize : 0;
    void *q;
    if (nsize == 0) {
        free(ptr);
        l->used -= old;
        return NULL;
    }
    if (nsize > old && nsize - old > l->limit - (l->used < l->limit ? l->used : l->limit))
        return NULL;
    q = realloc(ptr, nsize);
    if (q != NULL)
        l->used = l->used - old + nsize;
    return q;
}

static lproc *self_of(lua_State *L)
{
    lproc *l;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &self_key);
    l = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return l;
}

/* commit(CHANGE): the graph change as YAML text; raises an error when the host refuses it. */
static int l_commit(lua_State *L)
{
    lproc *l = self_of(L);
    const char *change = luaL_checkstring(L, 1);
    int rc;
    if (l->p == NULL || l->b.g == NULL)
        return luaL_error(L, "commit: only inside setup, process or teardown");
    rc = l->b.g->commit(l->p, change);
    if (rc != 0)
        return luaL_error(L, "commit: the graph change was refused (%s); the host logged why",
                          hg_strerror(rc));
    return 0;
}

/* log(MESSAGE): one info line tagged with the instance's name. */
static int l_log(lua_State *L)
{
    lproc *l = self_of(L);
    l->b.h->log(l->b.h, HG_LOG_INFO, luaL_checkstring(L, 1));
    return 0;
}

/* Every million instructions: a stuck script ends when the instance is cancelled. */
static void stuck_hook(lua_State *L, lua_Debug *ar)
{
    lproc *l = self_of(L);
    (void)ar;
    if (l->b.h->is_cancelled(l->b.h, l->b.h->cancel_token(l->b.h)))
        luaL_error(L, "stopped while the script ran");
}

static int has_function(lua_State *L, const char *name)
{
    int t = lua_getglobal(L, name);
    lua_pop(L, 1);
    return t == LUA_TFUNCTION;
}

/* Loads and runs the script. Returns 0, or HG_ECONFIG after an error at 'script'. */
static int load_script(lproc *l, const char *path)
{
    const hg_host *h = l->b.h;
    char msg[512];
    lua_State *L = l->L;
    if (luaL_loadfilex(L, path, "t") != LUA_OK || lua_pcall(L, 0, 0, 0) != LUA_OK) {
        snprintf(msg, sizeof msg, "script: %s", lua_tostring(L, -1));
        lua_pop(L, 1);
        return h->cfg_error(h, h->cfg_root(h), "script", msg);
    }
    if (!has_function(L, "process")) {
        snprintf(msg, sizeof msg, "script %s defines no function process(data)", path);
        return h->cfg_error(h, h->cfg_root(h), "script", msg);
    }
    l->has_setup = (uint8_t)has_function(L, "setup");
    l->has_teardown = (uint8_t)has_function(L, "teardown");
    return 0;
}

static int lua_create_inst(const hg_host *h, const hg_config *cfg, void **out)
{
    lproc *l = calloc(1, sizeof *l);
    const char *script = NULL;
    uint64_t mem = 64ull << 20;
    int rc = 0;
    (void)cfg;
    if (l == NULL)
        return HG_ENOMEM;
    l->b.h = h;
    GP_KEEP(rc, gp_cfg_str(h, "script", 1, &script));
    GP_KEEP(rc, gp_cfg_size(h, "memory", 1ull << 20, 1ull << 34, &mem));
    l->limit = (size_t)mem;
    if (rc == 0 && (l->L = lua_newstate(cap_alloc, l)) == NULL)
        rc = HG_ENOMEM;
    if (rc == 0) {
        luaL_openlibs(l->L);
        lua_getglobal(l->L, "os"); /* os.exit would end the whole host */
        lua_pushnil(l->L);
        lua_setfield(l->L, -2, "exit");
        lua_pop(l->L, 1);
        lua_pushlightuserdata(l->L, l);
        lua_rawsetp(l->L, LUA_REGISTRYINDEX, &self_key);
        lua_register(l->L, "commit", l_commit);
        lua_register(l->L, "log", l_log);
        lua_sethook(l->L, stuck_hook, LUA_MASKCOUNT, 1000000);
        rc = load_script(l, script);
    }
    if (rc == 0)
        rc = gp_counter(h, "frames_in", &l->frames_in);
    if (rc == 0)
        rc = gp_counter(h, "frames_out", &l->frames_out);
    if (rc == 0)
        rc = gp_counter(h, "dropped", &l->dropped);
    if (rc != 0) {
        if (l->L)
            lua_close(l->L);
        free(l);
        return rc;
    }
    *out = l;
    return 0;
}

static void lua_destroy_inst(void *inst)
{
    lproc *l = inst;
    lua_close(l->L);
    free(l);
}

/* Fails the processor with the error on top of the stack. */
static int script_failed(lproc *l, const char *fn)
{
    char msg[600];
    snprintf(msg, sizeof msg, "lua: %s(): %s", fn, lua_tostring(l->L, -1));
    lua_pop(l->L, 1);
    return gp_fail(&l->b, HG_EFAIL, msg);
}

/* Calls the global fn with no arguments. Returns 0 or the failure. */
static int call_hook(lproc *l, hg_proc *p, const char *fn)
{
    int rc = 0;
    l->p = p;
    lua_getglobal(l->L, fn);
    if (lua_pcall(l->L, 0, 0, 0) != LUA_OK)
        rc = script_failed(l, fn);
    l->p = NULL;
    return rc;
}

static int lua_setup_inst(void *inst, hg_proc *p)
{
    lproc *l = inst;
    int rc = gp_setup(&l->b);
    if (rc == 0 && l->has_setup)
        rc = call_hook(l, p, "setup");
    return rc;
}

static void lua_teardown_inst(void *inst, hg_proc *p)
{
    lproc *l = inst;
    if (l->b.g != NULL && l->has_teardown)
        (void)call_hook(l, p, "teardown");
}

/* Pushes the strings process() returned (stack slots base+1 .. top). Returns 0, HG_ECLOSED,
 * HG_ECANCELED, or HG_EFAIL for a value that is not a string or nil. */
static int push_results(lproc *l, hg_proc *p, int base, const hg_frame *in)
{
    int top = lua_gettop(l->L), rc = 0;
    for (int i = base + 1; i <= top && (rc == 0 || rc == HG_EAGAIN); i++) {
        hg_frame o = {.struct_size = sizeof o};
        size_t len;
        const char *s;
        if (lua_isnil(l->L, i))
            continue;
        if (lua_type(l->L, i) != LUA_TSTRING) {
            lua_pushfstring(l->L, "process returned a %s (value %d); return strings or nil",
                            luaL_typename(l->L, i), i - base);
            return script_failed(l, "process");
        }
        s = lua_tolstring(l->L, i, &len);
        rc = gp_alloc(&l->b, p, (uint32_t)len, &o);
        if (rc != 0)
            return gp_alloc_failed(&l->b, rc, "lua", (uint32_t)len);
        memcpy(o.data, s, len);
        o.len = (uint32_t)len;
        o.type = HG_TYPE_BYTES;
        o.ts_ns = in->ts_ns;
        rc = gp_push(&l->b, p, 1, &o);
        if (rc == 0)
            hg_counter_add(l->frames_out, 1);
        else
            hg_counter_add(l->dropped, 1);
    }
    return rc == HG_EAGAIN ? 0 : rc;
}

static int lua_process_inst(void *inst, hg_proc *p)
{
    lproc *l = inst;
    hg_frame fs[GP_BATCH];
    uint32_t n, i;
    int why, rc = 0;

    n = gp_pop_batch(&l->b, p, 0, fs, GP_BATCH, 0, &why);
    if (n == 0)
        return gp_idle_result(&l->b, why);
    hg_counter_add(l->frames_in, n);
    l->p = p;
    for (i = 0; i < n && rc == 0; i++) {
        int base = lua_gettop(l->L);
        lua_getglobal(l->L, "process");
        lua_pushlstring(l->L, fs[i].len ? (const char *)fs[i].data : "", fs[i].len);
        gp_drop(&l->b, &fs[i]);
        if (lua_pcall(l->L, 1, LUA_MULTRET, 0) != LUA_OK) {
            rc = script_failed(l, "process");
        } else {
            rc = push_results(l, p, base, &fs[i]);
            lua_settop(l->L, base);
        }
    }
    l->p = NULL;
    for (; i < n; i++)
        gp_drop(&l->b, &fs[i]);
    if (i < n || rc < 0)
        hg_counter_add(l->dropped, n - i);
    if (rc == HG_ECLOSED)
        return HG_PROCESS_DONE;
    return rc == HG_ECANCELED ? 0 : rc;
}

const hg_processor_ops gp_lua_ops = {
    .struct_size = sizeof(hg_processor_ops),
    .n_ports = 2,
    .ports = ports,
    .create = lua_create_inst,
    .destroy = lua_destroy_inst,
    .setup = lua_setup_inst,
    .process = lua_process_inst,
    .teardown = lua_teardown_inst,
};
