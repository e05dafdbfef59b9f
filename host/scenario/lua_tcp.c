/* lua_tcp.c - `hangar.tcp`: plain TCP peers for scenarios (connect, listen, accept, send, recv,
 * half-close, reset). Every call that waits has a timeout and wakes up every 50 ms to honour the
 * scenario's --timeout. */
#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <lauxlib.h>

#include "scenario.h"

#define CONN_MT "hangar.tcp.conn"
#define LISTENER_MT "hangar.tcp.listener"
#define DEFAULT_TIMEOUT_NS 5000000000ull
#define SLICE_NS 50000000ull
#define CHUNK 65536

typedef struct sock {
    int fd; /* -1 once closed */
} sock;

static const char peers_key = 'P'; /* registry: weak-keyed set of every sock of the run */

/* ---- addresses ---- */

/* "127.0.0.1:7000", "[::1]:7000", "localhost:7000" into ss. Returns 0 or -1 (msg set). */
static int parse_addr(const char *text, struct sockaddr_storage *ss, socklen_t *len,
                      const char **msg)
{
    char host[128];
    const char *colon = strrchr(text, ':');
    struct addrinfo hints, *res = NULL;
    size_t hl;
    int rc;
    if (!colon || colon == text) {
        *msg = "an address is HOST:PORT";
        return -1;
    }
    hl = (size_t)(colon - text);
    if (text[0] == '[' && hl >= 2 && text[hl - 1] == ']') {
        text++;
        hl -= 2;
    }
    if (hl >= sizeof(host)) {
        *msg = "host name too long";
        return -1;
    }
    {
        char *end = NULL;
        long port = strtol(colon + 1, &end, 10);
        if (colon[1] == '\0' || *end != '\0' || port < 0 || port > 65535) {
            *msg = "the port must be a number 0..65535";
            return -1;
        }
    }
    memcpy(host, text, hl);
    host[hl] = '\0';
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof(host), "127.0.0.1");
    memset(&hints, 0, sizeof(hints));
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo(host, colon + 1, &hints, &res);
    if (rc == EAI_NONAME) {
        *msg = "the host is an IP address or localhost";
        return -1;
    }
    if (rc != 0) {
        *msg = gai_strerror(rc);
        return -1;
    }
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static int push_sockaddr(lua_State *L, const struct sockaddr_storage *ss)
{
    char ip[INET6_ADDRSTRLEN];
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
        lua_pushfstring(L, "%s:%d", ip, (int)ntohs(a->sin_port));
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
        lua_pushfstring(L, "[%s]:%d", ip, (int)ntohs(a->sin6_port));
    } else {
        luaL_pushfail(L);
    }
    return 1;
}

/* ---- waiting ---- */

/* Waits until fd has ev or deadline passes. Returns 1 when ready (or in error: the next call
 * finds out), 0 on timeout. Raises the scenario's timeout abort. */
static int wait_fd(lua_State *L, int fd, short ev, uint64_t deadline)
{
    for (;;) {
        uint64_t now = hg__scn_now_ns();
        uint64_t slice = deadline > now ? deadline - now : 0;
        struct pollfd p = {fd, ev, 0};
        int r;
        if (slice > SLICE_NS)
            slice = SLICE_NS;
        r = poll(&p, 1, (int)((slice + 999999ull) / 1000000ull));
        if (r > 0 || (r < 0 && errno != EINTR))
            return 1;
        hg__scn_check(L);
        if (hg__scn_now_ns() >= deadline)
            return 0;
    }
}

static int fail(lua_State *L, const char *msg)
{
    luaL_pushfail(L);
    lua_pushstring(L, msg);
    return 2;
}

/* The words scenarios compare against: "reset", "closed", "refused", "timeout"; other errors
 * keep the system's message. */
static const char *err_word(int e)
{
    if (e == ECONNRESET)
        return "reset";
    if (e == EPIPE)
        return "closed";
    if (e == ECONNREFUSED)
        return "refused";
    if (e == ETIMEDOUT)
        return "timeout";
    return strerror(e);
}

/* nil and "bad address 'TEXT': why": a wrong address is a failure like any other. */
static int bad_address(lua_State *L, const char *text, const char *why)
{
    luaL_pushfail(L);
    lua_pushfstring(L, "bad address '%s': %s", text, why);
    return 2;
}

/* The set of sockets, created on first use. Pushes it. */
static void push_peers(lua_State *L)
{
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &peers_key) == LUA_TTABLE)
        return;
    lua_pop(L, 1);
    lua_newtable(L);
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &peers_key);
}

static sock *new_sock(lua_State *L, int fd, const char *mt)
{
    sock *s = lua_newuserdatauv(L, sizeof(*s), 0);
    s->fd = fd;
    luaL_setmetatable(L, mt);
    push_peers(L);
    lua_pushvalue(L, -2);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    return s;
}

