/* tail.c - the tail connector: follows a file, one event per complete line (a partial last line
 * waits for its newline), through rotation by rename (the old file is read to its end, then the
 * new one from its start) and truncation (copytruncate: from the start again); `offsets: FILE`
 * keeps the inode and offset of the last line emitted so a restart resumes there. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cn.h"

#define BUF (256 * 1024)
#define LINE_MAX_BYTES (1u << 20) /* a longer line is emitted in pieces of this size */
#define POLL_NS 5000000u
#define FP 64 /* fingerprint: the file's first bytes, to see a truncation the writer outgrew */

typedef struct tail {
    cn c;
    char name[64], path[4096], offsets[4096];
    int from_end;
    int fd;
    ino_t ino;
    uint64_t off;          /* bytes of the current file consumed into complete lines */
    uint64_t rotations, truncations;
    char *buf;             /* [0, len): read but not yet a complete line */
    uint32_t len;
    char fp[FP];
    uint32_t fp_len;
} tail;

static const char *const stream_keys[] = {"path", "from", "offsets", NULL};

static int tl_open(void *inst, const hg_stream_desc *d, hg_stream *s, void **ud)
{
    cn *c = inst;
    const char *path = NULL, *from = NULL, *offs = NULL;
    struct stat st;
    tail *t;
    (void)s;
    if (cn_check_keys(c, d->cfg, stream_keys) != 0)
        return HG_ECONFIG;
    if (c->h->cfg_string(c->h, d->cfg, "path", &path) != 0 || path == NULL || !*path) {
        c->h->cfg_error(c->h, d->cfg, "path", "tail needs 'path': the file to follow");
        return HG_ECONFIG;
    }
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        char msg[512];
        snprintf(msg, sizeof msg, "'path' %.400s: %s", path,
                 errno ? strerror(errno) : "not a regular file");
        c->h->cfg_error(c->h, d->cfg, "path", msg);
        return HG_ECONFIG;
    }
    c->h->cfg_string(c->h, d->cfg, "from", &from);
    if (from != NULL && strcmp(from, "start") != 0 && strcmp(from, "end") != 0) {
        c->h->cfg_error(c->h, d->cfg, "from", "'from' is start or end");
        return HG_ECONFIG;
    }
    c->h->cfg_string(c->h, d->cfg, "offsets", &offs);
    if ((t = calloc(1, sizeof *t)) == NULL || (t->buf = malloc(BUF)) == NULL) {
        free(t);
        return HG_ENOMEM;
    }
    t->c = *c;
    t->fd = -1;
    t->from_end = from == NULL || strcmp(from, "end") == 0;
    snprintf(t->name, sizeof t->name, "%s", d->name);
    snprintf(t->path, sizeof t->path, "%s", path);
    snprintf(t->offsets, sizeof t->offsets, "%s", offs ? offs : "");
    *ud = t;
    return 0;
}

static void save_offset(tail *t)
{
    char tmp[4200];
    FILE *f;
    if (!t->offsets[0] || t->fd < 0)
        return;
    snprintf(tmp, sizeof tmp, "%s.tmp", t->offsets);
    if ((f = fopen(tmp, "w")) == NULL)
        return;
    fprintf(f, "%llu %llu\n", (unsigned long long)t->ino, (unsigned long long)t->off);
    if (fclose(f) == 0)
        rename(tmp, t->offsets);
}

