/* tcp_src.c - the `tcp-source` processor: a TCP listener on the host's runtime mode (through the
 * "hangar.net/1" extension) whose reads become frames on port out: each read as it came
 * (framing raw, cut at max_frame) or one frame per line (framing line). The runtime's workers
 * queue what they read; the processor's thread turns it into frames. Reading pauses while more
 * than `queue` bytes wait, so nothing read is ever dropped. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gp.h"

static const hg_port_decl ports[] = {
    {sizeof(hg_port_decl), HG_PORT_OUT, "out", HG_TYPE_BYTES, 0},
};
static const char *const framings[] = {"raw", "line", NULL};
const char *const gp_tcp_source_keys[] = {"listen", "framing", "max_frame", "queue", NULL};

typedef struct src src;

/* One accepted connection. Referenced by the net (until the processor takes its close) and by
 * each pending resume post; freed at zero, by whoever drops the last reference. */
typedef struct sconn {
    src *s;
    hg_conn *c;         /* worker-side; NULL once closed */
    uint32_t refs;      /* atomic */
    int32_t worker;     /* the worker that owns c */
    uint8_t paused;     /* worker-side */
    struct sconn *next_paused; /* in src.paused, under src.mu */
    uint8_t *part;      /* processor-side: a line not finished yet */
    uint32_t part_len;
} sconn;

/* What a worker read (len > 0) or a close (len 0), in order. */
typedef struct chunk {
    struct chunk *next;
    sconn *sc;
    uint32_t len;
    uint8_t data[];
} chunk;

struct src {
    gp_base b;
    const char *listen;
    uint32_t framing;
    uint64_t max_frame, queue_max;
    const hg_net_ext *x;
    const hg_net *net;
    hg_listener *lst;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    chunk *head, **tail;  /* under mu */
    uint64_t queued;      /* bytes in the queue, under mu */
    sconn *paused;        /* connections a worker paused, a reference each, under mu */
    hg_counter *frames, *bytes, *split, *dropped, *port;
};

