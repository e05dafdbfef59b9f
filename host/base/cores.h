/* cores.h - the CPU cores this process may run on. */
#ifndef HG_CORES_H
#define HG_CORES_H

#include <stdint.h>

/* 1 when this process may run on core (its affinity mask has it), else 0. [any-thread] */
int hg__core_allowed(int32_t core);

#endif
