/* ctl.c - `hangar ctl [--socket PATH] [--config FILE] [--json] COMMAND...`: the command-line
 * client of a running host's control socket (docs/OPERATIONS.md). It finds the socket, sends one
 * command per line, and prints the reply as a table (ctl_table.c) or JSON; `status` and `top`
 * sample counters and compute rates (ctl_top.c). Exit status 0 only when the command succeeded. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <hangar/status.h>

#include "cli.h"
#include "cli_common.h"
#include "config.h"
#include "ctl.h"

/* A connection to one host's control socket. */
typedef struct sock_link {
    const char *path;
    int fd;
    double timeout_s; /* per reply */
    char *buf;        /* bytes read past the last reply */
    size_t len, cap;
} sock_link;

static const char usage_text[] =
    "usage: hangar ctl [--socket PATH] [--config FILE] [--json] [--timeout SECONDS] COMMAND...\n"
    "\n"
    "commands (any other is passed to the host as it is: docs/CONTROL.md):\n"
    "  status [--interval S]       each engine's kind, state, uptime, health, rates, error\n"
    "  top [--interval S] [-n N]   the same, live, refreshed each interval (q quits)\n"
    "  counters [NAME]             every counter and fact\n"
    "  records NAME [--limit N]    closed connections, the newest N (oldest first)\n"
    "  perf                        engine threads' busy and idle time\n"
    "  graph [--dot]               the processor graph (as Graphviz dot with --dot)\n"
    "  reload [FILE]               reload the configuration\n"
    "  shutdown                    stop the host gracefully\n"
    "\n"
    "The socket: --socket PATH, else control.socket of --config FILE, else $HANGAR_SOCKET.\n"
    "--json prints the host's reply (status and top: the computed view) as one JSON line.\n"
    "--timeout: how long to wait for each reply (default 120 s).\n"
    "Exit status: 0 the command succeeded, 1 the host refused it or no host answered, 2 usage.\n";

uint64_t hg__ctl_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Why nothing answers at path, as a sentence for "no host answers at PATH: ...". */
static const char *why_not(const char *path, int err)
{
    struct stat st;
    if (err == ENOENT)
        return "there is no such file (is a host running with control.socket set to this path?)";
    if (err == ECONNREFUSED)
        return "connection refused (the socket was left by a host that is no longer running)";
    if (err == EACCES)
        return "permission denied (the socket is mode 0600: run as the host's user)";
    if (stat(path, &st) == 0 && !S_ISSOCK(st.st_mode))
        return "it is not a socket (a host's control socket is a Unix socket)";
    return strerror(err);
}

