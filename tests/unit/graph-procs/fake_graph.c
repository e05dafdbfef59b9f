/* fake_graph.c - the test double behind fake_graph.h: host services, the graph service over
 * port arrays, reference-counted buffers and a fake clock. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fake_graph.h"

static fk *of(const hg_host *h)
{
    return (fk *)(void *)h; /* host is fk's first member */
}

static uint64_t real_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static const char *h_name(const hg_host *h)
{
    (void)h;
    return "fake";
}

static void h_log(const hg_host *h, uint32_t level, const char *msg)
{
    (void)h;
    printf("# log %u: %s\n", level, msg);
}

static uint32_t h_log_level(const hg_host *h)
{
    (void)h;
    return HG_LOG_INFO;
}

static uint64_t h_now(const hg_host *h)
{
    return of(h)->real_clock ? real_now() : of(h)->now;
}

static const hg_config *h_root(const hg_host *h)
{
    return (const hg_config *)(void *)of(h)->keys;
}

static uint32_t h_type(const hg_host *h, const hg_config *n)
{
    return n == NULL ? HG_CFG_NONE : n == h_root(h) ? HG_CFG_MAP : HG_CFG_SCALAR;
}

static int find(fk *f, const char *key)
{
    for (uint32_t i = 0; i < f->n_keys; i++)
        if (strcmp(f->keys[i], key) == 0)
            return (int)i;
    return -1;
}

static int h_error(const hg_host *h, const hg_config *node, const char *key, const char *msg)
{
    fk *f = of(h);
    size_t n = strlen(f->errors);
    int i = key ? find(f, key) : -1;
    (void)node;
    snprintf(f->errors + n, sizeof f->errors - n, "cfg:%d: %s: %s\n", i + 2, key ? key : "-",
             msg);
    f->n_errors++;
    return HG_ECONFIG;
}

static int h_child(const hg_host *h, const hg_config *node, const char *key,
                   const hg_config **out)
{
    int i = find(of(h), key);
    (void)node;
    if (i < 0)
        return HG_ENOENT;
    *out = (const hg_config *)(void *)&of(h)->vals[i];
    return 0;
}

static int h_string(const hg_host *h, const hg_config *node, const char *key, const char **out)
{
    int i = find(of(h), key);
    (void)node;
    if (i < 0)
        return HG_ENOENT;
    *out = of(h)->vals[i];
    return 0;
}

static int bad(const hg_host *h, const char *key, const char *what)
{
    char msg[128];
    snprintf(msg, sizeof msg, "'%s' must be %s", key, what);
    return h_error(h, NULL, key, msg);
}

static int h_int(const hg_host *h, const hg_config *node, const char *key, int64_t *out)
{
    const char *s;
    char *end;
    long long v;
    if (h_string(h, node, key, &s) != 0)
        return HG_ENOENT;
    v = strtoll(s, &end, 10);
    if (end == s || *end)
        return bad(h, key, "an integer");
    *out = v;
    return 0;
}

static int h_double(const hg_host *h, const hg_config *node, const char *key, double *out)
{
    const char *s;
    char *end;
    double v;
    if (h_string(h, node, key, &s) != 0)
        return HG_ENOENT;
    v = strtod(s, &end);
    if (end == s || *end)
        return bad(h, key, "a number");
    *out = v;
    return 0;
}

static int h_bool(const hg_host *h, const hg_config *node, const char *key, uint8_t *out)
{
    const char *s;
    if (h_string(h, node, key, &s) != 0)
        return HG_ENOENT;
    if (strcmp(s, "true") && strcmp(s, "false"))
        return bad(h, key, "true or false");
    *out = strcmp(s, "true") == 0;
    return 0;
}

