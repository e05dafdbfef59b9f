/* test-runtime.c - the uv, blocking and uring runtime modes driven directly through their ops with a
 * standalone host and a tiny in-test echo handler: echo, counters, records, conn_info into a
 * short struct, half-close both ways, resets, refused connects and accepts, timeouts, a peer
 * that never reads, 1,000 connections without an fd leak, running out of file descriptors
 * (EMFILE), timers, posts, net_close and stop. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <hangar/runtime_mode.h>

#include "loader.h"
#include "instance.h"
#include "tap.h"

enum { M_ECHO, M_FLOOD, M_SHUT, M_INFO, M_REFUSE };

/* conn_info's caller structs: a short one (struct_size ends inside bytes_in) with guard bytes
 * after it, and a full one. */
#define INFO_SHORT (offsetof(hg_conn_record, bytes_in) + 4)
typedef struct info_probe {
    union {
        hg_conn_record rec;
        uint8_t bytes[sizeof(hg_conn_record) + 32];
    } shortp;
    hg_conn_record full;
} info_probe;


/* What the handlers share with the test thread. Written on workers, read here. */
typedef struct ectx {
    const hg_net *net;
    int mode;
    uint64_t idle_ns;
    int closes, eagain, writable, connected, out_closed, timer_fired, timer_ticks, timer_worker;
    uint64_t flood_total, flood_queued;
    pthread_mutex_t mu;
    hg_conn_record last, out_rec;
    char got[64];
    uint32_t got_len;
    int32_t post_worker;
    info_probe info;
    int info_done, flushed;
} ectx;

static ectx X;

