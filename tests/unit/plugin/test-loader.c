/* test-loader.c - the plugin loader: the search path and its order, candidate files found in
 * directories and their subdirectories, the registry (find, names, load_needed), process-wide
 * init/deinit reference counts, and the good fixture's engines driven through their ops. */
#define _GNU_SOURCE
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hangar/hangar.h>

#include "loader.h"
#include "tap.h"

static char fixtures[4096]; /* build/tests/plugins, found from this executable's place */
static char tmp[] = "/tmp/hg-loader-XXXXXX";

static void find_fixtures(void)
{
    char *exe = realpath("/proc/self/exe", NULL);
    const char *env = getenv("HG_FIXTURE_DIR");

    if (env)
        snprintf(fixtures, sizeof fixtures, "%s", env);
    else if (exe)
        snprintf(fixtures, sizeof fixtures, "%s/plugins", dirname(dirname(exe)));
    free(exe);
}

static char *fixture(const char *rel)
{
    static char buf[8][4200];
    static int i;
    i = (i + 1) % 8;
    snprintf(buf[i], sizeof buf[i], "%s/%s", fixtures, rel);
    return buf[i];
}

static int touch(const char *rel)
{
    char p[4200];
    FILE *f;
    snprintf(p, sizeof p, "%s/%s", tmp, rel);
    f = fopen(p, "w");
    if (!f)
        return -1;
    fclose(f);
    return 0;
}

static int strv_len(char **v)
{
    int n = 0;
    while (v && v[n])
        n++;
    return n;
}

static void test_search_path(void)
{
    const char *extra[] = {"/x/extra1", "/x/extra2"};
    const char *cfg[] = {"/x/cfg"};
    char **v = NULL;
    char dot[4200], *build = NULL, *exe = realpath("/proc/self/exe", NULL);
    int rc, n;

    setenv("HANGAR_PLUGIN_PATH", "/x/env1::/x/env2:", 1);
    rc = hg__plugin_search_path(extra, 2, cfg, 1, &v);
    n = strv_len(v);
    is_int(rc, 0, "the search path is built");
    /* This test runs from the build tree: the build's own plugins/ take the place of the
     * installed directory, so an installed hangar's plugins never mix with the build's. */
    if (exe) {
        char *root = dirname(dirname(dirname(exe)));
        if (asprintf(&build, "%s/plugins", root) < 0)
            build = NULL;
    }
    is_int(n, 6, "it has the 6 entries asked for");
    if (n >= 6) {
        is_str(v[0], "/x/extra1", "--path entries come first");
        is_str(v[1], "/x/extra2", "  in their order");
        is_str(v[2], "/x/cfg", "then the config's plugin_path");
        is_str(v[3], "/x/env1", "then $HANGAR_PLUGIN_PATH");
        is_str(v[4], "/x/env2", "  whose empty components are skipped");
        is_str(v[5], build, "then the build's own plugins, in place of the installed directory");
    }
    hg__strv_free(v);
    free(build);
    free(exe);

    snprintf(dot, sizeof dot, "%s/.", tmp);
    extra[0] = tmp;
    extra[1] = dot;
    unsetenv("HANGAR_PLUGIN_PATH");
    rc = hg__plugin_search_path(extra, 2, extra, 1, &v);
    is_int(strv_len(v), 2, "entries naming one directory are kept once (by realpath)");
    is_str(v[0], tmp, "  the first spelling is kept");
    hg__strv_free(v);
}

static void test_candidates(void)
{
    char sub[4200], deep[4200], link[4200], file[4200];
    char *path[5];
    char **v = NULL;
    int rc;

    snprintf(sub, sizeof sub, "%s/sub", tmp);
    snprintf(deep, sizeof deep, "%s/sub/deeper", tmp);
    snprintf(link, sizeof link, "%s-link", tmp); /* outside: not itself scanned */
    snprintf(file, sizeof file, "%s/z-file.so", tmp);
    mkdir(sub, 0700);
    mkdir(deep, 0700);
    ok(touch("b.so") == 0 && touch("a.so") == 0 && touch("notes.txt") == 0 &&
       touch(".hidden.so") == 0 && touch("z-file.so") == 0 && touch("sub/c.so") == 0 && touch("sub/deeper/d.so") == 0,
       "a directory tree of candidates is made");
    symlink(tmp, link);
    path[0] = tmp;
    path[1] = "/nonexistent/hangar/plugins";
    path[2] = link;
    path[3] = fixture("good/old-minor.so");
    path[4] = NULL;
    rc = hg__plugin_candidates(path, &v);
    is_int(rc, 0, "the candidates are listed");
    is_int(strv_len(v), 5, "a.so, b.so, z-file.so, sub/c.so and the file entry");
    if (strv_len(v) == 5) {
        like_str(v[0], "/a.so", "the directory's files come sorted");
        like_str(v[1], "/b.so", "  b after a");
        like_str(v[2], "/z-file.so", "  z last of them");
        like_str(v[3], "/sub/c.so", "immediate subdirectories are scanned, after the files");
        like_str(v[4], "good/old-minor.so", "a path entry that is a file is a candidate");
    }
    hg__strv_free(v);
    unlink(link);
    unlink(file);
}

