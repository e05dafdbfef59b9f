/* change.c - adding engine instances to a running host and removing them: each change is a job
 * on the control thread, checked whole before anything is applied. Reload and graph commits
 * build on these. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "host_priv.h"
#include "order.h"

static char *reply_errors(const hg__diag *d)
{
    json_t *o = json_object(), *a = json_array();
    char *text;
    for (uint32_t i = 0; i < d->n; i++) {
        char line[1400];
        const hg__diag_item *it = &d->items[i];
        if (it->file != NULL)
            snprintf(line, sizeof line, "%s:%u:%u: %s", it->file, it->line, it->col, it->msg);
        else
            snprintf(line, sizeof line, "%s", it->msg);
        json_array_append_new(a, json_string(line));
    }
    json_object_set_new(o, "ok", json_false());
    json_object_set_new(o, "errors", a);
    text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

/* Checks part against the host before anything is created: new names, loaded engines. */
static void check_part(hg__host *h, const hg__config *part, hg__diag *d)
{
    for (uint32_t i = 0; i < part->n_instances; i++) {
        const hg__instance_cfg *ic = &part->instances[i];
        const hg__node *at = ic->node;
        if (hg__host_find(h, ic->name) != NULL || strcmp(ic->name, "runtime") == 0)
            hg__diag_add(d, at->file, at->line, at->col, "%s: an instance of that name runs "
                         "already", ic->name);
        else if (hg__registry_find(h->reg, ic->engine) == NULL)
            hg__diag_add(d, ic->engine_node->file, ic->engine_node->line, ic->engine_node->col,
                         "%s: engine '%s' is not loaded in this host", ic->name, ic->engine);
    }
}

/* Creates every instance of part into v (the count created in *n). Errors into d. */
static void create_part(hg__host *h, const hg__config *part, hg__diag *d, hg__entry **v,
                        uint32_t *n)
{
    uint32_t seq0;
    pthread_mutex_lock(&h->list_mu);
    seq0 = hg__engines_count(h->engines) + h->cfg->n_instances;
    pthread_mutex_unlock(&h->list_mu);
    h->diag = d; /* what new instances report during create (control thread only) */
    for (uint32_t i = 0; i < part->n_instances; i++) {
        hg__entry *e = NULL;
        hg__host_create_entry(h, &part->instances[i], seq0 + i, d, &e);
        if (e != NULL)
            v[(*n)++] = e;
    }
    h->diag = NULL;
    for (uint32_t i = 0; i < *n; i++)
        hg__inst_set_diag(v[i]->in, NULL);
}

int hg__host_relevel(hg__host *h, const hg__config *extra, hg__diag *d)
{
    uint32_t n = h->cfg->n_links + (extra ? extra->n_links : 0), k = 0;
    hg__link_cfg *all;
    int rc;
    for (uint32_t i = 0; i < h->n_parts; i++)
        n += h->parts[i]->n_links;
    all = calloc(n ? n : 1, sizeof *all);
    if (all == NULL)
        return HG_ENOMEM;
    for (uint32_t i = 0; i < h->cfg->n_links; i++)
        all[k++] = h->cfg->links[i];
    for (uint32_t p = 0; p < h->n_parts; p++)
        for (uint32_t i = 0; i < h->parts[p]->n_links; i++)
            all[k++] = h->parts[p]->links[i];
    for (uint32_t i = 0; extra != NULL && i < extra->n_links; i++)
        all[k++] = extra->links[i];
    rc = hg__order_compute(h->engines, all, n, d);
    free(all);
    return rc;
}

/* Registers v[0..n) and orders the whole host anew; on a cycle, takes them out again. */
static int register_part(hg__host *h, const hg__config *part, hg__entry **v, uint32_t n,
                         hg__diag *d)
{
    int rc = 0;
    pthread_mutex_lock(&h->list_mu);
    for (uint32_t i = 0; i < n && rc == 0; i++)
        rc = hg__engines_add(h->engines, v[i]);
    if (rc == 0)
        rc = hg__host_relevel(h, part, d);
    if (rc != 0) {
        for (uint32_t i = 0; i < n; i++)
            if (hg__engines_find(h->engines, hg__inst_name(v[i]->in)) == v[i])
                hg__engines_remove(h->engines, hg__inst_name(v[i]->in));
        hg__host_relevel(h, NULL, NULL);
    }
    pthread_mutex_unlock(&h->list_mu);
    return rc;
}

