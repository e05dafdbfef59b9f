/* cfgview.h - the typed getters behind hg_host's cfg_* services: read a node of the tree, report
 * a wrong type or unit as "FILE:LINE:COL: WHO: message" into a diag list. instance.c wraps these
 * into the hg_host table; the host's own schema (config.c) uses them too. hg_config pointers
 * handed to plugins are hg__node pointers. */
#ifndef HG_CFGVIEW_H
#define HG_CFGVIEW_H

#include <stdint.h>

#include "cfgtree.h"
#include "diag.h"

typedef struct hg__cfgctx {
    hg__diag *diag;   /* where errors go; may be shared, so guard it if several threads report */
    const char *who;  /* prefix of messages ("echo"); may be NULL */
} hg__cfgctx;

/* Each returns 0 (*out set), HG_ENOENT (key absent or node NULL; *out untouched), HG_ECONFIG
 * (wrong type/unit, recorded in ctx->diag with the value's position). key NULL: the node itself. */
int hg__cfg_child(const hg__node *node, const char *key, const hg__node **out);
int hg__cfg_at(const hg__node *node, uint32_t i, const hg__node **out, const char **key_out);
int hg__cfg_string(hg__cfgctx *ctx, const hg__node *node, const char *key, const char **out);
int hg__cfg_int(hg__cfgctx *ctx, const hg__node *node, const char *key, int64_t *out);
int hg__cfg_double(hg__cfgctx *ctx, const hg__node *node, const char *key, double *out);
int hg__cfg_bool(hg__cfgctx *ctx, const hg__node *node, const char *key, uint8_t *out);
int hg__cfg_size(hg__cfgctx *ctx, const hg__node *node, const char *key, uint64_t *out);
int hg__cfg_duration(hg__cfgctx *ctx, const hg__node *node, const char *key, uint64_t *out);
/* Records "FILE:LINE:COL: WHO: msg" at the key's value (or the node) and returns HG_ECONFIG. */
int hg__cfg_error(hg__cfgctx *ctx, const hg__node *node, const char *key, const char *msg);
/* Rejects keys of map `node` that are in neither list (NULL-terminated; either may be NULL),
 * each with a "did you mean" when one is close. Returns 0 or HG_ECONFIG. */
int hg__cfg_check_keys(hg__cfgctx *ctx, const hg__node *node, const char *const *allowed1,
                       const char *const *allowed2);

#endif
