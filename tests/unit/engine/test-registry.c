/* test-registry.c - the registry of engine instances: lookup by name, the order of adding,
 * names taken twice, removal while others stay findable, and growth past many thousands. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"
#include "tap.h"

static hg__entry *entry_named(const char *name)
{
    hg__entry *e = calloc(1, sizeof *e);
    if (e == NULL || hg__inst_new_standalone(name, NULL, NULL, NULL, &e->in) != 0) {
        free(e);
        return NULL;
    }
    return e;
}

static void entry_free(hg__entry *e)
{
    if (e != NULL)
        hg__inst_free(e->in);
    free(e);
}

static void test_registry_basics(void)
{
    hg__engines *r = NULL;
    hg__entry *a = entry_named("echo"), *b = entry_named("load"), *a2 = entry_named("echo");
    is_int(hg__engines_new(&r), 0, "a registry is created empty");
    is_int(hg__engines_count(r), 0, "  with no entries");
    ok(hg__engines_find(r, "echo") == NULL, "  and finds nothing");
    is_int(hg__engines_add(r, a), 0, "an entry is added");
    is_int(hg__engines_add(r, b), 0, "a second one is added");
    is_int(hg__engines_add(r, a2), HG_EEXIST, "a name taken already is refused (EEXIST)");
    ok(hg__engines_find(r, "echo") == a && hg__engines_find(r, "load") == b,
       "each is found by its name");
    ok(hg__engines_at(r, 0) == a && hg__engines_at(r, 1) == b && hg__engines_at(r, 2) == NULL,
       "entries list in the order of adding");
    ok(hg__engines_remove(r, "echo") == a, "removing returns the entry");
    ok(hg__engines_find(r, "echo") == NULL && hg__engines_find(r, "load") == b,
       "  which is gone, while the other is still found");
    ok(hg__engines_remove(r, "echo") == NULL, "removing an absent name returns nothing");
    is_int(hg__engines_add(r, a2), 0, "the freed name can be taken again");
    ok(hg__engines_at(r, 0) == b && hg__engines_at(r, 1) == a2, "  and comes last in the order");
    hg__engines_free(r);
    entry_free(a);
    entry_free(b);
    entry_free(a2);
}

/* Many names, removals in between (tombstones), and every survivor still found. */
static void test_registry_many(void)
{
    enum { N = 20000 };
    hg__engines *r = NULL;
    hg__entry **v = calloc(N, sizeof *v);
    int bad = 0, order_ok = 1;
    hg__engines_new(&r);
    for (int i = 0; i < N; i++) {
        char name[32];
        snprintf(name, sizeof name, "p%d", i);
        v[i] = entry_named(name);
        if (v[i] == NULL || hg__engines_add(r, v[i]) != 0)
            bad++;
    }
    is_int(bad, 0, "%d entries are added", N);
    for (int i = 0; i < N; i += 2) {
        char name[32];
        snprintf(name, sizeof name, "p%d", i);
        if (hg__engines_remove(r, name) != v[i])
            bad++;
    }
    is_int(bad, 0, "every other one is removed");
    is_int(hg__engines_count(r), N / 2, "  leaving %d", N / 2);
    for (int i = 0; i < N; i++) {
        char name[32];
        snprintf(name, sizeof name, "p%d", i);
        if (hg__engines_find(r, name) != (i % 2 ? v[i] : NULL))
            bad++;
    }
    is_int(bad, 0, "each survivor is found, each removed one is not");
    for (uint32_t i = 0; i < hg__engines_count(r); i++)
        if (hg__engines_at(r, i) != v[2 * i + 1])
            order_ok = 0;
    ok(order_ok, "the survivors keep their order");
    /* churn on one name: tombstones must not fill the table */
    for (int i = 0; i < 100000 && bad == 0; i++) {
        if (hg__engines_add(r, v[0]) != 0 || hg__engines_remove(r, "p0") != v[0])
            bad++;
    }
    is_int(bad, 0, "adding and removing one name 100000 times works throughout");
    hg__engines_free(r);
    for (int i = 0; i < N; i++)
        entry_free(v[i]);
    free(v);
}

int main(void)
{
    test_registry_basics();
    test_registry_many();
    return tap_done();
}
