/* tcp_writer.c - the `tcp-writer` processor: a TCP client on the host's runtime mode (through
 * the "hangar.net/1" extension) that writes the payload of every frame of port in to one
 * connection, in order. A batch of frames goes to the connection's worker at a time; while the
 * connection's write queue is above its high water mark no more is taken (back-pressure). At the
 * end of the input it half-closes and is done once the peer closed too. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gp.h"

static const hg_port_decl ports[] = {
    {sizeof(hg_port_decl), HG_PORT_IN, "in", HG_TYPE_ANY, 0},
};
const char *const gp_tcp_writer_keys[] = {"connect", "connect_timeout", NULL};

typedef struct wr {
    gp_base b;
    const char *connect;
    char addr[128];
    uint64_t timeout_ns;
    const hg_net_ext *x;
    const hg_net *net;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* under mu */
    hg_conn *c;
    int32_t worker;
    uint8_t connected, closed, blocked, job_busy;
    uint32_t cause;
    int status;
    /* the batch on its way to the worker (owned by the worker while job_busy) */
    hg_frame job[GP_BATCH];
    uint32_t job_n;
    /* processor thread */
    uint8_t finishing;
    hg_counter *frames, *bytes, *dropped;
} wr;

static void timed_wait(wr *w)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += (long)GP_SLICE_NS;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    pthread_cond_timedwait(&w->cv, &w->mu, &ts);
}

