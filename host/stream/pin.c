/* pin.c - core policies of stream threads: a specific core, round-robin over a list, or the
 * allowed core (sched_getaffinity) running the fewest stream threads now. */
#define _GNU_SOURCE
#include <sched.h>

#include "stream.h"

#define MAX_CORES 1024

static uint32_t load[MAX_CORES]; /* stream threads pinned per core (atomics) */

static int32_t least_loaded(void)
{
    cpu_set_t set;
    int32_t best = HG_CORE_ANY;
    uint32_t best_load = UINT32_MAX;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return HG_CORE_ANY;
    for (int32_t c = 0; c < MAX_CORES && c < CPU_SETSIZE; c++) {
        uint32_t l;
        if (!CPU_ISSET(c, &set))
            continue;
        l = __atomic_load_n(&load[c], __ATOMIC_RELAXED);
        if (l < best_load) {
            best = c;
            best_load = l;
        }
    }
    return best;
}

int32_t hg__pin_get(int32_t policy, const int32_t *cores, uint32_t n_cores, uint32_t *rr)
{
    int32_t c = HG_CORE_ANY;
    if (policy >= 0)
        c = policy;
    else if (policy == HG__CORE_ROUND_ROBIN && n_cores > 0)
        c = cores[__atomic_fetch_add(rr, 1, __ATOMIC_RELAXED) % n_cores];
    else if (policy == HG__CORE_LEAST_LOADED)
        c = least_loaded();
    if (c >= 0 && c < MAX_CORES)
        __atomic_fetch_add(&load[c], 1, __ATOMIC_RELAXED);
    return c >= 0 && c < MAX_CORES ? c : HG_CORE_ANY;
}

void hg__pin_put(int32_t core)
{
    if (core >= 0 && core < MAX_CORES)
        __atomic_fetch_sub(&load[core], 1, __ATOMIC_RELAXED);
}

uint32_t hg__pin_load(int32_t core)
{
    return core >= 0 && core < MAX_CORES ? __atomic_load_n(&load[core], __ATOMIC_RELAXED) : 0;
}
