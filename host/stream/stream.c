/* stream.c - one stream: its channels and buffer pool, its thread and per-run cancel token, the
 * state cell (a seqlock over word-sized atomics: readers retry, the writer never waits), health
 * and counters, and the "hangar.stream/1" calls a connector makes on the stream's thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cancel.h"
#include "pool.h"
#include "stream.h"
#include "thread.h"

#define DETAIL_WORDS 64 /* 512 bytes of details JSON, NUL included */
#define ALLOC_WAIT_NS 100000000u

struct hg_stream {
    char name[64], full[160];
    hg__link *events, *actions;
    hg__pool *pool;
    int32_t core_policy, core;
    int32_t *cores;
    uint32_t n_cores, rr;
    uint8_t healthy_at_start;
    hg_cancel *token;          /* the current run's; NULL between runs */
    hg_thread *th;
    int (*run)(void *, hg_stream *);
    void *ud;
    void (*on_exit)(void *);
    void *on_exit_arg;
    /* atomics */
    uint8_t active, exited, claimed, healthy, was_running, ever_running;
    int last_rc;
    uint64_t seq, actions_taken, reconnects;
    /* the state cell */
    uint64_t st_ver;           /* odd while a publish writes */
    uint32_t st_state;
    uint64_t st_words[DETAIL_WORDS];
};

void hg__stream_frame_release(void *item, void *ud)
{
    hg_frame *f = item;
    (void)ud;
    if (f->buf != NULL)
        hg__buf_unref(f->buf);
    free(f);
}

static int make_pool(hg_stream *s, uint32_t ev, uint32_t act)
{
    uint64_t n = (uint64_t)ev + act + 64;
    /* every frame of both channels has a small buffer up to 131,072 (32 MiB); past that the
     * stream waits for buffers the reader returns */
    hg__pool_class cls[4] = {
        {256, (uint32_t)(n > (1u << 17) ? 1u << 17 : n)},
        {4096, (uint32_t)(n / 4 + 16 > 8192 ? 8192 : n / 4 + 16)},
        {65536, 16},
        {1u << 20, 2},
    };
    return hg__pool_create(cls, 4, &s->pool);
}

