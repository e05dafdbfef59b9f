/* config_set.c - the `--set PATH=VALUE` overrides: reads the value as YAML and grafts it into the
 * config tree at PATH (map keys, list indexes or item names), before the schema check. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hangar/host.h>
#include <hangar/status.h>

#include "config_priv.h"
#include "units.h"


static void unposition(hg__node *n)
{
    n->line = n->col = 0;
    for (uint32_t i = 0; i < n->n; i++) {
        if (n->keys)
            unposition(n->keys[i]);
        unposition(n->items[i]);
    }
}

/* 1 when seg is a list index ("0", "12"; no sign), with its value in *i. */
static int is_index(const char *seg, int64_t *i)
{
    return seg[0] >= '0' && seg[0] <= '9' && hg__parse_int(seg, i) == 0;
}

/* The index of seq item `seg` (an index within the list, or an item's `name:`), or -1. */
static int64_t seq_index(const hg__node *seq, const char *seg)
{
    int64_t i;

    if (is_index(seg, &i) && i < (int64_t)seq->n)
        return i;
    for (uint32_t j = 0; j < seq->n; j++) {
        const hg__node *name = hg__node_get(seq->items[j], "name");
        if (name && name->type == HG_CFG_SCALAR && strcmp(name->value, seg) == 0)
            return j;
    }
    return -1;
}

/* "--set PATH: no item named 'x' in 'pipelines'", saying so when x reads as an index too. */
static void no_item(hg__diag *d, const char *file, const char *name, int prefix,
                    const char *path, uint32_t n)
{
    int64_t i;

    if (is_index(name, &i))
        hg__diag_add(d, NULL, 0, 0, "%s: no item named '%s' in '%.*s', and index %s is past "
                     "its end (%u item%s)", file, name, prefix, path, name, n, n == 1 ? "" : "s");
    else
        hg__diag_add(d, NULL, 0, 0, "%s: no item named '%s' in '%.*s'", file, name, prefix,
                     path);
}

static int64_t map_index(const hg__node *map, const char *seg)
{
    for (uint32_t j = 0; j < map->n; j++)
        if (map->keys[j]->type == HG_CFG_SCALAR && strcmp(map->keys[j]->value, seg) == 0)
            return j;
    return -1;
}

/* Adds key seg to map with value v (a new empty map when v is NULL). Returns the value node. */
static hg__node *map_add(hg__node *map, const char *seg, const char *file, hg__node *v)
{
    hg__node *k = hg__node_new(HG_CFG_SCALAR, seg);
    hg__node *val = v ? v : hg__node_new(HG_CFG_MAP, NULL);

    if (!k || !val || hg__node_append(map, k, val) != 0) {
        hg__node_free(k);
        if (!v)
            hg__node_free(val);
        return NULL;
    }
    k->file = file;
    if (!v)
        val->file = file;
    return val;
}

/* Walks `path` in doc and puts v there (owned by the tree on 0). Returns 0, HG_ECONFIG
 * (reported as "--set PATH: ...") or HG_ENOMEM. */
static int graft(hg__doc *doc, const char *path, const char *file, hg__node *v, hg__diag *d)
{
    hg__node *cur = doc->root;
    const char *seg = path;
    char name[256];

    if (!cur) {
        cur = doc->root = hg__node_new(HG_CFG_MAP, NULL);
        if (!cur)
            return HG_ENOMEM;
    }
    for (;;) {
        const char *dot = strchr(seg, '.');
        size_t len = dot ? (size_t)(dot - seg) : strlen(seg);
        int prefix = seg > path ? (int)(seg - path - 1) : 0;
        int64_t i;

        if (len == 0 || len >= sizeof(name)) {
            hg__diag_add(d, NULL, 0, 0, "%s: the path has an empty or overlong part", file);
            return HG_ECONFIG;
        }
        memcpy(name, seg, len);
        name[len] = '\0';
        if (cur->type == HG_CFG_SCALAR) {
            hg__diag_add(d, NULL, 0, 0, "%s: '%.*s' is a single value, not a map or a list",
                         file, prefix, path);
            return HG_ECONFIG;
        }
        i = cur->type == HG_CFG_MAP ? map_index(cur, name) : seq_index(cur, name);
        if (i < 0 && cur->type == HG_CFG_SEQ) {
            no_item(d, file, name, prefix, path, cur->n);
            return HG_ECONFIG;
        }
        if (i < 0) {
            hg__node *added = map_add(cur, name, file, dot ? NULL : v);
            if (!added)
                return HG_ENOMEM;
            if (!dot)
                return 0;
            cur = added;
        } else if (!dot) {
            hg__node_free(cur->items[i]);
            cur->items[i] = v;
            return 0;
        } else {
            cur = cur->items[i];
        }
        seg = dot + 1;
    }
}

static int keep_set_doc(hg__config *cfg, hg__doc *vdoc)
{
    hg__doc **p = realloc(cfg->set_docs, (cfg->n_set_docs + 1) * sizeof(*p));

    if (!p)
        return HG_ENOMEM;
    cfg->set_docs = p;
    p[cfg->n_set_docs++] = vdoc;
    return 0;
}

/* The command-line form that passes `value` as text: --set 'PATH="VALUE"', with the value
 * escaped for a YAML double-quoted scalar and the whole for a shell's single quotes. A new
 * string, or NULL (out of memory). */
