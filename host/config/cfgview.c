/* cfgview.c - typed getters over the config tree. A wrong type or unit is recorded as
 * "FILE:LINE:COL: WHO: 'key' must be ..., got ..." at the value's position. A null value (`key:`
 * or `key: ~`) counts as absent. A quoted scalar is a string: never a number or a bool. */
#define _GNU_SOURCE
#include "cfgview.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hangar/host.h>
#include <hangar/status.h>

#include "config.h"
#include "units.h"

int hg__cfg_child(const hg__node *node, const char *key, const hg__node **out)
{
    const hg__node *v;

    if (!node)
        return HG_ENOENT;
    if (!key) {
        *out = node;
        return 0;
    }
    v = hg__node_get(node, key);
    if (!v)
        return HG_ENOENT;
    *out = v;
    return 0;
}

int hg__cfg_at(const hg__node *node, uint32_t i, const hg__node **out, const char **key_out)
{
    if (!node || node->type == HG_CFG_SCALAR || i >= node->n)
        return HG_ENOENT;
    *out = node->items[i];
    if (key_out)
        *key_out = node->type == HG_CFG_MAP ? node->keys[i]->value : NULL;
    return 0;
}

/* Records "WHO: text" at n's position. */
static int report(hg__cfgctx *ctx, const hg__node *n, const char *text)
{
    const char *file = n ? n->file : NULL;
    uint32_t line = n ? n->line : 0, col = n ? n->col : 0;

    if (ctx->who)
        hg__diag_add(ctx->diag, file, line, col, "%s: %s", ctx->who, text);
    else
        hg__diag_add(ctx->diag, file, line, col, "%s", text);
    return HG_ECONFIG;
}

/* "'key' must be WHAT, got "v"" (or "expected WHAT, got ..." for a node without a key). */
static int type_error(hg__cfgctx *ctx, const hg__node *v, const char *key, const char *what)
{
    char *text = NULL;
    const char *got_kind = v->type == HG_CFG_MAP ? "a map" : "a list";
    int n;

    if (v->type == HG_CFG_SCALAR && key)
        n = asprintf(&text, "'%s' must be %s, got \"%s\"", key, what, v->value);
    else if (v->type == HG_CFG_SCALAR)
        n = asprintf(&text, "expected %s, got \"%s\"", what, v->value);
    else if (key)
        n = asprintf(&text, "'%s' must be %s, got %s", key, what, got_kind);
    else
        n = asprintf(&text, "expected %s, got %s", what, got_kind);
    if (n < 0)
        return report(ctx, v, what);
    report(ctx, v, text);
    free(text);
    return HG_ECONFIG;
}

/* A quoted scalar that would read as WHAT without its quotes: "'key' must be WHAT without
 * quotes ("v" in quotes is a string)". */
static int quoted_error(hg__cfgctx *ctx, const hg__node *v, const char *key, const char *what)
{
    char *text = NULL;
    int n;

    if (key)
        n = asprintf(&text, "'%s' must be %s without quotes (\"%s\" in quotes is a string)", key,
                     what, v->value);
    else
        n = asprintf(&text, "expected %s without quotes (\"%s\" in quotes is a string)", what,
                     v->value);
    if (n < 0)
        return report(ctx, v, what);
    report(ctx, v, text);
    free(text);
    return HG_ECONFIG;
}

static int range_error(hg__cfgctx *ctx, const hg__node *v, const char *key)
{
    char *text = NULL;

    if (asprintf(&text, "%s%s%s\"%s\" is out of range", key ? "'" : "", key ? key : "",
                 key ? "': " : "", v->value) < 0)
        return report(ctx, v, "value out of range");
    report(ctx, v, text);
    free(text);
    return HG_ECONFIG;
}

/* The value node for key (or the node itself), or NULL when absent or null. */
static const hg__node *value_of(const hg__node *node, const char *key)
{
    const hg__node *v = NULL;

    if (hg__cfg_child(node, key, &v) != 0)
        return NULL;
    if (v->type == HG_CFG_SCALAR && v->is_null)
        return NULL;
    return v;
}

int hg__cfg_string(hg__cfgctx *ctx, const hg__node *node, const char *key, const char **out)
{
    const hg__node *v = value_of(node, key);

    if (!v)
        return HG_ENOENT;
    if (v->type != HG_CFG_SCALAR)
        return type_error(ctx, v, key, "a string");
    *out = v->value;
    return 0;
}

int hg__cfg_int(hg__cfgctx *ctx, const hg__node *node, const char *key, int64_t *out)
{
    const hg__node *v = value_of(node, key);
    int64_t x;
    int rc;

    if (!v)
        return HG_ENOENT;
    if (v->type != HG_CFG_SCALAR)
        return type_error(ctx, v, key, "an integer");
    rc = hg__parse_int(v->value, &x);
    if (v->quoted)
        return rc == 0 ? quoted_error(ctx, v, key, "an integer")
                       : type_error(ctx, v, key, "an integer");
    if (rc == HG_EOVERFLOW)
        return range_error(ctx, v, key);
    if (rc != 0)
        return type_error(ctx, v, key, "an integer");
    *out = x;
    return 0;
}

static int looks_decimal(const char *s)
{
    if (*s == '-' || *s == '+')
        s++;
    if (*s == '.')
        s++;
    return *s >= '0' && *s <= '9';
}

