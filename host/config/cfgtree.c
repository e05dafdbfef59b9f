/* cfgtree.c - reads one YAML document with libyaml's event API into a tree of hg__node that keep
 * their 1-based positions, refusing what a hostile file could use to exhaust memory (size,
 * nesting depth, alias expansion) and what YAML allows but a config must not have (duplicate
 * keys, non-scalar keys, several documents). Also builds the same tree from JSON (jansson). */
#define _GNU_SOURCE
#include "cfgtree.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <yaml.h>

#include <hangar/host.h>
#include <hangar/status.h>

/* ---- nodes ---- */

hg__node *hg__node_new(uint32_t type, const char *value)
{
    hg__node *n = calloc(1, sizeof(*n));

    if (!n)
        return NULL;
    n->type = type;
    if (type == HG_CFG_SCALAR) {
        n->is_null = value == NULL;
        n->value = strdup(value ? value : "");
        if (!n->value) {
            free(n);
            return NULL;
        }
    }
    return n;
}

void hg__node_free(hg__node *node)
{
    if (!node)
        return;
    for (uint32_t i = 0; i < node->n; i++) {
        if (node->keys)
            hg__node_free(node->keys[i]);
        hg__node_free(node->items[i]);
    }
    free(node->keys);
    free(node->items);
    free(node->value);
    free(node->view);
    free(node);
}

/* Arrays are sized to the next power of two of n, so growing needs no stored capacity. */
static int grow_to(hg__node ***arr, uint32_t n)
{
    hg__node **p;

    if (n != 0 && (n & (n - 1)) != 0)
        return 0;
    p = realloc(*arr, (size_t)(n ? n * 2 : 4) * sizeof(*p));
    if (!p)
        return HG_ENOMEM;
    *arr = p;
    return 0;
}

int hg__node_append(hg__node *parent, hg__node *key, hg__node *value)
{
    if (parent->type == HG_CFG_MAP && grow_to(&parent->keys, parent->n) != 0)
        return HG_ENOMEM;
    if (grow_to(&parent->items, parent->n) != 0)
        return HG_ENOMEM;
    if (parent->type == HG_CFG_MAP)
        parent->keys[parent->n] = key;
    parent->items[parent->n] = value;
    parent->n++;
    return 0;
}

hg__node *hg__node_key(const hg__node *map, const char *key)
{
    if (!map || map->type != HG_CFG_MAP || !key)
        return NULL;
    for (uint32_t i = 0; i < map->n; i++) {
        const hg__node *k = map->keys[i];
        if (k->type == HG_CFG_SCALAR && strcmp(k->value, key) == 0)
            return map->keys[i];
    }
    return NULL;
}

hg__node *hg__node_get(const hg__node *map, const char *key)
{
    if (!map || map->type != HG_CFG_MAP || !key)
        return NULL;
    for (uint32_t i = 0; i < map->n; i++) {
        const hg__node *k = map->keys[i];
        if (k->type == HG_CFG_SCALAR && strcmp(k->value, key) == 0)
            return map->items[i];
    }
    return NULL;
}

void hg__doc_free(hg__doc *doc)
{
    if (!doc)
        return;
    hg__node_free(doc->root);
    free(doc->file);
    free(doc);
}

static hg__doc *doc_new(const char *name)
{
    hg__doc *doc = calloc(1, sizeof(*doc));

    if (!doc)
        return NULL;
    doc->file = strdup(name);
    if (!doc->file) {
        free(doc);
        return NULL;
    }
    return doc;
}

/* ---- the YAML builder ---- */

typedef struct anchor {
    char *name;
    hg__node *node;
    uint64_t size;   /* nodes in the subtree */
    uint32_t height; /* nesting levels of the subtree */
} anchor;

typedef struct frame {
    hg__node *node;
    hg__node *key;   /* maps: the key waiting for its value */
    char *anchor;    /* the collection's anchor, registered when it ends */
} frame;

typedef struct builder {
    hg__doc *doc;
    hg__diag *d;
    const hg__cfg_limits *lim;
    frame *stack;
    uint32_t depth;
    anchor *anchors;
    uint32_t n_anchors;
    uint64_t alias_nodes;
    uint32_t soft_errors; /* tree-level errors; the tree is still whole */
    uint8_t fatal;        /* parsing stopped */
} builder;