static int unit_value(const hg_host *h, const char *key, const char *const *units,
                      const double *mult, double bare, const char *what, uint64_t *out)
{
    const char *s;
    char *end;
    double v;
    if (h_string(h, NULL, key, &s) != 0)
        return HG_ENOENT;
    v = strtod(s, &end);
    if (end == s || v < 0)
        return bad(h, key, what);
    if (*end == '\0') {
        *out = (uint64_t)llround(v * bare);
        return 0;
    }
    for (uint32_t i = 0; units[i]; i++) {
        if (strcmp(end, units[i]) == 0) {
            *out = (uint64_t)llround(v * mult[i]);
            return 0;
        }
    }
    return bad(h, key, what);
}

static int h_size(const hg_host *h, const hg_config *node, const char *key, uint64_t *out)
{
    static const char *const u[] = {"B", "KiB", "MiB", "GiB", "kB", "MB", NULL};
    static const double m[] = {1, 1024, 1048576, 1073741824, 1000, 1e6};
    (void)node;
    return unit_value(h, key, u, m, 1, "a size (64B, 4KiB, 1MiB)", out);
}

static int h_duration(const hg_host *h, const hg_config *node, const char *key, uint64_t *out)
{
    static const char *const u[] = {"ns", "us", "ms", "s", "m", "h", NULL};
    static const double m[] = {1, 1e3, 1e6, 1e9, 60e9, 3600e9};
    (void)node;
    return unit_value(h, key, u, m, 1e9, "a duration (10ms, 5s)", out);
}

static int h_counter(const hg_host *h, const char *name, uint32_t type, hg_counter **out)
{
    fk *f = of(h);
    (void)type;
    for (uint32_t i = 0; i < f->n_counters; i++) {
        if (strcmp(f->counters[i].name, name) == 0) {
            *out = f->counters[i].c;
            return 0;
        }
    }
    if (f->n_counters == 32)
        return HG_ENOMEM;
    snprintf(f->counters[f->n_counters].name, 64, "%s", name);
    f->counters[f->n_counters].c = calloc(1, sizeof(hg_counter));
    *out = f->counters[f->n_counters++].c;
    return 0;
}

static int h_set_info(const hg_host *h, const char *key, const char *value)
{
    printf("# info %s = %s\n", key, value);
    (void)h;
    return 0;
}

static void h_set_state(const hg_host *h, uint32_t state, int status, const char *msg)
{
    fk *f = of(h);
    f->state = state;
    f->status = status;
    snprintf(f->message, sizeof f->message, "%s", msg ? msg : "");
}

static hg_cancel *h_token(const hg_host *h)
{
    return (hg_cancel *)(void *)of(h);
}

static uint8_t h_is_cancelled(const hg_host *h, hg_cancel *t)
{
    (void)h;
    (void)t;
    return 0;
}

static int h_cancel_wait(const hg_host *h, hg_cancel *t, uint64_t ns)
{
    (void)t;
    if (of(h)->real_clock) {
        struct timespec ts = {(time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull)};
        nanosleep(&ts, NULL);
    } else {
        of(h)->now += ns;
    }
    return HG_ETIMEDOUT;
}

static int h_resolve(const hg_host *h, const char *text, char *buf, uint32_t cap)
{
    (void)h;
    if (strchr(text, ':') == NULL)
        return HG_EINVAL;
    snprintf(buf, cap, "%s", text);
    return 0;
}

static const void *h_ext(const hg_host *h, const char *id)
{
    if (strcmp(id, HG_GRAPH_EXTENSION) == 0)
        return &of(h)->api;
    if (strcmp(id, HG_NET_EXTENSION) == 0)
        return of(h)->net_ext;
    return NULL;
}

typedef struct fk_thread {
    pthread_t t;
    void (*fn)(void *);
    void *arg;
} fk_thread;

static void *thread_main(void *p)
{
    fk_thread *t = p;
    t->fn(t->arg);
    return NULL;
}

