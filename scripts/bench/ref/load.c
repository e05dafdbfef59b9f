/* load.c - the benchmarks' minimal C load client (one thread, epoll, 127.0.0.1 only):
 *   load pingpong PORT CONNS SECONDS [SIZE]  SIZE-byte ping-pong on CONNS connections; after a
 *        0.5 s warm-up counts round trips for SECONDS and prints round trips/s
 *   load connrate PORT INFLIGHT SECONDS [SIZE]  connect, one SIZE-byte exchange, close, with
 *        INFLIGHT connections at a time; prints completed connections/s over the whole run
 *   load freeport   binds 127.0.0.1:0, prints the port the kernel chose, closes it
 * The figure goes to stdout alone; details to stderr. Exits 1 on any connection error. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS 1024
#define MAX_SIZE 65536
#define WARMUP_S 0.5

typedef struct conn {
    int fd;
    int state;        /* connrate: 0 connecting, 1 waiting for the echo */
    uint32_t got;
} conn;

static struct sockaddr_in target;
static char out_buf[MAX_SIZE];
static char in_buf[MAX_SIZE];

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void set_target(int port)
{
    memset(&target, 0, sizeof target);
    target.sin_family = AF_INET;
    target.sin_port = htons((uint16_t)port);
    target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

static int fail(const char *what)
{
    fprintf(stderr, "load: %s: %s\n", what, strerror(errno));
    return 1;
}

/* ---- ping-pong ---- */

static int open_blocking(void)
{
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&target, sizeof target) != 0) {
        close(fd);
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

/* Reads what came on c; for each full echo, counts a round trip and sends the next ping. */
static int pong(conn *c, uint32_t size, uint64_t *rtts)
{
    ssize_t r = read(c->fd, in_buf, sizeof in_buf);
    if (r == 0) {
        errno = ECONNRESET;
        return -1;
    }
    if (r < 0)
        return errno == EAGAIN ? 0 : -1;
    c->got += (uint32_t)r;
    while (c->got >= size) {
        c->got -= size;
        (*rtts)++;
        if (write(c->fd, out_buf, size) != (ssize_t)size)
            return -1;
    }
    return 0;
}

static int pingpong(int n, double secs, uint32_t size)
{
    conn *cs = calloc((size_t)n, sizeof *cs);
    struct epoll_event evs[MAX_EVENTS];
    uint64_t rtts = 0, base = 0;
    double t0, t_start = 0, t_end;
    int ep = epoll_create1(EPOLL_CLOEXEC), counting = 0, rc = 1;
    if (cs == NULL || ep < 0)
        return fail("setup");
    for (int i = 0; i < n; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &cs[i]};
        cs[i].fd = open_blocking();
        if (cs[i].fd < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev) != 0)
            return fail("connect");
    }
    for (int i = 0; i < n; i++)
        if (write(cs[i].fd, out_buf, size) != (ssize_t)size)
            return fail("write");
    t0 = now_s();
    t_end = t0 + WARMUP_S + secs;
    for (;;) {
        double t = now_s();
        int k;
        if (!counting && t >= t0 + WARMUP_S) {
            counting = 1;
            base = rtts;
            t_start = t;
        }
        if (t >= t_end)
            break;
        k = epoll_wait(ep, evs, MAX_EVENTS, 50);
        if (k < 0 && errno != EINTR)
            goto out;
        for (int i = 0; i < k; i++)
            if (pong(evs[i].data.ptr, size, &rtts) != 0) {
                fail("echo");
                goto out;
            }
    }
    printf("%.0f\n", (double)(rtts - base) / (now_s() - t_start));
    fprintf(stderr, "load: %d connections, %llu round trips counted, %llu in all\n", n,
            (unsigned long long)(rtts - base), (unsigned long long)rtts);
    rc = 0;
out:
    for (int i = 0; i < n; i++)
        close(cs[i].fd);
    close(ep);
    free(cs);
    return rc;
}

/* ---- connection rate ---- */

static int cr_start(int ep, conn *c, uint32_t size)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = c};
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    c->state = 0;
    c->got = 0;
    if (c->fd < 0)
        return -1;
    if (connect(c->fd, (struct sockaddr *)&target, sizeof target) != 0 && errno != EINPROGRESS)
        return -1;
    /* On loopback the handshake has often completed already: send at once if it has. */
    if (write(c->fd, out_buf, size) == (ssize_t)size)
        c->state = 1;
    else if (errno != EAGAIN && errno != ENOTCONN)
        return -1;
    return epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