static void sconn_unref(sconn *sc)
{
    if (__atomic_sub_fetch(&sc->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        free(sc->part);
        free(sc);
    }
}

/* Queues a chunk; returns 1 when the queue is now above its bound. [worker] */
static int enqueue(src *s, sconn *sc, const uint8_t *data, uint32_t len)
{
    chunk *k = malloc(sizeof *k + len);
    int full;
    if (k == NULL)
        return -1;
    k->next = NULL;
    k->sc = sc;
    k->len = len;
    if (len)
        memcpy(k->data, data, len);
    pthread_mutex_lock(&s->mu);
    *s->tail = k;
    s->tail = &k->next;
    s->queued += len;
    full = s->queued > s->queue_max;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return full;
}

static int on_accept(void *ud, hg_conn *c, void **conn_ud)
{
    src *s = ud;
    sconn *sc = calloc(1, sizeof *sc);
    if (sc == NULL)
        return HG_ENOMEM;
    sc->s = s;
    sc->c = c;
    sc->refs = 1;
    sc->worker = s->net->current_worker(s->net);
    *conn_ud = sc;
    return 0;
}

static void on_data(void *ud, hg_conn *c, const uint8_t *data, uint32_t len)
{
    sconn *sc = ud;
    int full = enqueue(sc->s, sc, data, len);
    if (full < 0) { /* no memory to keep what was read: the connection goes, counted */
        hg_counter_add(sc->s->dropped, len);
        sc->s->net->close(sc->s->net, c, HG_CLOSE_RESET);
    } else if (full && !sc->paused) {
        src *s = sc->s;
        sc->paused = 1;
        s->net->read_pause(s->net, c);
        __atomic_add_fetch(&sc->refs, 1, __ATOMIC_ACQ_REL);
        pthread_mutex_lock(&s->mu);
        sc->next_paused = s->paused;
        s->paused = sc;
        pthread_mutex_unlock(&s->mu);
    }
}

static void on_closed(void *ud, hg_conn *c, const hg_conn_record *rec)
{
    sconn *sc = ud;
    (void)c;
    (void)rec;
    sc->c = NULL;
    if (enqueue(sc->s, sc, NULL, 0) < 0) /* the processor will not see it: drop the ref here */
        sconn_unref(sc);
}

static const hg_conn_handler handler = {
    .struct_size = sizeof(hg_conn_handler),
    .on_accept = on_accept,
    .on_data = on_data,
    .on_closed = on_closed,
};

static int src_create(const hg_host *h, const hg_config *cfg, void **out)
{
    src *s = calloc(1, sizeof *s);
    char addr[128];
    int rc = 0, r;
    (void)cfg;
    if (s == NULL)
        return HG_ENOMEM;
    s->b.h = h;
    s->max_frame = 2048; /* the graph's default pool buffer */
    s->queue_max = 1 << 20;
    GP_KEEP(rc, gp_cfg_str(h, "listen", 1, &s->listen));
    GP_KEEP(rc, gp_cfg_enum(h, "framing", framings, &s->framing));
    GP_KEEP(rc, gp_cfg_size(h, "max_frame", 1, 16u << 20, &s->max_frame));
    GP_KEEP(rc, gp_cfg_size(h, "queue", 4096, 1ull << 30, &s->queue_max));
    if (s->listen != NULL && (r = h->resolve_address(h, s->listen, addr, sizeof addr)) != 0 &&
        r != HG_EAGAIN && rc == 0)
        rc = h->cfg_error(h, h->cfg_root(h), "listen",
                          "'listen' must be an address HOST:PORT (port 0 picks a free one)");
    if (rc == 0)
        rc = gp_counter(h, "frames", &s->frames);
    if (rc == 0)
        rc = gp_counter(h, "bytes", &s->bytes);
    if (rc == 0)
        rc = gp_counter(h, "split", &s->split);
    if (rc == 0)
        rc = gp_counter(h, "dropped_bytes", &s->dropped);
    if (rc == 0) /* the bound port, where a counter is all a reader sees (`graph`) */
        rc = h->counter(h, "port", HG_COUNTER_GAUGE, &s->port);
    if (rc != 0) {
        free(s);
        return rc;
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->tail = &s->head;
    *out = s;
    return 0;
}

static void src_destroy(void *inst)
{
    src *s = inst;
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

static int src_setup(void *inst, hg_proc *p)
{
    src *s = inst;
    char msg[256], addr[96];
    int rc = gp_setup(&s->b);
    (void)p;
    if (rc != 0)
        return rc;
    rc = gp_net_open(&s->b, &s->x, &s->net);
    if (rc != 0)
        return rc;
    rc = s->net->listen(s->net, s->listen, 128, &handler, s, &s->lst);
    if (rc != 0) {
        snprintf(msg, sizeof msg, "tcp-source: cannot listen on %s: %s", s->listen,
                 hg_strerror(rc));
        return gp_fail(&s->b, rc, msg);
    }
    if (s->net->listener_address(s->net, s->lst, addr, sizeof addr) == 0) {
        const char *colon = strrchr(addr, ':');
        s->b.h->set_info(s->b.h, "address", addr);
        if (colon != NULL)
            hg_counter_set(s->port, strtoull(colon + 1, NULL, 10));
        hg_logf(s->b.h, HG_LOG_INFO, "tcp-source listening on %s", addr);
    }
    return 0;
}

/* Pushes len bytes as one frame. Returns 0, HG_ECLOSED, HG_ECANCELED, or an allocation
 * failure (reported: the processor failed). */
static int emit(src *s, hg_proc *p, const uint8_t *data, uint32_t len)
{
    hg_frame f = {.struct_size = sizeof f};
    int rc = gp_alloc(&s->b, p, len, &f);
    if (rc != 0) {
        hg_counter_add(s->dropped, len);
        return gp_alloc_failed(&s->b, rc, "tcp-source", len);
    }
    if (len)
        memcpy(f.data, data, len);
    f.len = len;
    f.type = HG_TYPE_BYTES;
    rc = gp_push(&s->b, p, 0, &f);
    if (rc == 0) {
        hg_counter_add(s->frames, 1);
        hg_counter_add(s->bytes, len);
    } else {
        hg_counter_add(s->dropped, len);
    }
    return rc == HG_EAGAIN ? 0 : rc;
}

/* Adds bytes to the connection's unfinished line, cutting it at max_frame. */
static int keep_part(src *s, hg_proc *p, sconn *sc, const uint8_t *d, uint32_t n)
{
    int rc = 0;
    while (n > 0 && rc == 0) {
        uint32_t room = (uint32_t)s->max_frame - sc->part_len, take = n < room ? n : room;
        if (sc->part == NULL && (sc->part = malloc(s->max_frame)) == NULL)
            return HG_ENOMEM;
        memcpy(sc->part + sc->part_len, d, take);
        sc->part_len += take;
        d += take;
        n -= take;
        if (sc->part_len == s->max_frame) { /* a line longer than max_frame goes in pieces */
            hg_counter_add(s->split, 1);
            rc = emit(s, p, sc->part, sc->part_len);
            sc->part_len = 0;
        }
    }
    return rc;
}

static int frame_lines(src *s, hg_proc *p, sconn *sc, const uint8_t *d, uint32_t n)
{
    int rc = 0;
    while (n > 0 && rc == 0) {
        const uint8_t *nl = memchr(d, '\n', n);
        uint32_t upto = nl ? (uint32_t)(nl - d) : n;
        if (sc->part_len == 0 && nl && upto <= s->max_frame) {
            rc = emit(s, p, d, upto);
        } else {
            rc = keep_part(s, p, sc, d, upto);
            if (rc == 0 && nl) {
                rc = emit(s, p, sc->part, sc->part_len);
                sc->part_len = 0;
            }
        }
        d += upto + (nl != NULL);
        n -= upto + (nl != NULL);
    }
    return rc;
}

static int frame_chunk(src *s, hg_proc *p, chunk *k)
{
    uint32_t off = 0;
    int rc = 0;
    if (k->len == 0) { /* closed: a last line without its newline still goes */
        if (k->sc->part_len)
            rc = emit(s, p, k->sc->part, k->sc->part_len);
        k->sc->part_len = 0;
        return rc;
    }
    if (s->framing == 1)
        return frame_lines(s, p, k->sc, k->data, k->len);
    while (off < k->len && rc == 0) {
        uint32_t n = k->len - off < s->max_frame ? k->len - off : (uint32_t)s->max_frame;
        if (n < k->len - off)
            hg_counter_add(s->split, 1);
        rc = emit(s, p, k->data + off, n);
        off += n;
    }
    return rc;
}

static void resume_one(void *arg)
{
    sconn *sc = arg;
    if (sc->c != NULL && sc->paused) {
        sc->paused = 0;
        sc->s->net->read_resume(sc->s->net, sc->c);
    }
    sconn_unref(sc);
}

/* The paused connections read again: one post each to its worker (the list's reference goes
 * with the post). [processor thread] */
static void resume_all(src *s, sconn *list)
{
    while (list != NULL) {
        sconn *sc = list;
        list = sc->next_paused;
        if (s->net->post(s->net, sc->worker, resume_one, sc) != 0)
            sconn_unref(sc);
    }
}

static int src_process(void *inst, hg_proc *p)
{
    src *s = inst;
    chunk *list, *k;
    sconn *paused = NULL;
    uint64_t done = 0, lost = 0;
    int rc = 0;

    pthread_mutex_lock(&s->mu);
    if (s->head == NULL) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)GP_SLICE_NS;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&s->cv, &s->mu, &ts);
    }
    list = s->head;
    s->head = NULL;
    s->tail = &s->head;
    pthread_mutex_unlock(&s->mu);
    while ((k = list) != NULL) {
        list = k->next;
        if (rc == 0)
            rc = frame_chunk(s, p, k);
        else
            lost += k->len;
        done += k->len;
        if (k->len == 0)
            sconn_unref(k->sc); /* the net's reference: the connection is gone */
        free(k);
    }
    hg_counter_add(s->dropped, lost);
    pthread_mutex_lock(&s->mu);
    s->queued -= done;
    if (s->queued <= s->queue_max / 2) {
        paused = s->paused;
        s->paused = NULL;
    }
    pthread_mutex_unlock(&s->mu);
    resume_all(s, paused);
    if (rc == HG_ECLOSED)
        return HG_PROCESS_DONE;
    return rc == HG_ECANCELED ? 0 : rc; /* an allocation failure was reported */
}

static void src_teardown(void *inst, hg_proc *p)
{
    src *s = inst;
    chunk *k;
    sconn *sc;
    uint64_t lost = 0;
    (void)p;
    if (s->net == NULL)
        return;
    s->x->net_close(s->x, s->b.h, s->net); /* on_closed queued a close for each connection */
    s->net = NULL;
    while ((k = s->head) != NULL) {
        s->head = k->next;
        lost += k->len;
        if (k->len == 0)
            sconn_unref(k->sc);
        free(k);
    }
    s->tail = &s->head;
    while ((sc = s->paused) != NULL) {
        s->paused = sc->next_paused;
        sconn_unref(sc);
    }
    hg_counter_add(s->dropped, lost);
}

const hg_processor_ops gp_tcp_source_ops = {
    .struct_size = sizeof(hg_processor_ops),
    .n_ports = 1,
    .ports = ports,
    .create = src_create,
    .destroy = src_destroy,
    .setup = src_setup,
    .process = src_process,
    .teardown = src_teardown,
};
