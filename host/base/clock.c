/* clock.c - the monotonic clock in nanoseconds and deadlines built from it. */
#include "clock.h"

uint64_t hg__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct timespec hg__timespec_of(uint64_t ns)
{
    struct timespec ts;
    ts.tv_sec = (time_t)(ns / 1000000000u);
    ts.tv_nsec = (long)(ns % 1000000000u);
    return ts;
}

struct timespec hg__deadline_after(uint64_t ns)
{
    return hg__timespec_of(hg__now_ns() + ns);
}