static int h_spawn(const hg_host *h, const char *name, int32_t core, void (*fn)(void *),
                   void *arg, hg_thread **out)
{
    fk_thread *t = calloc(1, sizeof *t);
    (void)h;
    (void)name;
    (void)core;
    t->fn = fn;
    t->arg = arg;
    if (pthread_create(&t->t, NULL, thread_main, t) != 0) {
        free(t);
        return HG_EAGAIN;
    }
    *out = (hg_thread *)(void *)t;
    return 0;
}

static int h_join(const hg_host *h, hg_thread *th)
{
    fk_thread *t = (fk_thread *)(void *)th;
    (void)h;
    pthread_join(t->t, NULL);
    free(t);
    return 0;
}

static int h_record(const hg_host *h, const hg_conn_record *r)
{
    (void)h;
    (void)r;
    return 0;
}

/* --- the graph service --- */

static int g_pop(hg_proc *p, uint32_t port, hg_frame *out, uint64_t timeout_ns)
{
    fk *f = p->f;
    fk_port *q = &f->ports[port];
    if (q->n == 0) {
        if (q->closed)
            return HG_ECLOSED;
        h_cancel_wait(&f->host, NULL, timeout_ns);
        return HG_EAGAIN;
    }
    *out = q->q[q->head];
    q->head = (q->head + 1) % FK_FRAMES;
    q->n--;
    return 0;
}

static int g_push(hg_proc *p, uint32_t port, hg_frame *fr, uint64_t timeout_ns)
{
    fk *f = p->f;
    fk_port *q = &f->ports[port];
    if (q->closed)
        return HG_ECLOSED;
    if (q->drop || q->n == FK_FRAMES)
        return HG_EAGAIN;
    if (q->full_for > 0) { /* a block-policy link with no room during timeout_ns */
        q->full_for--;
        h_cancel_wait(&f->host, NULL, timeout_ns);
        return HG_ETIMEDOUT;
    }
    fr->seq = q->seq++;
    q->q[(q->head + q->n) % FK_FRAMES] = *fr;
    q->n++;
    return 0;
}

static struct hg_buf *new_buf(fk *f, uint32_t size)
{
    struct hg_buf *b = malloc(sizeof *b + (size ? size : 1));
    b->refs = 1;
    b->cap = size;
    memset(b->data, 0xAA, size); /* pools hand out used memory */
    b->next_all = f->all;
    f->all = b;
    f->live++;
    return b;
}

static int g_alloc(hg_proc *p, uint32_t size, hg_frame *out)
{
    fk *f = p->f;
    struct hg_buf *b;
    if (f->max_live && f->live >= f->max_live)
        return HG_ENOMEM;
    b = new_buf(f, size);
    out->buf = b;
    out->data = b->data;
    out->len = size;
    return 0;
}

static fk *the_fk; /* buf_ref/unref get no proc: one fake at a time */

static void g_ref(hg_buf *b)
{
    if (b->refs <= 0)
        the_fk->bad_unrefs++;
    b->refs++;
}

static void g_unref(hg_buf *b)
{
    if (b->refs <= 0) {
        the_fk->bad_unrefs++;
        return;
    }
    if (--b->refs == 0)
        the_fk->live--;
}

static int g_commit(hg_proc *p, const char *yaml)
{
    size_t n = strlen(p->f->commits);
    snprintf(p->f->commits + n, sizeof p->f->commits - n, "%s\n", yaml);
    return p->f->commit_rc;
}

