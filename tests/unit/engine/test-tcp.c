/* test-tcp.c - the tcp plugin's engines (tcp-echo, tcp-gen, tcp-proxy, tcp-sink) in a real host
 * on both runtime modes (uv, blocking): traffic, counters, half-close and resets through the
 * proxy, an upstream that is down, a peer that never reads, and config errors with positions. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>

#include "tcp_harness.h"

/* --- config errors --- */

/* Creating a host from these pipelines fails with a message containing needle (at line:col
 * `pos`, when pos is not NULL). */
static void expect_error(const char *pipelines, const char *needle, const char *pos,
                         const char *what)
{
    char yaml[2048], all[4096] = "";
    hg__diag d;
    hg__host *h;
    snprintf(yaml, sizeof yaml, "hangar: 1\nruntime: { mode: uv, workers: 1 }\npipelines:\n%s",
             pipelines);
    hg__diag_init(&d);
    h = host_new(yaml, &d);
    if (h != NULL)
        hg__host_destroy(h);
    for (uint32_t i = 0; i < d.n; i++) {
        char *line = hg__diag_format(&d, i);
        if (line != NULL && strstr(line, needle) != NULL) {
            snprintf(all, sizeof all, "%s", line);
            free(line);
            break;
        }
        if (line != NULL && strlen(all) + strlen(line) + 2 < sizeof all) {
            strcat(all, line);
            strcat(all, "|");
        }
        free(line);
    }
    ok(h == NULL, "%s: the host is not created", what);
    like_str(all, needle, "%s: the message says so", what);
    if (pos != NULL)
        like_str(all, pos, "%s: at the value's position", what);
    hg__diag_free(&d);
}

static void test_config_errors(void)
{
    char dead[64];
    expect_error("  - { name: e, engine: tcp-echo, listen: \"127.0.0.1:99999\" }\n",
                 "bad address '127.0.0.1:99999': the port must be between 0 and 65535", "<inline>:4:42:",
                 "tcp-echo with port 99999");
    expect_error("  - { name: e, engine: tcp-echo, listen: \"127.0.0.1\" }\n",
                 "bad address '127.0.0.1': missing port", NULL, "tcp-echo with no port");
    expect_error("  - { name: e, engine: tcp-echo, listen: \":80\" }\n",
                 "bad address ':80': empty host", NULL, "tcp-echo with an empty host");
    expect_error("  - { name: e, engine: tcp-echo }\n", "missing required key 'listen'", NULL,
                 "tcp-echo without listen");
    dead_address(dead, sizeof dead);
    expect_error("  - name: g\n    engine: tcp-gen\n    connect: 127.0.0.1:7\n"
                 "    payload: 64XB\n",
                 "'payload': bad size \"64XB\"", "<inline>:7:14:", "tcp-gen with a bad payload unit");
    expect_error("  - name: g\n    engine: tcp-gen\n    connect: 127.0.0.1:7\n"
                 "    duration: 1s\n    requests: 10\n",
                 "duration and requests are mutually exclusive", "<inline>:8:15:",
                 "tcp-gen with duration and requests");
    expect_error("  - { name: g, engine: tcp-gen, connect: nosuch }\n",
                 "bad address 'nosuch': no pipeline named 'nosuch'", NULL,
                 "tcp-gen connecting to an unknown pipeline");
    expect_error("  - { name: g1, engine: tcp-gen, connect: g2 }\n"
                 "  - { name: g2, engine: tcp-gen, connect: \"127.0.0.1:7\" }\n",
                 "g1: bad address 'g2': pipeline 'g2' never listens (it has no 'listen' key)",
                 "<inline>:4:43:", "tcp-gen connecting to a pipeline that never listens");
    expect_error("  - { name: g1, engine: tcp-gen, connect: \"127.0.0.1:7\" }\n"
                 "  - { name: p, engine: tcp-proxy, listen: \"127.0.0.1:0\", upstream: g1 }\n",
                 "p: bad address 'g1': pipeline 'g1' never listens", "<inline>:5:68:",
                 "tcp-proxy whose upstream never listens");
    expect_error("  - { name: g, engine: tcp-gen, connect: \"127.0.0.1:7\", pattern: zigzag }\n",
                 "'pattern' must be one of: ping-pong, stream (got 'zigzag')", NULL,
                 "tcp-gen with an unknown pattern");
    expect_error("  - { name: g, engine: tcp-gen, connect: \"127.0.0.1:7\", connections: 0 }\n",
                 "'connections' must be between 1 and 1000000, got 0", NULL, "tcp-gen with no connections");
    expect_error("  - { name: p, engine: tcp-proxy, listen: \"127.0.0.1:0\", "
                 "upstream: \"127.0.0.1:70000\" }\n",
                 "bad address '127.0.0.1:70000': the port must be between 0 and 65535", NULL,
                 "tcp-proxy with a bad upstream");
}

