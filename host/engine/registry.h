/* registry.h - the registry of a host's engine instances: entries looked up by name in O(1),
 * added and removed while the host runs, and listed in the order they were added. It owns no
 * entry. Not thread-safe: its owner (the host's hub) serialises access. */
#ifndef HG_REGISTRY_H
#define HG_REGISTRY_H

#include <stdint.h>

#include "entry.h"

typedef struct hg__engines hg__engines;

/* Returns 0 and *out, or HG_ENOMEM. */
int hg__engines_new(hg__engines **out);
void hg__engines_free(hg__engines *r);
/* Adds e under its instance name. Returns 0, HG_EEXIST (the name is taken), HG_ENOMEM. */
int hg__engines_add(hg__engines *r, hg__entry *e);
/* The entry named name, or NULL. O(1) on average. */
hg__entry *hg__engines_find(const hg__engines *r, const char *name);
/* Takes the entry named name out (returned; NULL when absent). The order of the others stays. */
hg__entry *hg__engines_remove(hg__engines *r, const char *name);
uint32_t hg__engines_count(const hg__engines *r);
/* The i-th entry in the order of adding (0 <= i < count). */
hg__entry *hg__engines_at(const hg__engines *r, uint32_t i);

#endif