void fk_init(fk *f)
{
    memset(f, 0, sizeof *f);
    the_fk = f;
    f->host.struct_size = sizeof f->host;
    f->host.abi_major = HG_ABI_MAJOR;
    f->host.abi_minor = HG_ABI_MINOR;
    f->host.name = h_name;
    f->host.log = h_log;
    f->host.log_level = h_log_level;
    f->host.now_ns = h_now;
    f->host.cfg_root = h_root;
    f->host.cfg_type = h_type;
    f->host.cfg_child = h_child;
    f->host.cfg_string = h_string;
    f->host.cfg_int = h_int;
    f->host.cfg_double = h_double;
    f->host.cfg_bool = h_bool;
    f->host.cfg_size = h_size;
    f->host.cfg_duration = h_duration;
    f->host.cfg_error = h_error;
    f->host.counter = h_counter;
    f->host.set_info = h_set_info;
    f->host.set_state = h_set_state;
    f->host.record = h_record;
    f->host.thread_spawn = h_spawn;
    f->host.thread_join = h_join;
    f->host.cancel_token = h_token;
    f->host.is_cancelled = h_is_cancelled;
    f->host.cancel_wait = h_cancel_wait;
    f->host.resolve_address = h_resolve;
    f->host.get_extension = h_ext;
    f->api.struct_size = sizeof f->api;
    f->api.pop = g_pop;
    f->api.push = g_push;
    f->api.buf_alloc = g_alloc;
    f->api.buf_ref = g_ref;
    f->api.buf_unref = g_unref;
    f->api.commit = g_commit;
    f->now = 1000000000ull;
    f->state = HG_STATE_RUNNING;
}

void fk_set(fk *f, const char *key, const char *val)
{
    f->keys[f->n_keys] = key;
    f->vals[f->n_keys++] = val;
}

const hg_engine *fk_engine(const char *name)
{
    static const hg_plugin *pl;
    if (pl == NULL) {
        void *so = dlopen(GRAPH_PLUGIN, RTLD_NOW | RTLD_LOCAL);
        if (so == NULL) {
            printf("Bail out! %s\n", dlerror());
            exit(1);
        }
        pl = dlsym(so, HG_ENTRY_SYMBOL);
    }
    for (uint32_t i = 0; i < pl->n_engines; i++)
        if (strcmp(pl->engines[i].name, name) == 0)
            return &pl->engines[i];
    return NULL;
}

void fk_feed(fk *f, uint32_t port, const void *data, uint32_t len, uint32_t type, uint64_t seq)
{
    fk_port *q = &f->ports[port];
    hg_frame fr = {.struct_size = sizeof fr, .type = type, .len = len, .seq = seq};
    fr.buf = new_buf(f, len);
    fr.data = fr.buf->data;
    if (len)
        memcpy(fr.data, data, len);
    q->q[(q->head + q->n) % FK_FRAMES] = fr;
    q->n++;
}

int fk_take(fk *f, uint32_t port, hg_frame *out)
{
    hg_proc p = {f};
    fk_port *q = &f->ports[port];
    if (q->n == 0)
        return HG_EAGAIN;
    return g_pop(&p, port, out, 0);
}

int fk_run(fk *f, const hg_processor_ops *ops, void *inst, uint32_t max_turns)
{
    hg_proc p = {f};
    uint32_t idle = 0;
    int rc = ops->setup ? ops->setup(inst, &p) : 0;
    if (rc != 0)
        return rc;
    for (uint32_t t = 0; t < max_turns; t++) {
        rc = ops->process(inst, &p);
        if (rc == HG_PROCESS_DONE || rc < 0)
            return rc;
        idle = rc == HG_PROCESS_IDLE ? idle + 1 : 0;
        if (idle == 3)
            return rc;
    }
    return rc;
}

uint64_t fk_counter(fk *f, const char *name)
{
    for (uint32_t i = 0; i < f->n_counters; i++)
        if (strcmp(f->counters[i].name, name) == 0)
            return hg_counter_get(f->counters[i].c);
    return UINT64_MAX;
}

uint32_t fk_leaked(fk *f)
{
    uint32_t n = 0;
    for (struct hg_buf *b = f->all; b; b = b->next_all)
        n += b->refs != 0;
    return n;
}

void fk_free(fk *f)
{
    while (f->all) {
        struct hg_buf *b = f->all;
        f->all = b->next_all;
        free(b);
    }
    for (uint32_t i = 0; i < f->n_counters; i++)
        free(f->counters[i].c);
}
