/* tcp_harness.h - what test-tcp.c drives the tcp engines with: a host from inline YAML on a
 * runtime mode, commands and counters read back as JSON, and plain sockets for the test's own
 * clients and peers. Static helpers for that one test. */
#ifndef HG_TCP_HARNESS_H
#define HG_TCP_HARNESS_H

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <hangar/plugin.h>

#include "host_api.h"
#include "tap.h"

#ifndef TCP_TEST_PLUGIN_DIRS
#error "TCP_TEST_PLUGIN_DIRS must name the plugin build directories (colon-separated)"
#endif

static char *plugin_dirs[8];

static void split_dirs(void)
{
    static char buf[4096];
    char *save = NULL, *tok;
    int n = 0;
    snprintf(buf, sizeof buf, "%s", TCP_TEST_PLUGIN_DIRS);
    for (tok = strtok_r(buf, ":", &save); tok && n < 7; tok = strtok_r(NULL, ":", &save))
        plugin_dirs[n++] = tok;
    plugin_dirs[n] = NULL;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* --- the host --- */

/* Creates a host from YAML (the runtime mode substituted for %s); errors go into d. */
static hg__host *host_new(const char *yaml, hg__diag *d)
{
    hg__host_opts o;
    hg__host *h = NULL;
    memset(&o, 0, sizeof o);
    o.src.yaml = yaml;
    o.src.limits = (hg__cfg_limits)HG__CFG_LIMITS_DEFAULT;
    o.extra_plugin_path = plugin_dirs;
    o.log_level = HG_LOG_WARN;
    o.log_to_stderr = 1;
    if (hg__host_create(&o, d, &h) != 0)
        return NULL;
    return h;
}

/* What a host logged at info level and above (the log sink runs under the logger's lock). */
typedef struct logbuf {
    pthread_mutex_t mu;
    char text[16384];
    size_t len;
} logbuf;

static void log_sink(void *ud, uint32_t level, const char *who, const char *msg)
{
    logbuf *lb = ud;
    pthread_mutex_lock(&lb->mu);
    if (lb->len + strlen(msg) + 2 < sizeof lb->text)
        lb->len += (size_t)snprintf(lb->text + lb->len, sizeof lb->text - lb->len, "%s\n", msg);
    pthread_mutex_unlock(&lb->mu);
}

static hg__host *host_up_logged(const char *mode, const char *pipelines, logbuf *lb)
{
    char yaml[4096];
    hg__diag d;
    hg__host *h;
    hg__host_opts o;
    snprintf(yaml, sizeof yaml,
             "hangar: 1\nruntime: { mode: %s, workers: 2 }\n"
             "control: { shutdown_timeout: 3s }\npipelines:\n%s", mode, pipelines);
    hg__diag_init(&d);
    memset(&o, 0, sizeof o);
    o.src.yaml = yaml;
    o.src.limits = (hg__cfg_limits)HG__CFG_LIMITS_DEFAULT;
    o.extra_plugin_path = plugin_dirs;
    o.log_level = lb ? HG_LOG_INFO : HG_LOG_WARN;
    o.log_to_stderr = lb == NULL;
    o.log_sink = lb ? log_sink : NULL;
    o.log_sink_ud = lb;
    if (hg__host_create(&o, &d, &h) != 0)
        h = NULL;
    if (h == NULL) {
        hg__diag_print(&d, stdout);
    } else if (hg__host_start(h) != 0) {
        tap_diag("host did not start");
        hg__host_destroy(h);
        h = NULL;
    }
    hg__diag_free(&d);
    return h;
}

static hg__host *host_up(const char *mode, const char *pipelines)
{
    return host_up_logged(mode, pipelines, NULL);
}

static json_t *cmd(hg__host *h, const char *text)
{
    char *reply = NULL;
    json_t *j = NULL;
    if (hg__host_command(h, text, &reply) == 0)
        j = json_loads(reply, 0, NULL);
    free(reply);
    return j;
}

/* counters.NAME.KEY as an integer; -1 when absent. */
static long long counter(hg__host *h, const char *name, const char *key)
{
    char text[128];
    json_t *j, *v;
    long long r = -1;
    snprintf(text, sizeof text, "counters %s", name);
    j = cmd(h, text);
    v = json_object_get(json_object_get(json_object_get(j, "counters"), name), key);
    if (json_is_integer(v))
        r = json_integer_value(v);
    json_decref(j);
    return r;
}

static int address_of(hg__host *h, const char *name, char *buf, size_t cap)
{
    char text[128];
    json_t *j, *v;
    int rc = -1;
    snprintf(text, sizeof text, "counters %s", name);
    j = cmd(h, text);
    v = json_object_get(json_object_get(json_object_get(j, "counters"), name), "address");
    if (json_is_string(v)) {
        snprintf(buf, cap, "%s", json_string_value(v));
        rc = 0;
    }
    json_decref(j);
    return rc;
}

static int state_is(hg__host *h, const char *name, const char *state)
{
    char text[128];
    json_t *j;
    int r;
    snprintf(text, sizeof text, "state %s", name);
    j = cmd(h, text);
    r = json_is_string(json_object_get(j, "state")) &&
        strcmp(json_string_value(json_object_get(j, "state")), state) == 0;
    json_decref(j);
    return r;
}

static int wait_state(hg__host *h, const char *name, const char *state, unsigned ms)
{
    uint64_t end = now_ms() + ms;
    while (now_ms() < end) {
        if (state_is(h, name, state))
            return 1;
        sleep_ms(20);
    }
    return state_is(h, name, state);
}

/* Waits until counters.NAME.KEY >= want. Returns the last value. */
static long long wait_counter(hg__host *h, const char *name, const char *key, long long want,
                              unsigned ms)
{
    uint64_t end = now_ms() + ms;
    long long v = counter(h, name, key);
    while (v < want && now_ms() < end) {
        sleep_ms(20);
        v = counter(h, name, key);
    }
    return v;
}

/* Waits until counters.NAME.KEY == want. Returns the last value. */
static long long wait_equal(hg__host *h, const char *name, const char *key, long long want,
                            unsigned ms)
{
    uint64_t end = now_ms() + ms;
    long long v = counter(h, name, key);
    while (v != want && now_ms() < end) {
        sleep_ms(20);
        v = counter(h, name, key);
    }
    return v;
}

/* The engine's reply to `call NAME "VERB"`. Caller decrefs. */
static json_t *call(hg__host *h, const char *name, const char *verb)
{
    char args[64];
    char *reply = NULL;
    json_t *j = NULL, *r;
    snprintf(args, sizeof args, "\"%s\"", verb);
    if (hg__host_call(h, name, args, &reply) == 0)
        j = json_loads(reply, 0, NULL);
    free(reply);
    r = json_incref(json_object_get(j, "reply"));
    json_decref(j);
    return r;
}

static long long jint(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? json_integer_value(v) : -1;
}

static void host_end(hg__host *h)
{
    hg__host_shutdown(h);
    hg__host_destroy(h);
}

/* --- plain sockets for the test's own peers --- */

static int parse_addr(const char *text, struct sockaddr_in *sa)
{
    char host[64];
    const char *colon = strrchr(text, ':');
    if (colon == NULL || (size_t)(colon - text) >= sizeof host)
        return -1;
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = '\0';
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)atoi(colon + 1));
    return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static int tcp_connect(const char *addr)
{
    struct sockaddr_in sa;
    struct timeval tv = {2, 0};
    int fd;
    if (parse_addr(addr, &sa) != 0)
        return -1;
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* A listening socket on 127.0.0.1:0; its address into buf. */
static int tcp_listen(char *buf, size_t cap)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 16) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    snprintf(buf, cap, "127.0.0.1:%u", ntohs(sa.sin_port));
    return fd;
}

/* An address where nothing listens (bound, then closed). */
static void dead_address(char *buf, size_t cap)
{
    int fd = tcp_listen(buf, cap);
    close(fd);
}

/* Reads until n bytes, EOF or the socket's timeout. Returns the count, or -1 on error. */
static ssize_t read_n(int fd, char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = recv(fd, buf + got, n - got, 0);
        if (r == 0)
            break;
        if (r < 0)
            return got ? (ssize_t)got : -1;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

/* 1 when the peer closed (EOF or reset) within the socket's timeout. */
static int sees_close(int fd)
{
    char c;
    ssize_t r = recv(fd, &c, 1, 0);
    return r == 0 || (r < 0 && errno == ECONNRESET);
}

#endif