static void err_at(builder *b, const yaml_mark_t *m, int fatal, const char *fmt, const char *arg)
{
    hg__diag_add(b->d, b->doc->file, (uint32_t)m->line + 1, (uint32_t)m->column + 1, fmt, arg);
    if (fatal)
        b->fatal = 1;
    else
        b->soft_errors++;
}

static void subtree_stats(const hg__node *n, uint64_t *size, uint32_t *height)
{
    uint32_t h = 0;

    *size += 1;
    for (uint32_t i = 0; i < n->n; i++) {
        uint32_t ch = 0;
        subtree_stats(n->items[i], size, &ch);
        if (ch > h)
            h = ch;
    }
    *height = n->type == HG_CFG_SCALAR ? 0 : h + 1;
}

static int anchor_add(builder *b, char *name, hg__node *node)
{
    anchor *a = realloc(b->anchors, (b->n_anchors + 1) * sizeof(*a));

    if (!a) {
        free(name);
        return HG_ENOMEM;
    }
    b->anchors = a;
    a = &b->anchors[b->n_anchors++];
    a->name = name;
    a->node = node;
    a->size = 0;
    subtree_stats(node, &a->size, &a->height);
    return 0;
}

static const anchor *anchor_find(const builder *b, const char *name)
{
    for (uint32_t i = b->n_anchors; i > 0; i--) /* a redefined anchor: the latest wins */
        if (strcmp(b->anchors[i - 1].name, name) == 0)
            return &b->anchors[i - 1];
    return NULL;
}

static hg__node *node_copy(const hg__node *src)
{
    hg__node *n = calloc(1, sizeof(*n));

    if (!n)
        return NULL;
    *n = *src;
    n->value = NULL;
    n->keys = n->items = NULL;
    n->view = NULL;
    n->n = 0;
    if (src->value) {
        n->value = strdup(src->value);
        if (!n->value)
            goto fail;
    }
    for (uint32_t i = 0; i < src->n; i++) {
        hg__node *k = src->keys ? node_copy(src->keys[i]) : NULL;
        hg__node *v = node_copy(src->items[i]);
        if (!v || (src->keys && !k) || hg__node_append(n, k, v) != 0) {
            hg__node_free(k);
            hg__node_free(v);
            goto fail;
        }
    }
    return n;
fail:
    hg__node_free(n);
    return NULL;
}

/* Reports keys that occur twice in a map, each at the second occurrence. Sorting an index keeps
 * this O(n log n) even for a hostile map with many keys. */
static int cmp_key_idx(const void *pa, const void *pb, void *arg)
{
    hg__node *const *keys = arg;
    uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
    int c = strcmp(keys[a]->value, keys[b]->value);

    if (c != 0)
        return c;
    return a < b ? -1 : 1;
}

static int check_duplicates(builder *b, hg__node *map)
{
    uint32_t *idx, *first_of, m = 0;

    if (map->n < 2)
        return 0;
    idx = malloc(map->n * sizeof(*idx));
    first_of = malloc(map->n * sizeof(*first_of));
    if (!idx || !first_of) {
        free(idx);
        free(first_of);
        return HG_ENOMEM;
    }
    for (uint32_t i = 0; i < map->n; i++) {
        first_of[i] = UINT32_MAX;
        if (map->keys[i]->type == HG_CFG_SCALAR)
            idx[m++] = i;
    }
    qsort_r(idx, m, sizeof(*idx), cmp_key_idx, map->keys);
    for (uint32_t j = 1, run = 0; j < m; j++) {
        if (strcmp(map->keys[idx[j]]->value, map->keys[idx[run]]->value) == 0)
            first_of[idx[j]] = idx[run];
        else
            run = j;
    }
    for (uint32_t i = 0; i < map->n; i++) {
        const hg__node *k = map->keys[i], *f;
        if (first_of[i] == UINT32_MAX)
            continue;
        f = map->keys[first_of[i]];
        hg__diag_add(b->d, b->doc->file, k->line, k->col,
                     "duplicate key '%s' (first given at line %u)", k->value, f->line);
        b->soft_errors++;
    }
    free(idx);
    free(first_of);
    return 0;
}