static void on_connected(void *ud, hg_conn *c)
{
    wr *w = ud;
    pthread_mutex_lock(&w->mu);
    w->c = c;
    w->worker = w->net->conn_worker(w->net, c);
    w->connected = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void on_writable(void *ud, hg_conn *c)
{
    wr *w = ud;
    (void)c;
    pthread_mutex_lock(&w->mu);
    w->blocked = 0;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void on_closed(void *ud, hg_conn *c, const hg_conn_record *rec)
{
    wr *w = ud;
    (void)c;
    pthread_mutex_lock(&w->mu);
    w->c = NULL;
    w->closed = 1;
    w->cause = rec->close_cause;
    w->status = rec->status;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static const hg_conn_handler handler = {
    .struct_size = sizeof(hg_conn_handler),
    .on_connected = on_connected,
    .on_writable = on_writable,
    .on_closed = on_closed,
};

/* On the connection's worker: writes the batch, releases its references. */
static void write_job(void *arg)
{
    wr *w = arg;
    uint64_t bytes = 0;
    uint32_t sent = 0, i;
    uint8_t blocked = 0;
    hg_conn *c;
    pthread_mutex_lock(&w->mu);
    c = w->c;
    pthread_mutex_unlock(&w->mu);
    for (i = 0; i < w->job_n; i++) {
        int rc = c != NULL ? w->net->write(w->net, c, w->job[i].data, w->job[i].len) : HG_ECLOSED;
        if (rc == 0 || rc == HG_EAGAIN) { /* EAGAIN: queued, but above high water */
            sent++;
            bytes += w->job[i].len;
            blocked |= rc == HG_EAGAIN;
        }
        if (w->job[i].buf != NULL)
            w->b.g->buf_unref(w->job[i].buf);
    }
    hg_counter_add(w->frames, sent);
    hg_counter_add(w->bytes, bytes);
    hg_counter_add(w->dropped, w->job_n - sent);
    pthread_mutex_lock(&w->mu);
    w->blocked |= blocked;
    w->job_busy = 0;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* On the connection's worker: the input ended; FIN once the queue is written. */
static void finish_job(void *arg)
{
    wr *w = arg;
    hg_conn *c;
    pthread_mutex_lock(&w->mu);
    c = w->c;
    pthread_mutex_unlock(&w->mu);
    if (c != NULL)
        (void)w->net->shutdown_write(w->net, c);
}

static int wr_create(const hg_host *h, const hg_config *cfg, void **out)
{
    wr *w = calloc(1, sizeof *w);
    char addr[128];
    int rc = 0, r;
    (void)cfg;
    if (w == NULL)
        return HG_ENOMEM;
    w->b.h = h;
    w->timeout_ns = 5000000000ull;
    GP_KEEP(rc, gp_cfg_str(h, "connect", 1, &w->connect));
    GP_KEEP(rc, gp_cfg_duration(h, "connect_timeout", 3600ull * 1000000000ull, &w->timeout_ns));
    if (w->connect != NULL && rc == 0 &&
        (r = h->resolve_address(h, w->connect, addr, sizeof addr)) != 0 && r != HG_EAGAIN)
        rc = h->cfg_error(h, h->cfg_root(h), "connect",
                          r == HG_ENOENT ? "'connect' names no pipeline of this file"
                                         : "'connect' must be HOST:PORT or a pipeline's name");
    if (rc == 0)
        rc = gp_counter(h, "frames", &w->frames);
    if (rc == 0)
        rc = gp_counter(h, "bytes", &w->bytes);
    if (rc == 0)
        rc = gp_counter(h, "dropped", &w->dropped);
    if (rc != 0) {
        free(w);
        return rc;
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    *out = w;
    return 0;
}

static void wr_destroy(void *inst)
{
    wr *w = inst;
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
}

static int wr_setup(void *inst, hg_proc *p)
{
    wr *w = inst;
    char msg[256];
    hg_conn *ignored;
    int rc = gp_setup(&w->b);
    (void)p;
    if (rc != 0)
        return rc;
    rc = w->b.h->resolve_address(w->b.h, w->connect, w->addr, sizeof w->addr);
    if (rc != 0) {
        snprintf(msg, sizeof msg, "tcp-writer: cannot resolve '%s': %s", w->connect,
                 rc == HG_EAGAIN ? "that pipeline is not listening" : hg_strerror(rc));
        return gp_fail(&w->b, rc, msg);
    }
    rc = gp_net_open(&w->b, &w->x, &w->net);
    if (rc != 0)
        return rc;
    rc = w->net->connect(w->net, w->addr, w->timeout_ns, &handler, w, &ignored);
    if (rc != 0) {
        snprintf(msg, sizeof msg, "tcp-writer: cannot connect to %s: %s", w->addr,
                 hg_strerror(rc));
        return gp_fail(&w->b, rc, msg);
    }
    return 0;
}

static int closed_result(wr *w)
{
    char msg[256];
    if (w->finishing)
        return HG_PROCESS_DONE;
    snprintf(msg, sizeof msg, "tcp-writer: the connection to %s %s (%s)", w->addr,
             w->connected ? "closed" : "failed",
             w->status ? hg_strerror(w->status) : "closed by the peer");
    return gp_fail(&w->b, w->status ? w->status : HG_ECLOSED, msg);
}

static int wr_process(void *inst, hg_proc *p)
{
    wr *w = inst;
    uint32_t n;
    int why, wait;

    pthread_mutex_lock(&w->mu);
    wait = !w->closed && (!w->connected || w->job_busy || w->blocked || w->finishing);
    if (wait)
        timed_wait(w);
    wait |= w->job_busy; /* the worker still has the batch: it cannot be reused */
    if (w->closed && !w->job_busy) {
        pthread_mutex_unlock(&w->mu);
        return closed_result(w);
    }
    pthread_mutex_unlock(&w->mu);
    if (wait)
        return 0;
    n = gp_pop_batch(&w->b, p, 0, w->job, GP_BATCH, 0, &why);
    if (n == 0 && why == HG_ECLOSED) { /* the input ended: FIN, then done once closed */
        w->finishing = 1;
        if (w->net->post(w->net, w->worker, finish_job, w) != 0)
            return HG_PROCESS_DONE;
        return 0;
    }
    if (n == 0)
        return gp_idle_result(&w->b, why);
    w->job_n = n;
    pthread_mutex_lock(&w->mu);
    w->job_busy = 1;
    pthread_mutex_unlock(&w->mu);
    if (w->net->post(w->net, w->worker, write_job, w) != 0) {
        for (uint32_t i = 0; i < n; i++)
            gp_drop(&w->b, &w->job[i]);
        hg_counter_add(w->dropped, n);
        w->job_busy = 0;
        return gp_fail(&w->b, HG_ECLOSED, "tcp-writer: the runtime mode is stopping");
    }
    return 0;
}

static void wr_teardown(void *inst, hg_proc *p)
{
    wr *w = inst;
    (void)p;
    if (w->net != NULL)
        w->x->net_close(w->x, w->b.h, w->net); /* a batch posted before has run by now */
    w->net = NULL;
}

const hg_processor_ops gp_tcp_writer_ops = {
    .struct_size = sizeof(hg_processor_ops),
    .n_ports = 1,
    .ports = ports,
    .create = wr_create,
    .destroy = wr_destroy,
    .setup = wr_setup,
    .process = wr_process,
    .teardown = wr_teardown,
};
