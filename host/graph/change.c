/* change.c - reads and validates a graph change ({add, remove, link, unlink}) against the
 * graph as it is: every error with its FILE:LINE:COL, nothing applied when there is one. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hangar/status.h>

#include "change.h"
#include "units.h"

static const char *const change_keys[] = { "add", "remove", "link", "unlink", NULL };
static const char *const link_keys[] = { "from", "to", "capacity", "policy", NULL };
static const char *const modes[] = { "reactive", "continuous", "manual" };
static const char *const policies[] = { "block", "drop_newest", "drop_oldest" };

#define ERR(n, ...) hg__diag_add(&c->d, (n)->file, (n)->line, (n)->col, __VA_ARGS__)

static int is_name(const char *s)
{
    if (s == NULL || !*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
            return 0;
    return 1;
}

/* A scalar child's text, or NULL (absent or null); a non-scalar is an error. */
static const char *scalar(hg__change *c, const hg__node *map, const char *key)
{
    const hg__node *v = hg__node_get(map, key);
    if (v == NULL || (v->type == HG_CFG_SCALAR && v->is_null))
        return NULL;
    if (v->type != HG_CFG_SCALAR) {
        ERR(v, "'%s' must be a single value", key);
        return NULL;
    }
    return v->value;
}

static const hg__node *pos(const hg__node *map, const char *key)
{
    const hg__node *v = hg__node_get(map, key);
    return v != NULL ? v : map;
}

static const hg__node *list(hg__change *c, const hg__node *root, const char *key)
{
    const hg__node *v = hg__node_get(root, key);
    if (v == NULL || (v->type == HG_CFG_SCALAR && v->is_null))
        return NULL;
    if (v->type != HG_CFG_SEQ) {
        ERR(v, "'%s' must be a list", key);
        return NULL;
    }
    return v;
}

static int choice(const char *s, const char *const *set, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(s, set[i]) == 0)
            return i;
    return -1;
}

/* ---- reading ---- */

static void read_add(hg__change *c, const hg__node *it)
{
    hg__chg_add *a = &c->add[c->n_add];
    const char *s;
    int64_t n;

    if (it->type != HG_CFG_MAP) {
        ERR(it, "a processor must be a map with name and engine");
        return;
    }
    memset(a, 0, sizeof *a);
    a->item = it;
    a->mode = 0;
    a->core = HG_CORE_ANY;
    a->name = scalar(c, it, "name");
    a->engine = scalar(c, it, "engine");
    if (a->name == NULL)
        ERR(it, "missing required key 'name'");
    else if (!is_name(a->name))
        ERR(pos(it, "name"), "'name' must use only a-z, 0-9, '_' and '-', got \"%.60s\"", a->name);
    if (a->engine == NULL)
        ERR(it, "missing required key 'engine'");
    if ((s = scalar(c, it, "mode")) != NULL) {
        int m = choice(s, modes, 3);
        if (m < 0)
            ERR(pos(it, "mode"), "unknown mode \"%.40s\": reactive, continuous or manual", s);
        else
            a->mode = (uint32_t)m + HG__MODE_REACTIVE;
    }
    if ((s = scalar(c, it, "interval")) != NULL &&
        (hg__parse_duration(s, &a->interval_ns) != 0 || a->interval_ns == 0))
        ERR(pos(it, "interval"), "'interval' must be a duration above 0 (e.g. 10ms), got \"%.40s\"",
            s);
    if ((s = scalar(c, it, "spin")) != NULL &&
        (hg__parse_duration(s, &a->spin_ns) != 0 || a->spin_ns > 1000000000ull))
        ERR(pos(it, "spin"), "'spin' must be a duration up to 1s (e.g. 50us), got \"%.40s\"", s);
    if ((s = scalar(c, it, "core")) != NULL && strcmp(s, "any") != 0) {
        if (hg__parse_int(s, &n) != 0 || n < 0 || n > INT32_MAX)
            ERR(pos(it, "core"), "'core' must be a core number (0 or more) or any, got \"%.40s\"",
                s);
        else
            a->core = (int32_t)n;
    }
    c->n_add++;
}

/* "name.port" into its halves; an error at n when malformed. */
static int split(hg__change *c, const hg__node *n, const char *s, const char *key, char **node,
                 char **port)
{
    const char *dot = s != NULL ? strchr(s, '.') : NULL;
    if (s == NULL) {
        ERR(n, "missing required key '%s'", key);
        return -1;
    }
    if (dot == NULL || dot == s || !dot[1] || strchr(dot + 1, '.') != NULL) {
        ERR(n, "link '%s' must be NAME.PORT, got \"%.100s\"", key, s);
        return -1;
    }
    *node = strndup(s, (size_t)(dot - s));
    *port = strdup(dot + 1);
    return 0;
}

