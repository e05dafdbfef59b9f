/* uv-echo.c - the reference echo server of the benchmarks: N libuv loops, one thread each, each
 * with its own SO_REUSEPORT listener on 127.0.0.1, echoing every byte back (uv_try_write first,
 * a queued uv_write only for what the socket did not take). Prints the port and runs until killed.
 * Usage: uv-echo [-w WORKERS] [-p PORT]   (PORT 0, the default, picks a free port) */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define MAX_WORKERS 64
#define BUF_SIZE 65536

typedef struct worker {
    uv_loop_t loop;
    uv_tcp_t server;
    int fd;
    char buf[BUF_SIZE];
    int buf_busy;
} worker;

typedef struct pending_write {
    uv_write_t req;
    char data[];
} pending_write;

static worker workers[MAX_WORKERS];

static void on_close(uv_handle_t *h)
{
    free(h);
}

/* One buffer per loop: a read is echoed (or copied) before the next read can land in it. */
static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    worker *w = h->loop->data;
    (void)hint;
    if (w->buf_busy) {
        b->base = malloc(BUF_SIZE);
        b->len = b->base ? BUF_SIZE : 0;
        return;
    }
    w->buf_busy = 1;
    b->base = w->buf;
    b->len = BUF_SIZE;
}

static void release(worker *w, const uv_buf_t *b)
{
    if (b->base == w->buf)
        w->buf_busy = 0;
    else
        free(b->base);
}

static void on_written(uv_write_t *req, int status)
{
    (void)status;
    free(req);
}

static void echo_rest(uv_stream_t *s, const char *p, size_t n)
{
    pending_write *pw = malloc(sizeof *pw + n);
    uv_buf_t b;
    if (pw == NULL) {
        uv_close((uv_handle_t *)s, on_close);
        return;
    }
    memcpy(pw->data, p, n);
    b = uv_buf_init(pw->data, (unsigned)n);
    if (uv_write(&pw->req, s, &b, 1, on_written) != 0) {
        free(pw);
        uv_close((uv_handle_t *)s, on_close);
    }
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    worker *w = s->loop->data;
    if (n > 0) {
        uv_buf_t out = uv_buf_init(b->base, (unsigned)n);
        int done = uv_stream_get_write_queue_size(s) == 0 ? uv_try_write(s, &out, 1) : 0;
        if (done < 0)
            done = 0;
        if (done < n)
            echo_rest(s, b->base + done, (size_t)(n - done));
    } else if (n < 0) {
        uv_close((uv_handle_t *)s, on_close);
    }
    release(w, b);
}

static void on_connection(uv_stream_t *server, int status)
{
    uv_tcp_t *c;
    if (status != 0)
        return;
    c = malloc(sizeof *c);
    if (c == NULL)
        return;
    uv_tcp_init(server->loop, c);
    if (uv_accept(server, (uv_stream_t *)c) != 0) {
        uv_close((uv_handle_t *)c, on_close);
        return;
    }
    uv_tcp_nodelay(c, 1);
    uv_read_start((uv_stream_t *)c, on_alloc, on_read);
}

static int listen_fd(int port, int *bound)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        close(fd);
        return -1;
    }
    *bound = ntohs(sa.sin_port);
    return fd;
}

static void *run_worker(void *arg)
{
    worker *w = arg;
    uv_run(&w->loop, UV_RUN_DEFAULT);
    return NULL;
}

static int setup_worker(worker *w)
{
    if (uv_loop_init(&w->loop) != 0)
        return -1;
    w->loop.data = w;
    uv_tcp_init(&w->loop, &w->server);
    if (uv_tcp_open(&w->server, w->fd) != 0)
        return -1;
    return uv_listen((uv_stream_t *)&w->server, 1024, on_connection);
}

int main(int argc, char **argv)
{
    int n = 1, port = 0, opt, bound = 0;
    pthread_t th[MAX_WORKERS];
    while ((opt = getopt(argc, argv, "w:p:")) != -1) {
        if (opt == 'w')
            n = atoi(optarg);
        else if (opt == 'p')
            port = atoi(optarg);
        else
            goto usage;
    }
    if (n < 1 || n > MAX_WORKERS || port < 0 || port > 65535)
        goto usage;
    /* All listeners are bound before any listens, so the first one's port 0 choice is shared. */
    for (int i = 0; i < n; i++) {
        workers[i].fd = listen_fd(i == 0 ? port : bound, &bound);
        if (workers[i].fd < 0) {
            perror("uv-echo: bind");
            return 1;
        }
    }
    for (int i = 0; i < n; i++)
        if (setup_worker(&workers[i]) != 0) {
            fprintf(stderr, "uv-echo: listen failed\n");
            return 1;
        }
    printf("%d\n", bound);
    fflush(stdout);
    for (int i = 1; i < n; i++)
        pthread_create(&th[i], NULL, run_worker, &workers[i]);
    run_worker(&workers[0]);
    return 0;
usage:
    fprintf(stderr, "usage: uv-echo [-w WORKERS] [-p PORT]\n");
    return 2;
}
