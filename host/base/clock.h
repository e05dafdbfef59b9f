/* clock.h - the monotonic clock every part of the host reads (CLOCK_MONOTONIC), in nanoseconds,
 * and absolute deadlines for pthread_cond_timedwait on a CLOCK_MONOTONIC condition variable. */
#ifndef HG_CLOCK_H
#define HG_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Now, in ns since an arbitrary point (CLOCK_MONOTONIC). [any-thread, never blocks] */
uint64_t hg__now_ns(void);
/* The monotonic time ns from now, as a timespec for pthread_cond_timedwait. [any-thread] */
struct timespec hg__deadline_after(uint64_t ns);
/* A monotonic time in ns as a timespec. [any-thread] */
struct timespec hg__timespec_of(uint64_t ns);

#endif
