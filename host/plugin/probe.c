/* probe.c - builds the plugin search path, lists candidate files and probes them in a child
 * process (one fork for all files; a new child after a crash or timeout), so that a plugin that
 * crashes or hangs while loading is reported instead of taking the host down. */
#define _GNU_SOURCE
#include "clock.h"
#include "loader.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#ifndef HG_INSTALLED_PLUGIN_DIR
#error "HG_INSTALLED_PLUGIN_DIR must be set by the build"
#endif
#ifndef HG_BUILD_PLUGIN_DIR
#error "HG_BUILD_PLUGIN_DIR must be set by the build"
#endif

const char *hg__installed_plugin_dir(void)
{
    return HG_INSTALLED_PLUGIN_DIR;
}

void hg__strv_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

/* A growing NULL-terminated string vector; `keys` holds each entry's realpath for dedup. */
typedef struct strv {
    char **v;
    char **keys;
    uint32_t n, cap;
} strv;

static void strv_drop(strv *s)
{
    for (uint32_t i = 0; i < s->n; i++)
        free(s->keys[i]);
    free(s->keys);
    hg__strv_free(s->v);
    memset(s, 0, sizeof(*s));
}

/* Appends path; with dedup, not when an entry with the same realpath (or, for a missing path,
 * the same text) is there. Returns 0 or HG_ENOMEM. */
static int strv_push(strv *s, const char *path, int dedup)
{
    char *key = realpath(path, NULL);

    if (!key)
        key = strdup(path);
    if (!key)
        return HG_ENOMEM;
    for (uint32_t i = 0; dedup && i < s->n; i++) {
        if (strcmp(s->keys[i], key) == 0) {
            free(key);
            return 0;
        }
    }
    if (s->n + 1 >= s->cap) {
        uint32_t cap = s->cap ? s->cap * 2 : 16;
        char **v = realloc(s->v, cap * sizeof(*v));
        char **k;
        if (!v)
            goto nomem;
        s->v = v;
        k = realloc(s->keys, cap * sizeof(*k));
        if (!k)
            goto nomem;
        s->keys = k;
        s->cap = cap;
    }
    s->v[s->n] = strdup(path);
    if (!s->v[s->n])
        goto nomem;
    s->keys[s->n++] = key;
    s->v[s->n] = NULL;
    return 0;
nomem:
    free(key);
    return HG_ENOMEM;
}

static int strv_add(strv *s, const char *path)
{
    return strv_push(s, path, 1);
}

/* The build's own plugin directory, when this executable lives in that build tree. */
static int running_from_build_tree(void)
{
    char build_root[] = HG_BUILD_PLUGIN_DIR;
    char *slash = strrchr(build_root, '/');
    char *exe, *root;
    int inside = 0;

    if (!slash || slash == build_root)
        return 0;
    *slash = '\0';
    exe = realpath("/proc/self/exe", NULL);
    root = realpath(build_root, NULL);
    if (exe && root) {
        size_t n = strlen(root);
        inside = strncmp(exe, root, n) == 0 && exe[n] == '/';
    }
    free(exe);
    free(root);
    return inside;
}

static int add_env_path(strv *s)
{
    const char *env = getenv("HANGAR_PLUGIN_PATH");
    char *copy, *save = NULL;
    int rc = 0;

    if (!env || !*env)
        return 0;
    copy = strdup(env);
    if (!copy)
        return HG_ENOMEM;
    for (char *tok = strtok_r(copy, ":", &save); tok && rc == 0; tok = strtok_r(NULL, ":", &save))
        rc = strv_add(s, tok);
    free(copy);
    return rc;
}

int hg__plugin_search_path(const char *const *extra, uint32_t n_extra,
                           const char *const *cfg_dirs, uint32_t n_cfg, char ***out)
{
    strv s = {0};
    int rc = 0;

    for (uint32_t i = 0; i < n_extra && rc == 0; i++)
        rc = strv_add(&s, extra[i]);
    for (uint32_t i = 0; i < n_cfg && rc == 0; i++)
        rc = strv_add(&s, cfg_dirs[i]);
    if (rc == 0)
        rc = add_env_path(&s);
    /* An uninstalled build uses its own plugins instead of the installed ones: mixing them
     * would refuse one set as duplicates of the other. */
    if (rc == 0)
        rc = strv_add(&s, running_from_build_tree() ? HG_BUILD_PLUGIN_DIR
                                                    : HG_INSTALLED_PLUGIN_DIR);
    if (rc == 0 && !s.v)
        rc = strv_add(&s, HG_INSTALLED_PLUGIN_DIR); /* keeps *out non-NULL */
    if (rc != 0) {
        strv_drop(&s);
        return rc;
    }
    for (uint32_t i = 0; i < s.n; i++)
        free(s.keys[i]);
    free(s.keys);
    *out = s.v;
    return 0;
}