int hg__cfg_double(hg__cfgctx *ctx, const hg__node *node, const char *key, double *out)
{
    const hg__node *v = value_of(node, key);
    char *end = NULL;
    double x;

    if (!v)
        return HG_ENOENT;
    if (v->type != HG_CFG_SCALAR || !looks_decimal(v->value))
        return type_error(ctx, v, key, "a number");
    x = strtod(v->value, &end);
    if (*end != '\0')
        return type_error(ctx, v, key, "a number");
    if (v->quoted)
        return quoted_error(ctx, v, key, "a number");
    if (!isfinite(x))
        return range_error(ctx, v, key);
    *out = x;
    return 0;
}

int hg__cfg_bool(hg__cfgctx *ctx, const hg__node *node, const char *key, uint8_t *out)
{
    const hg__node *v = value_of(node, key);
    uint8_t b;

    if (!v)
        return HG_ENOENT;
    if (v->type != HG_CFG_SCALAR || hg__parse_bool(v->value, &b) != 0)
        return type_error(ctx, v, key, "true or false");
    if (v->quoted)
        return quoted_error(ctx, v, key, "true or false");
    *out = b;
    return 0;
}

/* Sizes and durations are text with a unit, so a quoted "64B" is as good as a plain one. */
static int unit_error(hg__cfgctx *ctx, const hg__node *v, const char *key, const char *kind,
                      const char *units, int rc)
{
    char *text = NULL;
    int n;

    if (v->type != HG_CFG_SCALAR)
        return type_error(ctx, v, key, kind[0] == 's' ? "a size" : "a duration");
    if (rc == HG_EOVERFLOW)
        n = asprintf(&text, "%s%s%s%s \"%s\" is too large", key ? "'" : "", key ? key : "",
                     key ? "': " : "", kind, v->value);
    else if (v->value[0] == '-')
        n = asprintf(&text, "%s%s%s%s \"%s\" must not be negative", key ? "'" : "",
                     key ? key : "", key ? "': " : "", kind, v->value);
    else
        n = asprintf(&text, "%s%s%sbad %s \"%s\" (use %s)", key ? "'" : "", key ? key : "",
                     key ? "': " : "", kind, v->value, units);
    if (n < 0)
        return report(ctx, v, kind);
    report(ctx, v, text);
    free(text);
    return HG_ECONFIG;
}

int hg__cfg_size(hg__cfgctx *ctx, const hg__node *node, const char *key, uint64_t *out)
{
    const hg__node *v = value_of(node, key);
    uint64_t x = 0;
    int rc = HG_EINVAL;

    if (!v)
        return HG_ENOENT;
    if (v->type == HG_CFG_SCALAR)
        rc = hg__parse_size(v->value, &x);
    if (rc != 0)
        return unit_error(ctx, v, key, "size", "B, KiB, MiB, GiB, kB, MB, GB", rc);
    *out = x;
    return 0;
}

int hg__cfg_duration(hg__cfgctx *ctx, const hg__node *node, const char *key, uint64_t *out)
{
    const hg__node *v = value_of(node, key);
    uint64_t x = 0;
    int rc = HG_EINVAL;

    if (!v)
        return HG_ENOENT;
    if (v->type == HG_CFG_SCALAR)
        rc = hg__parse_duration(v->value, &x);
    if (rc != 0)
        return unit_error(ctx, v, key, "duration", "ns, us, ms, s, m, h", rc);
    *out = x;
    return 0;
}

int hg__cfg_error(hg__cfgctx *ctx, const hg__node *node, const char *key, const char *msg)
{
    const hg__node *v = NULL;

    if (key && hg__cfg_child(node, key, &v) == 0)
        return report(ctx, v, msg);
    return report(ctx, node, msg);
}

static uint32_t count_list(const char *const *l)
{
    uint32_t n = 0;

    while (l && l[n])
        n++;
    return n;
}

static int in_list(const char *const *l, const char *s)
{
    for (uint32_t i = 0; l && l[i]; i++)
        if (strcmp(l[i], s) == 0)
            return 1;
    return 0;
}

static void unknown_key(hg__cfgctx *ctx, const hg__node *k, const char *const *all, uint32_t n)
{
    const char *near = hg__did_you_mean(k->value, all, n);
    char *text = NULL;
    int rc;

    if (near)
        rc = asprintf(&text, "unknown key '%s' (did you mean '%s'?)", k->value, near);
    else
        rc = asprintf(&text, "unknown key '%s'", k->value);
    if (rc < 0) {
        report(ctx, k, "unknown key");
        return;
    }
    report(ctx, k, text);
    free(text);
}

int hg__cfg_check_keys(hg__cfgctx *ctx, const hg__node *node, const char *const *allowed1,
                       const char *const *allowed2)
{
    uint32_t n1 = count_list(allowed1), n2 = count_list(allowed2);
    const char **all;
    int rc = 0;

    if (!node || node->type != HG_CFG_MAP)
        return 0;
    all = malloc((n1 + n2 + 1) * sizeof(*all));
    if (!all)
        return HG_ENOMEM;
    for (uint32_t i = 0; i < n1; i++)
        all[i] = allowed1[i];
    for (uint32_t i = 0; i < n2; i++)
        all[n1 + i] = allowed2[i];
    for (uint32_t i = 0; i < node->n; i++) {
        const hg__node *k = node->keys[i];
        if (k->type != HG_CFG_SCALAR || in_list(allowed1, k->value) ||
            in_list(allowed2, k->value))
            continue;
        unknown_key(ctx, k, all, n1 + n2);
        rc = HG_ECONFIG;
    }
    free(all);
    return rc;
}
