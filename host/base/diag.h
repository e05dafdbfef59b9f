/* diag.h - a list of diagnostics ("FILE:LINE:COL: message"), collected so that every error of a
 * file is reported at once. */
#ifndef HG_DIAG_H
#define HG_DIAG_H

#include <stdint.h>
#include <stdio.h>

typedef struct hg__diag_item {
    char *file;    /* may be NULL (no position) */
    uint32_t line; /* 1-based; 0: none */
    uint32_t col;  /* 1-based; 0: none */
    char *msg;
} hg__diag_item;

typedef struct hg__diag {
    hg__diag_item *items;
    uint32_t n;
    uint32_t cap;
} hg__diag;

void hg__diag_init(hg__diag *d);
void hg__diag_free(hg__diag *d);
/* Appends one item; file may be NULL, line/col 0 when unknown. */
void hg__diag_add(hg__diag *d, const char *file, uint32_t line, uint32_t col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Formats item i as "FILE:LINE:COL: msg" (or "FILE: msg", or "msg") into a new string. */
char *hg__diag_format(const hg__diag *d, uint32_t i);
/* Orders the items by file (in the order files first appear), then line and column; items of
 * one position keep their order. */
void hg__diag_sort(hg__diag *d);
/* Prints every item, one per line, to f. */
void hg__diag_print(const hg__diag *d, FILE *f);

#endif
