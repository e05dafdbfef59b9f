/* test-reload.c - `reload [FILE]` on a running host with real tcp-echo engines: only the
 * difference is applied (an unchanged engine keeps its socket and connections), an invalid file
 * or a change to a fixed key changes nothing and names every error, a new engine that cannot
 * start rolls the change back with the old engines still serving, and reloads from many threads
 * at once are serialised with none lost or doubled. Also the node equality the diff rests on. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <hangar/hangar.h>

#include "cfgtree.h"
#include "config.h"
#include "host_api.h"
#include "log.h"
#include "tap.h"

static char *plugin_dirs[] = {HG_UV_DIR, HG_TCP_DIR, NULL};
static char dir[64];

static const char *path_of(const char *name)
{
    static char p[128];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return p;
}

/* Writes name with header, then text. */
static void write_raw(const char *name, const char *header, const char *text)
{
    FILE *f = fopen(path_of(name), "w");
    if (f == NULL)
        return;
    fputs(header, f);
    fputs(text, f);
    fclose(f);
}

static void write_file(const char *name, const char *text)
{
    write_raw(name, "hangar: 1\nruntime: { mode: uv, workers: 1 }\n"
                    "control: { shutdown_timeout: 2s }\n", text);
}

static hg__host *host_from(const char *name)
{
    hg__host_opts o;
    hg__diag d;
    hg__host *h = NULL;
    char path[128];
    snprintf(path, sizeof path, "%s", path_of(name));
    hg__diag_init(&d);
    memset(&o, 0, sizeof o);
    o.src.path = path;
    o.src.limits = (hg__cfg_limits)HG__CFG_LIMITS_DEFAULT;
    o.extra_plugin_path = plugin_dirs;
    o.log_level = HG_LOG_WARN;
    o.log_to_stderr = 1;
    if (hg__host_create(&o, &d, &h) != 0 || hg__host_start(h) != 0) {
        for (uint32_t i = 0; i < d.n; i++)
            tap_diag("%s", d.items[i].msg);
        hg__host_destroy(h);
        h = NULL;
    }
    hg__diag_free(&d);
    return h;
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

/* The reply's array `key` as "a,b" (sorted as written), for comparisons. */
static const char *names(json_t *reply, const char *key)
{
    static char buf[4][2048];
    static int turn;
    char *b = buf[turn++ % 4];
    json_t *a = json_object_get(reply, key);
    b[0] = '\0';
    for (size_t i = 0; i < json_array_size(a); i++) {
        if (i > 0)
            strcat(b, ",");
        strncat(b, json_string_value(json_array_get(a, i)) ?: "?", 2000 - strlen(b));
    }
    return b;
}

/* The instance names the host runs, sorted, as "a,b". */
static const char *running(hg__host *h)
{
    static char buf[256];
    json_t *j = cmd(h, "counters"), *all = json_object_get(j, "counters");
    const char *k;
    json_t *v;
    char *list[16];
    int n = 0;
    buf[0] = '\0';
    json_object_foreach(all, k, v) if (strcmp(k, "host") && strcmp(k, "runtime") && n < 16)
        list[n++] = strdup(k);
    for (int i = 0; i < n; i++)
        for (int j2 = i + 1; j2 < n; j2++)
            if (strcmp(list[j2], list[i]) < 0) {
                char *t = list[i];
                list[i] = list[j2];
                list[j2] = t;
            }
    for (int i = 0; i < n; i++) {
        if (i > 0)
            strcat(buf, ",");
        strncat(buf, list[i], 200 - strlen(buf));
        free(list[i]);
    }
    json_decref(j);
    return buf;
}

/* The port instance name listens on (0 when it does not). */
static int port_of(hg__host *h, const char *name)
{
    char text[64];
    json_t *j;
    const char *a, *colon;
    int port = 0;
    snprintf(text, sizeof text, "counters %s", name);
    j = cmd(h, text);
    a = json_string_value(json_object_get(json_object_get(json_object_get(j, "counters"), name),
                                          "address"));
    colon = a ? strrchr(a, ':') : NULL;
    if (colon)
        port = atoi(colon + 1);
    json_decref(j);
    return port;
}

static int connect_to(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    struct timeval tv = {5, 0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* 1 when fd echoes a few bytes back. */
static int echoes(int fd)
{
    char got[8] = {0};
    ssize_t n = 0, r;
    if (fd < 0 || write(fd, "ping", 4) != 4)
        return 0;
    while (n < 4 && (r = read(fd, got + n, (size_t)(4 - n))) > 0)
        n += r;
    return n == 4 && memcmp(got, "ping", 4) == 0;
}

static const char *const echo_ab = "pipelines:\n"
                                   "  - { name: a, engine: tcp-echo, listen: '127.0.0.1:0' }\n"
                                   "  - { name: b, engine: tcp-echo, listen: '127.0.0.1:0' }\n"
                                   "  - { name: c, engine: tcp-echo, listen: '127.0.0.1:0' }\n";

static void test_reload_applies_only_the_difference(void)
{
    hg__host *h;
    json_t *r;
    int pa, pb, fd;
    char text[160];
    write_file("diff.yaml", echo_ab);
    h = host_from("diff.yaml");
    if (!ok(h != NULL, "a host with echo engines a, b and c runs"))
        return;
    pa = port_of(h, "a");
    pb = port_of(h, "b");
    fd = connect_to(pa);
    ok(echoes(fd), "a connection to a is open and echoes before the reload");
    write_file("diff.yaml", "pipelines:\n"
                            "  - { name: a, engine: tcp-echo, listen: '127.0.0.1:0' }\n"
                            "  - { name: b, engine: tcp-echo, listen: '127.0.0.1:0',\n"
                            "      idle_timeout: 30s }\n"
                            "  - { name: d, engine: tcp-echo, listen: '127.0.0.1:0' }\n");
    r = cmd(h, "reload");
    ok(json_is_true(json_object_get(r, "ok")), "the reload is applied");
    is_str(names(r, "added"), "d", "the reply names d as added");
    is_str(names(r, "removed"), "c", "the reply names c as removed");
    is_str(names(r, "changed"), "b", "the reply names b as changed");
    is_int(json_integer_value(json_object_get(r, "unchanged")), 1, "one instance is unchanged");
    json_decref(r);
    is_str(running(h), "a,b,d", "the host runs a, b and d afterwards");
    is_int(port_of(h, "a"), pa, "the unchanged a still listens on its port");
    ok(echoes(fd), "the connection to the unchanged a survived the reload and still echoes");
    ok(port_of(h, "b") != 0 && port_of(h, "b") != pb, "the changed b was restarted (new port)");
    ok(port_of(h, "d") != 0, "the added d listens");
    close(fd);
    r = cmd(h, "reload");
    is_int(json_integer_value(json_object_get(r, "unchanged")), 3,
           "reloading the same file again changes nothing");
    json_decref(r);
    snprintf(text, sizeof text, "reload %s", path_of("diff.yaml"));
    r = cmd(h, text);
    ok(json_is_true(json_object_get(r, "ok")), "reload FILE names the file explicitly");
    json_decref(r);
    hg__host_destroy(h);
}

static void test_reload_invalid_file_changes_nothing(void)
{
    hg__host *h;
    json_t *r;
    int pa;
    write_file("bad.yaml", echo_ab);
    h = host_from("bad.yaml");
    if (!ok(h != NULL, "a host with a, b and c runs"))
        return;
    pa = port_of(h, "a");
    write_file("bad.yaml", "pipelines:\n"
                           "  - { name: a, engine: tcp-echo, listen: '127.0.0.1:0', bogus: 1 }\n"
                           "  - { name: b, engine: tcp-echo }\n"
                           "  - { name: e, engine: no-such-engine }\n");
    r = cmd(h, "reload");
    ok(json_is_false(json_object_get(r, "ok")), "a reload of an invalid file is refused");
    is_str(json_string_value(json_object_get(r, "code")), "ECONFIG", "with code ECONFIG");
    ok(json_array_size(json_object_get(r, "errors")) >= 3,
       "every error of the file is returned (%zu)", json_array_size(json_object_get(r, "errors")));
    like_str(names(r, "errors"), "bogus", "the unknown key is named");
    like_str(names(r, "errors"), "no-such-engine", "the unknown engine is named");
    json_decref(r);
    is_str(running(h), "a,b,c", "nothing changed: a, b and c run");
    is_int(port_of(h, "a"), pa, "a still listens where it did");

    write_raw("bad.yaml", "hangar: 1\nruntime: { mode: uv, workers: 2 }\n"
                          "control: { shutdown_timeout: 2s, socket: /tmp/hg-reload-x.sock }\n",
              echo_ab);
    r = cmd(h, "reload");
    like_str(names(r, "errors"), "runtime.workers: cannot change while the host runs",
             "a change of runtime.workers is refused by name");
    like_str(names(r, "errors"), "control.socket: cannot change",
             "a change of control.socket is refused by name");
    json_decref(r);
    write_file("bad.yaml", "pipelines:\n  - { name: a, engine: tcp-echo, listen: '127.0.0.1:0' }\n"
                           "  - { name: b, engine: tcp-echo, listen: '127.0.0.1:0' }\n"
                           "  - { name: c, engine: tcp-echo, listen: '127.0.0.1:0' }\n"
                           "graph:\n  pool: { buffers: 16 }\n");
    r = cmd(h, "reload");
    ok(json_is_false(json_object_get(r, "ok")), "a change to graph.pool is refused");
    like_str(names(r, "errors"), "graph.pool: cannot change while the host runs",
             "and the error names graph.pool");
    json_decref(r);
    write_file("bad.yaml", "log: { level: warn, format: json }\n"
                           "pipelines:\n  - { name: a, engine: tcp-echo, listen: '127.0.0.1:0' }\n"
                           "  - { name: b, engine: tcp-echo, listen: '127.0.0.1:0' }\n"
                           "  - { name: c, engine: tcp-echo, listen: '127.0.0.1:0' }\n");
    r = cmd(h, "reload");
    like_str(names(r, "errors"), "log.format: cannot change while the host runs",
             "a change of log.format is refused by name (only log.level changes)");
    json_decref(r);
    r = cmd(h, "reload /nonexistent/hangar.yaml");
    like_str(json_string_value(json_object_get(r, "error")), "/nonexistent/hangar.yaml",
             "a missing file is named");
    json_decref(r);
    is_str(running(h), "a,b,c", "after every refused reload a, b and c still run");
    hg__host_destroy(h);
}

static void test_reload_failing_engine_rolls_back(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof sa;
    int taken = socket(AF_INET, SOCK_STREAM, 0), pa, pb, fd;
    char yaml[512];
    hg__host *h;
    json_t *r;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(taken, (struct sockaddr *)&sa, sizeof sa);
    listen(taken, 4);
    getsockname(taken, (struct sockaddr *)&sa, &len);
    write_file("fail.yaml", echo_ab);
    h = host_from("fail.yaml");
    if (!ok(h != NULL, "a host with a, b and c runs"))
        return;
    pa = port_of(h, "a");
    pb = port_of(h, "b");
    fd = connect_to(pb);
    /* b changes to an address another socket holds: its new start fails after the old b
     * stopped; d is new and c goes */
    snprintf(yaml, sizeof yaml,
             "pipelines:\n"
             "  - { name: a, engine: tcp-echo, listen: '127.0.0.1:0' }\n"
             "  - { name: b, engine: tcp-echo, listen: '127.0.0.1:%d' }\n"
             "  - { name: d, engine: tcp-echo, listen: '127.0.0.1:0' }\n",
             ntohs(sa.sin_port));
    write_file("fail.yaml", yaml);
    r = cmd(h, "reload");
    ok(json_is_false(json_object_get(r, "ok")), "a reload whose engine cannot start fails");
    like_str(names(r, "errors"), "b: did not start", "the error names the engine that failed");
    like_str(names(r, "errors"), "rolled back", "and says the change was rolled back");
    json_decref(r);
    is_str(running(h), "a,b,c", "the engines that ran before run: a, b and c (no d)");
    is_int(port_of(h, "a"), pa, "a kept its port");
    ok(port_of(h, "b") != 0, "b runs again");
    {
        int fb = connect_to(port_of(h, "b")), fc = connect_to(port_of(h, "c"));
        ok(echoes(fb), "b answers after the rollback");
        ok(echoes(fc), "c, which the failed reload would have removed, still answers");
        close(fb);
        close(fc);
    }
    close(fd);
    close(taken);
    hg__host_destroy(h);
}

typedef struct storm {
    hg__host *h;
    int ok;
} storm;

static void *storm_main(void *arg)
{
    storm *s = arg;
    json_t *r = cmd(s->h, "reload");
    s->ok = json_is_true(json_object_get(r, "ok"));
    json_decref(r);
    return NULL;
}

static void test_reload_storm_serialises(void)
{
    enum { N = 50 };
    pthread_t t[N];
    storm s[N];
    hg__host *h;
    json_t *r, *c;
    int all = 1, fd;
    write_file("storm.yaml", echo_ab);
    h = host_from("storm.yaml");
    if (!ok(h != NULL, "a host runs for the storm"))
        return;
    fd = connect_to(port_of(h, "a"));
    for (int i = 0; i < N; i++) {
        s[i].h = h;
        pthread_create(&t[i], NULL, storm_main, &s[i]);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        all &= s[i].ok;
    }
    ok(all, "%d reloads sent at once from %d threads all succeed", N, N);
    r = cmd(h, "reload");
    is_int(json_integer_value(json_object_get(r, "reloads")), N + 1,
           "the host counted exactly %d reloads: none lost, none doubled", N + 1);
    json_decref(r);
    ok(echoes(fd), "a connection open through the storm still echoes");
    c = cmd(h, "counters a");
    is_int(json_integer_value(json_object_get(json_object_get(json_object_get(c, "counters"), "a"),
                                              "connections_established")),
           1, "a accepted one connection and lost none to the storm");
    json_decref(c);
    close(fd);
    hg__host_destroy(h);
}

static void test_reload_applies_log_level(void)
{
    hg__host_opts o;
    hg__diag d;
    hg__host *h = NULL;
    json_t *r;
    char path[128];
    write_file("log.yaml", "log: { level: warn }\npipelines:\n"
                           "  - { name: a, engine: tcp-echo, listen: '127.0.0.1:0' }\n");
    snprintf(path, sizeof path, "%s", path_of("log.yaml"));
    hg__diag_init(&d);
    memset(&o, 0, sizeof o);
    o.src.path = path;
    o.src.limits = (hg__cfg_limits)HG__CFG_LIMITS_DEFAULT;
    o.extra_plugin_path = plugin_dirs;
    unsetenv("HANGAR_LOG");
    if (!ok(hg__host_create(&o, &d, &h) == 0 && hg__host_start(h) == 0,
            "a host whose log level comes from its file runs")) {
        hg__diag_free(&d);
        hg__host_destroy(h);
        return;
    }
    is_int(hg__logger_level(hg__host_logger(h)), HG_LOG_WARN, "its level is the file's, warn");
    write_file("log.yaml", "log: { level: error }\npipelines:\n"
                           "  - { name: a, engine: tcp-echo, listen: '127.0.0.1:0' }\n");
    r = cmd(h, "reload");
    is_int(json_integer_value(json_object_get(r, "unchanged")), 1, "a reload of log.level only");
    json_decref(r);
    is_int(hg__logger_level(hg__host_logger(h)), HG_LOG_ERROR,
           "sets the new level at once (error)");
    hg__diag_free(&d);
    hg__host_destroy(h);
}

static hg__node *tree(const char *yaml, hg__doc **doc)
{
    hg__diag d;
    hg__diag_init(&d);
    *doc = NULL;
    hg__doc_load_string("<t>", yaml, strlen(yaml), &(hg__cfg_limits)HG__CFG_LIMITS_DEFAULT, doc,
                        &d);
    hg__diag_free(&d);
    return *doc ? (*doc)->root : NULL;
}

static void test_node_equal_ignores_order_and_position(void)
{
    hg__doc *a, *b, *c, *q, *s;
    ok(hg__node_equal(tree("{x: 1, y: [1, 2]}", &a), tree("y: [1, 2]\n\nx: 1\n", &b)),
       "maps with the same pairs in another order and place are equal");
    ok(!hg__node_equal(a->root, tree("{x: 1, y: [2, 1]}", &c)),
       "sequences in another order are not equal");
    ok(!hg__node_equal(a->root, tree("{x: '1', y: [1, 2]}", &q)),
       "a quoted scalar is not equal to the plain one");
    ok(!hg__node_equal(a->root, tree("{x: 1, y: [1, 2], z: 3}", &s)),
       "a map with a key more is not equal");
    ok(hg__node_equal(NULL, NULL) && !hg__node_equal(a->root, NULL), "NULL equals only NULL");
    hg__doc_free(a);
    hg__doc_free(b);
    hg__doc_free(c);
    hg__doc_free(q);
    hg__doc_free(s);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/hg-reload-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return 1;
    test_node_equal_ignores_order_and_position();
    test_reload_applies_only_the_difference();
    test_reload_invalid_file_changes_nothing();
    test_reload_failing_engine_rolls_back();
    test_reload_storm_serialises();
    test_reload_applies_log_level();
    {
        const char *files[] = {"diff.yaml", "bad.yaml", "fail.yaml", "storm.yaml", "log.yaml"};
        for (size_t i = 0; i < 5; i++)
            unlink(path_of(files[i]));
        rmdir(dir);
    }
    return tap_done();
}