/* --- tcp-echo --- */

static void test_echo(const char *mode)
{
    char addr[64], lim[64], buf[64];
    int fd, fd2;
    hg__host *h = host_up(mode,
        "  - { name: echo, engine: tcp-echo, listen: \"127.0.0.1:0\" }\n"
        "  - { name: lim, engine: tcp-echo, listen: \"127.0.0.1:0\", max_open: 1, "
        "idle_timeout: 300ms }\n");
    ok(h != NULL, "[%s] a host with two echo servers starts", mode);
    if (h == NULL)
        return;
    ok(address_of(h, "echo", addr, sizeof addr) == 0 && strstr(addr, "127.0.0.1:") == addr &&
           strcmp(addr, "127.0.0.1:0") != 0,
       "[%s] tcp-echo publishes the port it got", mode);
    address_of(h, "lim", lim, sizeof lim);

    fd = tcp_connect(addr);
    ok(fd >= 0 && send(fd, "hello", 5, 0) == 5, "[%s] a client connects and sends", mode);
    memset(buf, 0, sizeof buf);
    is_int(read_n(fd, buf, 5), 5, "[%s] the echo comes back", mode);
    is_str(buf, "hello", "[%s] with the same bytes", mode);
    send(fd, "bye", 3, 0);
    shutdown(fd, SHUT_WR);
    memset(buf, 0, sizeof buf);
    is_int(read_n(fd, buf, sizeof buf), 3, "[%s] after a half-close the rest is echoed, then EOF",
           mode);
    is_str(buf, "bye", "[%s] and it is the right rest", mode);
    close(fd);
    is_int(wait_counter(h, "echo", "bytes_in", 8, 2000), 8, "[%s] the runtime counted 8 bytes in",
           mode);
    is_int(wait_counter(h, "echo", "closed_passive", 1, 2000), 1,
           "[%s] and one passive close", mode);

    fd = tcp_connect(lim);
    ok(fd >= 0 && send(fd, "x", 1, 0) == 1 && read_n(fd, buf, 1) == 1,
       "[%s] max_open 1: the first client is served", mode);
    fd2 = tcp_connect(lim);
    ok(fd2 < 0 || sees_close(fd2), "[%s] max_open 1: the second is closed", mode);
    is_int(wait_counter(h, "lim", "refused", 1, 2000), 1, "[%s] and counted as refused", mode);
    if (fd2 >= 0)
        close(fd2);
    ok(fd >= 0 && sees_close(fd), "[%s] idle_timeout closes the idle client", mode);
    is_int(wait_counter(h, "lim", "closed_timeout", 1, 2000), 1,
           "[%s] with cause timeout", mode);
    if (fd >= 0)
        close(fd);

    {
        json_t *j = cmd(h, "stop echo");
        ok(json_is_true(json_object_get(j, "ok")), "[%s] stop echo answers ok", mode);
        json_decref(j);
    }
    ok(wait_state(h, "echo", "stopped", 2000), "[%s] a stopped echo reports stopped", mode);
    fd = tcp_connect(addr);
    ok(fd < 0, "[%s] and accepts no more connections", mode);
    if (fd >= 0)
        close(fd);
    host_end(h);
}