static char *quoted_form(const char *path, size_t path_len, const char *value)
{
    size_t n = strlen(value);
    char *out = malloc(path_len + 8 * n + 16), *p = out;

    if (!out)
        return NULL;
    p += sprintf(p, "--set '%.*s=\"", (int)path_len, path);
    for (; *value; value++) {
        if (*value == '\'') {
            memcpy(p, "'\\''", 4);
            p += 4;
            continue;
        }
        if (*value == '"' || *value == '\\')
            *p++ = '\\';
        *p++ = *value;
    }
    strcpy(p, "\"'");
    return out;
}

/* Moves the value's problems from vd into d. A YAML syntax error becomes one line that says how
 * to quote the value: an address like [::1]:0 starts a YAML list. */
static int report_value(const char *spec, const char *eq, const hg__diag *vd, hg__diag *d)
{
    static const char syntax[] = "invalid YAML: ";

    for (uint32_t i = 0; i < vd->n; i++) {
        const hg__diag_item *it = &vd->items[i];
        const char *problem = it->msg + sizeof syntax - 1, *paren;
        char where[32] = "", *hint;

        if (strncmp(it->msg, syntax, sizeof syntax - 1) != 0) {
            hg__diag_add(d, it->file, it->line, it->col, "%s", it->msg);
            continue;
        }
        hint = quoted_form(spec, (size_t)(eq - spec), eq + 1);
        if (!hint)
            return HG_ENOMEM;
        paren = strstr(problem, " ("); /* libyaml's context repeats the position */
        if (it->col)
            snprintf(where, sizeof where, " at column %u", it->col);
        hg__diag_add(d, NULL, 0, 0, "--set %s: the value is not valid YAML (%.*s%s); to pass it "
                     "as text, quote it: %s", spec,
                     paren ? (int)(paren - problem) : (int)strlen(problem), problem, where, hint);
        free(hint);
    }
    return 0;
}

/* Decodes the UTF-8 sequence at p (n bytes of it). Returns its code point, or -1 when it is not
 * valid UTF-8 (a stray or missing continuation byte, an overlong form, a surrogate). */
static long utf8_at(const unsigned char *p, int *n)
{
    unsigned long cp;
    unsigned c = p[0];
    *n = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3
         : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (*n == 0)
        return -1;
    cp = *n == 1 ? c : c & (0x7Fu >> *n);
    for (int k = 1; k < *n; k++) {
        if ((p[k] & 0xC0) != 0x80)
            return -1;
        cp = cp << 6 | (p[k] & 0x3Fu);
    }
    if ((*n == 3 && cp < 0x800) || (*n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return -1;
    return (long)cp;
}

/* A value that is not text cannot be fixed by quoting it: one that is not UTF-8, holds a
 * byte-order mark (which YAML would drop, leaving nothing) or a control character (tab and line
 * breaks aside). Reports the first such byte as "--set PATH: ..." and returns HG_ECONFIG, else
 * 0. */
static int check_text(const char *spec, const char *eq, hg__diag *d)
{
    const unsigned char *v = (const unsigned char *)eq + 1;
    int path = (int)(eq - spec), n;
    for (size_t i = 0; v[i] != '\0'; i += (size_t)n) {
        long cp = utf8_at(v + i, &n);
        if (cp < 0) {
            hg__diag_add(d, NULL, 0, 0, "--set %.*s: the value is not UTF-8 text (byte %zu is "
                         "0x%02X); give it as UTF-8", path, spec, i + 1, v[i]);
            return HG_ECONFIG;
        }
        if (cp == 0xFEFF) {
            hg__diag_add(d, NULL, 0, 0, "--set %.*s: the value has a byte-order mark (U+FEFF) "
                         "at byte %zu; remove it: no value holds one", path, spec, i + 1);
            return HG_ECONFIG;
        }
        if ((cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') || (cp >= 0x7F && cp <= 0x9F)) {
            hg__diag_add(d, NULL, 0, 0, "--set %.*s: the value has the control character U+%04lX "
                         "at byte %zu; no value holds one, quoted or not", path, spec, cp, i + 1);
            return HG_ECONFIG;
        }
    }
    return 0;
}

/* One "path=value": the value is read as YAML (a scalar, or a flow list/map like [0, 1]). */
int hg__config_apply_set(hg__config *cfg, const char *spec, const hg__cfg_limits *lim,
                         hg__diag *d)
{
    const char *eq = strchr(spec, '=');
    char *label = NULL;
    hg__doc *vdoc = NULL;
    hg__diag vd;
    hg__node *v;
    int rc, rrc;

    if (!eq || eq == spec) {
        hg__diag_add(d, NULL, 0, 0, "--set %s: expected PATH=VALUE", spec);
        return HG_ECONFIG;
    }
    if (check_text(spec, eq, d) != 0)
        return HG_ECONFIG;
    if (asprintf(&label, "--set %.*s", (int)(eq - spec), spec) < 0)
        return HG_ENOMEM;
    hg__diag_init(&vd);
    rc = hg__doc_read(NULL, label, eq + 1, strlen(eq + 1), lim, 0, &vdoc, &vd);
    free(label);
    rrc = report_value(spec, eq, &vd, d);
    hg__diag_free(&vd);
    if (rc == 0 && rrc != 0) {
        hg__doc_free(vdoc);
        rc = rrc;
    }
    if (rc != 0)
        return rc;
    rc = keep_set_doc(cfg, vdoc);
    if (rc != 0) {
        hg__doc_free(vdoc);
        return rc;
    }
    v = vdoc->root ? vdoc->root : hg__node_new(HG_CFG_SCALAR, NULL);
    if (!v)
        return HG_ENOMEM;
    vdoc->root = NULL;
    unposition(v);
    v->file = vdoc->file;
    rc = graft(cfg->doc, vdoc->file + 6, vdoc->file, v, d);
    if (rc != 0)
        hg__node_free(v);
    return rc;
}