static int ends_with_so(const char *name)
{
    size_t n = strlen(name);
    return n > 3 && strcmp(name + n - 3, ".so") == 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int slashes(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '/';
    return n;
}

/* A directory's own files come before those of its subdirectories (so that ./x.so wins over
 * ./debug/x.so), each group sorted by name. */
static int cmp_candidate(const void *a, const void *b)
{
    int da = slashes(*(char *const *)a), db = slashes(*(char *const *)b);
    return da != db ? da - db : cmp_str(a, b);
}

/* Adds dir's *.so regular files to found; with depth 1 also those of its subdirectories. */
static int scan_dir(strv *found, const char *dir, int depth)
{
    DIR *dh = opendir(dir);
    struct dirent *de;
    int rc = 0;

    if (!dh)
        return 0; /* missing or unreadable directories are skipped */
    for (de = readdir(dh); rc == 0 && de; de = readdir(dh)) {
        char *full = NULL;
        struct stat st;

        if (de->d_name[0] == '.')
            continue;
        if (asprintf(&full, "%s/%s", dir, de->d_name) < 0) {
            rc = HG_ENOMEM;
            break;
        }
        if (stat(full, &st) == 0) {
            if (S_ISREG(st.st_mode) && ends_with_so(de->d_name))
                rc = strv_push(found, full, 0); /* deduplicated once sorted */
            else if (S_ISDIR(st.st_mode) && depth > 0)
                rc = scan_dir(found, full, depth - 1);
        }
        free(full);
    }
    closedir(dh);
    return rc;
}

static int unsafe_dir(const char *dir)
{
    char why[4608];
    return hg__plugin_path_unsafe(dir, why, sizeof why);
}

int hg__plugin_candidates(char *const *search_path, char ***out)
{
    strv all = {0};
    int rc = 0;

    for (char *const *e = search_path; *e && rc == 0; e++) {
        struct stat st;
        strv here = {0};

        if (stat(*e, &st) == 0 && S_ISDIR(st.st_mode) && unsafe_dir(*e)) {
            rc = strv_add(&all, *e); /* not read; probing it refuses it with the reason */
        } else if (stat(*e, &st) == 0 && S_ISDIR(st.st_mode)) {
            rc = scan_dir(&here, *e, 1);
            if (here.n > 1)
                qsort(here.v, here.n, sizeof(*here.v), cmp_candidate);
            for (uint32_t i = 0; i < here.n && rc == 0; i++)
                rc = strv_add(&all, here.v[i]);
            strv_drop(&here);
        } else if (stat(*e, &st) == 0 || ends_with_so(*e)) {
            /* A file (or a missing *.so named on purpose): a candidate, reported if bad. A
             * name without '/' gets "./" so that dlopen does not search the library path. */
            char *p = NULL;
            if (asprintf(&p, "%s%s", strchr(*e, '/') ? "" : "./", *e) < 0) {
                rc = HG_ENOMEM;
                break;
            }
            rc = strv_add(&all, p);
            free(p);
        }
    }
    if (rc == 0 && !all.v)
        all.v = calloc(1, sizeof(*all.v));
    if (rc != 0 || !all.v) {
        strv_drop(&all);
        return HG_ENOMEM;
    }
    for (uint32_t i = 0; i < all.n; i++)
        free(all.keys[i]);
    free(all.keys);
    *out = all.v;
    return 0;
}

/* ---- the child: opens each file in turn and writes one JSON line per file ---- */

static json_t *engines_json(const hg_plugin *p)
{
    json_t *a = json_array();
    for (uint32_t i = 0; a && i < p->n_engines; i++) {
        hg_engine e;
        hg__descriptor_engine(p, i, &e);
        json_array_append_new(a, json_pack("{s:s, s:s?, s:i}", "name", e.name, "summary",
                                           e.summary, "kind", (json_int_t)e.kind));
    }
    return a;
}

/* Fills rec with what is known of the file at path. */
static void probe_one(const char *path, json_t *rec)
{
    hg__diag d;
    const hg_plugin *p;
    void *dl;
    int rc;

    hg__diag_init(&d);
    rc = hg__open_plugin_file(path, &dl, &p, &d);
    if (rc != 0)
        goto out;
    if (p->struct_size >= offsetof(hg_plugin, abi_minor) + sizeof(p->abi_minor)) {
        json_object_set_new(rec, "abi_major", json_integer(p->abi_major));
        json_object_set_new(rec, "abi_minor", json_integer(p->abi_minor));
    }
    rc = hg__check_descriptor(path, p, &d);
    if (rc == 0) {
        json_object_set_new(rec, "id", json_string(p->id));
        json_object_set_new(rec, "version", json_string(p->version));
        if (p->summary)
            json_object_set_new(rec, "summary", json_string(p->summary));
        json_object_set_new(rec, "engines", engines_json(p));
    }
out:
    json_object_set_new(rec, "status", json_integer(rc));
    if (d.n > 0) {
        char *msg = hg__diag_format(&d, 0);
        if (msg)
            json_object_set_new(rec, "error", json_string(msg));
        free(msg);
    }
    hg__diag_free(&d);
}

static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, buf, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        buf += w;
        len -= (size_t)w;
    }
    return 0;
}

