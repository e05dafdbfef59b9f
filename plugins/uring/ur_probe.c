/* ur_probe.c - whether this process may use io_uring at all: a tiny ring is set up and torn
 * down, and a refusal is explained (no io_uring in the kernel, a seccomp filter or container
 * policy, the io_uring_disabled sysctl), so create can refuse the mode plainly. */
#define _GNU_SOURCE
#include "ur.h"

#include <errno.h>
#include <pthread.h>
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

typedef struct own_job {
    int (*fn)(struct io_uring *ring);
    struct io_uring *ring;
    int rc;
} own_job;

static void *own_main(void *arg)
{
    own_job *j = arg;

    j->rc = j->fn(j->ring);
    return NULL;
}

int ur_on_own_thread(int (*fn)(struct io_uring *ring), struct io_uring *ring)
{
    own_job j = { fn, ring, 0 };
    pthread_t t;
    int err = pthread_create(&t, NULL, own_main, &j);

    if (err != 0)
        return -err;
    pthread_join(t, NULL);
    return j.rc;
}

/* A ring of two entries, set up and torn down at once. */
static int tiny_ring(struct io_uring *ring)
{
    int rc = io_uring_queue_init(2, ring, 0);

    if (rc == 0)
        io_uring_queue_exit(ring);
    return rc;
}

int ur_probe(char *why, size_t cap)
{
    struct io_uring ring;
    int rc = ur_on_own_thread(tiny_ring, &ring), sys;

    if (rc == 0)
        return 0;
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