/* Attaches a finished node to the open collection on top of the stack (or makes it the root). */
static int attach(builder *b, hg__node *node)
{
    frame *top;

    if (b->depth == 0) {
        b->doc->root = node;
        return 0;
    }
    top = &b->stack[b->depth - 1];
    if (top->node->type == HG_CFG_SEQ)
        return hg__node_append(top->node, NULL, node);
    if (!top->key) {
        if (node->type != HG_CFG_SCALAR) {
            hg__diag_add(b->d, b->doc->file, node->line, node->col,
                         "a map key must be a plain string, not a %s",
                         node->type == HG_CFG_MAP ? "map" : "list");
            b->soft_errors++;
        }
        top->key = node;
        return 0;
    }
    if (hg__node_append(top->node, top->key, node) != 0)
        return HG_ENOMEM;
    top->key = NULL;
    return 0;
}

static hg__node *node_at(builder *b, uint32_t type, const yaml_mark_t *m)
{
    hg__node *n = calloc(1, sizeof(*n));

    if (!n)
        return NULL;
    n->type = type;
    n->line = (uint32_t)m->line + 1;
    n->col = (uint32_t)m->column + 1;
    n->file = b->doc->file;
    return n;
}

static int is_null_text(const char *s)
{
    return !*s || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
           strcmp(s, "NULL") == 0;
}

static int on_scalar(builder *b, const yaml_event_t *ev)
{
    hg__node *n = node_at(b, HG_CFG_SCALAR, &ev->start_mark);
    const char *tag = (const char *)ev->data.scalar.tag;
    int rc;

    if (!n)
        return HG_ENOMEM;
    n->value = strndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
    if (!n->value) {
        free(n);
        return HG_ENOMEM;
    }
    n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
                (tag && strcmp(tag, YAML_STR_TAG) == 0);
    n->is_null = !n->quoted && is_null_text(n->value);
    rc = attach(b, n);
    if (rc != 0) {
        hg__node_free(n);
        return rc;
    }
    if (ev->data.scalar.anchor) {
        char *name = strdup((const char *)ev->data.scalar.anchor);
        return name ? anchor_add(b, name, n) : HG_ENOMEM;
    }
    return 0;
}

static int on_start(builder *b, const yaml_event_t *ev, uint32_t type, const yaml_char_t *anc)
{
    frame *st;
    hg__node *n;

    if (b->depth >= b->lim->max_depth) {
        hg__diag_add(b->d, b->doc->file, (uint32_t)ev->start_mark.line + 1,
                     (uint32_t)ev->start_mark.column + 1,
                     "nesting is deeper than the limit of %u levels", b->lim->max_depth);
        b->fatal = 1;
        return 0;
    }
    n = node_at(b, type, &ev->start_mark);
    if (!n)
        return HG_ENOMEM;
    st = realloc(b->stack, (b->depth + 1) * sizeof(*st));
    if (!st) {
        free(n);
        return HG_ENOMEM;
    }
    b->stack = st;
    st[b->depth].node = n;
    st[b->depth].key = NULL;
    st[b->depth].anchor = NULL;
    if (anc) {
        st[b->depth].anchor = strdup((const char *)anc);
        if (!st[b->depth].anchor) {
            free(n);
            return HG_ENOMEM;
        }
    }
    b->depth++;
    return 0;
}

static int on_end(builder *b)
{
    frame f = b->stack[--b->depth];
    int rc = 0;

    if (f.node->type == HG_CFG_MAP)
        rc = check_duplicates(b, f.node);
    if (rc == 0)
        rc = attach(b, f.node);
    if (rc != 0) {
        hg__node_free(f.node);
        free(f.anchor);
        return rc;
    }
    if (f.anchor)
        return anchor_add(b, f.anchor, f.node);
    return 0;
}