void hg__lua_tcp_close_all(lua_State *L)
{
    push_peers(L);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        sock *s = lua_touserdata(L, -2);
        if (s && s->fd >= 0) {
            close(s->fd);
            s->fd = -1;
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

static sock *check_open(lua_State *L, const char *mt)
{
    sock *s = hg__scn_checkudata(L, 1, mt);
    if (s->fd < 0)
        luaL_error(L, "the socket is closed");
    return s;
}

/* ---- connect / listen / accept ---- */

/* A connect or listen that failed: its socket is closed now rather than at collection. */
static int fail_closing(lua_State *L, sock *s, const char *msg)
{
    close(s->fd);
    s->fd = -1;
    return fail(L, msg);
}

static int l_connect(lua_State *L)
{
    sock *s;
    struct sockaddr_storage ss;
    socklen_t len;
    const char *msg;
    uint64_t deadline;
    int fd, err = 0, one = 1;
    socklen_t elen = sizeof(err);
    const char *text = hg__scn_checklstring(L, 1, NULL);
    deadline = hg__scn_now_ns() + hg__scn_duration(L, 2, DEFAULT_TIMEOUT_NS);
    if (parse_addr(text, &ss, &len, &msg) < 0)
        return bad_address(L, text, msg);
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fail(L, strerror(errno));
    s = new_sock(L, fd, CONN_MT); /* owns fd from here: an abort closes it through __gc */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (struct sockaddr *)&ss, len) < 0 && errno != EINPROGRESS)
        return fail_closing(L, s, err_word(errno));
    if (!wait_fd(L, fd, POLLOUT, deadline))
        return fail_closing(L, s, "timeout");
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen);
    if (err)
        return fail_closing(L, s, err_word(err));
    return 1;
}

static int l_listen(lua_State *L)
{
    sock *s;
    struct sockaddr_storage ss;
    socklen_t len;
    const char *msg;
    int fd, one = 1;
    const char *text = hg__scn_checklstring(L, 1, NULL);
    if (parse_addr(text, &ss, &len, &msg) < 0)
        return bad_address(L, text, msg);
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fail(L, strerror(errno));
    s = new_sock(L, fd, LISTENER_MT);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 128) < 0)
        return fail_closing(L, s, strerror(errno));
    return 1;
}

static int l_accept(lua_State *L)
{
    sock *l = check_open(L, LISTENER_MT);
    uint64_t deadline = hg__scn_now_ns() + hg__scn_duration(L, 2, DEFAULT_TIMEOUT_NS);
    int one = 1;
    for (;;) {
        int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            new_sock(L, fd, CONN_MT);
            return 1;
        }
        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
            return fail(L, strerror(errno));
        if (!wait_fd(L, l->fd, POLLIN, deadline))
            return fail(L, "timeout");
    }
}

static int l_address(lua_State *L)
{
    sock *s = hg__scn_checkudata(L, 1, lua_touserdata(L, lua_upvalueindex(1)));
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (s->fd < 0 || getsockname(s->fd, (struct sockaddr *)&ss, &len) < 0)
        return fail(L, s->fd < 0 ? "closed" : strerror(errno));
    return push_sockaddr(L, &ss);
}

static int l_peer(lua_State *L)
{
    sock *s = check_open(L, CONN_MT);
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getpeername(s->fd, (struct sockaddr *)&ss, &len) < 0)
        return fail(L, strerror(errno));
    return push_sockaddr(L, &ss);
}

/* ---- data ---- */

static int l_send(lua_State *L)
{
    sock *s = check_open(L, CONN_MT);
    size_t len, off = 0;
    const char *data = hg__scn_checklstring(L, 2, &len);
    uint64_t deadline = hg__scn_now_ns() + hg__scn_duration(L, 3, DEFAULT_TIMEOUT_NS);
    while (off < len) {
        ssize_t n = send(s->fd, data + off, len - off, MSG_NOSIGNAL);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            fail(L, err_word(errno));
            lua_pushinteger(L, (lua_Integer)off);
            return 3;
        }
        if (!wait_fd(L, s->fd, POLLOUT, deadline)) {
            fail(L, "timeout");
            lua_pushinteger(L, (lua_Integer)off);
            return 3;
        }
    }
    lua_pushinteger(L, (lua_Integer)len);
    return 1;
}

/* Pushes nil, why, and the partial data (the buffer's result). */
static int partial(lua_State *L, luaL_Buffer *b, const char *why)
{
    luaL_pushresult(b);
    luaL_pushfail(L);
    lua_pushstring(L, why);
    lua_rotate(L, -3, 2);
    return 3;
}