static void child_main(int fd, const hg__probe_set *set, uint32_t from)
{
    struct rlimit no_core = {0, 0};

    /* No core file for a crashing plugin; die with the parent; plugin output goes to stderr. */
    setrlimit(RLIMIT_CORE, &no_core);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    dup2(STDERR_FILENO, STDOUT_FILENO);
    /* A crash is reported by its own signal, even when a sanitizer runtime installed handlers. */
    signal(SIGSEGV, SIG_DFL);
    signal(SIGBUS, SIG_DFL);
    signal(SIGFPE, SIG_DFL);
    signal(SIGILL, SIG_DFL);
    for (uint32_t i = from; i < set->n; i++) {
        json_t *rec = json_pack("{s:i}", "i", (json_int_t)i);
        char *line;
        int bad;

        if (!rec)
            _exit(120);
        probe_one(set->items[i].path, rec);
        line = json_dumps(rec, JSON_COMPACT);
        json_decref(rec);
        if (!line)
            _exit(120);
        bad = write_all(fd, line, strlen(line)) != 0 || write_all(fd, "\n", 1) != 0;
        free(line);
        if (bad)
            _exit(121);
    }
    _exit(0);
}

/* ---- the parent: reads the records and restarts the child after a crash or timeout ---- */

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static int set_error(hg__probe *it, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int set_error(hg__probe *it, int status, const char *fmt, ...)
{
    char *reason = NULL;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&reason, fmt, ap);
    va_end(ap);
    if (n < 0)
        return HG_ENOMEM;
    free(it->error);
    it->error = NULL;
    n = asprintf(&it->error, "%s: %s", it->path, reason);
    free(reason);
    it->status = status;
    return n < 0 ? HG_ENOMEM : 0;
}

static int read_engines(hg__probe *it, json_t *arr)
{
    size_t n = json_array_size(arr);

    if (n == 0)
        return 0;
    it->engines = calloc(n, sizeof(*it->engines));
    if (!it->engines)
        return HG_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(arr, i);
        hg__engine_info *info = &it->engines[it->n_engines++];
        info->name = dup_or_null(json_string_value(json_object_get(e, "name")));
        info->summary = dup_or_null(json_string_value(json_object_get(e, "summary")));
        info->kind = (uint32_t)json_integer_value(json_object_get(e, "kind"));
        if (!info->name)
            return HG_ENOMEM;
    }
    return 0;
}

/* Copies one record into the item it names. */
static int take_record(hg__probe *it, json_t *rec)
{
    const char *err = json_string_value(json_object_get(rec, "error"));

    it->status = (int)json_integer_value(json_object_get(rec, "status"));
    it->abi_major = (uint16_t)json_integer_value(json_object_get(rec, "abi_major"));
    it->abi_minor = (uint16_t)json_integer_value(json_object_get(rec, "abi_minor"));
    it->id = dup_or_null(json_string_value(json_object_get(rec, "id")));
    it->version = dup_or_null(json_string_value(json_object_get(rec, "version")));
    it->summary = dup_or_null(json_string_value(json_object_get(rec, "summary")));
    if (it->status != 0) {
        it->error = strdup(err ? err : it->path);
        return it->error ? 0 : HG_ENOMEM;
    }
    return read_engines(it, json_object_get(rec, "engines"));
}

static uint64_t now_ms(void)
{
    return hg__now_ns() / 1000000u;
}

/* Parses every complete line in buf[0..*len) into items; *next is the next expected index. */
static int take_lines(hg__probe_set *set, char *buf, size_t *len, uint32_t *next)
{
    char *start = buf;
    char *nl = memchr(start, '\n', *len);
    int rc = 0;

    for (; rc == 0 && nl; nl = memchr(start, '\n', *len - (size_t)(start - buf))) {
        json_t *rec = json_loadb(start, (size_t)(nl - start), 0, NULL);
        json_int_t i = rec ? json_integer_value(json_object_get(rec, "i")) : -1;

        if (rec && i == (json_int_t)*next) {
            rc = take_record(&set->items[i], rec);
            (*next)++;
        }
        json_decref(rec);
        start = nl + 1;
    }
    *len -= (size_t)(start - buf);
    memmove(buf, start, *len);
    return rc;
}