static int on_alias(builder *b, const yaml_event_t *ev)
{
    const char *name = (const char *)ev->data.alias.anchor;
    const anchor *a = anchor_find(b, name);
    hg__node *copy;
    int rc;

    if (!a) {
        err_at(b, &ev->start_mark, 1, "alias '*%s' refers to no known anchor", name);
        return 0;
    }
    if (b->alias_nodes + a->size > b->lim->max_alias_nodes) {
        hg__diag_add(b->d, b->doc->file, (uint32_t)ev->start_mark.line + 1,
                     (uint32_t)ev->start_mark.column + 1,
                     "alias '*%s' expands past the limit of %u nodes made by aliases", name,
                     b->lim->max_alias_nodes);
        b->fatal = 1;
        return 0;
    }
    if (b->depth + a->height > b->lim->max_depth) {
        hg__diag_add(b->d, b->doc->file, (uint32_t)ev->start_mark.line + 1,
                     (uint32_t)ev->start_mark.column + 1,
                     "nesting is deeper than the limit of %u levels", b->lim->max_depth);
        b->fatal = 1;
        return 0;
    }
    b->alias_nodes += a->size;
    copy = node_copy(a->node);
    if (!copy)
        return HG_ENOMEM;
    /* the copy stands where the alias is written: errors about it as a whole point there,
     * errors inside it point at the anchored text, where those values are written */
    copy->line = (uint32_t)ev->start_mark.line + 1;
    copy->col = (uint32_t)ev->start_mark.column + 1;
    rc = attach(b, copy);
    if (rc != 0)
        hg__node_free(copy);
    return rc;
}

static void syntax_error(builder *b, const yaml_parser_t *p)
{
    const char *problem = p->problem ? p->problem : "cannot be parsed";

    if (p->error == YAML_READER_ERROR) {
        hg__diag_add(b->d, b->doc->file, 0, 0, "invalid YAML: %s (at byte %zu)", problem,
                     p->problem_offset);
    } else if (p->context) {
        hg__diag_add(b->d, b->doc->file, (uint32_t)p->problem_mark.line + 1,
                     (uint32_t)p->problem_mark.column + 1,
                     "invalid YAML: %s (%s at line %zu, column %zu)", problem, p->context,
                     p->context_mark.line + 1, p->context_mark.column + 1);
    } else {
        hg__diag_add(b->d, b->doc->file, (uint32_t)p->problem_mark.line + 1,
                     (uint32_t)p->problem_mark.column + 1, "invalid YAML: %s", problem);
    }
    b->fatal = 1;
}

/* Handles one event. Returns 0 (check b->fatal), 1 at the end of the stream, or HG_ENOMEM. */
static int on_event(builder *b, const yaml_event_t *ev, uint32_t *docs)
{
    switch (ev->type) {
    case YAML_STREAM_END_EVENT:
        return 1;
    case YAML_DOCUMENT_START_EVENT:
        *docs += 1;
        if (*docs > 1)
            err_at(b, &ev->start_mark, 1, "%s",
                   "a config file holds one YAML document; a second one starts here");
        return 0;
    case YAML_SCALAR_EVENT:
        return on_scalar(b, ev);
    case YAML_SEQUENCE_START_EVENT:
        return on_start(b, ev, HG_CFG_SEQ, ev->data.sequence_start.anchor);
    case YAML_MAPPING_START_EVENT:
        return on_start(b, ev, HG_CFG_MAP, ev->data.mapping_start.anchor);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        return on_end(b);
    case YAML_ALIAS_EVENT:
        return on_alias(b, ev);
    default:
        return 0;
    }
}

static int parse_events(builder *b, const char *text, size_t len)
{
    yaml_parser_t p;
    uint32_t docs = 0;
    int rc = 0;

    if (!yaml_parser_initialize(&p))
        return HG_ENOMEM;
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    while (rc == 0 && !b->fatal) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            if (p.error == YAML_MEMORY_ERROR)
                rc = HG_ENOMEM;
            else
                syntax_error(b, &p);
            break;
        }
        rc = on_event(b, &ev, &docs);
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    return rc < 0 ? rc : 0;
}

static void builder_free(builder *b)
{
    while (b->depth > 0) {
        frame *f = &b->stack[--b->depth];
        hg__node_free(f->key);
        hg__node_free(f->node);
        free(f->anchor);
    }
    free(b->stack);
    for (uint32_t i = 0; i < b->n_anchors; i++)
        free(b->anchors[i].name);
    free(b->anchors);
}

