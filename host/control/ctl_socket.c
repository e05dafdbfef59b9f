/* ctl_socket.c - the optional control socket (`control.socket`): a Unix stream socket created
 * 0600; each line in is a command (plain text, or a JSON object {"cmd": "...", "name": ...,
 * "args": ...}), each line out the JSON reply. One thread serves every client with poll(2) on
 * non-blocking sockets; each command then runs on a worker of a pool that grows to one worker
 * per command in flight (at most one per client) and keeps them, so a client waiting for a slow
 * command (a `stop`, a hung engine `call`) never delays another client's `counters` or `kill`,
 * and no thread is started per command. One command at a time per client, in order: its next line is taken once
 * the last reply is written, so a client that does not read its replies only stops itself. A
 * client that closes (or resets) its end still has every complete line it sent run, in order;
 * the replies it can no longer read are dropped. A pipe wakes the poll thread to stop, another
 * when a command's reply is ready. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "config.h"
#include "ctl_socket.h"
#include "crash.h"
#include "host_priv.h"
#include "hub.h"
#include "thread.h"

#define MAX_CLIENTS 64
#define MAX_LINE (64 * 1024)

/* A client slot. Everything but `ready` is the poll thread's; `ready` is written by the
 * command's thread and taken by the poll thread, both under ctl->mu. */
typedef struct client {
    int fd;      /* -1: free slot; -2: gone while its command still runs */
    char *buf;   /* input not yet answered (at most MAX_LINE) */
    size_t len;
    char *out;   /* the reply still to be written, with its newline */
    size_t out_len, out_off;
    int eof;     /* the client has shut down its side: answer what is left, then drop */
    int deaf;    /* its end is closed: lines still run, replies are dropped */
    int busy;    /* a command of this client is running on its own thread */
    char *ready; /* that command's reply, once it has one */
} client;

struct hg__ctl {
    hg__host *host;
    char *path;
    int lfd;
    int wake[2];
    int done[2];          /* a byte each time a command's reply is ready */
    pthread_t tid;
    pthread_mutex_t mu;   /* clients' `ready`, running, the job queue and the workers */
    pthread_cond_t idle;  /* running reached 0 */
    pthread_cond_t work;  /* a job was queued, or quit */
    int running;          /* commands queued or running */
    struct job *q_head, *q_tail;
    int q_len;            /* jobs queued, not yet taken by a worker */
    int n_idle;           /* workers waiting for a job (some may have been signalled) */
    int n_workers;        /* workers started (at most one per client slot) */
    int quit;             /* the workers leave once the queue is empty */
    pthread_t workers[MAX_CLIENTS];
    client cl[MAX_CLIENTS];
};

static void drop(client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    free(c->buf);
    free(c->out);
    if (c->busy) { /* its command's thread still writes `ready`: keep the slot until then */
        c->fd = -2;
        c->buf = c->out = NULL;
        c->len = c->out_len = c->out_off = 0;
        return;
    }
    memset(c, 0, sizeof *c);
    c->fd = -1;
}

static char *reply_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* {"ok":false,"error":...,"code":...}, as the host's own errors (commands.c). */
static char *reply_fail(int code, const char *fmt, ...)
{
    char msg[512], *out;
    json_t *o = json_object(), *err;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    err = json_string(msg);
    json_object_set_new(o, "ok", json_false());
    json_object_set_new(o, "error", err ? err : json_string("the command is not valid UTF-8"));
    json_object_set_new(o, "code", json_string(hg_err_name(code)));
    out = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return out;
}

/* The reply when the host gave none: a command not answered within its bound says which engine
 * call the control thread is inside, if any. */
static char *no_answer(hg__ctl *ctl, int rc, const char *text)
{
    hg__hub_busy b;
    double bound;
    if (rc != HG_ETIMEDOUT)
        return reply_fail(rc, "the host did not answer (%s)", hg_strerror(rc));
    b = hg__host_busy(ctl->host);
    bound = (double)hg__host_command_bound(ctl->host, text) / 1e9;
    if (b.engine == NULL)
        return reply_fail(HG_ETIMEDOUT, "the host did not answer within this command's %.3gs "
                                        "bound", bound);
    return reply_fail(HG_ETIMEDOUT, "the host did not answer: its control thread has been inside "
                      "engine '%s' (%s) for %.1fs, over this command's %.3gs bound", b.engine,
                      b.what, (double)(hg__now_ns() - b.since_ns) / 1e9, bound);
}

