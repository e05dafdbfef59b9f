/* cfgtree.h - a YAML document read with libyaml into a tree of nodes that keep their positions,
 * with limits on file size, nesting depth and alias expansion. The hg_config view (cfgview.c)
 * and the schema (config.c) read this tree. */
#ifndef HG_CFGTREE_H
#define HG_CFGTREE_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"

/* Node types are the SDK's HG_CFG_SCALAR / HG_CFG_MAP / HG_CFG_SEQ. */
typedef struct hg__node hg__node;
struct hg__node {
    uint32_t type;
    uint32_t line, col;   /* 1-based position of the node's start */
    const char *file;     /* shared, owned by the tree's root document */
    char *value;          /* scalars: the text (NUL-terminated); NULL otherwise */
    uint8_t quoted;       /* scalars: written in quotes (so never a number/bool) */
    uint8_t is_null;      /* scalars: empty/~/null plain scalar */
    uint32_t n;           /* map: pairs; seq: items */
    hg__node **keys;      /* map: n key scalars */
    hg__node **items;     /* map: n values; seq: n items */
    void *view;           /* cfgview.c's per-node extra state; NULL until used */
};

typedef struct hg__cfg_limits {
    uint64_t max_file_bytes;  /* default 1 MiB */
    uint32_t max_depth;       /* default 64 */
    uint32_t max_alias_nodes; /* nodes produced by alias expansion; default 10000 */
} hg__cfg_limits;

#define HG__CFG_LIMITS_DEFAULT { 1u << 20, 64, 10000 }

typedef struct hg__doc {
    char *file;       /* the name used in messages */
    hg__node *root;   /* NULL for an empty document */
} hg__doc;

/* Reads a file. Every problem goes into d with its position; returns 0, HG_ECONFIG, HG_ENOMEM.
 * A missing file, a directory, an unreadable file or one over the size limit is HG_ECONFIG too,
 * with a message naming the file. */
int hg__doc_load_file(const char *path, const hg__cfg_limits *lim, hg__doc **out, hg__diag *d);
/* Reads text; name is used in messages ("<inline>"). */
int hg__doc_load_string(const char *name, const char *text, size_t len, const hg__cfg_limits *lim,
                        hg__doc **out, hg__diag *d);
/* Flags of hg__doc_read. */
enum { HG__DOC_KEEP_TREE = 1 };
/* The common reader behind the two above: path != NULL reads that file (text/len ignored), else
 * text is read under the name `name`. With HG__DOC_KEEP_TREE, a well-formed document whose only
 * problems are tree-level (duplicate keys, non-scalar keys) still comes back in *out together
 * with HG_ECONFIG, so the caller can check and report the rest of the file too; it must free it.
 * Without the flag, *out is set only on success. */
int hg__doc_read(const char *path, const char *name, const char *text, size_t len,
                 const hg__cfg_limits *lim, uint32_t flags, hg__doc **out, hg__diag *d);
void hg__doc_free(hg__doc *doc);
/* A new empty node of type HG_CFG_* (a scalar gets a copy of value, NULL meaning a null scalar),
 * file NULL and position 0, for trees the host builds itself. NULL on OOM. */
hg__node *hg__node_new(uint32_t type, const char *value);
/* Appends a pair to a map or (key NULL) an item to a sequence; takes ownership on success.
 * Returns 0 or HG_ENOMEM. */
int hg__node_append(hg__node *parent, hg__node *key, hg__node *value);
/* Frees a node and everything below it (for nodes detached from a document). */
void hg__node_free(hg__node *node);

/* The value of key in a map, or NULL. */
hg__node *hg__node_get(const hg__node *map, const char *key);
/* The key node of key in a map (for positions), or NULL. */
hg__node *hg__node_key(const hg__node *map, const char *key);
/* 1 when a and b say the same thing, wherever they were written: the same type, scalars with the
 * same text (quoted or not alike, null alike), sequences item by item, maps with the same keys
 * in any order each holding an equal value. Two NULLs are equal. [any-thread] */
int hg__node_equal(const hg__node *a, const hg__node *b);
/* A new node tree from a JSON text (for `call NAME JSON` arguments); positions are 0.
 * Returns 0, HG_EINVAL (not JSON; message in d). */
int hg__doc_from_json(const char *json, hg__doc **out, hg__diag *d);

#endif