static int get_i(int *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}
static void set_i(int *p, int v)
{
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* Waits up to 5 s for *p >= want. */
static int wait_for(int *p, int want)
{
    for (int i = 0; i < 5000 && get_i(p) < want; i++)
        sleep_ms(1);
    return get_i(p) >= want;
}

/* --- the in-test echo handler (runs on the workers) --- */

static int on_accept(void *lud, hg_conn *c, void **cud)
{
    if (get_i(&X.mode) == M_REFUSE)
        return HG_EPERM;
    if (X.idle_ns)
        X.net->set_timeouts(X.net, c, X.idle_ns, 0, 0);
    return 0;
}

static void flood(hg_conn *c)
{
    static uint8_t block[65536];
    uint64_t total = 0;
    int rc = 0;

    X.net->set_water(X.net, c, 256 * 1024, 64 * 1024);
    for (int i = 0; i < 4096 && rc == 0; i++) {
        rc = X.net->write(X.net, c, block, sizeof block);
        if (rc == 0 || rc == HG_EAGAIN)
            total += sizeof block;
    }
    __atomic_store_n(&X.flood_total, total, __ATOMIC_RELEASE);
    __atomic_store_n(&X.flood_queued, X.net->queued(X.net, c), __ATOMIC_RELEASE);
    set_i(&X.eagain, rc == HG_EAGAIN);
}

static void on_data(void *ud, hg_conn *c, const uint8_t *data, uint32_t len)
{
    int mode = get_i(&X.mode);

    if (mode == M_FLOOD) {
        flood(c);
        return;
    }
    if (mode == M_INFO) {
        memset(X.info.shortp.bytes, 0xA5, sizeof X.info.shortp.bytes);
        X.info.shortp.rec.struct_size = (uint32_t)INFO_SHORT;
        X.net->conn_info(X.net, c, &X.info.shortp.rec);
        memset(&X.info.full, 0, sizeof X.info.full);
        X.info.full.struct_size = sizeof X.info.full;
        X.net->conn_info(X.net, c, &X.info.full);
        set_i(&X.info_done, 1);
    }
    if (X.net->write(X.net, c, data, len) == HG_EAGAIN)
        X.net->read_pause(X.net, c);
    if (mode == M_SHUT && memchr(data, '!', len))
        X.net->shutdown_write(X.net, c);
}

static void on_writable(void *ud, hg_conn *c)
{
    set_i(&X.writable, 1);
    X.net->read_resume(X.net, c);
}

static void on_closed(void *ud, hg_conn *c, const hg_conn_record *rec)
{
    pthread_mutex_lock(&X.mu);
    X.last = *rec;
    pthread_mutex_unlock(&X.mu);
    __atomic_fetch_add(&X.closes, 1, __ATOMIC_ACQ_REL);
}

static const hg_conn_handler echo_handler = {
    .struct_size = sizeof(hg_conn_handler),
    .on_accept = on_accept,
    .on_data = on_data,
    .on_writable = on_writable,
    .on_closed = on_closed,
};

/* An outgoing connection: says "ping", closes once the echo is back. */
static void out_connected(void *ud, hg_conn *c)
{
    set_i(&X.connected, 1);
    X.net->write(X.net, c, "ping", 4);
}

static void out_data(void *ud, hg_conn *c, const uint8_t *data, uint32_t len)
{
    pthread_mutex_lock(&X.mu);
    if (X.got_len + len < sizeof X.got) {
        memcpy(X.got + X.got_len, data, len);
        X.got_len += len;
    }
    pthread_mutex_unlock(&X.mu);
    if (X.got_len >= 4)
        X.net->close(X.net, c, HG_CLOSE_GRACEFUL);
}

static void out_closed(void *ud, hg_conn *c, const hg_conn_record *rec)
{
    pthread_mutex_lock(&X.mu);
    X.out_rec = *rec;
    pthread_mutex_unlock(&X.mu);
    __atomic_fetch_add(&X.out_closed, 1, __ATOMIC_ACQ_REL);
}

static const hg_conn_handler out_handler = {
    .struct_size = sizeof(hg_conn_handler),
    .on_connected = out_connected,
    .on_data = out_data,
    .on_closed = out_closed,
};

static char connect_addr[64];

static void connect_from_worker(void *arg)
{
    hg_conn *c;
    if (X.net->connect(X.net, connect_addr, 2000000000u, &out_handler, NULL, &c) != 0)
        __atomic_fetch_add(&X.out_closed, 100, __ATOMIC_ACQ_REL);
}

/* --- client helpers (test thread) --- */

static int parse_port(const char *addr)
{
    const char *colon = strrchr(addr, ':');
    return colon ? atoi(colon + 1) : 0;
}

static int client(int port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Reads exactly n bytes (or until EOF/timeout). Returns the count read. */
static ssize_t read_n(int fd, char *buf, size_t n, int timeout_ms)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    size_t got = 0;
    ssize_t r;

    while (got < n && poll(&p, 1, timeout_ms) == 1) {
        r = recv(fd, buf + got, n - got, 0);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

/* 1 when the next read is EOF within the timeout. */
static int read_eof(int fd, int timeout_ms)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    char c;
    return poll(&p, 1, timeout_ms) == 1 && recv(fd, &c, 1, 0) == 0;
}

static int fd_count(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;

    while (d && (e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    if (d)
        closedir(d);
    return n;
}

/* --- one mode --- */

typedef struct fx {
    const char *mode;
    const hg_runtime_mode_ops *ops;
    void *rt;
    hg__inst *rt_in, *own_in;
    hg_listener *l;
    int port;
} fx;

static uint64_t counter(fx *f, const char *name)
{
    uint64_t v = UINT64_MAX;
    hg__inst_counter(f->own_in, name, &v);
    return v;
}

static int wait_counter(fx *f, const char *name, uint64_t want)
{
    for (int i = 0; i < 5000 && counter(f, name) != want; i++)
        sleep_ms(1);
    return counter(f, name) == want;
}

static hg_conn_record last_rec(void)
{
    hg_conn_record r;
    pthread_mutex_lock(&X.mu);
    r = X.last;
    pthread_mutex_unlock(&X.mu);
    return r;
}

static void test_echo(fx *f)
{
    char buf[16] = { 0 };
    int fd = client(f->port), closes = get_i(&X.closes);
    hg_conn_record r;

    ok(fd >= 0 && send(fd, "hello", 5, 0) == 5 && read_n(fd, buf, 5, 2000) == 5 &&
           memcmp(buf, "hello", 5) == 0,
       "%s: a client's bytes come back through the echo handler", f->mode);
    shutdown(fd, SHUT_WR);
    ok(read_eof(fd, 2000), "%s: the peer's FIN is answered with a FIN by default", f->mode);
    close(fd);
    ok(wait_for(&X.closes, closes + 1), "%s: on_closed follows", f->mode);
    r = last_rec();
    ok(r.close_cause == HG_CLOSE_PASSIVE && r.bytes_in == 5 && r.bytes_out == 5 && r.status == 0 &&
           r.outgoing == 0 && r.t_established_ns == r.t_open_ns && r.t_close_ns >= r.t_open_ns &&
           strncmp(r.peer, "127.0.0.1:", 10) == 0 && strncmp(r.local, "127.0.0.1:", 10) == 0,
       "%s: the record says passive close, 5 bytes each way, peer 127.0.0.1", f->mode);
    ok(wait_counter(f, "connections_open", 0) && counter(f, "bytes_in") == 5 &&
           counter(f, "bytes_out") == 5 && counter(f, "connections_established") == 1 &&
           counter(f, "closed_passive") == 1,
       "%s: owner counters: bytes_in/out 5, established 1, closed_passive 1, open back to 0",
       f->mode);
    ok(f->ops->bytes_sent(f->rt) == 5 && f->ops->bytes_received(f->rt) == 5,
       "%s: the runtime's totals count the same bytes", f->mode);
    is_int(hg__inst_records(f->own_in), 1, "%s: one record written through owner->record",
           f->mode);
}

/* conn_info writes no more than the caller's struct_size, and only whole fields. */
static void test_conn_info_size(fx *f)
{
    char buf[8] = { 0 };
    int fd, untouched = 1, closes = get_i(&X.closes);
    size_t fit = offsetof(hg_conn_record, bytes_in);

    set_i(&X.info_done, 0);
    set_i(&X.mode, M_INFO);
    fd = client(f->port);
    ok(fd >= 0 && send(fd, "info", 4, 0) == 4 && read_n(fd, buf, 4, 2000) == 4 &&
           wait_for(&X.info_done, 1),
       "%s: a pipeline asks conn_info while handling bytes", f->mode);
    for (size_t i = fit; i < sizeof X.info.shortp.bytes; i++)
        untouched &= X.info.shortp.bytes[i] == 0xA5;
    ok(untouched, "%s: with struct_size %zu, nothing after the last whole field that fits "
       "(bytes_in, cut at %zu) is written", f->mode, (size_t)INFO_SHORT, fit);
    ok(X.info.shortp.rec.struct_size == fit && X.info.shortp.rec.t_open_ns != 0 &&
           X.info.shortp.rec.t_first_byte_ns != 0,
       "%s: the short struct gets the fields that fit, struct_size the bytes written", f->mode);
    ok(X.info.full.struct_size == sizeof(hg_conn_record) && X.info.full.bytes_in == 4 &&
           strncmp(X.info.full.peer, "127.0.0.1:", 10) == 0,
       "%s: a full struct gets every field (bytes_in 4, peer 127.0.0.1)", f->mode);
    set_i(&X.mode, M_ECHO);
    close(fd);
    ok(wait_for(&X.closes, closes + 1), "%s: the connection closes", f->mode);
}

static void test_half_close(fx *f)
{
    char buf[16] = { 0 };
    int fd, closes = get_i(&X.closes);
    hg_conn_record r;

    /* the client closes its side first: it still gets the echo of what it sent before */
    fd = client(f->port);
    send(fd, "abc", 3, 0);
    shutdown(fd, SHUT_WR);
    ok(read_n(fd, buf, 3, 2000) == 3 && memcmp(buf, "abc", 3) == 0 && read_eof(fd, 2000),
       "%s: after the client's half-close the echo still arrives, then EOF", f->mode);
    close(fd);
    wait_for(&X.closes, closes + 1);
    ok(last_rec().close_cause == HG_CLOSE_PASSIVE, "%s: closed as passive", f->mode);

    /* the server closes its side first ('!'): the client can still send */
    set_i(&X.mode, M_SHUT);
    fd = client(f->port);
    send(fd, "hi!", 3, 0);
    ok(read_n(fd, buf, 3, 2000) == 3 && read_eof(fd, 2000),
       "%s: shutdown_write sends the queued echo, then FIN", f->mode);
    ok(send(fd, "more", 4, 0) == 4, "%s: the client can still send after the server's FIN",
       f->mode);
    sleep_ms(50);
    shutdown(fd, SHUT_WR);
    ok(wait_for(&X.closes, closes + 2), "%s: both FINs close the connection", f->mode);
    close(fd);
    r = last_rec();
    ok(r.close_cause == HG_CLOSE_ACTIVE && r.bytes_in == 7 && r.bytes_out == 3,
       "%s: closed as active, with the 4 bytes read after the half-close counted", f->mode);
    set_i(&X.mode, M_ECHO);
}

static void test_reset(fx *f)
{
    struct linger lg = { 1, 0 };
    char buf[4];
    int fd = client(f->port), closes = get_i(&X.closes);
    hg_conn_record r;

    send(fd, "x", 1, 0);
    read_n(fd, buf, 1, 2000);
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
    ok(wait_for(&X.closes, closes + 1), "%s: a peer's reset closes the connection", f->mode);
    r = last_rec();
    ok(r.close_cause == HG_CLOSE_PASSIVE_RESET && r.status == HG_ECONNRESET,
       "%s: cause passive_reset, status ECONNRESET", f->mode);
    ok(counter(f, "closed_passive_reset") == 1, "%s: closed_passive_reset counts it", f->mode);
}

static void test_connect(fx *f, const hg_net *net)
{
    int s = socket(AF_INET, SOCK_STREAM, 0), free_port;
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t len = sizeof sa;
    hg_conn_record r;
    hg_conn *c;

    /* a port nobody listens on */
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(s, (struct sockaddr *)&sa, sizeof sa);
    getsockname(s, (struct sockaddr *)&sa, &len);
    free_port = ntohs(sa.sin_port);
    close(s);
    snprintf(connect_addr, sizeof connect_addr, "127.0.0.1:%d", free_port);
    set_i(&X.out_closed, 0);
    is_int(net->post(net, 0, connect_from_worker, NULL), 0, "%s: post to worker 0", f->mode);
    ok(wait_for(&X.out_closed, 1), "%s: a refused connect ends in on_closed", f->mode);
    pthread_mutex_lock(&X.mu);
    r = X.out_rec;
    pthread_mutex_unlock(&X.mu);
    ok(r.close_cause == HG_CLOSE_CONNECT_FAILED && r.status == HG_ECONNREFUSED && r.outgoing == 1 &&
           r.t_established_ns == 0 && counter(f, "connections_failed") == 1,
       "%s: cause connect_failed, status ECONNREFUSED, counted as failed", f->mode);

    /* a connect that works, once from a worker and once from this thread */
    snprintf(connect_addr, sizeof connect_addr, "127.0.0.1:%d", f->port);
    set_i(&X.out_closed, 0);
    X.got_len = 0;
    net->post(net, 1, connect_from_worker, NULL);
    ok(wait_for(&X.out_closed, 1) && X.got_len == 4 && memcmp(X.got, "ping", 4) == 0,
       "%s: an outgoing connection gets its echo back", f->mode);
    pthread_mutex_lock(&X.mu);
    r = X.out_rec;
    pthread_mutex_unlock(&X.mu);
    ok(r.close_cause == HG_CLOSE_ACTIVE && r.outgoing == 1 && r.worker == 1 &&
           r.t_established_ns >= r.t_open_ns && r.bytes_out == 4 && r.bytes_in == 4,
       "%s: its record: active close on worker 1, 4 bytes each way", f->mode);
    set_i(&X.out_closed, 0);
    X.got_len = 0;
    is_int(net->connect(net, connect_addr, 0, &out_handler, NULL, &c), 0,
           "%s: connect from a thread that is no worker is accepted", f->mode);
    ok(wait_for(&X.out_closed, 1) && X.got_len == 4, "%s: ... and completes on a worker",
       f->mode);
    is_int(net->connect(net, "nonsense", 0, &out_handler, NULL, &c), HG_EINVAL,
           "%s: a bad address is HG_EINVAL", f->mode);
}

static void flushed(void *arg)
{
    __atomic_fetch_add(&X.flushed, 1, __ATOMIC_ACQ_REL);
}

/* A connection on_accept refuses is reset, counted as failed and recorded, and gets no
 * on_closed. */
static void test_refused(fx *f, const hg_net *net)
{
    int fd, closes = get_i(&X.closes), n = (int)net->workers(net);
    uint64_t failed = counter(f, "connections_failed");

    set_i(&X.mode, M_REFUSE);
    fd = client(f->port);
    ok(fd >= 0 && wait_counter(f, "connections_failed", failed + 1),
       "%s: a connection on_accept refuses counts in connections_failed", f->mode);
    /* a post runs on each worker after whatever that worker was doing: the refusal is over */
    set_i(&X.flushed, 0);
    for (int i = 0; i < n; i++)
        net->post(net, i, flushed, NULL);
    ok(wait_for(&X.flushed, n) && get_i(&X.closes) == closes,
       "%s: and gets no on_closed", f->mode);
    {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        char c;
        ok(poll(&p, 1, 2000) == 1 && recv(fd, &c, 1, 0) <= 0,
           "%s: the client sees the connection end", f->mode);
    }
    set_i(&X.mode, M_ECHO);
    close(fd);
}

static void test_idle_timeout(fx *f)
{
    int fd, closes = get_i(&X.closes);

    X.idle_ns = 100000000u; /* 100 ms */
    fd = client(f->port);
    ok(read_eof(fd, 3000), "%s: an idle connection is closed by its idle timeout", f->mode);
    ok(wait_for(&X.closes, closes + 1) && last_rec().close_cause == HG_CLOSE_TIMEOUT &&
           last_rec().status == HG_ETIMEDOUT && counter(f, "closed_timeout") == 1,
       "%s: cause timeout, status ETIMEDOUT, closed_timeout 1", f->mode);
    close(fd);
    X.idle_ns = 0;
}

static void test_never_reads(fx *f)
{
    static char buf[65536];
    uint64_t total, got = 0;
    int fd, closes = get_i(&X.closes);
    ssize_t r;

    set_i(&X.eagain, 0);
    set_i(&X.writable, 0);
    set_i(&X.mode, M_FLOOD);
    fd = client(f->port);
    send(fd, "F", 1, 0);
    ok(wait_for(&X.eagain, 1), "%s: writing to a peer that never reads returns HG_EAGAIN",
       f->mode);
    ok(__atomic_load_n(&X.flood_queued, __ATOMIC_ACQUIRE) > 256 * 1024,
       "%s: ... once the queue is above high water", f->mode);
    sleep_ms(100);
    ok(!get_i(&X.writable), "%s: no on_writable while the peer reads nothing", f->mode);
    total = __atomic_load_n(&X.flood_total, __ATOMIC_ACQUIRE);
    while (got < total) {
        r = read_n(fd, buf, sizeof buf, 2000);
        if (r <= 0)
            break;
        got += (uint64_t)r;
    }
    is_int(got, total, "%s: every byte queued reaches the peer once it reads", f->mode);
    ok(wait_for(&X.writable, 1), "%s: on_writable once the queue drains below low water",
       f->mode);
    set_i(&X.mode, M_ECHO);
    close(fd);
    wait_for(&X.closes, closes + 1);
}

static void test_many(fx *f)
{
    int fds[100], start = fd_count(), closes = get_i(&X.closes), good = 1;
    char c;

    for (int round = 0; round < 10; round++) {
        for (int i = 0; i < 100; i++) {
            fds[i] = client(f->port);
            if (fds[i] < 0 || send(fds[i], "x", 1, 0) != 1)
                good = 0;
        }
        for (int i = 0; i < 100; i++) {
            if (fds[i] >= 0 && read_n(fds[i], &c, 1, 2000) != 1)
                good = 0;
            close(fds[i]);
        }
    }
    ok(good, "%s: 1,000 connections each get their echo", f->mode);
    ok(wait_for(&X.closes, closes + 1000), "%s: ... and all 1,000 close", f->mode);
    ok(wait_counter(f, "connections_open", 0), "%s: connections_open is back to 0", f->mode);
    is_int(fd_count(), start, "%s: the process has as many fds as before", f->mode);
}

static void tick(void *ud, hg_timer *t)
{
    int n = __atomic_add_fetch(&X.timer_ticks, 1, __ATOMIC_ACQ_REL);
    if (n == 3)
        X.net->timer_stop(X.net, t); /* from inside its own callback */
}

static void once(void *ud, hg_timer *t)
{
    set_i(&X.timer_worker, X.net->current_worker(X.net));
    set_i(&X.timer_fired, 1);
}

static void start_timers(void *arg)
{
    hg_timer *a, *b;
    X.net->timer_start(X.net, 20000000u, 0, once, NULL, &a);
    X.net->timer_start(X.net, 5000000u, 5000000u, tick, NULL, &b);
}

static void where_am_i(void *arg)
{
    __atomic_store_n(&X.post_worker, X.net->current_worker(X.net), __ATOMIC_RELEASE);
}

static void *poster(void *arg)
{
    const hg_net *net = arg;
    return (void *)(intptr_t)net->post(net, 1, where_am_i, NULL);
}

static void test_timers_posts(fx *f, const hg_net *net)
{
    hg_timer *t;
    pthread_t th;
    void *rc;

    set_i(&X.timer_ticks, 0);
    set_i(&X.timer_fired, 0);
    set_i(&X.timer_worker, -1);
    net->post(net, 1, start_timers, NULL);
    ok(wait_for(&X.timer_fired, 1) && get_i(&X.timer_worker) == 1,
       "%s: a one-shot timer fires on the worker that started it", f->mode);
    ok(wait_for(&X.timer_ticks, 3), "%s: a repeating timer ticks", f->mode);
    sleep_ms(50);
    is_int(get_i(&X.timer_ticks), 3, "%s: timer_stop inside its callback stops it", f->mode);
    is_int(net->timer_start(net, 1, 0, once, NULL, &t), HG_ESTATE,
           "%s: timer_start off a worker is refused", f->mode);

    __atomic_store_n(&X.post_worker, -1, __ATOMIC_RELEASE);
    pthread_create(&th, NULL, poster, (void *)net);
    pthread_join(th, &rc);
    for (int i = 0; i < 2000 && __atomic_load_n(&X.post_worker, __ATOMIC_ACQUIRE) < 0; i++)
        sleep_ms(1);
    ok(rc == NULL && __atomic_load_n(&X.post_worker, __ATOMIC_ACQUIRE) == 1,
       "%s: a post from another thread runs on the worker asked for", f->mode);
    is_int(net->post(net, 2, where_am_i, NULL), HG_EINVAL, "%s: post to worker 2 of 2 is EINVAL",
           f->mode);
    is_int(net->current_worker(net), -1, "%s: the test thread is no worker", f->mode);
    is_int(net->workers(net), 2, "%s: two workers", f->mode);
}

static void test_net_close(fx *f, const hg_net *net)
{
    int fds[3], closes = get_i(&X.closes), all_eof = 1;
    char c;

    for (int i = 0; i < 3; i++) {
        fds[i] = client(f->port);
        send(fds[i], "y", 1, 0);
        read_n(fds[i], &c, 1, 2000);
    }
    is_int(f->ops->net_close(f->rt, net), 3, "%s: net_close cuts the 3 open connections",
           f->mode);
    is_int(get_i(&X.closes), closes + 3, "%s: their on_closed ran before net_close returned",
           f->mode);
    ok(last_rec().close_cause == HG_CLOSE_SHUTDOWN && counter(f, "closed_shutdown") == 3,
       "%s: cause shutdown, closed_shutdown 3", f->mode);
    for (int i = 0; i < 3; i++) {
        all_eof &= read_eof(fds[i], 2000);
        close(fds[i]);
    }
    ok(all_eof, "%s: the clients see the connections end", f->mode);
    ok(client(f->port) < 0, "%s: the listener is closed", f->mode);
}

/* Out of file descriptors: the soft limit lowered and the table filled up to it, a listen and a
 * connect fail with HG_EMFILE ("too many open files"), not some other code. */
static void test_fd_limit(fx *f, const hg_net *net)
{
    struct rlimit old, low;
    hg_listener *l = NULL;
    hg_conn_record r;
    int held[64], n = 0, rc;

    getrlimit(RLIMIT_NOFILE, &old);
    low = old;
    low.rlim_cur = (rlim_t)fd_count() + 8;
    setrlimit(RLIMIT_NOFILE, &low);
    while (n < 64 && (held[n] = dup(0)) >= 0)
        n++;
    ok(n < 64 && errno == EMFILE, "%s: the fd table is full (%d more held)", f->mode, n);
    rc = net->listen(net, "127.0.0.1:0", 0, &echo_handler, NULL, &l);
    is_str(hg_err_name(rc), "EMFILE", "%s: a listen without a free fd fails with EMFILE",
           f->mode);
    is_str(hg_strerror(rc), "too many open files", "%s: which reads 'too many open files'",
           f->mode);
    snprintf(connect_addr, sizeof connect_addr, "127.0.0.1:%d", f->port);
    set_i(&X.out_closed, 0);
    net->post(net, 0, connect_from_worker, NULL);
    wait_for(&X.out_closed, 1);
    pthread_mutex_lock(&X.mu);
    r = X.out_rec;
    pthread_mutex_unlock(&X.mu);
    ok(r.close_cause == HG_CLOSE_CONNECT_FAILED && r.status == HG_EMFILE,
       "%s: a connect without a free fd fails with EMFILE (got %s)", f->mode,
       hg_err_name(r.status));
    while (n > 0)
        close(held[--n]);
    setrlimit(RLIMIT_NOFILE, &old);
    if (rc == 0 && l != NULL)
        net->listener_close(net, l);
}

static void test_stop(fx *f)
{
    const hg_net *net;
    hg_listener *l;
    char addr[64];
    int fd, closes;

    /* a second owner with an open connection when the runtime stops */
    is_int(f->ops->net_open(f->rt, hg__inst_host(f->own_in), &net), 0, "%s: net_open again",
           f->mode);
    X.net = net;
    net->listen(net, "127.0.0.1:0", 0, &echo_handler, NULL, &l);
    net->listener_address(net, l, addr, sizeof addr);
    closes = get_i(&X.closes);
    fd = client(parse_port(addr));
    send(fd, "z", 1, 0);
    read_n(fd, addr, 1, 2000);
    f->ops->request_stop(f->rt);
    f->ops->request_stop(f->rt);
    is_int(f->ops->join(f->rt, 5000000000u), 0, "%s: request_stop (twice) and join", f->mode);
    ok(get_i(&X.closes) == closes + 1 && last_rec().close_cause == HG_CLOSE_SHUTDOWN,
       "%s: stopping cut the open connection (cause shutdown)", f->mode);
    ok(read_eof(fd, 2000), "%s: its client sees the end", f->mode);
    close(fd);
    is_int(f->ops->net_close(f->rt, net), 0, "%s: net_close after the stop cuts nothing",
           f->mode);
}

static void run_mode(const char *path, const char *engine)
{
    hg__registry *reg = NULL;
    const hg__engine_def *def;
    const hg_net *net;
    char addr[64];
    hg__diag d;
    fx f = { .mode = engine };
    int fds0;

    hg__diag_init(&d);
    hg__registry_new(&reg);
    is_int(hg__registry_load_file(reg, path, &d), 0, "%s: the plugin loads", engine);
    def = hg__registry_find(reg, engine);
    ok(def && def->kind == HG_KIND_RUNTIME_MODE, "%s: it provides a runtime mode", engine);
    if (!def)
        goto out;
    f.ops = def->ops;
    hg__inst_new_standalone("runtime", NULL, NULL, NULL, &f.rt_in);
    hg__inst_new_standalone("echo", NULL, NULL, NULL, &f.own_in);
    hg__inst_enable_records(f.own_in, 8192);
    memset(&X, 0, sizeof X);
    pthread_mutex_init(&X.mu, NULL);
    is_int(f.ops->create(hg__inst_host(f.rt_in), NULL, &f.rt), 0, "%s: create", engine);
    is_int(f.ops->start(f.rt, 2, NULL, 0), 0, "%s: start 2 workers", engine);
    is_int(f.ops->net_open(f.rt, hg__inst_host(f.own_in), &net), 0, "%s: net_open", engine);
    X.net = net;
    is_int(net->listen(net, "127.0.0.1:0", 0, &echo_handler, NULL, &f.l), 0,
           "%s: listen on 127.0.0.1:0", engine);
    net->listener_address(net, f.l, addr, sizeof addr);
    f.port = parse_port(addr);
    ok(f.port > 0 && strncmp(addr, "127.0.0.1:", 10) == 0, "%s: bound to %s", engine, addr);
    is_int(net->listen(net, addr, 0, &echo_handler, NULL, &f.l), HG_EADDRINUSE,
           "%s: a second listen on the same address is EADDRINUSE", engine);
    test_echo(&f);
    test_conn_info_size(&f);
    test_half_close(&f);
    test_reset(&f);
    test_connect(&f, net);
    test_refused(&f, net);
    test_idle_timeout(&f);
    test_never_reads(&f);
    test_many(&f);
    test_fd_limit(&f, net);
    test_timers_posts(&f, net);
    fds0 = fd_count();
    test_net_close(&f, net);
    is_int(fd_count(), fds0 - 2, "%s: net_close released the 2 listening sockets", engine);
    test_stop(&f);
    f.ops->destroy(f.rt);
    hg__inst_free(f.own_in);
    hg__inst_free(f.rt_in);
    pthread_mutex_destroy(&X.mu);
out:
    hg__registry_free(reg);
    hg__diag_free(&d);
}

int main(void)
{
    run_mode(HG_UV_PLUGIN, "uv");
    run_mode(HG_BLOCKING_PLUGIN, "blocking");
    run_mode(HG_URING_PLUGIN, "uring");
    return tap_done();
}