static int read_text(const char *name, const char *text, size_t len, const hg__cfg_limits *lim,
                     uint32_t flags, hg__doc **out, hg__diag *d)
{
    builder b;
    int rc;

    memset(&b, 0, sizeof(b));
    b.d = d;
    b.lim = lim;
    b.doc = doc_new(name);
    if (!b.doc)
        return HG_ENOMEM;
    if (len > lim->max_file_bytes) {
        hg__diag_add(d, name, 0, 0, "config is %zu bytes, over the limit of %llu bytes", len,
                     (unsigned long long)lim->max_file_bytes);
        hg__doc_free(b.doc);
        return HG_ECONFIG;
    }
    rc = parse_events(&b, text, len);
    builder_free(&b);
    if (rc == 0 && b.fatal)
        rc = HG_ECONFIG;
    if (rc == 0 && b.soft_errors) {
        if (flags & HG__DOC_KEEP_TREE) {
            *out = b.doc;
            return HG_ECONFIG;
        }
        rc = HG_ECONFIG;
    }
    if (rc != 0) {
        hg__doc_free(b.doc);
        return rc;
    }
    *out = b.doc;
    return 0;
}

/* ---- files ---- */

static int open_checked(const char *path, const hg__cfg_limits *lim, FILE **out, size_t *size,
                        hg__diag *d)
{
    struct stat st;
    FILE *f;

    if (stat(path, &st) != 0) {
        if (errno == ENOENT)
            hg__diag_add(d, path, 0, 0, "no such config file");
        else
            hg__diag_add(d, path, 0, 0, "cannot read the config file: %s", strerror(errno));
        return HG_ECONFIG;
    }
    if (S_ISDIR(st.st_mode)) {
        hg__diag_add(d, path, 0, 0, "is a directory, not a config file");
        return HG_ECONFIG;
    }
    if (!S_ISREG(st.st_mode)) {
        hg__diag_add(d, path, 0, 0, "is not a regular file");
        return HG_ECONFIG;
    }
    if ((uint64_t)st.st_size > lim->max_file_bytes) {
        hg__diag_add(d, path, 0, 0, "config file is %llu bytes, over the limit of %llu bytes",
                     (unsigned long long)st.st_size, (unsigned long long)lim->max_file_bytes);
        return HG_ECONFIG;
    }
    f = fopen(path, "rb");
    if (!f) {
        hg__diag_add(d, path, 0, 0, "cannot read the config file: %s", strerror(errno));
        return HG_ECONFIG;
    }
    *out = f;
    *size = (size_t)st.st_size;
    return 0;
}

static int read_file(const char *path, const hg__cfg_limits *lim, uint32_t flags, hg__doc **out,
                     hg__diag *d)
{
    FILE *f = NULL;
    size_t size = 0, got;
    char *buf;
    int rc;

    rc = open_checked(path, lim, &f, &size, d);
    if (rc != 0)
        return rc;
    /* one byte more than stat said, to notice a file that grew past the limit meanwhile */
    buf = malloc(size + 2);
    if (!buf) {
        fclose(f);
        return HG_ENOMEM;
    }
    got = fread(buf, 1, size + 1, f);
    if (ferror(f)) {
        hg__diag_add(d, path, 0, 0, "cannot read the config file: %s", strerror(errno));
        rc = HG_ECONFIG;
        goto out;
    }
    buf[got] = '\0';
    rc = read_text(path, buf, got, lim, flags, out, d);
out:
    free(buf);
    fclose(f);
    return rc;
}

int hg__doc_read(const char *path, const char *name, const char *text, size_t len,
                 const hg__cfg_limits *lim, uint32_t flags, hg__doc **out, hg__diag *d)
{
    static const hg__cfg_limits def = HG__CFG_LIMITS_DEFAULT;

    if (!lim)
        lim = &def;
    if (path)
        return read_file(path, lim, flags, out, d);
    return read_text(name ? name : "<inline>", text ? text : "", text ? len : 0, lim, flags, out,
                     d);
}

int hg__doc_load_file(const char *path, const hg__cfg_limits *lim, hg__doc **out, hg__diag *d)
{
    return hg__doc_read(path, NULL, NULL, 0, lim, 0, out, d);
}

