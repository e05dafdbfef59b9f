/* registry.c - engine instances by name: an open-addressing hash table (linear probing, FNV-1a,
 * load kept under 1/2, tombstones reclaimed on growth) beside an array in the order of adding. */
#include <stdlib.h>
#include <string.h>

#include "registry.h"

#define TOMB ((hg__entry *)(uintptr_t)1)

struct hg__engines {
    hg__entry **slots; /* NULL: empty; TOMB: removed */
    uint32_t cap;      /* power of two */
    uint32_t used;     /* live + tombstones */
    hg__entry **list;  /* the order of adding */
    uint32_t n, list_cap;
};

static uint32_t hash(const char *s)
{
    uint32_t h = 2166136261u;
    while (*s)
        h = (h ^ (uint8_t)*s++) * 16777619u;
    return h;
}

static const char *key_of(const hg__entry *e)
{
    return hg__inst_name(e->in);
}

int hg__engines_new(hg__engines **out)
{
    hg__engines *r = calloc(1, sizeof *r);
    if (r == NULL)
        return HG_ENOMEM;
    r->cap = 16;
    r->slots = calloc(r->cap, sizeof *r->slots);
    if (r->slots == NULL) {
        free(r);
        return HG_ENOMEM;
    }
    *out = r;
    return 0;
}

void hg__engines_free(hg__engines *r)
{
    if (r == NULL)
        return;
    free(r->slots);
    free(r->list);
    free(r);
}

/* The slot holding name, or the first free one its probe met (a tombstone or an empty slot). */
static uint32_t probe(const hg__engines *r, const char *name, int *found)
{
    uint32_t mask = r->cap - 1, i = hash(name) & mask, free_at = UINT32_MAX;
    *found = 0;
    for (;; i = (i + 1) & mask) {
        hg__entry *s = r->slots[i];
        if (s == NULL)
            return free_at != UINT32_MAX ? free_at : i;
        if (s == TOMB) {
            if (free_at == UINT32_MAX)
                free_at = i;
        } else if (strcmp(key_of(s), name) == 0) {
            *found = 1;
            return i;
        }
    }
}

static int grow(hg__engines *r)
{
    uint32_t cap = r->cap;
    hg__entry **old = r->slots;
    /* Only live entries move: a table full of tombstones is rebuilt at the same size. */
    if ((r->n + 1) * 2 > cap)
        cap *= 2;
    r->slots = calloc(cap, sizeof *r->slots);
    if (r->slots == NULL) {
        r->slots = old;
        return HG_ENOMEM;
    }
    r->cap = cap;
    r->used = r->n;
    for (uint32_t i = 0; i < r->n; i++) {
        int found;
        r->slots[probe(r, key_of(r->list[i]), &found)] = r->list[i];
    }
    free(old);
    return 0;
}

int hg__engines_add(hg__engines *r, hg__entry *e)
{
    int found;
    uint32_t at;
    if ((r->used + 1) * 2 > r->cap && grow(r) != 0)
        return HG_ENOMEM;
    at = probe(r, key_of(e), &found);
    if (found)
        return HG_EEXIST;
    if (r->n == r->list_cap) {
        uint32_t nc = r->list_cap ? r->list_cap * 2 : 16;
        hg__entry **nl = realloc(r->list, nc * sizeof *nl);
        if (nl == NULL)
            return HG_ENOMEM;
        r->list = nl;
        r->list_cap = nc;
    }
    if (r->slots[at] == NULL)
        r->used++;
    r->slots[at] = e;
    r->list[r->n++] = e;
    return 0;
}

hg__entry *hg__engines_find(const hg__engines *r, const char *name)
{
    int found;
    uint32_t at = probe(r, name, &found);
    return found ? r->slots[at] : NULL;
}

hg__entry *hg__engines_remove(hg__engines *r, const char *name)
{
    int found;
    uint32_t at = probe(r, name, &found);
    hg__entry *e;
    if (!found)
        return NULL;
    e = r->slots[at];
    r->slots[at] = TOMB;
    for (uint32_t i = 0; i < r->n; i++) {
        if (r->list[i] == e) {
            memmove(&r->list[i], &r->list[i + 1], (r->n - i - 1) * sizeof *r->list);
            r->n--;
            break;
        }
    }
    return e;
}

uint32_t hg__engines_count(const hg__engines *r)
{
    return r->n;
}

hg__entry *hg__engines_at(const hg__engines *r, uint32_t i)
{
    return i < r->n ? r->list[i] : NULL;
}
