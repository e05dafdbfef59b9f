/* diag.c - a growing list of "FILE:LINE:COL: message" diagnostics, so that every error of a
 * configuration file can be reported at once. */
#define _GNU_SOURCE
#include "diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void hg__diag_init(hg__diag *d)
{
    d->items = NULL;
    d->n = 0;
    d->cap = 0;
}

void hg__diag_free(hg__diag *d)
{
    for (uint32_t i = 0; i < d->n; i++) {
        free(d->items[i].file);
        free(d->items[i].msg);
    }
    free(d->items);
    hg__diag_init(d);
}

static int grow(hg__diag *d)
{
    uint32_t cap = d->cap ? d->cap * 2 : 8;
    hg__diag_item *items = realloc(d->items, (size_t)cap * sizeof(*items));
    if (!items)
        return -1;
    d->items = items;
    d->cap = cap;
    return 0;
}

/* Out of memory while reporting: the item is dropped; the caller's status still says "error". */
void hg__diag_add(hg__diag *d, const char *file, uint32_t line, uint32_t col, const char *fmt, ...)
{
    va_list ap;
    char *msg = NULL;
    char *fcopy = NULL;
    int n;

    if (d->n == d->cap && grow(d) != 0)
        return;
    va_start(ap, fmt);
    n = vasprintf(&msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (file) {
        fcopy = strdup(file);
        if (!fcopy) {
            free(msg);
            return;
        }
    }
    d->items[d->n].file = fcopy;
    d->items[d->n].line = line;
    d->items[d->n].col = col;
    d->items[d->n].msg = msg;
    d->n++;
}

char *hg__diag_format(const hg__diag *d, uint32_t i)
{
    const hg__diag_item *it;
    char *s = NULL;
    int n;

    if (i >= d->n)
        return NULL;
    it = &d->items[i];
    if (it->file && it->line > 0)
        n = asprintf(&s, "%s:%u:%u: %s", it->file, it->line, it->col, it->msg);
    else if (it->file)
        n = asprintf(&s, "%s: %s", it->file, it->msg);
    else
        n = asprintf(&s, "%s", it->msg);
    return n < 0 ? NULL : s;
}

void hg__diag_print(const hg__diag *d, FILE *f)
{
    for (uint32_t i = 0; i < d->n; i++) {
        char *s = hg__diag_format(d, i);
        if (s) {
            fprintf(f, "%s\n", s);
            free(s);
        } else {
            fprintf(f, "%s\n", d->items[i].msg);
        }
    }
}

/* Sort key of an item: the rank of its file (first appearance; an item without a file ranks by
 * its own place), then line and column, then its place (so the sort is stable). */
typedef struct sort_key {
    uint32_t rank, line, col, idx;
} sort_key;

static int key_cmp(const void *a, const void *b)
{
    const sort_key *x = a, *y = b;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    if (x->col != y->col)
        return x->col < y->col ? -1 : 1;
    return x->idx < y->idx ? -1 : (x->idx > y->idx);
}

static uint32_t file_rank(const hg__diag *d, uint32_t i)
{
    if (d->items[i].file == NULL)
        return i;
    for (uint32_t j = 0; j < i; j++)
        if (d->items[j].file && strcmp(d->items[j].file, d->items[i].file) == 0)
            return j;
    return i;
}

void hg__diag_sort(hg__diag *d)
{
    sort_key *k;
    hg__diag_item *items;

    if (d->n < 2)
        return;
    k = malloc(d->n * sizeof *k);
    items = malloc(d->n * sizeof *items);
    if (k == NULL || items == NULL)
        goto out; /* unsorted is still every error */
    for (uint32_t i = 0; i < d->n; i++)
        k[i] = (sort_key){file_rank(d, i), d->items[i].line, d->items[i].col, i};
    qsort(k, d->n, sizeof *k, key_cmp);
    for (uint32_t i = 0; i < d->n; i++)
        items[i] = d->items[k[i].idx];
    memcpy(d->items, items, d->n * sizeof *items);
out:
    free(k);
    free(items);
}
