/* ctl_exec.c - runs one ctl command over a link (a host's control socket for `hangar ctl`, the
 * host itself for `hangar run -i`) and prints its reply: a table by default, JSON on request.
 * Verbs the client knows nothing about are passed to the host as they are. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

/* The words joined by single spaces (malloc'd), or NULL on OOM. */
static char *join(int argc, char **argv)
{
    size_t n = 1;
    char *s, *p;
    for (int i = 0; i < argc; i++)
        n += strlen(argv[i]) + 1;
    if ((s = p = malloc(n)) == NULL)
        return NULL;
    *p = '\0';
    for (int i = 0; i < argc; i++)
        p += sprintf(p, "%s%s", i ? " " : "", argv[i]);
    return s;
}

/* `graph --dot` asks the host for `graph dot`; the other words go as they are. */
static char *graph_line(int argc, char **argv, int *dot)
{
    char **w = calloc((size_t)argc + 1, sizeof *w);
    char *line;
    *dot = 0;
    if (w == NULL)
        return NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--dot") == 0) {
            *dot = 1;
            w[i] = "dot";
        } else {
            w[i] = argv[i];
        }
    }
    line = join(argc, w);
    free(w);
    return line;
}

static void show_shutdown(const json_t *reply, FILE *out)
{
    const json_t *ns = json_object_get(reply, "not_stopped"), *v;
    size_t i;
    fprintf(out, "shut down: %" JSON_INTEGER_FORMAT " connection%s cut\n",
            json_integer_value(json_object_get(reply, "cut")),
            json_integer_value(json_object_get(reply, "cut")) == 1 ? "" : "s");
    if (json_array_size(ns) > 0) {
        fputs("overran control.shutdown_timeout and were stopped at once:", out);
        json_array_foreach(ns, i, v)
            fprintf(out, " %s", json_string_value(v) ? json_string_value(v) : "?");
        fputc('\n', out);
    }
}

/* Prints an ok reply to out the way its verb reads best. */
static void show_ok(const char *verb, int dot, const json_t *reply, FILE *out)
{
    const json_t *d = json_object_get(reply, "dot");
    if (strcmp(verb, "counters") == 0)
        hg__ctl_show_counters(reply, out);
    else if (strcmp(verb, "records") == 0)
        hg__ctl_show_records(reply, out);
    else if (strcmp(verb, "perf") == 0)
        hg__ctl_show_perf(reply, out);
    else if (strcmp(verb, "shutdown") == 0 && json_object_get(reply, "cut") != NULL)
        show_shutdown(reply, out);
    else if (dot && json_is_string(d))
        fprintf(out, "%s%s", json_string_value(d),
                json_string_length(d) && json_string_value(d)[json_string_length(d) - 1] == '\n'
                    ? "" : "\n");
    else
        hg__ctl_show_generic(reply, out);
}

/* Prints the reply (JSON, or a table / the host's error) and returns the exit status. */
static int show_reply(const char *who, const char *verb, int dot, const json_t *reply, int json,
                      FILE *out, FILE *err)
{
    int ok = json_is_true(json_object_get(reply, "ok"));
    if (json) {
        char *s = json_dumps(reply, JSON_COMPACT | JSON_REAL_PRECISION(15));
        fprintf(out, "%s\n", s ? s : "{}");
        free(s);
    } else if (ok) {
        show_ok(verb, dot, reply, out);
    } else {
        const char *e = json_string_value(json_object_get(reply, "error"));
        const char *code = json_string_value(json_object_get(reply, "code"));
        fprintf(err, "%s: %s: %s%s%s%s\n", who, verb, e ? e : "the command failed",
                code ? " (" : "", code ? code : "", code ? ")" : "");
    }
    fflush(out);
    return ok ? 0 : 1;
}

int hg__ctl_exec(hg__ctl_link *l, int argc, char **argv, int json, FILE *out, FILE *err)
{
    const char *verb = argv[0];
    char *line;
    int dot = 0, rc;
    json_t *reply;

    if (strcmp(verb, "status") == 0)
        return hg__ctl_status(l, argc, argv, json, out, err);
    if (strcmp(verb, "top") == 0 && l->interactive) {
        fprintf(err, "top is a live view of its own: run `hangar ctl top` in another "
                     "terminal (or `status` here)\n");
        return 2;
    }
    if (strcmp(verb, "top") == 0)
        return hg__ctl_top(l, argc, argv, json, out, err);
    line = strcmp(verb, "graph") == 0 ? graph_line(argc, argv, &dot) : join(argc, argv);
    if (line == NULL)
        return 1;
    reply = hg__ctl_request(l, line, err);
    free(line);
    if (reply == NULL)
        return 1;
    rc = show_reply(l->who, verb, dot, reply, json, out, err);
    json_decref(reply);
    return rc;
}
