/* memcap.c - the memory limit of a scenario's Lua state (--memory): an allocator in front of
 * Lua's own that counts the bytes in use and refuses to grow past the limit, so that a script
 * building a huge string fails with "not enough memory" instead of taking the machine. */
#include <stdio.h>

#include "scenario.h"

/* A refusal is the limit reached, unless the very next request is the same one and succeeds:
 * Lua's own allocations answer a refusal with an emergency collection and a retry. (Its string
 * buffers call the allocator directly: no collection, no retry, "not enough memory" at once.) */
static void *refuse(hg__scn_mem *m, const void *ptr, size_t nsize)
{
    if (!m->hit) {
        m->hit = 1;
        m->hit_size = nsize;
        m->hit_used = m->used;
        m->refused = nsize; /* a retry may still take it back */
        m->refused_ptr = ptr;
    }
    return NULL;
}

/* lua_Alloc: osize is the block's size when ptr is not NULL (else a type tag). Shrinking never
 * fails (Lua counts on it); only growth is checked. [scenario thread: one state, one thread] */
static void *cap_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    hg__scn_mem *m = ud;
    size_t old = ptr ? osize : 0, retry;
    void *p;
    if (nsize == 0) {
        m->orig(m->orig_ud, ptr, osize, 0);
        m->used -= old;
        return NULL;
    }
    retry = m->refused == nsize && m->refused_ptr == ptr;
    m->refused = 0;
    if (m->limit && nsize > old && (m->used > m->limit || nsize - old > m->limit - m->used))
        return refuse(m, ptr, nsize);
    p = m->orig(m->orig_ud, ptr, osize, nsize);
    if (p) {
        m->used = m->used - old + nsize;
        if (m->used > m->peak)
            m->peak = m->used;
        if (retry)
            m->hit = 0; /* the emergency collection made room */
    }
    return p;
}

void hg__scn_mem_install(lua_State *L, hg__scn_mem *m, size_t limit)
{
    m->orig = lua_getallocf(L, &m->orig_ud);
    m->limit = limit;
    /* what the state holds already, exactly as Lua counts it: the frees will say so */
    m->used = (size_t)lua_gc(L, LUA_GCCOUNT) * 1024 + (size_t)lua_gc(L, LUA_GCCOUNTB);
    m->peak = m->used;
    m->refused = 0;
    m->refused_ptr = NULL;
    m->hit = 0;
    lua_setallocf(L, cap_alloc, m);
}

void hg__scn_fmt_size(size_t bytes, char *buf, size_t len)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)bytes;
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, len, "%zu B", bytes);
    else
        snprintf(buf, len, "%.1f %s", v, units[u]);
}