/* --- tcp-gen --- */

static void test_gen_pingpong(const char *mode)
{
    json_t *s;
    long long p50, p99, p999;
    hg__host *h = host_up(mode,
        "  - { name: echo, engine: tcp-echo, listen: \"127.0.0.1:0\" }\n"
        "  - { name: load, engine: tcp-gen, connect: echo, connections: 4, payload: 100B, "
        "requests: 2000 }\n");
    ok(h != NULL, "[%s] echo and a generator start", mode);
    if (h == NULL)
        return;
    ok(wait_state(h, "load", "stopped", 20000), "[%s] the generator stops after its requests",
       mode);
    is_int(counter(h, "load", "requests"), 2000, "[%s] it sent 2000 requests", mode);
    is_int(counter(h, "load", "responses"), 2000, "[%s] and got 2000 responses", mode);
    is_int(counter(h, "load", "errors"), 0, "[%s] without errors", mode);
    is_int(counter(h, "load", "connections_established"), 4, "[%s] over 4 connections", mode);
    p50 = counter(h, "load", "latency_p50_ns");
    p99 = counter(h, "load", "latency_p99_ns");
    p999 = counter(h, "load", "latency_p999_ns");
    ok(p50 > 0 && p99 >= p50 && p999 >= p99 && p999 < 10000000000LL,
       "[%s] latency percentiles are ordered (p50 %lld, p99 %lld, p99.9 %lld ns)", mode, p50,
       p99, p999);
    is_int(wait_counter(h, "echo", "bytes_in", 200000, 2000), 200000,
           "[%s] the echo read every byte", mode);
    is_int(counter(h, "echo", "bytes_out"), 200000, "[%s] and wrote every byte back", mode);
    is_int(wait_counter(h, "echo", "closed_passive", 4, 2000), 4,
           "[%s] the generator closed its connections at the end", mode);
    s = call(h, "load", "summary");
    is_int(jint(s, "requests"), 2000, "[%s] the summary has the requests", mode);
    is_int(jint(s, "bytes"), 400000, "[%s] and the bytes both ways", mode);
    ok(json_real_value(json_object_get(s, "rps")) > 0 &&
           json_real_value(json_object_get(s, "seconds")) > 0,
       "[%s] and a rate over a time", mode);
    is_int(jint(s, "latency_p99_ns"), p99, "[%s] and the same p99 as the counter", mode);
    like_str(json_string_value(json_object_get(s, "text")), "2000 sent, 2000 answered",
             "[%s] and a text report", mode);
    json_decref(s);
    s = call(h, "load", "stats");
    ok(json_is_true(json_object_get(s, "finished")) && jint(s, "responses") == 2000,
       "[%s] stats says finished with the responses", mode);
    json_decref(s);
    host_end(h);
}

static void test_gen_close_by(const char *mode)
{
    hg__host *h = host_up(mode,
        "  - { name: echo, engine: tcp-echo, listen: \"127.0.0.1:0\" }\n"
        "  - { name: cc, engine: tcp-gen, connect: echo, connections: 2, requests: 40, "
        "requests_per_connection: 1 }\n"
        "  - { name: cs, engine: tcp-gen, connect: echo, connections: 2, requests: 40, "
        "requests_per_connection: 4, close_by: server, max_open: 4 }\n");
    ok(h != NULL, "[%s] generators with requests_per_connection start", mode);
    if (h == NULL)
        return;
    ok(wait_state(h, "cc", "stopped", 20000) && wait_state(h, "cs", "stopped", 20000),
       "[%s] both finish", mode);
    is_int(counter(h, "cc", "responses"), 40, "[%s] close_by client: 40 responses", mode);
    is_int(counter(h, "cc", "connections_established"), 40,
           "[%s] close_by client: one connection per request", mode);
    is_int(counter(h, "cc", "errors"), 0, "[%s] close_by client: no errors", mode);
    is_int(counter(h, "cs", "responses"), 40, "[%s] close_by server: 40 responses", mode);
    is_int(counter(h, "cs", "connections_established"), 10,
           "[%s] close_by server: one connection per 4 requests", mode);
    is_int(counter(h, "cs", "errors"), 0, "[%s] close_by server: no errors", mode);
    host_end(h);
}

