/* scrape.c - the client of scripts/bench/metrics: N sequential scrapes (connect, GET /metrics,
 * read to the end, close) of 127.0.0.1:PORT, as Prometheus does one per interval. Prints
 * "RESULT n=N bytes=B per_s=R p50_us=X p99_us=Y" (the status line must be 200).
 * Usage: scrape PORT N */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One scrape: the bytes read, or -1. */
static long scrape(int port)
{
    static char buf[1 << 16];
    static const char req[] = "GET /metrics HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n";
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    long total = 0;
    ssize_t n;
    int fd = socket(AF_INET, SOCK_STREAM, 0), ok = 0;
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        write(fd, req, sizeof req - 1) != (ssize_t)(sizeof req - 1)) {
        close(fd);
        return -1;
    }
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        if (total == 0)
            ok = n > 12 && memcmp(buf, "HTTP/1.1 200", 12) == 0;
        total += n;
    }
    close(fd);
    return ok ? total : -1;
}

int main(int argc, char **argv)
{
    int port = argc == 3 ? atoi(argv[1]) : 0, n = argc == 3 ? atoi(argv[2]) : 0;
    double *t, t0, all;
    long bytes = 0;
    if (port <= 0 || n <= 0) {
        fprintf(stderr, "usage: scrape PORT N\n");
        return 2;
    }
    t = calloc((size_t)n, sizeof *t);
    all = now_us();
    for (int i = 0; i < n; i++) {
        t0 = now_us();
        bytes = scrape(port);
        if (bytes < 0) {
            fprintf(stderr, "scrape: request %d failed\n", i);
            return 1;
        }
        t[i] = now_us() - t0;
    }
    all = now_us() - all;
    qsort(t, (size_t)n, sizeof *t, cmp);
    printf("RESULT n=%d bytes=%ld per_s=%.1f p50_us=%.1f p99_us=%.1f\n", n, bytes,
           n / (all / 1e6), t[n / 2], t[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1]);
    free(t);
    return 0;
}
