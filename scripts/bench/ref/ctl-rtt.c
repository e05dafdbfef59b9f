/* ctl-rtt.c - round trips of one command line over a Unix stream socket, for
 * scripts/bench/control: against a host's control socket, or against the reference, a forked
 * Unix-socket echo that answers every line with a reply of a given size at once.
 *   ctl-rtt host SOCKET N LINE          N timed round trips of LINE (after 200 untimed)
 *   ctl-rtt echo REPLY_BYTES N LINE     the same against the reference echo
 * Prints: p50_ns=.. p99_ns=.. reply_bytes=.. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int connect_to(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        perror(path);
        exit(1);
    }
    return fd;
}

/* Sends line, reads up to the newline of the reply. Returns the reply's size. */
static size_t round_trip(int fd, const char *line, size_t len, char *buf, size_t cap)
{
    size_t got = 0;
    if (write(fd, line, len) != (ssize_t)len) {
        perror("write");
        exit(1);
    }
    for (;;) {
        ssize_t r = read(fd, buf + got, cap - got);
        if (r <= 0) {
            fprintf(stderr, "ctl-rtt: the peer closed\n");
            exit(1);
        }
        got += (size_t)r;
        if (buf[got - 1] == '\n')
            return got;
        if (got == cap) {
            fprintf(stderr, "ctl-rtt: reply over %zu bytes\n", cap);
            exit(1);
        }
    }
}

/* The reference: answers each line read with `size` bytes ending in a newline. */
static pid_t echo_server(const char *path, size_t size)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    pid_t pid;
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    unlink(path);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(lfd, 4) != 0) {
        perror(path);
        exit(1);
    }
    pid = fork();
    if (pid == 0) {
        char *reply = malloc(size), in[4096];
        int fd = accept(lfd, NULL, NULL);
        memset(reply, 'x', size);
        reply[size - 1] = '\n';
        for (;;) {
            ssize_t r = read(fd, in, sizeof in);
            if (r <= 0)
                _exit(0);
            if (in[r - 1] == '\n' && write(fd, reply, size) != (ssize_t)size)
                _exit(1);
        }
    }
    close(lfd);
    return pid;
}

static int cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    char path[108], *line, *buf;
    size_t len, cap = 64u << 20, reply = 0;
    pid_t server = 0;
    uint64_t *t;
    long n;
    int fd;
    if (argc != 5 || (strcmp(argv[1], "host") != 0 && strcmp(argv[1], "echo") != 0)) {
        fprintf(stderr, "usage: ctl-rtt host SOCKET N LINE | ctl-rtt echo REPLY_BYTES N LINE\n");
        return 2;
    }
    n = atol(argv[3]);
    if (asprintf(&line, "%s\n", argv[4]) < 0 || n < 1 || (buf = malloc(cap)) == NULL ||
        (t = calloc((size_t)n, sizeof *t)) == NULL)
        return 1;
    len = strlen(line);
    if (strcmp(argv[1], "echo") == 0) {
        snprintf(path, sizeof path, "/tmp/ctl-rtt.%d.sock", (int)getpid());
        server = echo_server(path, (size_t)atol(argv[2]) + 1);
        fd = connect_to(path);
    } else {
        fd = connect_to(argv[2]);
    }
    for (int i = 0; i < 200; i++)
        round_trip(fd, line, len, buf, cap);
    for (long i = 0; i < n; i++) {
        uint64_t t0 = now_ns();
        reply = round_trip(fd, line, len, buf, cap);
        t[i] = now_ns() - t0;
    }
    qsort(t, (size_t)n, sizeof *t, cmp);
    printf("p50_ns=%llu p99_ns=%llu reply_bytes=%zu\n", (unsigned long long)t[n / 2],
           (unsigned long long)t[n * 99 / 100], reply);
    close(fd);
    if (server) {
        waitpid(server, NULL, 0);
        unlink(path);
    }
    return 0;
}
