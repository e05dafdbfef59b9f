/* fdlimit.c - makes sure the process may open as many file descriptors as a tcp engine's
 * configuration asks for: the soft RLIMIT_NOFILE is raised (up to the hard limit) when it is too
 * low, and a configuration that needs more than the hard limit is refused, naming the limit. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "tcp.h"

/* The descriptors the process holds now; 0 when /proc cannot tell. */
static uint64_t fds_open(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    uint64_t n = 0;
    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n > 0 ? n - 1 : 0; /* the directory's own descriptor */
}

/* limit is the one that stops us: the hard limit (the soft one would have been raised to it),
 * or the soft one when raising it failed (why: the errno text). */
static int refuse(const hg_host *h, const hg_config *cfg, const char *key, uint64_t fds,
                  uint64_t need, uint64_t limit, const char *why)
{
    char msg[360];
    if (why == NULL)
        snprintf(msg, sizeof msg, "'%s' needs %llu file descriptors, %llu with the %llu in use "
                 "and %u spare, over this process's hard open-file limit of %llu: lower it, or "
                 "raise the hard limit (ulimit -Hn)", key, (unsigned long long)fds,
                 (unsigned long long)need, (unsigned long long)(need - fds - TCP_FD_SPARE),
                 TCP_FD_SPARE, (unsigned long long)limit);
    else
        snprintf(msg, sizeof msg, "'%s' needs %llu file descriptors, %llu with the %llu in use "
                 "and %u spare, over this process's open-file limit of %llu, which could not be "
                 "raised (%s): lower it, or raise the limit (ulimit -n)", key,
                 (unsigned long long)fds, (unsigned long long)need,
                 (unsigned long long)(need - fds - TCP_FD_SPARE), TCP_FD_SPARE,
                 (unsigned long long)limit, why);
    return h->cfg_error(h, cfg, key, msg);
}

int hg__tcp_fd_reserve(const hg_host *h, const hg_config *cfg, const char *key, uint64_t fds)
{
    struct rlimit lim, raised;
    uint64_t need = fds_open() + fds + TCP_FD_SPARE;
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur == RLIM_INFINITY ||
        need <= (uint64_t)lim.rlim_cur)
        return 0;
    if (lim.rlim_max != RLIM_INFINITY && need > (uint64_t)lim.rlim_max)
        return refuse(h, cfg, key, fds, need, (uint64_t)lim.rlim_max, NULL);
    raised = lim;
    raised.rlim_cur = lim.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) != 0) {
        raised.rlim_cur = (rlim_t)need; /* a hard limit of "unlimited" is above the kernel's */
        if (setrlimit(RLIMIT_NOFILE, &raised) != 0)
            return refuse(h, cfg, key, fds, need, (uint64_t)lim.rlim_cur, strerror(errno));
    }
    hg_logf(h, HG_LOG_INFO, "raised the open-file limit from %llu to %llu for '%s' (%llu "
            "file descriptors)", (unsigned long long)lim.rlim_cur,
            (unsigned long long)raised.rlim_cur, key, (unsigned long long)fds);
    return 0;
}