static void test_gen_refused(const char *mode)
{
    char pl[512], dead[64];
    json_t *s;
    hg__host *h;
    dead_address(dead, sizeof dead);
    snprintf(pl, sizeof pl,
             "  - { name: load, engine: tcp-gen, connect: \"%s\", connections: 2, "
             "requests: 10 }\n", dead);
    h = host_up(mode, pl);
    ok(h != NULL, "[%s] a generator against a closed port starts", mode);
    if (h == NULL)
        return;
    ok(wait_state(h, "load", "stopped", 20000), "[%s] it gives up and stops", mode);
    ok(counter(h, "load", "failed_refused") > 0 &&
           counter(h, "load", "errors") == counter(h, "load", "failed_refused"),
       "[%s] its failures are counted as refused", mode);
    is_int(counter(h, "load", "responses"), 0, "[%s] with no responses", mode);
    s = call(h, "load", "summary");
    ok(jint(json_object_get(s, "failures"), "refused") > 0, "[%s] the summary counts them", mode);
    like_str(json_string_value(json_object_get(s, "text")), "refused",
             "[%s] and the text names the cause", mode);
    json_decref(s);
    host_end(h);
}

static void test_gen_stream_sink(const char *mode)
{
    json_t *s;
    long long reqs, bytes;
    double secs;
    hg__host *h = host_up(mode,
        "  - { name: sink, engine: tcp-sink, listen: \"127.0.0.1:0\" }\n"
        "  - { name: load, engine: tcp-gen, connect: sink, connections: 2, payload: 16KiB, "
        "pattern: stream, duration: 300ms }\n");
    ok(h != NULL, "[%s] a streaming generator and a sink start", mode);
    if (h == NULL)
        return;
    ok(wait_state(h, "load", "stopped", 10000), "[%s] the stream stops after its duration",
       mode);
    reqs = counter(h, "load", "requests");
    bytes = reqs * 16384;
    ok(reqs > 10, "[%s] it wrote %lld payloads", mode, reqs);
    is_int(wait_counter(h, "sink", "bytes_discarded", bytes, 5000), bytes,
           "[%s] the sink discarded every byte written", mode);
    is_int(counter(h, "sink", "bytes_in"), bytes, "[%s] as the runtime counted", mode);
    s = call(h, "load", "summary");
    secs = json_real_value(json_object_get(s, "seconds"));
    ok(secs >= 0.25 && secs < 3.0, "[%s] the run took about its duration (%.3f s)", mode, secs);
    is_str(json_string_value(json_object_get(s, "pattern")), "stream",
           "[%s] the summary names the pattern", mode);
    json_decref(s);
    host_end(h);
}

