/* tap.h - a small TAP 13 producer for the C unit tests: plan, ok, is_int, is_str, diag,
 * done_testing. Failing checks print file:line and got/expected as diagnostics. */
#ifndef HG_TAP_H
#define HG_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed, tap_planned = -1;

static inline void tap_plan(int n)
{
    tap_planned = n;
    printf("TAP version 13\n1..%d\n", n);
    fflush(stdout);
}

static inline void tap_diag(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("# ", stdout);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
    fflush(stdout);
}

static inline int tap_ok_at(int cond, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    tap_n++;
    printf("%sok %d - ", cond ? "" : "not ", tap_n);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    if (!cond) {
        tap_failed++;
        printf("#   Failed test at %s:%d\n", file, line);
    }
    fflush(stdout);
    return cond;
}

#define ok(cond, ...) tap_ok_at(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

#define is_int(got, want, ...)                                                              \
    do {                                                                                    \
        long long tap_g_ = (long long)(got), tap_w_ = (long long)(want);                    \
        if (!tap_ok_at(tap_g_ == tap_w_, __FILE__, __LINE__, __VA_ARGS__))                  \
            printf("#          got: %lld\n#     expected: %lld\n", tap_g_, tap_w_);         \
    } while (0)

#define is_str(got, want, ...)                                                              \
    do {                                                                                    \
        const char *tap_g_ = (got), *tap_w_ = (want);                                       \
        int tap_c_ = (tap_g_ && tap_w_) ? strcmp(tap_g_, tap_w_) == 0 : tap_g_ == tap_w_;   \
        if (!tap_ok_at(tap_c_, __FILE__, __LINE__, __VA_ARGS__))                            \
            printf("#          got: '%s'\n#     expected: '%s'\n", tap_g_ ? tap_g_ : "(null)", \
                   tap_w_ ? tap_w_ : "(null)");                                             \
    } while (0)

#define like_str(got, needle, ...)                                                          \
    do {                                                                                    \
        const char *tap_g_ = (got), *tap_w_ = (needle);                                     \
        if (!tap_ok_at(tap_g_ && strstr(tap_g_, tap_w_) != NULL, __FILE__, __LINE__,        \
                       __VA_ARGS__))                                                        \
            printf("#          got: '%s'\n#  to contain: '%s'\n", tap_g_ ? tap_g_ : "(null)", \
                   tap_w_);                                                                 \
    } while (0)

/* Prints the plan if none was given and returns the process exit status. */
static inline int tap_done(void)
{
    if (tap_planned < 0)
        printf("1..%d\n", tap_n);
    else if (tap_planned != tap_n)
        printf("# planned %d tests but ran %d\n", tap_planned, tap_n);
    fflush(stdout);
    return (tap_failed || (tap_planned >= 0 && tap_planned != tap_n)) ? 1 : 0;
}

#endif