static void test_registry(void)
{
    hg__registry *r = NULL;
    const char *const *names;
    const hg__engine_def *def;
    hg__diag d;
    int rc;

    hg__diag_init(&d);
    hg__registry_new(&r);
    rc = hg__registry_load_file(r, fixture("good/fixture-good.so"), &d);
    is_int(rc, 0, "the good fixture loads in this process");
    hg__diag_print(&d, stdout);
    names = hg__registry_names(r);
    ok(names[0] && names[1] && names[2] && names[3] && !names[4], "its 4 engine names are listed");
    def = hg__registry_find(r, "fixture-idle");
    is_int(def ? def->kind : 0, HG_KIND_RUNTIME_MODE, "fixture-idle is a runtime mode");
    def = hg__registry_find(r, "fixture-oneshot");
    ok(def && def->config_keys && strcmp(def->config_keys[0], "runs") == 0,
       "a 1.1 engine's config_keys are read");
    is_str(def ? def->plugin->desc->id : NULL, "org.hangar.test.fixture-good",
           "an engine knows its plugin");
    ok(hg__registry_find(r, "fixture-nope") == NULL, "an unknown engine is not found");
    hg__registry_free(r);
    hg__diag_free(&d);
}

static char *slurp(const char *p)
{
    static char buf[256];
    FILE *f = fopen(p, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    return buf;
}

static void test_refcount(void)
{
    char logp[4200];
    hg__registry *a = NULL, *b = NULL;
    hg__diag d;

    snprintf(logp, sizeof logp, "%s/init.log", tmp);
    setenv("HG_FIXTURE_GOOD_LOG", logp, 1);
    hg__diag_init(&d);
    hg__registry_new(&a);
    hg__registry_new(&b);
    hg__registry_load_file(a, fixture("good/fixture-good.so"), &d);
    is_str(slurp(logp), "init\n", "the first host to load a plugin calls its init");
    hg__registry_load_file(b, fixture("good/fixture-good.so"), &d);
    is_str(slurp(logp), "init\n", "a second host in the process does not call init again");
    hg__registry_free(a);
    is_str(slurp(logp), "init\n", "freeing the first host does not call deinit");
    hg__registry_free(b);
    is_str(slurp(logp), "init\ndeinit\n", "freeing the last host calls deinit once");
    is_int(d.n, 0, "no diagnostics along the way");
    hg__diag_free(&d);
    unsetenv("HG_FIXTURE_GOOD_LOG");
    unlink(logp);
}

static void test_load_needed(void)
{
    char *path[] = {fixture("good"), fixture("broken/dup-a.so"), NULL};
    const char *needed[] = {"fixture-oneshot", "fixture-unknown", NULL};
    hg__probe_set set = {0};
    hg__registry *r = NULL;
    hg__diag d;
    int rc;

    hg__diag_init(&d);
    rc = hg__probe_path(path, &set);
    is_int(rc == 0 ? (int)set.n : -1, 4, "the good fixtures and dup-a are probed");
    hg__registry_new(&r);
    rc = hg__registry_load_needed(r, &set, needed, &d);
    is_int(rc, 0, "loading what a config needs succeeds (an unknown name is the caller's)");
    ok(hg__registry_find(r, "fixture-oneshot") != NULL, "the file providing a needed engine is opened");
    ok(hg__registry_find(r, "fixture-old-first") == NULL && hg__registry_find(r, "fixture-dup") == NULL,
       "files providing nothing needed are not opened");
    hg__registry_free(r);
    hg__probe_set_free(&set);
    hg__diag_free(&d);
}

/* ---- a fake host, enough to drive the good fixture's pipeline and runtime mode ---- */

static uint32_t last_state;
static hg_counter runs_counter;
static char info[64];

static uint32_t f_log_level(const hg_host *h) { (void)h; return HG_LOG_INFO; }
static void f_log(const hg_host *h, uint32_t l, const char *m) { (void)h; (void)l; tap_diag("%s", m); }
static int f_cfg_int(const hg_host *h, const hg_config *n, const char *k, int64_t *out)
{
    (void)h; (void)n; (void)k; (void)out;
    return HG_ENOENT;
}
static int f_counter(const hg_host *h, const char *name, uint32_t type, hg_counter **out)
{
    (void)h; (void)type;
    *out = &runs_counter;
    return strcmp(name, "runs") == 0 ? 0 : HG_EINVAL;
}
static int f_set_info(const hg_host *h, const char *k, const char *v)
{
    (void)h;
    snprintf(info, sizeof info, "%s=%s", k, v);
    return 0;
}
static void f_set_state(const hg_host *h, uint32_t s, int st, const char *m)
{
    (void)h; (void)st; (void)m;
    last_state = s;
}
struct hg_thread { pthread_t t; void (*fn)(void *); void *arg; };
static void *f_trampoline(void *p)
{
    hg_thread *t = p;
    t->fn(t->arg);
    return NULL;
}
static int f_spawn(const hg_host *h, const char *name, int32_t core, void (*fn)(void *), void *arg,
                   hg_thread **out)
{
    hg_thread *t = calloc(1, sizeof(*t));
    (void)h; (void)name; (void)core;
    if (!t)
        return HG_ENOMEM;
    t->fn = fn;
    t->arg = arg;
    if (pthread_create(&t->t, NULL, f_trampoline, t) != 0) {
        free(t);
        return HG_EAGAIN;
    }
    *out = t;
    return 0;
}
static int f_join(const hg_host *h, hg_thread *t)
{
    (void)h;
    pthread_join(t->t, NULL);
    free(t);
    return 0;
}

static void test_engines_run(void)
{
    hg_host h;
    hg__registry *r = NULL;
    const hg__engine_def *pl_def, *rt_def;
    hg__diag d;
    void *inst = NULL;
    char reply[256];
    uint32_t len = 0;

    memset(&h, 0, sizeof h);
    h.struct_size = sizeof h;
    h.abi_major = HG_ABI_MAJOR;
    h.abi_minor = HG_ABI_MINOR;
    h.log = f_log;
    h.log_level = f_log_level;
    h.cfg_int = f_cfg_int;
    h.counter = f_counter;
    h.set_info = f_set_info;
    h.set_state = f_set_state;
    h.thread_spawn = f_spawn;
    h.thread_join = f_join;
    hg__diag_init(&d);
    hg__registry_new(&r);
    hg__registry_load_file(r, fixture("good/fixture-good.so"), &d);
    pl_def = hg__registry_find(r, "fixture-oneshot");
    rt_def = hg__registry_find(r, "fixture-idle");
    if (!pl_def || !rt_def) {
        ok(0, "the good fixture's engines are found");
        goto out;
    }
    {
        const hg_pipeline_ops *ops = pl_def->ops;
        is_int(ops->create(&h, NULL, &inst), 0, "the fixture pipeline is created");
        is_int(ops->start(inst, NULL), 0, "it starts");
        is_int(last_state, HG_STATE_STOPPED, "it reports stopped at once");
        is_int(hg_counter_get(&runs_counter), 1, "it counts its one run");
        is_str(info, "fixture=started", "it publishes a fact");
        is_int(ops->command(inst, "summary", NULL, reply, sizeof reply, &len), 0,
               "it answers the summary verb");
        like_str(reply, "\"runs\":1", "  with its figures");
        ops->destroy(inst);
    }
    {
        const hg_runtime_mode_ops *ops = rt_def->ops;
        int32_t cores[] = {HG_CORE_ANY};
        is_int(ops->create(&h, NULL, &inst), 0, "the fixture runtime mode is created");
        is_int(ops->start(inst, 2, cores, 1), 0, "it starts two workers through the host");
        ops->request_stop(inst);
        is_int(ops->join(inst, 1000000000u), 0, "its workers leave when asked to stop");
        is_int(ops->net_open(inst, &h, NULL), HG_ENOTSUP, "it says it offers no network");
        ops->destroy(inst);
    }
out:
    hg__registry_free(r);
    hg__diag_free(&d);
}

int main(void)
{
    find_fixtures();
    if (!mkdtemp(tmp)) {
        printf("1..0 # SKIP cannot make a temporary directory\n");
        return 0;
    }
    test_search_path();
    test_candidates();
    test_registry();
    test_refcount();
    test_load_needed();
    test_engines_run();
    {
        char cmd[4200];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
        if (system(cmd) != 0)
            tap_diag("could not remove %s", tmp);
    }
    return tap_done();
}