int hg__doc_load_string(const char *name, const char *text, size_t len, const hg__cfg_limits *lim,
                        hg__doc **out, hg__diag *d)
{
    return hg__doc_read(NULL, name, text, len, lim, 0, out, d);
}

/* ---- JSON ---- */

static hg__node *from_json(const json_t *j);

static hg__node *json_scalar(const json_t *j)
{
    char buf[64];

    switch (json_typeof(j)) {
    case JSON_STRING: {
        hg__node *n = hg__node_new(HG_CFG_SCALAR, json_string_value(j));
        if (n)
            n->quoted = 1;
        return n;
    }
    case JSON_INTEGER:
        snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(j));
        return hg__node_new(HG_CFG_SCALAR, buf);
    case JSON_REAL:
        snprintf(buf, sizeof(buf), "%.17g", json_real_value(j));
        return hg__node_new(HG_CFG_SCALAR, buf);
    case JSON_TRUE:
        return hg__node_new(HG_CFG_SCALAR, "true");
    case JSON_FALSE:
        return hg__node_new(HG_CFG_SCALAR, "false");
    default:
        return hg__node_new(HG_CFG_SCALAR, NULL);
    }
}

static hg__node *json_container(const json_t *j)
{
    hg__node *n = hg__node_new(json_is_object(j) ? HG_CFG_MAP : HG_CFG_SEQ, NULL);
    const char *k;
    json_t *v;
    size_t i;

    if (!n)
        return NULL;
    if (json_is_object(j)) {
        json_object_foreach((json_t *)j, k, v) {
            hg__node *kn = hg__node_new(HG_CFG_SCALAR, k), *vn = from_json(v);
            if (!kn || !vn || hg__node_append(n, kn, vn) != 0) {
                hg__node_free(kn);
                hg__node_free(vn);
                goto fail;
            }
        }
        return n;
    }
    json_array_foreach(j, i, v) {
        hg__node *vn = from_json(v);
        if (!vn || hg__node_append(n, NULL, vn) != 0) {
            hg__node_free(vn);
            goto fail;
        }
    }
    return n;
fail:
    hg__node_free(n);
    return NULL;
}

static hg__node *from_json(const json_t *j)
{
    if (json_is_object(j) || json_is_array(j))
        return json_container(j);
    return json_scalar(j);
}

int hg__doc_from_json(const char *json, hg__doc **out, hg__diag *d)
{
    json_error_t err;
    json_t *j;
    hg__doc *doc;

    j = json_loads(json ? json : "", JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &err);
    if (!j) {
        hg__diag_add(d, NULL, 0, 0, "invalid JSON: %s (line %d, column %d)", err.text, err.line,
                     err.column);
        return HG_EINVAL;
    }
    doc = doc_new("<json>");
    if (!doc) {
        json_decref(j);
        return HG_ENOMEM;
    }
    doc->root = from_json(j);
    json_decref(j);
    if (!doc->root) {
        hg__doc_free(doc);
        return HG_ENOMEM;
    }
    *out = doc;
    return 0;
}

/* The index of key in map, or map->n. */
static uint32_t key_index(const hg__node *map, const char *key)
{
    for (uint32_t i = 0; i < map->n; i++)
        if (map->keys[i]->value != NULL && strcmp(map->keys[i]->value, key) == 0)
            return i;
    return map->n;
}

int hg__node_equal(const hg__node *a, const hg__node *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    if (a->type != b->type || a->n != b->n)
        return 0;
    if (a->type == HG_CFG_SCALAR)
        return a->quoted == b->quoted && a->is_null == b->is_null &&
               strcmp(a->value ? a->value : "", b->value ? b->value : "") == 0;
    for (uint32_t i = 0; i < a->n; i++) {
        if (a->type == HG_CFG_SEQ) {
            if (!hg__node_equal(a->items[i], b->items[i]))
                return 0;
        } else {
            uint32_t j = key_index(b, a->keys[i]->value ? a->keys[i]->value : "");
            if (j == b->n || !hg__node_equal(a->items[i], b->items[j]))
                return 0;
        }
    }
    return 1;
}
