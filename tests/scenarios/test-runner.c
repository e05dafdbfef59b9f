/* test-runner.c - the scenario runner against bad scripts (tests/scenarios/runner/): each
 * runs in this process through hg__cli_scenario with stdout captured; checks the exit status,
 * the TAP it printed, and that no host thread is left running afterwards. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "tap.h"

typedef struct scase {
    const char *script;   /* under RUNNER_DIR */
    const char *timeout;  /* --timeout */
    int rc;               /* expected exit status */
    const char *want[4];  /* lines (or parts of lines) the output must hold */
    const char *unwanted; /* must not appear; may be NULL */
} scase;

static const scase cases[] = {
    {"good.lua", "10s", 0, {"ok 8 - a subtest", "        ok 1 - deepest", "    not ok 3 - inner todo # TODO", "1..9"}, "not ok 9"},
    {"syntax_error.lua", "10s", 1, {"1..1", "not ok 1 - script loads", "')' expected"}, "never"},
    {"runtime_error.lua", "10s", 1,
     {"not ok 2 - script runs without error", "breaks on purpose", "in local 'deeper'", "1..2"},
     "never reached"},
    {"wait_for_error.lua", "10s", 1,
     {"not ok 1 - wait_for condition runs without error", "condition breaks on purpose",
      "ok 2 - wait_for returns false", "1..2"}, NULL},
    {"wait_for_timeout.lua", "10s", 1,
     {"not ok 1 - wait_for timed out after 300ms", "wait_for_timeout.lua line 3.", "1..2"},
     NULL},
    {"bad_config.lua", "10s", 1,
     {"not ok 1 - script runs without error", "<inline>:2:1: unknown key 'no_such_key'", "1..1"},
     "never reached"},
    {"plan_mismatch.lua", "10s", 1, {"1..3", "# Looks like you planned 3 tests but ran 2."},
     NULL},
    {"no_plan.lua", "10s", 1, {"not ok 2 - the scenario declares a plan", "1..2"}, NULL},
    {"os_exit.lua", "10s", 1, {"ok 1 - host starts", "not ok 2 - script exited with status 3",
                               "1..2"}, "never reached"},
    {"busy_loop.lua", "1s", 1,
     {"not ok 2 - scenario finishes within 1s", "# scenario timed out after 1s", "1..2"}, NULL},
    {"bail_out.lua", "10s", 255, {"Bail out!  nothing else makes sense"}, "never reached"},
    {"error_log.lua", "10s", 1,
     {"not ok 2 - host <inline> logged no unexpected error", "e: cannot listen on 127.0.0.1:",
      "start failed: address already in use"},
     NULL},
};

static int count_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int n = 0;
    if (!d)
        return -1;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* Runs `hangar scenario --timeout T path` with stdout into a file; returns its exit status and
 * the output in *out (malloc'd). */
static int run(const char *path, const char *timeout, char **out)
{
    char tmpl[] = "/tmp/hangar-runner-XXXXXX";
    char *argv[] = {"scenario", "--timeout", (char *)timeout, (char *)path, NULL};
    int fd = mkstemp(tmpl), saved, rc;
    long len;
    FILE *f;
    fflush(stdout);
    saved = dup(1);
    dup2(fd, 1);
    rc = hg__cli_scenario(4, argv);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    f = fdopen(fd, "r");
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    rewind(f);
    *out = calloc(1, (size_t)len + 1);
    if (fread(*out, 1, (size_t)len, f) != (size_t)len)
        (*out)[0] = '\0';
    fclose(f);
    unlink(tmpl);
    return rc;
}

/* Well formed: the header first, and one top-level plan (or a Bail out!). */
static int well_formed(const char *out)
{
    int plans = 0;
    const char *p = out;
    if (strncmp(out, "TAP version 13\n", 15) != 0)
        return 0;
    if (strstr(out, "\nBail out!"))
        return 1;
    while ((p = strstr(p, "\n1..")) != NULL) {
        plans++;
        p++;
    }
    return plans == 1;
}

static void show(const char *out)
{
    char *copy = strdup(out), *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        tap_diag("  | %s", line);
    free(copy);
}

static void check_case(const scase *c)
{
    char path[1024], *out = NULL;
    int before = count_threads(), rc, all = 1;
    snprintf(path, sizeof(path), "%s/%s", RUNNER_DIR, c->script);
    rc = run(path, c->timeout, &out);
    is_int(rc, c->rc, "%s: exit status %d", c->script, c->rc);
    ok(well_formed(out), "%s: the TAP is well formed", c->script);
    for (int i = 0; i < 4 && c->want[i]; i++)
        all &= strstr(out, c->want[i]) != NULL;
    if (c->unwanted)
        all &= strstr(out, c->unwanted) == NULL;
    if (!ok(all, "%s: the output says what happened", c->script))
        show(out);
    /* A joined thread can stay listed in /proc/self/task for a moment while the kernel
     * finishes its exit: wait (bounded) for the count to settle. */
    for (int i = 0; i < 100 && count_threads() != before; i++)
        usleep(10000);
    is_int(count_threads(), before, "%s: no thread is left running", c->script);
    free(out);
}

static void check_missing(void)
{
    char *out = NULL;
    int rc = run(RUNNER_DIR "/no-such-script.lua", "10s", &out);
    is_int(rc, 2, "a missing script exits with status 2");
    like_str(out, "Bail out!  cannot open " RUNNER_DIR "/no-such-script.lua: No such file",
             "a missing script bails out saying why");
    free(out);
}

int main(void)
{
    int n = (int)(sizeof(cases) / sizeof(cases[0]));
    char warm[1024], *out = NULL;
    tap_plan(n * 4 + 2);
    /* One run first, uncounted: a sanitizer runtime starts its own helper threads lazily. */
    snprintf(warm, sizeof warm, "%s/%s", RUNNER_DIR, cases[0].script);
    run(warm, cases[0].timeout, &out);
    free(out);
    for (int i = 0; i < n; i++)
        check_case(&cases[i]);
    check_missing();
    return tap_done();
}