static void test_gen_stop_and_cps(const char *mode)
{
    static logbuf lb = {.mu = PTHREAD_MUTEX_INITIALIZER};
    json_t *s, *j;
    long long est;
    uint64_t t0;
    hg__host *h;
    lb.len = 0;
    lb.text[0] = '\0';
    h = host_up_logged(mode,
        "  - { name: echo, engine: tcp-echo, listen: \"127.0.0.1:0\" }\n"
        "  - { name: long, engine: tcp-gen, connect: echo, connections: 8, duration: 60s, "
        "progress: true }\n"
        "  - { name: slow, engine: tcp-gen, connect: echo, connections: 1, duration: 1s, "
        "requests_per_connection: 1, cps_limit: 50 }\n", &lb);
    ok(h != NULL, "[%s] a long generator and a rate-limited one start", mode);
    if (h == NULL)
        return;
    ok(wait_state(h, "slow", "stopped", 5000), "[%s] the rate-limited one ends after 1s", mode);
    est = counter(h, "slow", "connections_established");
    /* the limit is an upper bound; beside a flat-out generator on a loaded (or sanitized)
     * machine the slow one may get fewer, so the floor only shows that it ran */
    ok(est >= 1 && est <= 60, "[%s] cps_limit 50 for 1s opens at most about 50 connections "
       "(%lld)", mode, est);
    ok(state_is(h, "long", "running"), "[%s] the 60s generator is still running", mode);
    j = cmd(h, "stop long");
    t0 = now_ms();
    ok(json_is_true(json_object_get(j, "ok")) && wait_state(h, "long", "stopped", 3000),
       "[%s] stop ends a running generator", mode);
    ok(now_ms() - t0 < 3000, "[%s] promptly", mode);
    json_decref(j);
    s = call(h, "long", "summary");
    ok(json_is_true(json_object_get(s, "finished")) &&
           json_real_value(json_object_get(s, "seconds")) < 30 && jint(s, "responses") > 0,
       "[%s] its summary covers the time it ran", mode);
    json_decref(s);
    pthread_mutex_lock(&lb.mu);
    like_str(lb.text, " req/s ", "[%s] progress: true logs a line per second", mode);
    like_str(lb.text, " MB/s  in ", "[%s] with the rates out and in apart", mode);
    pthread_mutex_unlock(&lb.mu);
    host_end(h);
}

/* --- tcp-proxy --- */

/* The upstream talks first and closes: the client reads it all, then EOF. */
static void test_proxy_server_closes(const char *mode)
{
    char pl[512], up[64], front[64], buf[64];
    int lfd, cfd, ufd = -1;
    struct pollfd p;
    hg__host *h;
    lfd = tcp_listen(up, sizeof up);
    snprintf(pl, sizeof pl,
             "  - { name: front, engine: tcp-proxy, listen: \"127.0.0.1:0\", upstream: \"%s\" }\n",
             up);
    h = host_up(mode, pl);
    ok(h != NULL && lfd >= 0, "[%s] a proxy to a server that speaks first starts", mode);
    if (h == NULL)
        return;
    address_of(h, "front", front, sizeof front);
    cfd = tcp_connect(front);
    p = (struct pollfd){lfd, POLLIN, 0};
    if (poll(&p, 1, 3000) == 1)
        ufd = accept(lfd, NULL, NULL);
    ok(ufd >= 0 && send(ufd, "banner", 6, 0) == 6 && close(ufd) == 0,
       "[%s] the server sends a banner and closes", mode);
    memset(buf, 0, sizeof buf);
    is_int(read_n(cfd, buf, sizeof buf), 6, "[%s] the client gets the banner, then EOF", mode);
    is_str(buf, "banner", "[%s] intact", mode);
    is_int(counter(h, "front", "connections_open"), 2,
           "[%s] both sides stay open until the client is done too (half-close)", mode);
    close(cfd);
    close(lfd);
    is_int(wait_equal(h, "front", "connections_open", 0, 2000), 0,
           "[%s] the client's close ends both sides", mode);
    is_int(counter(h, "front", "closed_active_reset") + counter(h, "front", "closed_passive_reset"),
           0, "[%s] without a reset", mode);
    host_end(h);
}