static int sock_connect(sock_link *s, FILE *err)
{
    struct sockaddr_un a;
    struct stat st;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    if (strlen(s->path) >= sizeof a.sun_path) {
        fprintf(err, "hangar ctl: the socket path '%s' is longer than a Unix socket address "
                     "(%zu bytes)\n", s->path, sizeof a.sun_path - 1);
        return HG_EINVAL;
    }
    if (stat(s->path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
        fprintf(err, "hangar ctl: no host answers at %s: %s\n", s->path, why_not(s->path, 0));
        return HG_ECLOSED;
    }
    memcpy(a.sun_path, s->path, strlen(s->path) + 1);
    s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->fd < 0 || connect(s->fd, (struct sockaddr *)&a, sizeof a) != 0) {
        int e = errno;
        fprintf(err, "hangar ctl: no host answers at %s: %s\n", s->path, why_not(s->path, e));
        if (s->fd >= 0)
            close(s->fd);
        s->fd = -1;
        return HG_ECLOSED;
    }
    return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads until the buffer holds a whole line. Returns its length (without the newline), or a
 * negative HG_E* code. */
static long read_line(sock_link *s)
{
    uint64_t deadline = hg__ctl_now_ns() + (uint64_t)(s->timeout_s * 1e9);
    for (;;) {
        char *nl = s->len ? memchr(s->buf, '\n', s->len) : NULL;
        struct pollfd p = {s->fd, POLLIN, 0};
        uint64_t now = hg__ctl_now_ns();
        ssize_t r;
        if (nl != NULL)
            return nl - s->buf;
        if (now >= deadline)
            return HG_ETIMEDOUT;
        if (poll(&p, 1, (int)((deadline - now) / 1000000 + 1)) < 0 && errno != EINTR)
            return HG_EIO;
        if (s->cap - s->len < 4096) {
            char *nb = realloc(s->buf, s->cap * 2 + 65536);
            if (nb == NULL)
                return HG_ENOMEM;
            s->buf = nb;
            s->cap = s->cap * 2 + 65536;
        }
        r = recv(s->fd, s->buf + s->len, s->cap - s->len, MSG_DONTWAIT);
        if (r == 0)
            return HG_ECLOSED;
        if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return HG_EIO;
        if (r > 0)
            s->len += (size_t)r;
    }
}

static int sock_send(void *ud, const char *line, char **reply, FILE *err)
{
    sock_link *s = ud;
    long n;
    int rc;
    if (s->fd < 0 && (rc = sock_connect(s, err)) != 0)
        return rc;
    if (write_all(s->fd, line, strlen(line)) != 0 || write_all(s->fd, "\n", 1) != 0) {
        fprintf(err, "hangar ctl: the host at %s closed the connection: %s\n", s->path,
                strerror(errno));
        return HG_ECLOSED;
    }
    n = read_line(s);
    if (n == HG_ETIMEDOUT)
        fprintf(err, "hangar ctl: the host at %s did not answer within %.3g s\n", s->path,
                s->timeout_s);
    else if (n < 0)
        fprintf(err, "hangar ctl: the host at %s closed the connection without answering\n",
                s->path);
    if (n < 0)
        return (int)n;
    *reply = strndup(s->buf, (size_t)n);
    memmove(s->buf, s->buf + n + 1, s->len - (size_t)n - 1);
    s->len -= (size_t)n + 1;
    return *reply ? 0 : HG_ENOMEM;
}

json_t *hg__ctl_request(hg__ctl_link *l, const char *line, FILE *err)
{
    char *text = NULL;
    json_error_t je;
    json_t *j;
    if (l->send(l->ud, line, &text, err) != 0)
        return NULL;
    j = json_loads(text, 0, &je);
    if (j == NULL || !json_is_object(j))
        fprintf(err, "%s: the reply from %s is not a JSON object: %s\n", l->who, l->where,
                j ? "another JSON value" : je.text);
    free(text);
    if (j != NULL && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

/* The socket of the config's control section. Returns a malloc'd path, or NULL after saying why
 * (exit status in *rc). */
static char *config_socket(const char *file, int *rc)
{
    hg__config_src src = {file, NULL, NULL, 0, HG__CFG_LIMITS_DEFAULT, NULL};
    hg__config *cfg = NULL;
    hg__diag d;
    char *path = NULL;
    hg__diag_init(&d);
    if (hg__config_load(&src, &cfg, &d) != 0) {
        hg__diag_print(&d, stderr);
        *rc = HG_EXIT_USAGE;
    } else if (cfg->control_socket == NULL) {
        fprintf(stderr, "hangar ctl: %s has no control socket (set control.socket in it)\n",
                file);
        *rc = HG_EXIT_USAGE;
    } else if ((path = strdup(cfg->control_socket)) == NULL) {
        *rc = HG_EXIT_RUNTIME;
    }
    hg__config_free(cfg);
    hg__diag_free(&d);
    return path;
}

typedef struct ctl_opts {
    const char *socket, *config;
    int json;
    double timeout_s;
    int first; /* argv index of the command */
} ctl_opts;

/* Takes the value of option name (`--name V` or `--name=V`). Returns 1 when argv[*i] is it. */
static int opt_value(const char *name, int argc, char **argv, int *i, const char **val)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return 0;
    if (argv[*i][n] == '=') {
        *val = argv[*i] + n + 1;
        return 1;
    }
    if (argv[*i][n] != '\0')
        return 0;
    *val = *i + 1 < argc ? argv[++*i] : ""; /* missing: empty, refused by the caller */
    return 1;
}

static int parse_opts(int argc, char **argv, ctl_opts *o)
{
    int i = 1;
    const char *v = NULL;
    o->timeout_s = 120;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            o->json = 1;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage_text, stdout);
            return -1;
        } else if (opt_value("--socket", argc, argv, &i, &o->socket) ||
                   opt_value("--config", argc, argv, &i, &o->config)) {
            if ((o->socket && *o->socket == '\0') || (o->config && *o->config == '\0')) {
                fprintf(stderr, "hangar ctl: --socket and --config need a value\n");
                return HG_EXIT_USAGE;
            }
        } else if (opt_value("--timeout", argc, argv, &i, &v)) {
            char *end = NULL;
            o->timeout_s = v ? strtod(v, &end) : 0;
            if (v == NULL || end == v || *end != '\0' || !(o->timeout_s > 0)) {
                fprintf(stderr, "hangar ctl: --timeout takes seconds above 0, not '%s'\n",
                        v ? v : "");
                return HG_EXIT_USAGE;
            }
        } else {
            fprintf(stderr, "hangar ctl: unknown option '%s' (see hangar ctl --help)\n",
                    argv[i]);
            return HG_EXIT_USAGE;
        }
    }
    if (i >= argc) {
        fputs(usage_text, stderr);
        return HG_EXIT_USAGE;
    }
    o->first = i;
    return 0;
}

int hg__cli_ctl(int argc, char **argv)
{
    ctl_opts o = {0};
    sock_link s = {0};
    hg__ctl_link l = {sock_send, &s, NULL, "hangar ctl", 0};
    char *owned = NULL;
    int rc = parse_opts(argc, argv, &o);

    if (rc != 0)
        return rc < 0 ? HG_EXIT_OK : rc;
    s.fd = -1;
    s.timeout_s = o.timeout_s;
    if (o.socket != NULL) {
        s.path = o.socket;
    } else if (o.config != NULL) {
        if ((s.path = owned = config_socket(o.config, &rc)) == NULL)
            return rc;
    } else if ((s.path = getenv("HANGAR_SOCKET")) == NULL || *s.path == '\0') {
        fprintf(stderr, "hangar ctl: which host? give --socket PATH or --config FILE, or set "
                        "HANGAR_SOCKET\n");
        return HG_EXIT_USAGE;
    }
    l.where = s.path;
    signal(SIGPIPE, SIG_IGN);
    rc = hg__ctl_exec(&l, argc - o.first, argv + o.first, o.json, stdout, stderr);
    if (s.fd >= 0)
        close(s.fd);
    free(s.buf);
    free(owned);
    return rc;
}