/* Advances one connection; 1 when its exchange is done (the caller closes and restarts it). */
static int cr_step(conn *c, uint32_t events, uint32_t size)
{
    ssize_t r;
    if (events & (EPOLLERR | EPOLLHUP) && !(events & EPOLLIN))
        return -1;
    if (c->state == 0) {
        if (!(events & EPOLLOUT))
            return 0;
        if (write(c->fd, out_buf, size) != (ssize_t)size)
            return errno == EAGAIN ? 0 : -1;
        c->state = 1;
    }
    for (;;) {
        r = read(c->fd, in_buf, sizeof in_buf);
        if (r > 0) {
            c->got += (uint32_t)r;
            if (c->got >= size)
                return 1;
            continue;
        }
        if (r == 0)
            errno = ECONNRESET;
        return r < 0 && errno == EAGAIN ? 0 : -1;
    }
}

static int connrate(int k, double secs, uint32_t size)
{
    conn *cs = calloc((size_t)k, sizeof *cs);
    struct epoll_event evs[MAX_EVENTS];
    uint64_t done = 0;
    double t0 = now_s(), t_end = t0 + secs, t = t0;
    int ep = epoll_create1(EPOLL_CLOEXEC), rc = 1, open = 0;
    if (cs == NULL || ep < 0)
        return fail("setup");
    for (int i = 0; i < k; i++) {
        if (cr_start(ep, &cs[i], size) != 0)
            return fail("connect");
        open++;
    }
    while (open > 0) {
        int n = epoll_wait(ep, evs, MAX_EVENTS, 50);
        if (n < 0 && errno != EINTR)
            goto out;
        t = now_s();
        for (int i = 0; i < n; i++) {
            conn *c = evs[i].data.ptr;
            int st = cr_step(c, evs[i].events, size);
            if (st < 0) {
                fail("exchange");
                goto out;
            }
            if (st == 0)
                continue;
            close(c->fd);
            c->fd = -1;
            done++;
            open--;
            if (t < t_end) {
                if (cr_start(ep, c, size) != 0) {
                    fail("connect");
                    goto out;
                }
                open++;
            }
        }
        if (t >= t_end + 5.0) {
            fprintf(stderr, "load: %d connections still open 5 s after the end\n", open);
            goto out;
        }
    }
    printf("%.0f\n", (double)done / (t - t0));
    fprintf(stderr, "load: %llu connections in %.3f s, %d in flight\n", (unsigned long long)done,
            t - t0, k);
    rc = 0;
out:
    for (int i = 0; i < k; i++)
        if (cs[i].fd >= 0)
            close(cs[i].fd);
    close(ep);
    free(cs);
    return rc;
}

static int freeport(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    socklen_t len = sizeof target;
    set_target(0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&target, sizeof target) != 0 ||
        getsockname(fd, (struct sockaddr *)&target, &len) != 0)
        return fail("bind");
    printf("%d\n", ntohs(target.sin_port));
    close(fd);
    return 0;
}

int main(int argc, char **argv)
{
    int port, n;
    double secs;
    uint32_t size = 64;
    if (argc == 2 && strcmp(argv[1], "freeport") == 0)
        return freeport();
    if (argc < 5 || argc > 6)
        goto usage;
    port = atoi(argv[2]);
    n = atoi(argv[3]);
    secs = atof(argv[4]);
    if (argc == 6)
        size = (uint32_t)atoi(argv[5]);
    if (port < 1 || port > 65535 || n < 1 || n > 100000 || secs <= 0 || size < 1 ||
        size > MAX_SIZE)
        goto usage;
    set_target(port);
    memset(out_buf, 'p', sizeof out_buf);
    if (strcmp(argv[1], "pingpong") == 0)
        return pingpong(n, secs, size);
    if (strcmp(argv[1], "connrate") == 0)
        return connrate(n, secs, size);
usage:
    fprintf(stderr, "usage: load pingpong|connrate PORT CONNS SECONDS [SIZE] | load freeport\n");
    return 2;
}