/* Runs one child over items[*next..]; returns when it is gone, with *next past what it did
 * and past the file it crashed or hung on. Kept in one piece (fork, read loop with a deadline
 * renewed at each record, reap, verdict) because the pid and the pipe must not escape it. */
static int run_child(hg__probe_set *set, uint32_t *next, uint32_t timeout_ms)
{
    char buf[65536];
    size_t len = 0;
    int fds[2], status = 0, rc = 0, timed_out = 0;
    uint64_t deadline;
    pid_t pid;

    if (pipe2(fds, O_CLOEXEC) != 0)
        return HG_ENOMEM;
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return HG_ENOMEM;
    }
    if (pid == 0) {
        close(fds[0]);
        child_main(fds[1], set, *next);
    }
    close(fds[1]);
    deadline = now_ms() + timeout_ms;
    for (;;) {
        struct pollfd pfd = {fds[0], POLLIN, 0};
        uint64_t now = now_ms();
        uint32_t before = *next;
        ssize_t r;

        if (now >= deadline) {
            timed_out = 1;
            kill(pid, SIGKILL);
            break;
        }
        if (poll(&pfd, 1, (int)(deadline - now)) <= 0)
            continue; /* EINTR or timeout: the loop head decides */
        r = read(fds[0], buf + len, sizeof buf - len - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
        rc = take_lines(set, buf, &len, next);
        if (rc != 0 || len == sizeof buf - 1) {
            kill(pid, SIGKILL); /* out of memory, or a record that cannot be ours */
            break;
        }
        if (*next != before)
            deadline = now_ms() + timeout_ms;
    }
    close(fds[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (rc != 0 || *next >= set->n)
        return rc;
    if (timed_out)
        rc = set_error(&set->items[*next], HG_ETIMEDOUT, "timed out while loading (after %u ms)",
                       timeout_ms);
    else if (WIFSIGNALED(status))
        rc = set_error(&set->items[*next], HG_ELOAD, "crashed while loading (signal %d, %s)",
                       WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        rc = set_error(&set->items[*next], HG_ELOAD, "exited with status %d while loading",
                       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    (*next)++;
    return rc;
}

/* The later of two files providing the same engine is refused. */
static int refuse_duplicates(hg__probe_set *set)
{
    for (uint32_t i = 0; i < set->n; i++) {
        hg__probe *it = &set->items[i];
        for (uint32_t k = 0; it->status == 0 && k < it->n_engines; k++) {
            for (uint32_t j = 0; j < i; j++) {
                const hg__probe *o = &set->items[j];
                int dup = 0;
                for (uint32_t m = 0; o->status == 0 && m < o->n_engines && !dup; m++)
                    dup = strcmp(o->engines[m].name, it->engines[k].name) == 0;
                if (dup) {
                    if (set_error(it, HG_EEXIST, "engine '%s' is already provided by %s",
                                  it->engines[k].name, o->path) != 0)
                        return HG_ENOMEM;
                    break;
                }
            }
        }
    }
    return 0;
}

int hg__probe_path_timeout(char *const *search_path, uint32_t timeout_ms, hg__probe_set *out)
{
    char **files = NULL;
    uint32_t n = 0, next = 0;
    int rc;

    out->items = NULL;
    out->n = 0;
    rc = hg__plugin_candidates(search_path, &files);
    if (rc != 0)
        return rc;
    while (files[n])
        n++;
    out->items = calloc(n ? n : 1, sizeof(*out->items));
    if (!out->items) {
        rc = HG_ENOMEM;
        goto out;
    }
    out->n = n;
    for (uint32_t i = 0; i < n; i++)
        out->items[i].path = files[i]; /* moved */
    free(files);
    files = NULL;
    while (rc == 0 && next < n)
        rc = run_child(out, &next, timeout_ms);
    if (rc == 0)
        rc = refuse_duplicates(out);
out:
    hg__strv_free(files);
    if (rc != 0)
        hg__probe_set_free(out);
    return rc;
}

int hg__probe_path(char *const *search_path, hg__probe_set *out)
{
    return hg__probe_path_timeout(search_path, HG__PROBE_TIMEOUT_MS, out);
}

void hg__probe_set_free(hg__probe_set *set)
{
    for (uint32_t i = 0; set->items && i < set->n; i++) {
        hg__probe *it = &set->items[i];
        for (uint32_t k = 0; k < it->n_engines; k++) {
            free(it->engines[k].name);
            free(it->engines[k].summary);
        }
        free(it->engines);
        free(it->path);
        free(it->error);
        free(it->id);
        free(it->version);
        free(it->summary);
    }
    free(set->items);
    set->items = NULL;
    set->n = 0;
}
