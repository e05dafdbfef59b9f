/* cores.c - which CPU cores this process may run on (sched_getaffinity), for config checks and
 * core policies. */
#define _GNU_SOURCE
#include <sched.h>

#include "cores.h"

int hg__core_allowed(int32_t core)
{
    cpu_set_t set;
    if (core < 0 || core >= CPU_SETSIZE)
        return 0;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return 0;
    return CPU_ISSET(core, &set) != 0;
}