static char *run_text(hg__ctl *ctl, const char *text)
{
    char *reply = NULL;
    int rc = hg__host_command(ctl->host, text, &reply);
    if (rc != 0 || reply == NULL) {
        free(reply);
        return no_answer(ctl, rc != 0 ? rc : HG_ENOMEM, text);
    }
    return reply;
}

static char *run_call(hg__ctl *ctl, const char *name, const json_t *args)
{
    char *reply = NULL, *a = args ? json_dumps(args, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    int rc = hg__host_call(ctl->host, name, a ? a : "null", &reply);
    free(a);
    if (rc != 0 || reply == NULL) {
        free(reply);
        return no_answer(ctl, rc != 0 ? rc : HG_ENOMEM, NULL);
    }
    return reply;
}

/* {"cmd": "records", "name": NAME, "args": {"limit": N}} runs `records NAME --limit N`. */
static char *run_records(hg__ctl *ctl, const json_t *name, const json_t *args)
{
    const json_t *limit = json_object_get(args, "limit");
    char *text, *reply;
    if (name == NULL)
        return reply_fail(HG_EINVAL, "records needs \"name\" (the instance)");
    if (!json_is_object(args) || json_object_size(args) != 1 || !json_is_integer(limit) ||
        json_integer_value(limit) < 1 || json_integer_value(limit) > UINT32_MAX)
        return reply_fail(HG_EINVAL, "records takes \"args\": {\"limit\": N}, N a count from 1, "
                                     "and nothing else");
    if (asprintf(&text, "records %s --limit %" JSON_INTEGER_FORMAT, json_string_value(name),
                 json_integer_value(limit)) < 0)
        return NULL;
    reply = run_text(ctl, text);
    free(text);
    return reply;
}

/* {"cmd": "VERB [ARGS]", "name": NAME} runs "VERB [ARGS] NAME"; {"cmd": "call", "name": NAME,
 * "args": JSON} runs `call NAME JSON`; records takes "args" too (run_records). */
static char *run_json(hg__ctl *ctl, json_t *j)
{
    const json_t *name = json_object_get(j, "name"), *args = json_object_get(j, "args");
    const char *cmd = json_string_value(json_object_get(j, "cmd"));
    char *text, *reply;
    if (!json_is_object(j) || cmd == NULL)
        return reply_fail(HG_EINVAL, "give {\"cmd\": \"VERB [ARGS]\"}, with \"name\" for the "
                                     "instance and, for call, \"args\"");
    if (name != NULL && !json_is_string(name))
        return reply_fail(HG_EINVAL, "\"name\" is an instance name, a JSON string");
    if (strcmp(cmd, "call") == 0) {
        if (name == NULL)
            return reply_fail(HG_EINVAL, "call needs \"name\" (the instance) and \"args\" (the "
                                         "verb, or an object naming it)");
        return run_call(ctl, json_string_value(name), args);
    }
    if (args != NULL && strcmp(cmd, "records") == 0)
        return run_records(ctl, name, args);
    if (args != NULL)
        return reply_fail(HG_EINVAL, "\"args\" is for \"cmd\": \"call\" and \"records\" only");
    if (name == NULL)
        return run_text(ctl, cmd);
    if (asprintf(&text, "%s %s", cmd, json_string_value(name)) < 0)
        return NULL;
    reply = run_text(ctl, text);
    free(text);
    return reply;
}

char *hg__ctl_nul_reply(size_t at)
{
    return reply_fail(HG_EINVAL, "the command has a NUL byte in it (byte %zu): refused whole, "
                                 "none of it was run", at + 1);
}

static char *run_line(hg__ctl *ctl, const char *line)
{
    json_error_t je;
    json_t *j;
    char *reply;
    while (*line == ' ' || *line == '\t')
        line++;
    if (line[0] != '{')
        return run_text(ctl, line);
    /* a key given twice is refused, not decided by its last copy ({"cmd":"counters","cmd":
     * "kill"} must not kill) */
    j = json_loads(line, JSON_REJECT_DUPLICATES, &je);
    if (j == NULL)
        return reply_fail(HG_EINVAL, "not valid JSON: %s (column %d)", je.text, je.column);
    reply = run_json(ctl, j);
    json_decref(j);
    return reply;
}

/* Writes what the kernel takes of the pending reply. A client whose end is closed becomes deaf:
 * its reply is dropped and it reads no more, but its remaining lines still run. */
static void flush(client *c)
{
    while (!c->deaf && c->out_off < c->out_len) {
        ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (w <= 0) {
            c->deaf = c->eof = 1;
            break;
        }
        c->out_off += (size_t)w;
    }
    free(c->out);
    c->out = NULL;
    c->out_len = c->out_off = 0;
}

/* Sets the reply (taken) as the client's output, with its newline, and writes what it can.
 * Returns -1 on OOM. */
static int put_reply(client *c, char *reply)
{
    size_t n;
    char *grown;
    if (reply == NULL)
        return -1;
    n = strlen(reply);
    grown = realloc(reply, n + 1);
    if (grown == NULL) {
        free(reply);
        return -1;
    }
    c->out = grown;
    c->out[n] = '\n';
    c->out_len = n + 1;
    c->out_off = 0;
    flush(c);
    return 0;
}

typedef struct job {
    struct job *next;
    client *c;
    char line[];
} job;

/* A worker: runs queued commands, one at a time, until quit. Workers are started as needed and
 * kept, one per command in flight at most, so a command that waits (a stop, a hung engine call)
 * never holds another client's, and no thread is started per command. */
static void *worker_main(void *arg)
{
    hg__ctl *ctl = arg;
    pthread_mutex_lock(&ctl->mu);
    for (;;) {
        job *j;
        char *reply;
        while (ctl->q_head == NULL && !ctl->quit) {
            ctl->n_idle++;
            pthread_cond_wait(&ctl->work, &ctl->mu);
            ctl->n_idle--;
        }
        if (ctl->q_head == NULL)
            break;
        j = ctl->q_head;
        ctl->q_head = j->next;
        ctl->q_len--;
        if (ctl->q_head == NULL)
            ctl->q_tail = NULL;
        pthread_mutex_unlock(&ctl->mu);
        reply = run_line(ctl, j->line);
        if (reply == NULL)
            reply = reply_fail(HG_ENOMEM, "out of memory");
        pthread_mutex_lock(&ctl->mu);
        j->c->ready = reply;
        if (write(ctl->done[1], "r", 1) < 0) {
            /* the pipe holds one byte per running command at most: it cannot be full */
        }
        if (--ctl->running == 0)
            pthread_cond_broadcast(&ctl->idle);
        free(j);
    }
    pthread_mutex_unlock(&ctl->mu);
    return NULL;
}

/* Queues line (n bytes, NUL-terminated) for the client and makes sure a worker is free to run
 * it. Returns -1 when none could be started and none is free (the client is then told and
 * dropped). */
static int start_command(hg__ctl *ctl, client *c, const char *line, size_t n)
{
    const hg__thread_opts o = {.name = "hangar-ctl-cmd", .core = HG_CORE_ANY};
    job *j = malloc(sizeof *j + n + 1);
    int ok = 1;
    if (j == NULL)
        return -1;
    j->next = NULL;
    j->c = c;
    memcpy(j->line, line, n + 1);
    pthread_mutex_lock(&ctl->mu);
    /* each job queued and not yet taken has an idle worker coming for it: a new worker is
     * needed when no idle one is left for this one */
    if (ctl->n_idle <= ctl->q_len && ctl->n_workers < MAX_CLIENTS) {
        if (hg__thread_start(&o, worker_main, ctl, &ctl->workers[ctl->n_workers]) == 0)
            ctl->n_workers++;
        else if (ctl->n_workers == 0)
            ok = 0;
    }
    if (ok) {
        if (ctl->q_tail)
            ctl->q_tail->next = j;
        else
            ctl->q_head = j;
        ctl->q_tail = j;
        ctl->q_len++;
        ctl->running++;
        pthread_cond_signal(&ctl->work);
    }
    pthread_mutex_unlock(&ctl->mu);
    if (!ok) {
        free(j);
        put_reply(c, reply_fail(HG_EAGAIN, "no thread for the command"));
        return -1;
    }
    c->busy = 1;
    return 0;
}

/* Takes the next complete line of the input, if the client has no command running and no reply
 * to write, and starts it (a line with a NUL byte is refused whole at once, none of it run; an
 * empty or blank one goes to the host, which answers `empty command`). Returns -1 to drop the
 * client: on an error, or once a client at EOF has had every answer. */
static int answer(hg__ctl *ctl, client *c)
{
    while (!c->busy && c->out == NULL) {
        char *nl = c->len > 0 ? memchr(c->buf, '\n', c->len) : NULL;
        size_t used, n;
        char *nul;
        int rc;
        if (nl == NULL)
            return c->eof ? -1 : 0;
        used = (size_t)(nl - c->buf) + 1;
        n = used - 1;
        if (n > 0 && c->buf[n - 1] == '\r')
            n--;
        c->buf[n] = '\0';
        /* a NUL would end the C string early and run its first part: refused whole */
        nul = memchr(c->buf, '\0', n);
        if (nul != NULL)
            rc = put_reply(c, hg__ctl_nul_reply((size_t)(nul - c->buf)));
        else
            rc = start_command(ctl, c, c->buf, n);
        memmove(c->buf, c->buf + used, c->len - used);
        c->len -= used;
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* A command's reply is ready: write it and go on with the client's next line. */
static int answered(hg__ctl *ctl, client *c, char *reply)
{
    c->busy = 0;
    if (c->fd == -2) { /* gone meanwhile */
        free(reply);
        c->fd = -1;
        drop(c);
        return 0;
    }
    if (put_reply(c, reply) != 0)
        return -1;
    return answer(ctl, c);
}

/* Appends bytes to the client's input, at most MAX_LINE pending. Returns -1 to drop it. */
static int append(client *c, const char *data, size_t n)
{
    char *nb;
    if (c->len + n > MAX_LINE) {
        /* a line longer than any command: a hostile or broken client; say so, then drop it */
        static const char msg[] = "{\"ok\":false,\"error\":\"a command line is at most 65536 "
                                  "bytes\",\"code\":\"ENOSPC\"}\n";
        send(c->fd, msg, sizeof msg - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        return -1;
    }
    nb = realloc(c->buf, c->len + n + 1);
    if (nb == NULL)
        return -1;
    c->buf = nb;
    memcpy(c->buf + c->len, data, n);
    c->len += n;
    c->buf[c->len] = '\0';
    return 0;
}

/* The client shut down its side: a last line without its newline is still a command. */
static int at_eof(hg__ctl *ctl, client *c)
{
    c->eof = 1;
    if (c->len > 0 && c->buf[c->len - 1] != '\n') {
        char *nb = realloc(c->buf, c->len + 2);
        if (nb == NULL)
            return -1;
        c->buf = nb;
        c->buf[c->len++] = '\n';
        c->buf[c->len] = '\0';
    }
    return answer(ctl, c);
}

/* Serves one poll event: writes the pending reply, or reads what is there. Returns -1 to drop
 * the client. */
static int serve(hg__ctl *ctl, client *c)
{
    char tmp[4096];
    ssize_t r;
    /* With a reply pending only POLLOUT is asked for: any event (a hang-up too) means flush. */
    if (c->out != NULL) {
        flush(c);
        return answer(ctl, c);
    }
    r = recv(c->fd, tmp, sizeof tmp, MSG_DONTWAIT);
    if (r < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
        return 0;
    if (r < 0) /* a reset: what it sent before still runs, unanswered */
        c->deaf = 1;
    if (r <= 0)
        return at_eof(ctl, c);
    if (append(c, tmp, (size_t)r) != 0)
        return -1;
    return answer(ctl, c);
}

/* Takes every reply that is ready (the done pipe woke us). */
static void take_ready(hg__ctl *ctl)
{
    char drain[64];
    while (read(ctl->done[0], drain, sizeof drain) > 0) {
    }
    for (int i = 0; i < MAX_CLIENTS; i++) {
        client *c = &ctl->cl[i];
        char *reply;
        if (!c->busy)
            continue;
        pthread_mutex_lock(&ctl->mu);
        reply = c->ready;
        c->ready = NULL;
        pthread_mutex_unlock(&ctl->mu);
        if (reply != NULL && answered(ctl, c, reply) != 0)
            drop(c);
    }
}

static void *ctl_main(void *arg)
{
    hg__ctl *ctl = arg;
    pthread_setname_np(pthread_self(), "hangar-ctl");
    for (;;) {
        struct pollfd p[MAX_CLIENTS + 3];
        int idx[MAX_CLIENTS + 3];
        nfds_t n = 0;
        p[n].fd = ctl->wake[0];
        p[n++].events = POLLIN;
        p[n].fd = ctl->lfd;
        p[n++].events = POLLIN;
        p[n].fd = ctl->done[0];
        p[n++].events = POLLIN;
        for (int i = 0; i < MAX_CLIENTS; i++) {
            /* a client whose command runs is not polled: it is served when the reply is ready
             * (its hang-up would otherwise wake poll again and again) */
            if (ctl->cl[i].fd >= 0 && !ctl->cl[i].busy) {
                idx[n] = i;
                p[n].fd = ctl->cl[i].fd;
                p[n++].events = ctl->cl[i].out ? POLLOUT : POLLIN;
            }
        }
        if (poll(p, n, -1) < 0 && errno != EINTR)
            break;
        if (p[0].revents)
            break;
        if (p[2].revents & POLLIN)
            take_ready(ctl);
        if (p[1].revents & POLLIN) {
            int fd = accept4(ctl->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
            int slot = -1;
            for (int i = 0; fd >= 0 && i < MAX_CLIENTS && slot < 0; i++)
                if (ctl->cl[i].fd == -1)
                    slot = i;
            if (slot >= 0) {
                ctl->cl[slot].fd = fd;
            } else if (fd >= 0) {
                static const char msg[] = "{\"ok\":false,\"error\":\"too many control clients "
                                          "(64)\",\"code\":\"EAGAIN\"}\n";
                send(fd, msg, sizeof msg - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
                hg__log(hg__host_logger(ctl->host), HG_LOG_WARN, "control",
                        "refused a client: %d clients are connected already", MAX_CLIENTS);
                close(fd);
            }
        }
        for (nfds_t k = 3; k < n; k++)
            if (p[k].revents && !ctl->cl[idx[k]].busy && ctl->cl[idx[k]].fd >= 0 &&
                serve(ctl, &ctl->cl[idx[k]]) != 0)
                drop(&ctl->cl[idx[k]]);
    }
    return NULL;
}

static int status_of(int err)
{
    switch (err) {
    case EACCES:
    case EPERM:
    case EROFS: return HG_EPERM;
    case ENOENT:
    case ENOTDIR: return HG_ENOENT;
    case EADDRINUSE: return HG_EADDRINUSE;
    case ENOMEM: return HG_ENOMEM;
    default: return HG_EIO;
    }
}

/* What is at path may be replaced only when it is a socket nobody answers on (left by a host
 * that died). Returns 0 (path free now), HG_EEXIST (not a socket), HG_EADDRINUSE (a live
 * host), or a status for the unlink that failed. */
static int claim_path(const char *path, char *err, size_t cap)
{
    struct stat st;
    struct sockaddr_un sa;
    int fd, live;
    if (lstat(path, &st) != 0)
        return 0;
    if (!S_ISSOCK(st.st_mode)) {
        snprintf(err, cap, "%s exists and is not a socket: it is left alone", path);
        return HG_EEXIST;
    }
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    strcpy(sa.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    live = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    if (fd >= 0)
        close(fd);
    if (live) {
        snprintf(err, cap, "%s is in use by another running host", path);
        return HG_EADDRINUSE;
    }
    if (unlink(path) != 0) {
        snprintf(err, cap, "cannot remove the stale socket %s: %s", path, strerror(errno));
        return status_of(errno);
    }
    return 0;
}

/* Binds under a temporary name, makes it 0600 and renames it into place, so the socket is never
 * reachable at its real path with wider permissions (and the process umask stays untouched). */
static int bind_private(int fd, const char *path, char *err, size_t cap)
{
    static unsigned seq;
    struct sockaddr_un sa;
    int rc;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s.%x", path,
             __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED) & 0xfffff);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        snprintf(err, cap, "cannot create %s: %s", path, strerror(errno));
        return status_of(errno);
    }
    if (chmod(sa.sun_path, 0600) != 0 || rename(sa.sun_path, path) != 0) {
        rc = status_of(errno);
        snprintf(err, cap, "cannot create %s: %s", path, strerror(errno));
        unlink(sa.sun_path);
        return rc;
    }
    return 0;
}

int hg__ctl_open(hg__host *h, const char *path, hg__ctl **out, char *err, size_t cap)
{
    hg__ctl *ctl;
    const hg__thread_opts thread_opts = {.name = "hangar-ctl", .core = HG_CORE_ANY};
    int rc;

    if (strlen(path) > HG__CTL_PATH_MAX) {
        snprintf(err, cap, "control socket path longer than %d bytes: %s", HG__CTL_PATH_MAX, path);
        return HG_ENOSPC;
    }
    ctl = calloc(1, sizeof *ctl);
    if (ctl == NULL)
        return HG_ENOMEM;
    ctl->host = h;
    ctl->wake[0] = ctl->wake[1] = -1;
    ctl->done[0] = ctl->done[1] = -1;
    pthread_mutex_init(&ctl->mu, NULL);
    pthread_cond_init(&ctl->idle, NULL);
    pthread_cond_init(&ctl->work, NULL);
    for (int i = 0; i < MAX_CLIENTS; i++)
        ctl->cl[i].fd = -1;
    ctl->path = strdup(path);
    ctl->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    rc = HG_EIO;
    if (ctl->path == NULL || ctl->lfd < 0 || pipe2(ctl->wake, O_CLOEXEC) != 0 ||
        pipe2(ctl->done, O_CLOEXEC | O_NONBLOCK) != 0) {
        snprintf(err, cap, "cannot create a socket: %s", strerror(errno));
        goto fail;
    }
    rc = claim_path(path, err, cap);
    if (rc != 0)
        goto fail;
    rc = bind_private(ctl->lfd, path, err, cap);
    if (rc != 0)
        goto fail;
    if (listen(ctl->lfd, 128) != 0) {
        snprintf(err, cap, "cannot listen on %s: %s", path, strerror(errno));
        rc = HG_EIO;
        goto fail_bound;
    }
    /* no process signals, but its own crash still reports */
    rc = hg__thread_start(&thread_opts, ctl_main, ctl, &ctl->tid) == 0 ? 0 : HG_EAGAIN;
    if (rc != 0) {
        snprintf(err, cap, "cannot start the control socket's thread");
        goto fail_bound;
    }
    *out = ctl;
    return 0;

fail_bound:
    unlink(path);
fail:
    if (ctl->lfd >= 0)
        close(ctl->lfd);
    if (ctl->wake[0] >= 0) {
        close(ctl->wake[0]);
        close(ctl->wake[1]);
    }
    if (ctl->done[0] >= 0) {
        close(ctl->done[0]);
        close(ctl->done[1]);
    }
    pthread_cond_destroy(&ctl->work);
    pthread_cond_destroy(&ctl->idle);
    pthread_mutex_destroy(&ctl->mu);
    free(ctl->path);
    free(ctl);
    return rc;
}

void hg__ctl_close(hg__ctl *ctl)
{
    if (ctl == NULL)
        return;
    if (write(ctl->wake[1], "x", 1) < 0) {
        /* The pipe is ours and empty: a failed write leaves only the join below to hang,
         * which cannot happen as poll also wakes on the closed write end. */
        close(ctl->wake[1]);
        ctl->wake[1] = -1;
    }
    pthread_join(ctl->tid, NULL);
    /* commands still running: each ends within its bound (hub.h) */
    pthread_mutex_lock(&ctl->mu);
    while (ctl->running > 0)
        pthread_cond_wait(&ctl->idle, &ctl->mu);
    ctl->quit = 1;
    pthread_cond_broadcast(&ctl->work);
    pthread_mutex_unlock(&ctl->mu);
    for (int i = 0; i < ctl->n_workers; i++)
        pthread_join(ctl->workers[i], NULL);
    for (int i = 0; i < MAX_CLIENTS; i++) {
        free(ctl->cl[i].ready);
        ctl->cl[i].ready = NULL;
        ctl->cl[i].busy = 0;
        if (ctl->cl[i].fd != -1)
            drop(&ctl->cl[i]);
    }
    close(ctl->lfd);
    unlink(ctl->path);
    close(ctl->wake[0]);
    if (ctl->wake[1] >= 0)
        close(ctl->wake[1]);
    close(ctl->done[0]);
    close(ctl->done[1]);
    pthread_cond_destroy(&ctl->work);
    pthread_cond_destroy(&ctl->idle);
    pthread_mutex_destroy(&ctl->mu);
    free(ctl->path);
    free(ctl);
}
