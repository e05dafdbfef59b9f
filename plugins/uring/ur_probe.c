/* ur_probe.c - whether this process may use io_uring at all: a tiny ring is set up and torn
 * down, and a refusal is explained (no io_uring in the kernel, a seccomp filter or container
 * policy, the io_uring_disabled sysctl), so create can refuse the mode plainly. */
#define _GNU_SOURCE
#include "ur.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* The value of /proc/sys/kernel/io_uring_disabled (0 when the file is missing). */
static int disabled_sysctl(void)
{
    FILE *f = fopen("/proc/sys/kernel/io_uring_disabled", "r");
    int v = 0;

    if (!f)
        return 0;
    if (fscanf(f, "%d", &v) != 1)
        v = 0;
    fclose(f);
    return v;
}

int ur_probe(char *why, size_t cap)
{
    struct io_uring ring;
    int rc = io_uring_queue_init(2, &ring, 0), sys;

    if (rc == 0) {
        io_uring_queue_exit(&ring);
        return 0;
    }
    sys = disabled_sysctl();
    if (sys != 0)
        snprintf(why, cap, "io_uring is disabled on this machine (/proc/sys/kernel/"
                 "io_uring_disabled is %d; io_uring_setup: %s)", sys, strerror(-rc));
    else if (rc == -ENOSYS)
        snprintf(why, cap, "this kernel has no io_uring (io_uring_setup: %s)", strerror(-rc));
    else if (rc == -EPERM || rc == -EACCES)
        snprintf(why, cap, "io_uring is refused to this process, by a seccomp filter or a "
                 "container policy (io_uring_setup: %s)", strerror(-rc));
    else
        snprintf(why, cap, "io_uring cannot be set up (io_uring_setup: %s)", strerror(-rc));
    return rc;
}
