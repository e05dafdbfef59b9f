/* exec.c - the exec connector: runs one long-lived child (`command`, an argv list), its stdout
 * lines as events, actions written to its stdin (one line each), its stderr lines logged; the
 * child is reaped and its exit status published; `restart` never | on-failure | always, with
 * exponential backoff between backoff_min and backoff_max. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cn.h"

#define MAX_ARGS 64
#define OBUF (64 * 1024)
#define POLL_MS 10

extern char **environ;

enum { R_NEVER, R_ON_FAILURE, R_ALWAYS };

typedef struct exec_stream {
    cn c;
    char name[64];
    char *argv[MAX_ARGS + 1];
    int restart;
    uint64_t bmin, bmax;
    pid_t pid;
    int in, out, err;             /* pipes to the child; -1 when closed */
    char obuf[OBUF], ebuf[4096];  /* partial stdout / stderr lines */
    uint32_t olen, elen;
    char *pend;                   /* an action not yet written whole to stdin */
    uint32_t pend_len, pend_off;
    uint64_t starts, exits;
    char last[64];
} exec_stream;

static void ex_free(exec_stream *x)
{
    for (int i = 0; i < MAX_ARGS && x->argv[i]; i++)
        free(x->argv[i]);
    free(x->pend);
    free(x);
}

static int bad(cn *c, const hg_config *cfg, const char *key, const char *msg)
{
    c->h->cfg_error(c->h, cfg, key, msg);
    return HG_ECONFIG;
}

static const char *const stream_keys[] = {"command", "restart", "backoff_min", "backoff_max", NULL};