/* Reads until want bytes (0: until end of stream; -1: at least one byte) or the deadline. */
static int read_until(lua_State *L, sock *s, lua_Integer want, uint64_t deadline)
{
    luaL_Buffer b;
    lua_Integer got = 0;
    luaL_buffinit(L, &b);
    while (want <= 0 || got < want) {
        size_t room = want > 0 && want - got < CHUNK ? (size_t)(want - got) : CHUNK;
        char *p = luaL_prepbuffsize(&b, room);
        ssize_t n = recv(s->fd, p, room, 0);
        if (n > 0) {
            luaL_addsize(&b, (size_t)n);
            got += n;
            if (want < 0)
                break;
            continue;
        }
        if (n == 0) {
            if (want == 0)
                break;
            return partial(L, &b, "closed");
        }
        if (errno != EAGAIN && errno != EINTR)
            return partial(L, &b, err_word(errno));
        if (!wait_fd(L, s->fd, POLLIN, deadline))
            return partial(L, &b, "timeout");
    }
    luaL_pushresult(&b);
    return 1;
}

static int l_recv(lua_State *L)
{
    sock *s = check_open(L, CONN_MT);
    lua_Integer want = lua_isnoneornil(L, 2) ? -1 : hg__scn_checkinteger(L, 2);
    uint64_t deadline = hg__scn_now_ns() + hg__scn_duration(L, 3, DEFAULT_TIMEOUT_NS);
    if (want == 0) {
        lua_pushliteral(L, "");
        return 1;
    }
    if (want < 0 && !lua_isnoneornil(L, 2))
        hg__scn_argerror(L, 2, "a byte count > 0");
    lua_settop(L, 1);
    return read_until(L, s, want, deadline);
}

static int l_recv_all(lua_State *L)
{
    sock *s = check_open(L, CONN_MT);
    uint64_t deadline = hg__scn_now_ns() + hg__scn_duration(L, 2, DEFAULT_TIMEOUT_NS);
    lua_settop(L, 1);
    return read_until(L, s, 0, deadline);
}

static int l_shutdown_write(lua_State *L)
{
    sock *s = check_open(L, CONN_MT);
    if (shutdown(s->fd, SHUT_WR) < 0)
        return fail(L, strerror(errno));
    lua_pushboolean(L, 1);
    return 1;
}

static int l_close(lua_State *L)
{
    sock *s = hg__scn_checkudata(L, 1, lua_touserdata(L, lua_upvalueindex(1)));
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    return 0;
}

/* reset(): close with SO_LINGER 0, so the peer sees a RST. */
static int l_reset(lua_State *L)
{
    sock *s = check_open(L, CONN_MT);
    struct linger lg = {1, 0};
    setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(s->fd);
    s->fd = -1;
    return 0;
}

static int l_tostring(lua_State *L)
{
    const char *mt = lua_touserdata(L, lua_upvalueindex(1));
    sock *s = hg__scn_checkudata(L, 1, mt);
    lua_pushfstring(L, "%s(fd %d)", mt, s->fd);
    return 1;
}

/* Methods taking their metatable name as upvalue 1 serve both kinds of socket. */
static void push_mt(lua_State *L, const char *mt, const luaL_Reg *methods, const char *prefix)
{
    static const luaL_Reg shared[] = {
        {"address", l_address}, {"close", l_close}, {NULL, NULL}};
    luaL_newmetatable(L, mt);
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_pushlightuserdata(L, (void *)mt);
    luaL_setfuncs(L, shared, 1);
    hg__scn_name_funcs(L, -1, prefix);
    lua_setfield(L, -2, "__index");
    lua_pushlightuserdata(L, (void *)mt);
    lua_pushcclosure(L, l_close, 1);
    lua_setfield(L, -2, "__gc");
    lua_pushlightuserdata(L, (void *)mt);
    lua_pushcclosure(L, l_close, 1);
    lua_setfield(L, -2, "__close");
    lua_pushlightuserdata(L, (void *)mt);
    lua_pushcclosure(L, l_tostring, 1);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1);
}

void hg__lua_tcp_push(lua_State *L)
{
    static const luaL_Reg conn[] = {
        {"send", l_send},         {"recv", l_recv},
        {"recv_all", l_recv_all}, {"shutdown_write", l_shutdown_write},
        {"reset", l_reset},       {"peer", l_peer},
        {NULL, NULL}};
    static const luaL_Reg listener[] = {{"accept", l_accept}, {NULL, NULL}};
    static const luaL_Reg fns[] = {{"connect", l_connect}, {"listen", l_listen}, {NULL, NULL}};
    push_mt(L, CONN_MT, conn, "conn:");
    push_mt(L, LISTENER_MT, listener, "listener:");
    luaL_newlib(L, fns);
}