static char *start_part(hg__host *h, hg__entry **v, uint32_t n)
{
    json_t *o = json_object(), *added = json_array(), *failed = json_array();
    int running;
    char *text;
    pthread_mutex_lock(&h->mu);
    running = h->started && !h->stopping && !h->stopped;
    pthread_mutex_unlock(&h->mu);
    hg__order_sort(v, n);
    for (uint32_t i = 0; i < n; i++) {
        json_array_append_new(added, json_string(hg__inst_name(v[i]->in)));
        if (running && hg__lc_start_entry(h, v[i]) != 0)
            json_array_append_new(failed, json_string(hg__inst_name(v[i]->in)));
        hg__log(h->lg, HG_LOG_INFO, "host", "added %s '%s'%s", hg__kind_name(v[i]->def->kind),
                hg__inst_name(v[i]->in), running ? "" : " (starts with the host)");
    }
    json_object_set_new(o, "ok", json_true());
    json_object_set_new(o, "added", added);
    json_object_set_new(o, "failed", failed);
    text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

static char *job_add(hg__host *h, void *arg)
{
    hg__config *part = arg;
    hg__config **parts;
    hg__entry **v = NULL;
    hg__diag d;
    uint32_t n = 0;
    char *reply;

    if (h == NULL) { /* the job will not run */
        hg__config_free(part);
        return NULL;
    }
    hg__diag_init(&d);
    check_part(h, part, &d);
    v = calloc(part->n_instances ? part->n_instances : 1, sizeof *v);
    parts = realloc(h->parts, (h->n_parts + 1) * sizeof *parts);
    if (v == NULL || parts == NULL)
        hg__diag_add(&d, NULL, 0, 0, "out of memory");
    else
        h->parts = parts;
    if (d.n == 0)
        create_part(h, part, &d, v, &n);
    if (d.n == 0 && register_part(h, part, v, n, &d) != 0 && d.n == 0)
        hg__diag_add(&d, NULL, 0, 0, "out of memory");
    if (d.n > 0) { /* nothing of it is applied */
        for (uint32_t i = 0; i < n; i++)
            hg__entry_destroy(h, v[i]);
        reply = reply_errors(&d);
        hg__config_free(part);
    } else {
        h->parts[h->n_parts++] = part; /* the entries borrow its nodes */
        reply = start_part(h, v, n);
    }
    free(v);
    hg__diag_free(&d);
    return reply;
}

int hg__host_add(hg__host *h, hg__config *part, hg__diag *d)
{
    char *reply = NULL;
    json_t *j, *errs;
    int rc = hg__host_job(h, job_add, part, &reply);
    if (rc != 0) {
        hg__diag_add(d, NULL, 0, 0, "the host did not answer: %s", hg_strerror(rc));
        return rc;
    }
    j = json_loads(reply, 0, NULL);
    errs = json_object_get(j, "errors");
    for (size_t i = 0; i < json_array_size(errs); i++)
        hg__diag_add(d, NULL, 0, 0, "%s", json_string_value(json_array_get(errs, i)));
    rc = json_is_true(json_object_get(j, "ok")) ? 0 : HG_ECONFIG;
    json_decref(j);
    free(reply);
    return rc;
}

static char *job_remove(hg__host *h, void *arg)
{
    char *name = arg, *text;
    hg__entry *e;
    uint32_t cut;
    json_t *o;
    if (h == NULL) {
        free(name);
        return NULL;
    }
    e = hg__host_find(h, name);
    o = json_object();
    if (e == NULL) {
        json_object_set_new(o, "ok", json_false());
        json_object_set_new(o, "code", json_string(hg_err_name(HG_ENOENT)));
    } else {
        cut = hg__lc_stop_entry(h, e);
        pthread_mutex_lock(&h->list_mu);
        hg__engines_remove(h->engines, name);
        hg__host_relevel(h, NULL, NULL);
        pthread_mutex_unlock(&h->list_mu);
        hg__log(h->lg, HG_LOG_INFO, "host", "removed '%s' (%u connection%s cut)", name, cut,
                cut == 1 ? "" : "s");
        hg__entry_destroy(h, e);
        json_object_set_new(o, "ok", json_true());
        json_object_set_new(o, "cut", json_integer(cut));
    }
    text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    free(name);
    return text;
}

int hg__host_remove(hg__host *h, const char *name, uint32_t *cut)
{
    char *reply = NULL, *arg = strdup(name);
    json_t *j;
    int rc;
    if (arg == NULL)
        return HG_ENOMEM;
    rc = hg__host_job(h, job_remove, arg, &reply);
    if (rc != 0)
        return rc;
    j = json_loads(reply, 0, NULL);
    rc = json_is_true(json_object_get(j, "ok")) ? 0 : HG_ENOENT;
    if (cut != NULL)
        *cut = (uint32_t)json_integer_value(json_object_get(j, "cut"));
    json_decref(j);
    free(reply);
    return rc;
}