static int ex_open(void *inst, const hg_stream_desc *d, hg_stream *s, void **ud)
{
    cn *c = inst;
    const hg_config *cmd = NULL;
    const char *r = NULL;
    exec_stream *x;
    uint32_t n;
    (void)s;
    if (cn_check_keys(c, d->cfg, stream_keys) != 0)
        return HG_ECONFIG;
    if (c->h->cfg_child(c->h, d->cfg, "command", &cmd) != 0 ||
        c->h->cfg_type(c->h, cmd) != HG_CFG_SEQ || (n = c->h->cfg_count(c->h, cmd)) == 0)
        return bad(c, d->cfg, "command", "exec needs 'command': the program and its arguments "
                                          "as a list");
    if (n > MAX_ARGS)
        return bad(c, d->cfg, "command", "'command' has more than 64 items");
    if ((x = calloc(1, sizeof *x)) == NULL)
        return HG_ENOMEM;
    x->c = *c;
    x->in = x->out = x->err = -1;
    x->bmin = 100000000u;
    x->bmax = 5000000000u;
    for (uint32_t i = 0; i < n; i++) {
        const hg_config *it = NULL;
        const char *v = NULL;
        if (c->h->cfg_at(c->h, cmd, i, &it, NULL) != 0 ||
            c->h->cfg_string(c->h, it, NULL, &v) != 0 || v == NULL ||
            (x->argv[i] = strdup(v)) == NULL) {
            ex_free(x);
            return bad(c, d->cfg, "command", "'command' items must be strings");
        }
    }
    c->h->cfg_string(c->h, d->cfg, "restart", &r);
    x->restart = r == NULL || strcmp(r, "never") == 0 ? R_NEVER
               : strcmp(r, "on-failure") == 0 ? R_ON_FAILURE : strcmp(r, "always") == 0 ? R_ALWAYS
               : -1;
    c->h->cfg_duration(c->h, d->cfg, "backoff_min", &x->bmin);
    c->h->cfg_duration(c->h, d->cfg, "backoff_max", &x->bmax);
    if (x->restart < 0 || x->bmin == 0 || x->bmax < x->bmin) {
        const char *key = x->restart < 0 ? "restart" : "backoff_max";
        ex_free(x);
        return bad(c, d->cfg, key, "'restart' is never, on-failure or always; 0 < backoff_min "
                                   "<= backoff_max");
    }
    snprintf(x->name, sizeof x->name, "%s", d->name);
    *ud = x;
    return 0;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* Starts the child with its three pipes; every signal at its default, none blocked. */
static int spawn(exec_stream *x, char *err, size_t cap)
{
    int pin[2], pout[2], perr[2];
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none, all;
    int rc;
    if (pipe2(pin, O_CLOEXEC) != 0)
        return -1;
    if (pipe2(pout, O_CLOEXEC) != 0 || pipe2(perr, O_CLOEXEC) != 0) {
        close(pin[0]), close(pin[1]);
        return -1;
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pin[0], 0);
    posix_spawn_file_actions_adddup2(&fa, pout[1], 1);
    posix_spawn_file_actions_adddup2(&fa, perr[1], 2);
    posix_spawnattr_init(&at);
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &all);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    rc = posix_spawnp(&x->pid, x->argv[0], &fa, &at, x->argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(pin[0]), close(pout[1]), close(perr[1]);
    if (rc != 0) {
        snprintf(err, cap, "cannot run %.100s: %s", x->argv[0], strerror(rc));
        close(pin[1]), close(pout[0]), close(perr[0]);
        x->pid = 0;
        return -1;
    }
    x->in = pin[1];
    x->out = pout[0];
    x->err = perr[0];
    fcntl(x->in, F_SETFL, O_NONBLOCK);
    x->olen = x->elen = 0;
    x->starts++;
    return 0;
}

static void publish(exec_stream *x, hg_stream *s, uint32_t state)
{
    char d[256];
    snprintf(d, sizeof d, "{\"pid\":%d,\"starts\":%llu,\"exits\":%llu,\"last_exit\":\"%s\"}",
             (int)x->pid, (unsigned long long)x->starts, (unsigned long long)x->exits, x->last);
    x->c.api->publish(s, state, d);
}

/* Moves complete lines out of buf: as events (stdout) or to the log (stderr). A line longer
 * than the buffer goes out in pieces; at the end of the pipe the rest goes out as a line. */
static int lines(exec_stream *x, hg_stream *s, char *buf, uint32_t *len, uint32_t cap, int out,
                 int eof)
{
    uint32_t start = 0;
    for (;;) {
        char *nl = memchr(buf + start, '\n', *len - start);
        uint32_t n;
        if (nl != NULL)
            n = (uint32_t)(nl - (buf + start));
        else if ((*len == cap && start == 0) || (eof && *len > start))
            n = *len - start;
        else
            break;
        if (out) {
            if (cn_emit(&x->c, s, HG_TYPE_TEXT, buf + start, n) == HG_ECANCELED)
                return HG_ECANCELED;
        } else
            cn_log(&x->c, HG_LOG_WARN, x->name, "stderr: %.*s", (int)(n > 400 ? 400 : n),
                   buf + start);
        start += n + (nl != NULL);
    }
    memmove(buf, buf + start, *len - start);
    *len -= start;
    return 0;
}

/* Reads one pipe. Returns 0, 1 at its end, HG_ECANCELED. */
static int drain_pipe(exec_stream *x, hg_stream *s, int out)
{
    char *buf = out ? x->obuf : x->ebuf;
    uint32_t *len = out ? &x->olen : &x->elen, cap = out ? OBUF : sizeof x->ebuf;
    ssize_t n = read(out ? x->out : x->err, buf + *len, cap - *len);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (n > 0)
        *len += (uint32_t)n;
    if (lines(x, s, buf, len, cap, out, n <= 0) == HG_ECANCELED)
        return HG_ECANCELED;
    if (n <= 0)
        close_fd(out ? &x->out : &x->err);
    return n <= 0;
}

/* Writes the pending action and takes the next ones while the child's stdin takes them; a child
 * that does not read leaves them queued in the action channel. */
static void feed(exec_stream *x, hg_stream *s)
{
    while (x->in >= 0) {
        if (x->pend == NULL) {
            hg_frame f;
            memset(&f, 0, sizeof f);
            f.struct_size = sizeof f;
            if (x->c.api->next_action(s, &f, 0) != 0)
                return;
            x->pend = malloc(f.len + 1);
            if (x->pend != NULL) {
                memcpy(x->pend, f.data, f.len);
                x->pend[f.len] = '\n';
                x->pend_len = f.len + 1;
                x->pend_off = 0;
            }
            x->c.api->buf_unref(f.buf);
            if (x->pend == NULL)
                return;
        }
        ssize_t w = write(x->in, x->pend + x->pend_off, x->pend_len - x->pend_off);
        if (w < 0) {
            if (errno != EAGAIN && errno != EINTR)
                close_fd(&x->in); /* the child closed its stdin */
            return;
        }
        x->pend_off += (uint32_t)w;
        if (x->pend_off < x->pend_len)
            return;
        free(x->pend);
        x->pend = NULL;
    }
}

/* Stops the child: SIGTERM, up to 1 s, then SIGKILL; reaps it. Returns its wait status. */
static int reap(exec_stream *x, int kill_it)
{
    int st = 0;
    if (x->pid <= 0)
        return 0;
    if (kill_it) {
        kill(x->pid, SIGTERM);
        for (int i = 0; i < 100 && waitpid(x->pid, &st, WNOHANG) == 0; i++)
            usleep(10000);
        if (waitpid(x->pid, &st, WNOHANG) == 0) {
            kill(x->pid, SIGKILL);
            waitpid(x->pid, &st, 0);
        }
    } else
        waitpid(x->pid, &st, 0);
    x->pid = 0;
    x->exits++;
    if (WIFEXITED(st))
        snprintf(x->last, sizeof x->last, "exited %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(x->last, sizeof x->last, "killed by signal %d", WTERMSIG(st));
    close_fd(&x->in);
    close_fd(&x->out);
    close_fd(&x->err);
    return st;
}

/* Runs the child until its stdout and stderr end. Returns HG_ECANCELED when stopping. */
static int session(exec_stream *x, hg_stream *s)
{
    while (x->out >= 0 || x->err >= 0) {
        struct pollfd p[2] = {{x->out, POLLIN, 0}, {x->err, POLLIN, 0}};
        if (cn_sleep(&x->c, s, 0))
            return HG_ECANCELED;
        feed(x, s);
        if (poll(p, 2, POLL_MS) <= 0)
            continue;
        if (x->out >= 0 && (p[0].revents & (POLLIN | POLLHUP)) &&
            drain_pipe(x, s, 1) == HG_ECANCELED)
            return HG_ECANCELED;
        if (x->err >= 0 && (p[1].revents & (POLLIN | POLLHUP)))
            drain_pipe(x, s, 0);
    }
    return 0;
}

static int ex_run(void *ud, hg_stream *s)
{
    exec_stream *x = ud;
    uint64_t backoff = x->bmin;
    char err[200] = "";
    for (;;) {
        int st, failed;
        if (spawn(x, err, sizeof err) != 0) {
            cn_log(&x->c, HG_LOG_ERROR, x->name, "%s", err);
            failed = 1;
        } else {
            publish(x, s, HG_STATE_RUNNING);
            if (session(x, s) == HG_ECANCELED) {
                reap(x, 1);
                break;
            }
            st = reap(x, 0);
            failed = !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
            cn_log(&x->c, failed ? HG_LOG_WARN : HG_LOG_INFO, x->name, "child %s", x->last);
        }
        publish(x, s, HG_STATE_READY);
        if (x->restart == R_NEVER || (x->restart == R_ON_FAILURE && !failed)) {
            publish(x, s, failed ? HG_STATE_FAILED : HG_STATE_STOPPED);
            while (!cn_sleep(&x->c, s, 1000000000u))
                ; /* the stream stays until it is stopped; its state says why it is idle */
            return 0;
        }
        if (cn_sleep(&x->c, s, backoff))
            break;
        backoff = backoff * 2 > x->bmax ? x->bmax : backoff * 2;
    }
    publish(x, s, HG_STATE_STOPPED);
    return 0;
}

static void ex_close(void *ud)
{
    ex_free(ud);
}

const hg_connector_ops cn_exec_ops = {
    sizeof(hg_connector_ops), cn_create, cn_destroy, ex_open, ex_run, ex_close, NULL,
};
