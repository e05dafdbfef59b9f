/* test-host.c - a host with no engines: create, start, the command channel's replies, shutdown,
 * kill, and no thread left behind; plus the standalone instance services. */
#define _GNU_SOURCE
#include <dirent.h>
#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cfgtree.h"
#include "host_api.h"
#include "instance.h"
#include "tap.h"

static int thread_count(void)
{
    DIR *d = opendir("/proc/self/task");
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    if (d)
        closedir(d);
    return n;
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

static void test_empty_host(void)
{
    hg__host_opts o;
    hg__diag d;
    hg__host *h = NULL;
    json_t *j;
    int threads = thread_count();

    memset(&o, 0, sizeof o);
    o.src.yaml = "hangar: 1\ncontrol: { shutdown_timeout: 2s }\n";
    o.src.limits = (hg__cfg_limits)HG__CFG_LIMITS_DEFAULT;
    hg__diag_init(&d);
    is_int(hg__host_create(&o, &d, &h), 0, "host creates from a config with no engines");
    is_int(hg__host_start(h), 0, "host starts its control hub");

    j = cmd(h, "help");
    ok(json_is_true(json_object_get(j, "ok")) &&
           json_array_size(json_object_get(j, "commands")) >= 10,
       "help lists the commands");
    json_decref(j);

    j = cmd(h, "counters");
    ok(json_is_object(json_object_get(json_object_get(j, "counters"), "host")),
       "counters has the host's own object");
    is_str(json_string_value(json_object_get(
               json_object_get(json_object_get(j, "counters"), "host"), "state")),
           "running", "the host reports itself running");
    json_decref(j);

    j = cmd(h, "perf");
    ok(json_is_array(json_object_get(j, "threads")), "perf answers with a thread list");
    json_decref(j);

    j = cmd(h, "counters nosuch");
    ok(json_is_false(json_object_get(j, "ok")), "counters of an unknown instance fails");
    is_str(json_string_value(json_object_get(j, "error")), "unknown instance 'nosuch'",
           "and names it");
    is_str(json_string_value(json_object_get(j, "code")), "ENOENT", "with code ENOENT");
    json_decref(j);

    j = cmd(h, "frobnicate now");
    is_str(json_string_value(json_object_get(j, "error")),
           "unknown command 'frobnicate' (try `help`)", "an unknown command is refused by name");
    json_decref(j);

    j = cmd(h, "call nosuch \"stats\"");
    ok(json_is_false(json_object_get(j, "ok")), "call to an unknown instance fails");
    json_decref(j);

    j = cmd(h, "shutdown");
    ok(json_is_true(json_object_get(j, "ok")) && json_integer_value(json_object_get(j, "cut")) == 0,
       "shutdown succeeds and cuts nothing");
    json_decref(j);
    is_int(hg__host_wait(h, 0, 1000000000ull), 0, "wait returns once the host stopped");

    j = cmd(h, "counters");
    is_str(json_string_value(json_object_get(
               json_object_get(json_object_get(j, "counters"), "host"), "state")),
           "stopped", "counters stay readable after shutdown");
    json_decref(j);
    hg__host_kill(h);
    ok(1, "kill after shutdown is harmless");
    hg__host_destroy(h);
    for (int i = 0; i < 100 && thread_count() != threads; i++)
        usleep(10000); /* a joined thread may stay listed while the kernel finishes its exit */
    is_int(thread_count(), threads, "no host thread is left after destroy");
    hg__diag_free(&d);
}

static void test_bad_config(void)
{
    hg__host_opts o;
    hg__diag d;
    hg__host *h = NULL;
    memset(&o, 0, sizeof o);
    o.src.yaml = "hangar: 2\n";
    o.src.limits = (hg__cfg_limits)HG__CFG_LIMITS_DEFAULT;
    hg__diag_init(&d);
    ok(hg__host_create(&o, &d, &h) != 0 && h == NULL, "a bad config creates no host");
    ok(d.n >= 1, "and reports at least one error");
    hg__diag_free(&d);
}

static void test_standalone_services(void)
{
    hg__inst *in = NULL;
    const hg_host *h;
    hg_counter *c, *c2;
    hg_conn_record rec;
    char buf[64];

    is_int(hg__inst_new_standalone("demo", NULL, NULL, NULL, &in), 0,
           "a standalone instance is created");
    h = hg__inst_host(in);
    ok(h->struct_size == sizeof(hg_host) && h->abi_major == HG_ABI_MAJOR,
       "its table carries struct_size and the ABI version");
    is_str(h->name(h), "demo", "name() returns the instance name");
    is_int(h->counter(h, "hits", HG_COUNTER_SUM, &c), 0, "counter registers");
    h->counter(h, "hits", HG_COUNTER_SUM, &c2);
    ok(c == c2, "registering the same counter twice returns the same cell");
    is_int(h->counter(h, "Bad Name", HG_COUNTER_SUM, &c2), HG_EINVAL, "a bad counter name is refused");
    hg_counter_add(c, 5);
    {
        uint64_t v = 0;
        hg__inst_counter(in, "hits", &v);
        is_int(v, 5, "the host reads what the plugin added");
    }
    h->set_info(h, "address", "127.0.0.1:1234");
    hg__inst_info(in, "address", buf, sizeof buf);
    is_str(buf, "127.0.0.1:1234", "set_info publishes a fact");
    is_int(h->resolve_address(h, "127.0.0.1:80", buf, sizeof buf), 0, "a literal address resolves");
    is_int(h->resolve_address(h, "127.0.0.1:99999", buf, sizeof buf), HG_EINVAL,
           "a port over 65535 is not an address");
    memset(&rec, 0, sizeof rec);
    rec.struct_size = sizeof rec;
    rec.id = 7;
    is_int(h->record(h, &rec), 0, "record is a no-op while records are off");
    is_int(hg__inst_records(in), 0, "and keeps nothing");
    hg__inst_enable_records(in, 2);
    for (int i = 1; i <= 3; i++) {
        rec.id = (uint64_t)i;
        h->record(h, &rec);
    }
    hg__inst_record_at(in, 0, &rec);
    ok(hg__inst_records(in) == 2 && rec.id == 2, "the records ring keeps the newest, bounded");
    h->set_state(h, HG_STATE_FAILED, HG_EIO, "disk on fire");
    {
        int st = 0;
        is_int(hg__inst_state(in, &st), HG_STATE_FAILED, "set_state reports failure");
        is_int(st, HG_EIO, "with its status");
    }
    ok(h->get_extension(h, "hangar.nosuch/1") == NULL, "an unknown extension id gives NULL");
    hg__inst_free(in);
}

typedef struct captured {
    char lines[8][256];
    int n;
} captured;

static void capture(void *ud, uint32_t level, const char *who, const char *msg)
{
    captured *c = ud;
    if (c->n < 8)
        snprintf(c->lines[c->n++], sizeof c->lines[0], "%s %s: %s", hg__log_level_name(level),
                 who, msg);
}

static void *late_getter(void *arg)
{
    const hg_host *h = arg;
    int64_t v = 0;
    return (void *)(intptr_t)h->cfg_int(h, h->cfg_root(h), "n", &v);
}

/* Config getters after create: into the list lent for this thread, else logged as warnings. */
static void test_getter_errors(void)
{
    hg__doc *doc = NULL;
    hg__diag d, lent;
    hg__logger *lg = NULL;
    hg__inst *in = NULL;
    const hg_host *h;
    const hg_config *root;
    captured cap;
    pthread_t t;
    void *rc = NULL;
    int64_t v = 0;

    memset(&cap, 0, sizeof cap);
    hg__diag_init(&d);
    hg__diag_init(&lent);
    hg__doc_from_json("{\"n\": \"zz\"}", &doc, &d);
    hg__logger_new(HG_LOG_INFO, &lg);
    hg__logger_set_stderr(lg, 0);
    hg__logger_add_sink(lg, capture, &cap);
    hg__inst_new_standalone("demo", doc->root, lg, &d, &in);
    h = hg__inst_host(in);
    root = h->cfg_root(h);
    is_int(h->cfg_int(h, root, "n", &v), HG_ECONFIG, "a badly typed value is a config error");
    is_int(d.n, 1, "  recorded in the create-time list");
    hg__inst_set_diag(in, NULL);
    is_int(h->cfg_int(h, root, "n", &v), HG_ECONFIG, "after create it is still an error");
    is_int(d.n, 1, "  but the create-time list is left alone");
    is_int(cap.n, 1, "  and it is logged instead");
    is_str(cap.lines[0], "warn demo: 'n' must be an integer, got \"zz\"", "  as a warning");
    hg__inst_set_diag(in, &lent);
    pthread_create(&t, NULL, late_getter, (void *)h);
    pthread_join(t, &rc);
    is_int((int)(intptr_t)rc, HG_ECONFIG, "a getter on another thread during a lend fails");
    ok(lent.n == 0 && cap.n == 2, "  and is logged, not put in the list lent to this thread");
    h->cfg_int(h, root, "n", &v);
    is_int(lent.n, 1, "this thread's error goes to the lent list");
    hg__inst_set_diag(in, NULL);
    hg__inst_free(in);
    hg__logger_free(lg);
    hg__doc_free(doc);
    hg__diag_free(&lent);
    hg__diag_free(&d);
}

static json_t *sock_cmd(int fd, const char *line)
{
    char buf[8192];
    size_t n = 0;
    if (write(fd, line, strlen(line)) < 0)
        return NULL;
    while (n < sizeof buf - 1) {
        ssize_t r = read(fd, buf + n, 1);
        if (r <= 0 || buf[n] == '\n')
            break;
        n++;
    }
    buf[n] = '\0';
    return json_loads(buf, 0, NULL);
}

static void test_control_socket(void)
{
    char dir[] = "/tmp/hangar-ctl-XXXXXX", yaml[256], path[128];
    hg__host_opts o;
    hg__diag d;
    hg__host *h = NULL;
    struct sockaddr_un sa;
    struct stat st;
    json_t *j;
    int fd;

    if (mkdtemp(dir) == NULL) {
        ok(0, "a temporary directory for the control socket");
        return;
    }
    snprintf(path, sizeof path, "%s/hangar.sock", dir);
    snprintf(yaml, sizeof yaml, "hangar: 1\ncontrol: { socket: %s }\n", path);
    memset(&o, 0, sizeof o);
    o.src.yaml = yaml;
    o.src.limits = (hg__cfg_limits)HG__CFG_LIMITS_DEFAULT;
    hg__diag_init(&d);
    hg__host_create(&o, &d, &h);
    is_int(hg__host_start(h), 0, "a host with a control socket starts");
    ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "the control socket is created 0600");
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    strcpy(sa.sun_path, path);
    is_int(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0, "a client connects to it");
    j = sock_cmd(fd, "counters\n");
    ok(json_is_true(json_object_get(j, "ok")), "a plain-text command gets a JSON line back");
    json_decref(j);
    j = sock_cmd(fd, "{\"cmd\": \"perf\"}\n");
    ok(json_is_array(json_object_get(j, "threads")), "a JSON command gets its reply");
    json_decref(j);
    j = sock_cmd(fd, "{not json\n");
    is_str(json_string_value(json_object_get(j, "code")), "EINVAL", "a broken JSON line is refused");
    like_str(json_string_value(json_object_get(j, "error")), "not valid JSON: ",
             "  saying it is not valid JSON");
    like_str(json_string_value(json_object_get(j, "error")), "near 'not' (column 4)",
             "  and where");
    json_decref(j);
    j = sock_cmd(fd, "{\"cmd\": \"state\", \"name\": \"nosuch\"}\n");
    is_str(json_string_value(json_object_get(j, "error")), "unknown instance 'nosuch'",
           "the JSON form takes the instance as \"name\" for any verb");
    json_decref(j);
    j = sock_cmd(fd, "{\"cmd\": \"call\", \"args\": \"stats\"}\n");
    like_str(json_string_value(json_object_get(j, "error")), "call needs \"name\"",
             "a JSON call without \"name\" says it needs one");
    json_decref(j);
    j = sock_cmd(fd, "{\"cmd\": \"counters\", \"args\": 1}\n");
    is_str(json_string_value(json_object_get(j, "error")),
           "\"args\" is for \"cmd\": \"call\" and \"records\" only",
           "\"args\" with another verb is refused, not ignored");
    json_decref(j);
    j = sock_cmd(fd, "{\"cmd\": \"state\", \"name\": 7}\n");
    is_str(json_string_value(json_object_get(j, "code")), "EINVAL",
           "a \"name\" that is no string is refused");
    json_decref(j);
    j = sock_cmd(fd, "\xff\xfe\n");
    is_str(json_string_value(json_object_get(j, "code")), "EINVAL",
           "a line that is not UTF-8 is EINVAL");
    is_str(json_string_value(json_object_get(j, "error")), "the command is not valid UTF-8",
           "  saying so");
    json_decref(j);
    j = sock_cmd(fd, "\n");
    is_str(json_string_value(json_object_get(j, "code")), "EINVAL", "an empty line gets a reply too");
    is_str(json_string_value(json_object_get(j, "error")), "empty command (try `help`)",
           "  saying it is empty");
    json_decref(j);
    j = sock_cmd(fd, " \t  \r\n");
    is_str(json_string_value(json_object_get(j, "error")), "empty command (try `help`)",
           "a line of spaces and tabs is an empty command too");
    json_decref(j);
    {
        /* a last line without its newline, then EOF (printf 'state x' | socat ...) */
        int fd4 = socket(AF_UNIX, SOCK_STREAM, 0);
        struct timeval tv = {5, 0};
        char buf[512];
        size_t got = 0;
        ssize_t r = 1;
        setsockopt(fd4, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        connect(fd4, (struct sockaddr *)&sa, sizeof sa);
        ok(write(fd4, "counters\nstate nosuch", 21) == 21 && shutdown(fd4, SHUT_WR) == 0,
           "a client sends a line and a last one without a newline, then EOF");
        while (r > 0 && got < sizeof buf - 1) {
            r = read(fd4, buf + got, sizeof buf - 1 - got);
            if (r > 0)
                got += (size_t)r;
        }
        buf[got] = '\0';
        ok(strncmp(buf, "{\"ok\":true,\"counters\":", 22) == 0, "the first line is answered");
        like_str(buf, "\n{\"ok\":false,\"error\":\"unknown instance 'nosuch'\"",
                 "and so is the unterminated last one");
        ok(got > 0 && buf[got - 1] == '\n' && strchr(buf, '\n') != buf + got - 1,
           "  two replies, each a whole line");
        is_int(r, 0, "then the host closes the connection");
        close(fd4);
    }
    {
        /* a hostile client: a line longer than any command is cut off, the host serves on */
        static char big[70000];
        char c;
        int fd2 = socket(AF_UNIX, SOCK_STREAM, 0);
        memset(big, 'x', sizeof big);
        connect(fd2, (struct sockaddr *)&sa, sizeof sa);
        char why[256] = "";
        ssize_t got;
        is_int(send(fd2, big, sizeof big, MSG_NOSIGNAL) > 0, 1,
               "a client sends 70 kB without a newline");
        got = read(fd2, why, sizeof why - 1);
        like_str(got > 0 ? why : "", "\"code\":\"ENOSPC\"", "and is told the line is too long");
        ok(read(fd2, &c, 1) <= 0, "then disconnected");
        close(fd2);
        j = sock_cmd(fd, "counters\n");
        ok(json_is_true(json_object_get(j, "ok")), "while the other client is still served");
        json_decref(j);
    }
    {
        /* a client that floods commands and never reads its replies stalls only itself */
        int fd3 = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
        size_t sent = 0;
        connect(fd3, (struct sockaddr *)&sa, sizeof sa);
        for (int i = 0; i < 2000; i++) {
            ssize_t w = send(fd3, "counters\n", 9, MSG_NOSIGNAL);
            if (w > 0)
                sent += (size_t)w;
            else
                usleep(1000);
        }
        ok(sent > 0, "a client floods commands without reading the replies");
        j = sock_cmd(fd, "state nosuch\n");
        is_str(json_string_value(json_object_get(j, "code")), "ENOENT",
               "another client still gets its answers");
        json_decref(j);
        {
            struct timespec t0, t1;
            clock_gettime(CLOCK_MONOTONIC, &t0);
            hg__host_destroy(h);
            h = NULL;
            clock_gettime(CLOCK_MONOTONIC, &t1);
            ok(t1.tv_sec - t0.tv_sec < 5,
               "and the host stops promptly with the flooding client still connected");
        }
        close(fd3);
    }
    close(fd);
    hg__host_destroy(h);
    ok(stat(path, &st) != 0, "the socket file is removed when the host goes");
    rmdir(dir);
    hg__diag_free(&d);
}

static hg__host *start_with_socket(const char *path, int *rc)
{
    char yaml[256];
    hg__host_opts o;
    hg__diag d;
    hg__host *h = NULL;
    snprintf(yaml, sizeof yaml, "hangar: 1\ncontrol: { socket: %s }\n", path);
    memset(&o, 0, sizeof o);
    o.src.yaml = yaml;
    o.src.limits = (hg__cfg_limits)HG__CFG_LIMITS_DEFAULT;
    hg__diag_init(&d);
    *rc = hg__host_create(&o, &d, &h);
    if (*rc == 0)
        *rc = hg__host_start(h);
    hg__diag_free(&d);
    return h;
}

/* The socket path is claimed only from a host that died: a file or a live host is left alone. */
static void test_control_socket_claims(void)
{
    char dir[] = "/tmp/hangar-ctl2-XXXXXX", path[128], line[64];
    hg__host *a, *b;
    struct sockaddr_un sa;
    FILE *f;
    int rc, fd;

    if (mkdtemp(dir) == NULL)
        return;
    snprintf(path, sizeof path, "%s/notes.txt", dir);
    f = fopen(path, "w");
    fputs("precious\n", f);
    fclose(f);
    a = start_with_socket(path, &rc);
    ok(rc != 0, "a control socket path holding a regular file is refused");
    f = fopen(path, "r");
    ok(f && fgets(line, sizeof line, f) && strcmp(line, "precious\n") == 0,
       "and the file is left as it was");
    if (f)
        fclose(f);
    hg__host_destroy(a);
    unlink(path);

    snprintf(path, sizeof path, "%s/h.sock", dir);
    a = start_with_socket(path, &rc);
    is_int(rc, 0, "a first host takes the socket path");
    b = start_with_socket(path, &rc);
    ok(rc != 0, "a second host is refused the path of a live one");
    hg__host_destroy(b);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    strcpy(sa.sun_path, path);
    is_int(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0, "and the first still answers there");
    close(fd);
    hg__host_destroy(a);

    /* a stale socket: bound, then its owner gone without removing it */
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    bind(fd, (struct sockaddr *)&sa, sizeof sa);
    close(fd);
    a = start_with_socket(path, &rc);
    is_int(rc, 0, "a stale socket left by a dead host is replaced");
    hg__host_destroy(a);
    rmdir(dir);
}

int main(void)
{
    test_control_socket_claims();
    test_control_socket();
    test_empty_host();
    test_bad_config();
    test_standalone_services();
    test_getter_errors();
    return tap_done();
}
