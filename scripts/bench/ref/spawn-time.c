/* spawn-time.c - times two commands run alternately (A B A B ...), each start-to-exit with
 * posix_spawn + wait4, and reports median/min/max wall time and peak RSS (ru_maxrss) of each,
 * and the median of the pair-by-pair differences. Usage: spawn-time N -- CMD_A... -- CMD_B... */
#define _GNU_SOURCE
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int run(char **argv, double *ms, long *rss_kib)
{
    pid_t pid;
    int status;
    struct rusage ru;
    posix_spawn_file_actions_t fa;
    double t0 = now_ms();
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", 1, 0);
    if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) != 0) {
        perror(argv[0]);
        return -1;
    }
    posix_spawn_file_actions_destroy(&fa);
    if (wait4(pid, &status, 0, &ru) < 0)
        return -1;
    *ms = now_ms() - t0;
    *rss_kib = ru.ru_maxrss;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    int n, a = 0, b = 0;
    double *ta, *tb, *diff;
    long rss_a = 0, rss_b = 0;
    if (argc < 5 || strcmp(argv[2], "--") != 0) {
        fprintf(stderr, "usage: spawn-time N -- CMD_A... -- CMD_B...\n");
        return 2;
    }
    n = atoi(argv[1]);
    a = 3;
    for (int i = a; i < argc; i++)
        if (strcmp(argv[i], "--") == 0) {
            argv[i] = NULL;
            b = i + 1;
            break;
        }
    if (b == 0 || b >= argc || n < 1)
        return 2;
    ta = calloc((size_t)n, sizeof *ta);
    tb = calloc((size_t)n, sizeof *tb);
    diff = calloc((size_t)n, sizeof *diff);
    for (int i = 0; i < n; i++) {
        long r;
        int st = run(argv + a, &ta[i], &r);
        if (st != 0) {
            fprintf(stderr, "baseline command exited %d\n", st);
            return 1;
        }
        rss_a = r > rss_a ? r : rss_a;
        st = run(argv + b, &tb[i], &r);
        if (st != 0) {
            fprintf(stderr, "measured command exited %d\n", st);
            return 1;
        }
        rss_b = r > rss_b ? r : rss_b;
        diff[i] = tb[i] - ta[i];
    }
    {
        double md = median(diff, n);
        double ma = median(ta, n), mb = median(tb, n);
        printf("%-10s %10s %10s %10s %12s\n", "command", "median ms", "min ms", "max ms",
               "peak RSS KiB");
        printf("%-10s %10.3f %10.3f %10.3f %12ld\n", "baseline", ma, ta[0], ta[n - 1], rss_a);
        printf("%-10s %10.3f %10.3f %10.3f %12ld\n", "measured", mb, tb[0], tb[n - 1], rss_b);
        printf("median of pair-by-pair differences: %.3f ms over the baseline (%d pairs)\n", md, n);
        printf("RESULT over_ms=%.3f rss_kib=%ld\n", md, rss_b);
    }
    free(ta);
    free(tb);
    free(diff);
    return 0;
}