static void test_proxy(const char *mode)
{
    char front[64], buf[64];
    struct linger lg = {1, 0};
    int fd;
    hg__host *h = host_up(mode,
        "  - { name: echo, engine: tcp-echo, listen: \"127.0.0.1:0\" }\n"
        "  - { name: front, engine: tcp-proxy, listen: \"127.0.0.1:0\", upstream: echo }\n"
        "  - { name: idle, engine: tcp-proxy, listen: \"127.0.0.1:0\", upstream: echo, "
        "idle_timeout: 300ms }\n"
        "  - { name: load, engine: tcp-gen, connect: front, connections: 4, requests: 1000 }\n");
    ok(h != NULL, "[%s] echo behind a proxy and a generator start", mode);
    if (h == NULL)
        return;
    ok(wait_state(h, "load", "stopped", 20000), "[%s] the generator finishes through the proxy",
       mode);
    is_int(counter(h, "load", "responses"), 1000, "[%s] 1000 round trips through the proxy",
           mode);
    is_int(counter(h, "load", "errors"), 0, "[%s] without errors", mode);
    address_of(h, "front", front, sizeof front);

    fd = tcp_connect(front);
    ok(fd >= 0 && send(fd, "ping", 4, 0) == 4, "[%s] a client talks through the proxy", mode);
    memset(buf, 0, sizeof buf);
    is_int(read_n(fd, buf, 4), 4, "[%s] and gets the echo", mode);
    send(fd, "end", 3, 0);
    shutdown(fd, SHUT_WR);
    memset(buf, 0, sizeof buf);
    is_int(read_n(fd, buf, sizeof buf), 3,
           "[%s] a half-close passes through and back: the rest, then EOF", mode);
    is_str(buf, "end", "[%s] with the right bytes", mode);
    if (fd >= 0)
        close(fd);

    fd = tcp_connect(front);
    ok(fd >= 0 && send(fd, "x", 1, 0) == 1 && read_n(fd, buf, 1) == 1,
       "[%s] another client is connected through", mode);
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        close(fd);
    }
    is_int(wait_counter(h, "echo", "closed_passive_reset", 1, 3000), 1,
           "[%s] a client's reset resets the upstream side", mode);
    is_int(wait_counter(h, "front", "closed_passive_reset", 1, 3000), 1,
           "[%s] the proxy saw the client's reset", mode);

    address_of(h, "idle", front, sizeof front);
    fd = tcp_connect(front);
    ok(fd >= 0 && send(fd, "y", 1, 0) == 1 && read_n(fd, buf, 1) == 1,
       "[%s] a client talks through a proxy with idle_timeout", mode);
    ok(fd >= 0 && sees_close(fd), "[%s] and is closed once idle", mode);
    ok(wait_counter(h, "idle", "closed_timeout", 1, 2000) >= 1,
       "[%s] with cause timeout", mode);
    is_int(wait_equal(h, "idle", "connections_open", 0, 2000), 0,
       "[%s] and the upstream side is closed with it", mode);
    if (fd >= 0)
        close(fd);
    host_end(h);
}

static void test_proxy_upstream_down(const char *mode)
{
    char pl[512], dead[64], front[64];
    int fd;
    hg__host *h;
    dead_address(dead, sizeof dead);
    snprintf(pl, sizeof pl,
             "  - { name: front, engine: tcp-proxy, listen: \"127.0.0.1:0\", upstream: \"%s\", "
             "connect_timeout: 1s }\n", dead);
    h = host_up(mode, pl);
    ok(h != NULL, "[%s] a proxy to a dead upstream starts", mode);
    if (h == NULL)
        return;
    address_of(h, "front", front, sizeof front);
    fd = tcp_connect(front);
    ok(fd >= 0 && sees_close(fd), "[%s] its client is closed when upstream refuses", mode);
    if (fd >= 0)
        close(fd);
    is_int(wait_counter(h, "front", "upstream_failed", 1, 3000), 1,
           "[%s] and upstream_failed counts it", mode);
    host_end(h);
}