int hg__stream_new(const hg__stream_spec *sp, hg_stream **out)
{
    hg__link_opts ev = {sp->max_events, sp->policy, 0, hg__stream_frame_release, NULL};
    hg__link_opts ac = {sp->max_actions, HG_POLICY_BLOCK, HG__LINK_MPMC,
                        hg__stream_frame_release, NULL};
    hg_stream *s;
    int rc;
    if (sp->max_events == 0 || sp->max_actions == 0 || sp->policy < HG_POLICY_BLOCK ||
        sp->policy > HG_POLICY_DROP_OLDEST || sp->name == NULL)
        return HG_EINVAL;
    if ((s = calloc(1, sizeof *s)) == NULL)
        return HG_ENOMEM;
    snprintf(s->name, sizeof s->name, "%s", sp->name);
    snprintf(s->full, sizeof s->full, "%s.%s", sp->connector ? sp->connector : "", sp->name);
    s->core_policy = sp->core;
    s->core = HG_CORE_ANY;
    s->healthy_at_start = sp->healthy_at_start;
    if (sp->n_cores > 0) {
        if ((s->cores = calloc(sp->n_cores, sizeof *s->cores)) == NULL) {
            free(s);
            return HG_ENOMEM;
        }
        memcpy(s->cores, sp->cores, sp->n_cores * sizeof *s->cores);
        s->n_cores = sp->n_cores;
    }
    if ((rc = hg__link_create(&ev, &s->events)) != 0 ||
        (rc = hg__link_create(&ac, &s->actions)) != 0 ||
        (rc = make_pool(s, sp->max_events, sp->max_actions)) != 0) {
        hg__stream_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void hg__stream_free(hg_stream *s)
{
    if (s == NULL)
        return;
    if (s->events)
        hg__link_destroy(s->events);
    if (s->actions)
        hg__link_destroy(s->actions);
    if (s->pool && hg__pool_destroy(s->pool) != 0)
        fprintf(stderr, "hangar: stream %s: buffers still held at free; its pool is leaked\n",
                s->full);
    if (s->token)
        hg__cancel_release(s->token);
    free(s->cores);
    free(s);
}

static void stream_main(void *arg)
{
    hg_stream *s = arg;
    int rc = s->run(s->ud, s);
    __atomic_store_n(&s->last_rc, rc, __ATOMIC_RELEASE);
    __atomic_store_n(&s->healthy, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&s->was_running, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&s->exited, 1, __ATOMIC_RELEASE);
    hg__cancel_ack(s->token);
    if (s->on_exit != NULL)
        s->on_exit(s->on_exit_arg);
}

void hg__stream_on_exit(hg_stream *s, void (*fn)(void *), void *arg)
{
    s->on_exit = fn;
    s->on_exit_arg = arg;
}

int hg__stream_frame_new(hg_stream *s, const void *data, uint32_t len, hg_frame **out)
{
    hg_frame *f = calloc(1, sizeof *f);
    hg_buf *b;
    if (f == NULL)
        return HG_ENOMEM;
    if (hg__pool_try_alloc(s->pool, len ? len : 1, &b) != 0) {
        free(f);
        return HG_ENOMEM;
    }
    memcpy(b->data, data, len);
    f->struct_size = sizeof *f;
    f->type = HG_TYPE_TEXT;
    f->buf = b;
    f->data = b->data;
    f->len = len;
    *out = f;
    return 0;
}

int hg__stream_start(hg_stream *s, const hg_host *host, hg_cancel *parent,
                     int (*run)(void *, hg_stream *), void *ud)
{
    char tname[16];
    int32_t core;
    int rc;
    if (s->th != NULL)
        return HG_ESTATE;
    if ((rc = hg__cancel_child(parent, &s->token)) != 0)
        return rc;
    hg__cancel_set_name(s->token, s->full);
    s->run = run;
    s->ud = ud;
    __atomic_store_n(&s->exited, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&s->healthy, s->healthy_at_start, __ATOMIC_RELAXED);
    __atomic_store_n(&s->last_rc, 0, __ATOMIC_RELAXED);
    core = s->core_policy == HG_CORE_AUTO ? HG_CORE_AUTO
                                          : hg__pin_get(s->core_policy, s->cores, s->n_cores,
                                                        &s->rr);
    snprintf(tname, sizeof tname, "st:%.12s", s->name);
    rc = host->thread_spawn(host, tname, core, stream_main, s, &s->th);
    if (rc != 0) {
        hg__pin_put(core);
        hg__cancel_release(s->token);
        s->token = NULL;
        s->th = NULL;
        return rc;
    }
    __atomic_store_n(&s->core, core, __ATOMIC_RELAXED);
    __atomic_store_n(&s->active, 1, __ATOMIC_RELEASE);
    return 0;
}

void hg__stream_cancel(hg_stream *s)
{
    if (s->token != NULL)
        hg__cancel_fire(s->token);
}

int hg__stream_join(hg_stream *s, uint64_t timeout_ns)
{
    int rc;
    if (s->th == NULL)
        return 0;
    if ((rc = hg__thread_join(s->th, timeout_ns)) != 0)
        return rc;
    s->th = NULL;
    __atomic_store_n(&s->active, 0, __ATOMIC_RELEASE);
    hg__pin_put(s->core);
    __atomic_store_n(&s->core, HG_CORE_ANY, __ATOMIC_RELAXED);
    hg__cancel_release(s->token);
    s->token = NULL;
    return 0;
}

int hg__stream_active(const hg_stream *s)
{
    return s->th != NULL;
}

int hg__stream_exited(const hg_stream *s)
{
    return __atomic_load_n(&s->exited, __ATOMIC_ACQUIRE);
}

const char *hg__stream_name(const hg_stream *s)
{
    return s->name;
}

hg__link *hg__stream_events(hg_stream *s)
{
    return s->events;
}

hg__link *hg__stream_actions(hg_stream *s)
{
    return s->actions;
}

int hg__stream_claim(hg_stream *s)
{
    uint8_t no = 0;
    return __atomic_compare_exchange_n(&s->claimed, &no, 1, 0, __ATOMIC_ACQ_REL,
                                       __ATOMIC_ACQUIRE) ? 0 : HG_ESTATE;
}

void hg__stream_unclaim(hg_stream *s)
{
    __atomic_store_n(&s->claimed, 0, __ATOMIC_RELEASE);
}

uint64_t hg__stream_state(const hg_stream *s, uint32_t *state, char *buf, uint32_t cap)
{
    uint64_t words[DETAIL_WORDS], v1, v2;
    do {
        v1 = __atomic_load_n(&s->st_ver, __ATOMIC_ACQUIRE);
        if (v1 & 1)
            continue;
        *state = __atomic_load_n(&s->st_state, __ATOMIC_ACQUIRE);
        /* acquire loads: the second read of the version cannot move before them, and a word
         * a publish under way already wrote brings its odd version with it */
        for (int i = 0; i < DETAIL_WORDS; i++)
            words[i] = __atomic_load_n(&s->st_words[i], __ATOMIC_ACQUIRE);
        v2 = __atomic_load_n(&s->st_ver, __ATOMIC_RELAXED);
    } while ((v1 & 1) || v1 != v2);
    if (buf != NULL && cap > 0) {
        const char *d = (const char *)words;
        snprintf(buf, cap, "%.*s", (int)strnlen(d, sizeof words), d);
    }
    return v1 / 2;
}

void hg__stream_stats_get(const hg_stream *s, hg__stream_stats *o)
{
    hg__link_stats ev, ac;
    uint32_t st;
    hg__link_stats_get(s->events, &ev);
    hg__link_stats_get(s->actions, &ac);
    memset(o, 0, sizeof *o);
    o->events = ev.pushed;
    o->delivered = ev.delivered;
    o->dropped = ev.dropped;
    o->queued = ev.queued;
    o->actions = __atomic_load_n(&s->actions_taken, __ATOMIC_RELAXED);
    o->actions_queued = ac.queued;
    o->reconnects = __atomic_load_n(&s->reconnects, __ATOMIC_RELAXED);
    o->state_version = hg__stream_state(s, &st, NULL, 0);
    o->healthy = __atomic_load_n(&s->healthy, __ATOMIC_ACQUIRE);
    o->running = __atomic_load_n(&s->active, __ATOMIC_ACQUIRE) && !hg__stream_exited(s);
    o->core = __atomic_load_n(&s->core, __ATOMIC_RELAXED);
    o->last_rc = __atomic_load_n(&s->last_rc, __ATOMIC_ACQUIRE);
}

/* --- the "hangar.stream/1" calls --- */

static hg_cancel *api_token(hg_stream *s)
{
    return s->token;
}

static int api_buf_alloc(hg_stream *s, uint32_t size, hg_frame *f)
{
    hg_buf *b;
    hg_frame v;
    if (size == 0)
        size = 1;
    if (hg__pool_alloc(s->pool, size, ALLOC_WAIT_NS, s->token, &b) != 0)
        return HG_ENOMEM;
    memset(&v, 0, sizeof v);
    v.struct_size = sizeof v;
    v.type = HG_TYPE_BYTES;
    v.buf = b;
    v.data = b->data;
    v.len = size;
    v.struct_size = f->struct_size < sizeof v ? f->struct_size : (uint32_t)sizeof v;
    memcpy(f, &v, v.struct_size);
    return 0;
}

static int api_emit(hg_stream *s, hg_frame *f, uint64_t timeout_ns)
{
    hg_frame *item;
    int rc;
    if (hg__cancel_is_set(s->token))
        return HG_ECANCELED;
    if ((item = malloc(sizeof *item)) == NULL)
        return HG_ENOMEM;
    memset(item, 0, sizeof *item);
    memcpy(item, f, f->struct_size < sizeof *item ? f->struct_size : sizeof *item);
    item->struct_size = sizeof *item;
    item->seq = __atomic_fetch_add(&s->seq, 1, __ATOMIC_RELAXED);
    rc = hg__link_send(s->events, item, timeout_ns, s->token);
    if (rc != 0)
        free(item);
    return rc;
}

static int api_next_action(hg_stream *s, hg_frame *out, uint64_t timeout_ns)
{
    void *item;
    uint32_t n;
    int rc = hg__link_recv(s->actions, &item, timeout_ns, s->token);
    if (rc == HG_ETIMEDOUT)
        return HG_EAGAIN;
    if (rc != 0)
        return rc;
    n = out->struct_size < sizeof(hg_frame) ? out->struct_size : (uint32_t)sizeof(hg_frame);
    memcpy(out, item, n);
    out->struct_size = n;
    free(item);
    __atomic_fetch_add(&s->actions_taken, 1, __ATOMIC_RELAXED);
    return 0;
}

static void api_publish(hg_stream *s, uint32_t state, const char *details)
{
    uint64_t words[DETAIL_WORDS];
    uint64_t v = __atomic_load_n(&s->st_ver, __ATOMIC_RELAXED);
    uint8_t running = state == HG_STATE_RUNNING;
    memset(words, 0, sizeof words);
    if (details != NULL)
        snprintf((char *)words, sizeof words, "%s", details);
    /* release stores: each carries the odd version before it to a reader that sees it */
    __atomic_store_n(&s->st_ver, v + 1, __ATOMIC_RELAXED);
    __atomic_store_n(&s->st_state, state, __ATOMIC_RELEASE);
    for (int i = 0; i < DETAIL_WORDS; i++)
        __atomic_store_n(&s->st_words[i], words[i], __ATOMIC_RELEASE);
    __atomic_store_n(&s->st_ver, v + 2, __ATOMIC_RELEASE);
    if (running && !__atomic_load_n(&s->was_running, __ATOMIC_RELAXED) &&
        __atomic_exchange_n(&s->ever_running, 1, __ATOMIC_RELAXED))
        __atomic_fetch_add(&s->reconnects, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&s->was_running, running, __ATOMIC_RELAXED);
    __atomic_store_n(&s->healthy, running, __ATOMIC_RELEASE);
}

static void api_buf_unref(hg_buf *b)
{
    if (b != NULL)
        hg__buf_unref(b);
}

const hg_stream_api hg__stream_api_table = {
    sizeof(hg_stream_api), api_token, api_buf_alloc, api_emit, api_next_action, api_publish,
    api_buf_unref,
};
