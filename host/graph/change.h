/* change.h - a graph change as read from its YAML ({add, remove, link, unlink}), before and
 * after validation against the live graph (graph.c). */
#ifndef HG_CHANGE_H
#define HG_CHANGE_H

#include <stdint.h>

#include "cfgtree.h"
#include "diag.h"
#include "graph.h"

struct hg_proc;
struct hg__edge;

typedef struct hg__chg_add {
    const hg__node *item;
    const char *name, *engine;   /* borrowed from item */
    uint32_t mode;               /* HG__MODE_*; 0: the default (reactive) */
    uint64_t interval_ns;        /* manual mode's timer; 0: none */
    uint64_t spin_ns;            /* `spin:` look for input this long before sleeping */
    int32_t core;
    hg__proc_def def;            /* resolved */
    uint8_t resolved;
    struct hg_proc *p;           /* created in the apply */
} hg__chg_add;

typedef struct hg__chg_rm {
    const hg__node *item;
    const char *name;
    struct hg_proc *p;           /* resolved */
} hg__chg_rm;

typedef struct hg__chg_link {
    const hg__node *item;
    char *fn, *fp, *tn, *tp;     /* from node/port, to node/port */
    uint32_t capacity, policy;
    uint8_t bad;                 /* malformed: not checked further */
    /* resolved: an existing processor or an added one (then add index + 1) */
    struct hg_proc *from, *to;
    uint32_t from_add, to_add;
    int fport, tport;
    struct hg__edge *e;          /* unlink: the edge */
} hg__chg_link;

typedef struct hg__change {
    hg__doc *doc;                /* owned when the change came as text */
    hg__diag d;
    hg__chg_add *add;
    uint32_t n_add;
    hg__chg_rm *rm;
    uint32_t n_rm;
    hg__chg_link *link;
    uint32_t n_link;
    hg__chg_link *un;
    uint32_t n_un;
} hg__change;

/* Reads root into c (zeroed, d initialized by the caller). Returns 0, HG_ECONFIG (c->d). */
int hg__change_read(hg__change *c, const hg__node *root);
void hg__change_free(hg__change *c);

#endif