/* Writes to fd (non-blocking) until nothing moves for 300 ms or max bytes. Returns the count. */
static long long fill(int fd, long long max, int *stalled)
{
    static char chunk[65536];
    long long sent = 0;
    struct pollfd p = {fd, POLLOUT, 0};
    *stalled = 0;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    while (sent < max) {
        ssize_t n = send(fd, chunk, sizeof chunk, MSG_NOSIGNAL);
        if (n > 0) {
            sent += n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            break;
        if (poll(&p, 1, 300) == 0) {
            *stalled = 1;
            break;
        }
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return sent;
}

static void test_proxy_never_reads(const char *mode)
{
    char pl[512], up[64], front[64];
    static char buf[65536];
    long long sent, held, got = 0;
    int lfd, cfd, ufd = -1, stalled;
    struct pollfd p;
    hg__host *h;
    lfd = tcp_listen(up, sizeof up);
    snprintf(pl, sizeof pl,
             "  - { name: front, engine: tcp-proxy, listen: \"127.0.0.1:0\", upstream: \"%s\", "
             "high_water: 64KiB }\n", up);
    h = host_up(mode, pl);
    ok(h != NULL && lfd >= 0, "[%s] a proxy to a peer that never reads starts", mode);
    if (h == NULL)
        return;
    address_of(h, "front", front, sizeof front);
    cfd = tcp_connect(front);
    p = (struct pollfd){lfd, POLLIN, 0};
    if (poll(&p, 1, 3000) == 1)
        ufd = accept(lfd, NULL, NULL);
    ok(cfd >= 0 && ufd >= 0, "[%s] the proxy connects to the peer", mode);
    sent = fill(cfd, 256LL << 20, &stalled);
    ok(stalled, "[%s] the client is stopped by back-pressure after %lld bytes", mode, sent);
    held = counter(h, "front", "bytes_in") - counter(h, "front", "bytes_out");
    ok(held >= 0 && held <= (64 + 256) * 1024,
       "[%s] the proxy holds about high_water (%lld bytes)", mode, held);
    ok(counter(h, "front", "queued_max") <= (64 + 256) * 1024 &&
           counter(h, "front", "pauses") >= 1,
       "[%s] its queue stayed bounded and it paused the client", mode);
    {
        struct timeval tv = {3, 0};
        setsockopt(ufd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    while (got < sent) {
        ssize_t n = recv(ufd, buf, sizeof buf, 0);
        if (n <= 0)
            break;
        got += n;
    }
    is_int(got, sent, "[%s] once the peer reads, every byte arrives", mode);
    close(cfd);
    if (ufd >= 0)
        close(ufd);
    close(lfd);
    host_end(h);
}

/* --- graceful stop with keep-alive clients --- */

typedef struct stopper {
    hg__host *h;
    const char *text;
    json_t *reply;
    uint64_t ms;
} stopper;

static void *stop_thread(void *arg)
{
    stopper *st = arg;
    uint64_t t0 = now_ms();
    st->reply = cmd(st->h, st->text);
    st->ms = now_ms() - t0;
    return NULL;
}

/* Runs text (a stop command) on the control socket's behalf; 1 when it answered ok, cut 0,
 * within ms. */
static int stops_clean(hg__host *h, const char *text, uint64_t ms)
{
    stopper st = {h, text, NULL, 0};
    int good;
    stop_thread(&st);
    good = json_is_true(json_object_get(st.reply, "ok")) && jint(st.reply, "cut") == 0 &&
           st.ms < ms;
    if (!good)
        tap_diag("%s: %llu ms, cut %lld", text, (unsigned long long)st.ms, jint(st.reply, "cut"));
    json_decref(st.reply);
    return good;
}

/* Reads until EOF; the count, or -1 when the connection was reset or timed out. */
static long long read_to_eof(int fd)
{
    static char buf[65536];
    long long got = 0;
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n == 0)
            return got;
        if (n < 0) {
            tap_diag("the read failed after %lld bytes: %s", got, strerror(errno));
            return -1;
        }
        got += n;
    }
}

static void test_graceful_stop(const char *mode)
{
    char echo[64], sink[64], px[64], buf[8];
    long long sent, got, echoed;
    int a, b, s, pc, stalled;
    pthread_t th;
    stopper st;
    hg__host *h = host_up(mode,
        "  - { name: echo, engine: tcp-echo, listen: \"127.0.0.1:0\" }\n"
        "  - { name: sink, engine: tcp-sink, listen: \"127.0.0.1:0\" }\n"
        "  - { name: px, engine: tcp-proxy, listen: \"127.0.0.1:0\", upstream: echo }\n");
    ok(h != NULL, "[%s] echo, sink and proxy start for a graceful stop", mode);
    if (h == NULL)
        return;
    address_of(h, "echo", echo, sizeof echo);
    address_of(h, "sink", sink, sizeof sink);
    address_of(h, "px", px, sizeof px);
    a = tcp_connect(echo);
    s = tcp_connect(sink);
    pc = tcp_connect(px);
    ok(a >= 0 && send(a, "hi", 2, 0) == 2 && read_n(a, buf, 2) == 2 && pc >= 0 &&
           send(pc, "yo", 2, 0) == 2 && read_n(pc, buf, 2) == 2 && s >= 0 &&
           send(s, "x", 1, 0) == 1 && wait_counter(h, "sink", "bytes_in", 1, 2000) == 1,
       "[%s] keep-alive clients of the echo, the proxy and the sink are served, then idle",
       mode);
    b = tcp_connect(echo);
    sent = fill(b, 256LL << 20, &stalled);
    ok(b >= 0 && stalled, "[%s] a client that does not read fills the echo (%lld bytes)", mode,
       sent);

    ok(stops_clean(h, "stop px", 1000), "[%s] stop px: its idle pair is closed, nothing cut, "
       "at once", mode);
    ok(pc >= 0 && read_n(pc, buf, sizeof buf) == 0, "[%s] the proxy's client sees EOF", mode);
    ok(stops_clean(h, "stop sink", 1000), "[%s] stop sink: its idle client is closed, nothing "
       "cut, at once", mode);
    ok(s >= 0 && read_n(s, buf, sizeof buf) == 0, "[%s] the sink's client sees EOF", mode);

    st = (stopper){h, "stop echo", NULL, 0};
    pthread_create(&th, NULL, stop_thread, &st);
    ok(a >= 0 && read_n(a, buf, sizeof buf) == 0, "[%s] the idle echo client sees EOF", mode);
    got = read_to_eof(b);
    close(b);
    pthread_join(th, NULL);
    ok(json_is_true(json_object_get(st.reply, "ok")) && jint(st.reply, "cut") == 0 &&
           st.ms < 2500,
       "[%s] stop echo: nothing cut, done once the busy client read its echo (%llu ms)", mode,
       (unsigned long long)st.ms);
    json_decref(st.reply);
    echoed = counter(h, "echo", "bytes_in") - counter(h, "echo", "bytes_dropped") - 2 - 2;
    ok(got > 0 && got == echoed, "[%s] the busy client got every byte echoed before the stop's "
       "FIN (%lld of %lld), then EOF, no reset", mode, got, echoed);
    is_int(counter(h, "echo", "bytes_in") - 4, sent,
           "[%s] the echo read all the client sent (the rest counted in bytes_dropped)", mode);
    if (a >= 0)
        close(a);
    if (s >= 0)
        close(s);
    if (pc >= 0)
        close(pc);
    host_end(h);
}

int main(void)
{
    static const char *const modes[] = {"uv", "blocking", "uring"};
    split_dirs();
    test_config_errors();
    for (unsigned i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        tap_diag("runtime mode %s", modes[i]);
        test_echo(modes[i]);
        test_gen_pingpong(modes[i]);
        test_gen_close_by(modes[i]);
        test_gen_refused(modes[i]);
        test_gen_stream_sink(modes[i]);
        test_gen_stop_and_cps(modes[i]);
        test_proxy(modes[i]);
        test_proxy_server_closes(modes[i]);
        test_proxy_upstream_down(modes[i]);
        test_proxy_never_reads(modes[i]);
        test_graceful_stop(modes[i]);
    }
    return tap_done();
}