/* Opens the path; at first open, seeks per `from:` or the offsets file. */
static int open_file(tail *t, int first)
{
    struct stat st;
    unsigned long long ino = 0, off = 0;
    FILE *f;
    int fd = open(t->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    fstat(fd, &st);
    t->fd = fd;
    t->ino = st.st_ino;
    t->off = 0;
    t->len = 0;
    t->fp_len = 0;
    if (first && t->offsets[0] && (f = fopen(t->offsets, "r")) != NULL) {
        if (fscanf(f, "%llu %llu", &ino, &off) == 2 && ino == st.st_ino &&
            off <= (unsigned long long)st.st_size)
            t->off = off;
        fclose(f);
        if (t->off == 0 && t->from_end && ino != st.st_ino)
            t->off = (uint64_t)st.st_size;
    } else if (first && t->from_end)
        t->off = (uint64_t)st.st_size;
    lseek(fd, (off_t)t->off, SEEK_SET);
    return 0;
}

/* Emits every complete line in buf; keeps the rest. Returns HG_ECANCELED when stopping. */
static int emit_lines(tail *t, hg_stream *s)
{
    uint32_t start = 0;
    char *nl;
    while ((nl = memchr(t->buf + start, '\n', t->len - start)) != NULL) {
        uint32_t n = (uint32_t)(nl - (t->buf + start));
        int rc = cn_emit(&t->c, s, HG_TYPE_TEXT, t->buf + start, n);
        if (rc == HG_ECANCELED)
            return rc;
        start += n + 1;
        t->off += n + 1;
    }
    if (start == 0 && t->len == BUF) { /* one line longer than the buffer: emit a piece */
        if (cn_emit(&t->c, s, HG_TYPE_TEXT, t->buf, t->len) == HG_ECANCELED)
            return HG_ECANCELED;
        t->off += t->len;
        start = t->len;
    }
    memmove(t->buf, t->buf + start, t->len - start);
    t->len -= start;
    return 0;
}

/* Reads what the file has now. Returns bytes read, 0 at its end, HG_ECANCELED. */
static int64_t read_some(tail *t, hg_stream *s)
{
    ssize_t n = read(t->fd, t->buf + t->len, BUF - t->len);
    if (n <= 0)
        return 0;
    if (t->fp_len < FP && t->off == 0 && t->len == 0) {
        t->fp_len = (uint32_t)(n < FP ? n : FP);
        memcpy(t->fp, t->buf, t->fp_len);
    }
    t->len += (uint32_t)n;
    if (emit_lines(t, s) == HG_ECANCELED)
        return HG_ECANCELED;
    return n;
}

/* At the end of the file: 1 when it was truncated (size below what was read, or its first
 * bytes changed), 2 when the path now names another file, 0 when nothing changed. */
static int changed(tail *t)
{
    struct stat st, pst;
    char now[FP];
    fstat(t->fd, &st);
    if ((uint64_t)st.st_size < t->off + t->len)
        return 1;
    if (t->fp_len > 0 && pread(t->fd, now, t->fp_len, 0) == (ssize_t)t->fp_len &&
        memcmp(now, t->fp, t->fp_len) != 0)
        return 1;
    if (stat(t->path, &pst) == 0 && pst.st_ino != t->ino)
        return 2;
    return 0;
}

static void publish(tail *t, hg_stream *s)
{
    char d[256];
    snprintf(d, sizeof d, "{\"offset\":%llu,\"rotations\":%llu,\"truncations\":%llu}",
             (unsigned long long)t->off, (unsigned long long)t->rotations,
             (unsigned long long)t->truncations);
    t->c.api->publish(s, HG_STATE_RUNNING, d);
}

/* One step at the end of the file: waits a little, then looks whether the file was truncated or
 * renamed away before reading on (a truncation is seen before the writer's new lines are read
 * at the old offset). Returns HG_ECANCELED when stopping. */
static int at_end(tail *t, hg_stream *s, uint64_t *last_save)
{
    uint64_t now = t->c.h->now_ns(t->c.h);
    int64_t n;
    int ch;
    if (now - *last_save > 1000000000u) {
        save_offset(t);
        *last_save = now;
    }
    publish(t, s);
    if (cn_sleep(&t->c, s, POLL_NS))
        return HG_ECANCELED;
    ch = changed(t);
    if (ch == 2) { /* renamed away: what was written before the rename, then the new file */
        while ((n = read_some(t, s)) > 0)
            ;
        if (n == HG_ECANCELED)
            return HG_ECANCELED;
        if (t->len > 0 && cn_emit(&t->c, s, HG_TYPE_TEXT, t->buf, t->len) == HG_ECANCELED)
            return HG_ECANCELED; /* its last line never gets a newline now */
        close(t->fd);
        t->fd = -1;
        t->rotations++;
        open_file(t, 0);
    } else if (ch == 1) {
        t->truncations++;
        t->off = 0;
        t->len = 0;
        t->fp_len = 0;
        lseek(t->fd, 0, SEEK_SET);
    }
    return 0;
}

static int tl_run(void *ud, hg_stream *s)
{
    tail *t = ud;
    uint64_t last_save = 0;
    int first = 1;
    while (t->fd < 0) {
        if (open_file(t, first) == 0)
            break;
        first = 0;
        t->c.api->publish(s, HG_STATE_READY, "{\"waiting\":\"for the file\"}");
        if (cn_sleep(&t->c, s, 100000000u))
            goto out;
    }
    publish(t, s);
    for (;;) {
        int64_t n;
        if (t->fd < 0 && open_file(t, 0) != 0) {
            if (cn_sleep(&t->c, s, POLL_NS))
                break;
            continue;
        }
        n = read_some(t, s);
        if (n == HG_ECANCELED)
            break;
        if (n == 0 && at_end(t, s, &last_save) == HG_ECANCELED)
            break;
    }
out:
    save_offset(t);
    if (t->fd >= 0)
        close(t->fd);
    t->fd = -1;
    t->c.api->publish(s, HG_STATE_STOPPED, "{}");
    return 0;
}

static void tl_close(void *ud)
{
    tail *t = ud;
    free(t->buf);
    free(t);
}

const hg_connector_ops cn_tail_ops = {
    sizeof(hg_connector_ops), cn_create, cn_destroy, tl_open, tl_run, tl_close, NULL,
};