static void read_link(hg__change *c, const hg__node *it, hg__chg_link *l, int full)
{
    const char *s;
    int64_t n;

    memset(l, 0, sizeof *l);
    l->item = it;
    l->capacity = 1024;
    l->policy = HG_POLICY_BLOCK;
    if (it->type != HG_CFG_MAP) {
        ERR(it, "a link must be a map with from and to");
        l->bad = 1;
        return;
    }
    for (uint32_t i = 0; i < it->n; i++) {
        const char *k = it->keys[i]->value;
        if (choice(k, link_keys, full ? 4 : 2) < 0) {
            ERR(it->keys[i], "unknown key '%s' in a link%s", k,
                full ? " (from, to, capacity, policy)" : " to unlink (from, to)");
            l->bad = 1;
        }
    }
    if (split(c, pos(it, "from"), scalar(c, it, "from"), "from", &l->fn, &l->fp) != 0 ||
        split(c, pos(it, "to"), scalar(c, it, "to"), "to", &l->tn, &l->tp) != 0)
        l->bad = 1;
    if ((s = scalar(c, it, "capacity")) != NULL) {
        if (hg__parse_int(s, &n) != 0 || n < 1 || n > (1 << 24)) {
            ERR(pos(it, "capacity"), "'capacity' must be 1 to 16777216 frames, got \"%.40s\"", s);
            l->bad = 1;
        } else {
            l->capacity = (uint32_t)n;
        }
    }
    if ((s = scalar(c, it, "policy")) != NULL) {
        int p = choice(s, policies, 3);
        if (p < 0) {
            ERR(pos(it, "policy"), "unknown policy \"%.40s\": block, drop_newest or drop_oldest",
                s);
            l->bad = 1;
        } else {
            l->policy = (uint32_t)p + HG_POLICY_BLOCK;
        }
    }
}

int hg__change_read(hg__change *c, const hg__node *root)
{
    const hg__node *l;

    if (root == NULL || root->type != HG_CFG_MAP) {
        if (root != NULL)
            ERR(root, "a graph change must be a map: {add: [...], remove: [...], link: [...], "
                      "unlink: [...]}");
        else
            hg__diag_add(&c->d, NULL, 0, 0, "the graph change is empty");
        return HG_ECONFIG;
    }
    for (uint32_t i = 0; i < root->n; i++)
        if (choice(root->keys[i]->value, change_keys, 4) < 0)
            ERR(root->keys[i], "unknown key '%s' in a graph change (add, remove, link, unlink)",
                root->keys[i]->value);
    if ((l = list(c, root, "add")) != NULL && (c->add = calloc(l->n + 1, sizeof *c->add)))
        for (uint32_t i = 0; i < l->n; i++)
            read_add(c, l->items[i]);
    if ((l = list(c, root, "remove")) != NULL && (c->rm = calloc(l->n + 1, sizeof *c->rm)))
        for (uint32_t i = 0; i < l->n; i++) {
            const hg__node *v = l->items[i];
            if (v->type != HG_CFG_SCALAR || v->is_null)
                ERR(v, "'remove' lists processor names");
            else
                c->rm[c->n_rm++] = (hg__chg_rm){ v, v->value, NULL };
        }
    if ((l = list(c, root, "link")) != NULL && (c->link = calloc(l->n + 1, sizeof *c->link)))
        for (uint32_t i = 0; i < l->n; i++)
            read_link(c, l->items[i], &c->link[c->n_link++], 1);
    if ((l = list(c, root, "unlink")) != NULL && (c->un = calloc(l->n + 1, sizeof *c->un)))
        for (uint32_t i = 0; i < l->n; i++)
            read_link(c, l->items[i], &c->un[c->n_un++], 0);
    return c->d.n ? HG_ECONFIG : 0;
}

void hg__change_free(hg__change *c)
{
    for (uint32_t i = 0; i < c->n_link; i++)
        free(c->link[i].fn), free(c->link[i].fp), free(c->link[i].tn), free(c->link[i].tp);
    for (uint32_t i = 0; i < c->n_un; i++)
        free(c->un[i].fn), free(c->un[i].fp), free(c->un[i].tn), free(c->un[i].tp);
    free(c->add);
    free(c->rm);
    free(c->link);
    free(c->un);
    hg__diag_free(&c->d);
    if (c->doc != NULL)
        hg__doc_free(c->doc);
}
