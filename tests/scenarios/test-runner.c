/* test-runner.c - the scenario runner against bad scripts (tests/scenarios/runner/): each
 * runs in this process through hg__cli_scenario with stdout captured; checks the exit status,
 * the TAP it printed (valid: one plan, before every test or after every test), how long it
 * took, and that no host thread is left running afterwards. A script the watchdog ends (the
 * process exits) runs in a child process. One script runs from a temporary directory with the
 * working directory elsewhere: paths resolve against the script's. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "scenario_cli.h"
#include "tap.h"

typedef struct scase {
    const char *script;   /* under RUNNER_DIR */
    const char *timeout;  /* --timeout */
    int rc;               /* expected exit status */
    const char *want[4];  /* lines (or parts of lines) the output must hold */
    const char *unwanted; /* must not appear; may be NULL */
    double max_s;         /* the run takes less than this (0: no bound) */
} scase;

/* The cases that run with more than --timeout, or need the fixture plugins (fork). */
static const struct {
    const char *script;
    const char *memory; /* --memory; NULL: the default */
    int fork;           /* run in a child process (with the fixture plugins on
                           HANGAR_PLUGIN_PATH): the watchdog ends the process */
} extras[] = {
    {"c_call_stuck.lua", NULL, 1},
    {"stuck_plugin.lua", NULL, 1},
    {"shutdown_overrun.lua", NULL, 1},
    {"memory_cap.lua", "64MiB", 0},
};

static const scase cases[] = {
    {"good.lua", "10s", 0, {"ok 8 - a subtest", "        ok 1 - deepest", "    not ok 3 - inner todo # TODO", "1..9"}, "not ok 9", 0},
    {"syntax_error.lua", "10s", 1, {"1..1", "not ok 1 - script loads", "')' expected"}, "never", 0},
    {"runtime_error.lua", "10s", 1,
     {"not ok 2 - script runs without error", "breaks on purpose", "in local 'deeper'", "1..2"},
     "never reached", 0},
    {"wait_for_error.lua", "10s", 1,
     {"not ok 1 - wait_for condition runs without error", "condition breaks on purpose",
      "ok 2 - wait_for returns false", "1..2"}, NULL, 0},
    {"wait_for_timeout.lua", "10s", 1,
     {"not ok 1 - wait_for timed out after 300ms", "wait_for_timeout.lua line 3.", "1..2"},
     NULL, 0},
    {"bad_config.lua", "10s", 1,
     {"not ok 1 - script runs without error", "<inline>:2:1: unknown key 'no_such_key'", "1..1"},
     "never reached", 0},
    {"plan_mismatch.lua", "10s", 1, {"1..3", "# Looks like you planned 3 tests but ran 2."},
     NULL, 0},
    {"no_plan.lua", "10s", 1, {"not ok 2 - the scenario declares a plan", "1..2"}, NULL, 0},
    {"os_exit.lua", "10s", 1, {"ok 1 - host starts", "not ok 2 - script exited with status 3",
                               "1..2"}, "never reached", 0},
    {"busy_loop.lua", "1s", 1,
     {"not ok 2 - scenario finishes within 1s", "# scenario timed out after 1s", "1..2"}, NULL, 0},
    {"bail_out.lua", "10s", 255, {"Bail out!  nothing else makes sense"}, "never reached", 0},
    {"error_log.lua", "10s", 1,
     {"not ok 2 - host <inline> logged no unexpected error", "e: cannot listen on 127.0.0.1:",
      "start failed: address already in use", "\n1..2\n"},
     NULL, 0},
    {"late_results.lua", "10s", 1,
     {"ok 1 - one\n1..1\n", "# after the plan: ok 2 - a test after done_testing",
      "# after the plan: not ok 3 - script runs without error",
      "# Looks like you planned 1 test but ran 3."},
     NULL, 0},
    {"plan_first_error_log.lua", "10s", 1,
     {"TAP version 13\n1..1\nok 1 - ", "not ok 2 - host <inline> logged no unexpected error",
      "# Looks like you planned 1 test but ran 2."},
     NULL, 0},
    {"open_peer_done.lua", "20s", 0, {"ok 1 - the echo answers\n1..1\n"}, "did not stop", 5},
    {"open_peer_end.lua", "20s", 0, {"1..2\nok 1 - the echo answers"}, "did not stop", 5},
    {"shutdown_overrun.lua", "20s", 0,
     {"ok 1 - the client that ignores", "\n# host <inline>: engines that did not stop within 300ms: client\n",
      "\n1..1\n"},
     NULL, 10},
    {"c_call_overrun.lua", "1s", 1,
     {"1..1\nok 1 - before the long call\nnot ok 2 - scenario finishes within 1s\n",
      "# the run took ", "over its --timeout 1s: the time went to a call the timeout cannot",
      "# Looks like you planned 1 test but ran 2."},
     NULL, 5},
    {"c_call_done.lua", "1s", 1,
     {"ok 1 - before the long call\nnot ok 2 - scenario finishes within 1s\n",
      "# scenario timed out after 1s\n# the script was stopped 0.", "\n1..2\n"},
     NULL, 5},
    {"c_call_after_plan.lua", "1s", 1,
     {"ok 1 - before the plan\n1..1\n# after the plan: not ok 2 - scenario finishes within 1s\n",
      "# the run took 1.", "\nBail out!  scenario overran its --timeout 1s by 0."},
     NULL, 5},
    {"c_call_stuck.lua", "1s", 1,
     {"1..2\nok 1 - before the long call\n# scenario timed out after 1s\n",
      "\nBail out!  scenario did not stop 1.", "s after its --timeout 1s: the script is inside a "
      "call the timeout cannot interrupt"},
     "never reached", 4.5},
    {"stuck_plugin.lua", "1s", 1,
     {"ok 1 - the host starts\nnot ok 2 - scenario finishes within 1s\n",
      "# the script was stopped 9.", "\nBail out!  scenario did not stop 10.",
      "s after its --timeout 1s: a call into a host or its shutdown did not return (a stuck "
      "plugin)"},
     "never reached", 14},
    {"memory_cap.lua", "10s", 1,
     {"ok 1 - a 1 GiB string is refused\nnot ok 2 - script stays within --memory 64MiB\n",
      "# the memory limit of 64MiB was reached: Lua was refused a block of 1.0 GiB",
      "# raise it with --memory SIZE (--memory 4GiB) or lift it with --memory unlimited", "1..2"},
     "never reached", 0},
    {"os_exit_pcall.lua", "10s", 1,
     {"ok 2 - two\nnot ok 3 - script exited with status 0 before its plan was met\n",
      "# os.exit(0) after 2 of the 3 planned tests: the others never ran"},
     "never reached", 0},
    {"os_exit_kept.lua", "10s", 1,
     {"ok 1 - one\nnot ok 2 - script exited with status 0 before its plan was met\n",
      "# os.exit(0) with no plan and before done_testing()", "\n1..2\n"},
     "kept going", 0},
    {"os_exit_wide.lua", "10s", 1, {"ok 1 - one\nnot ok 2 - script exited with status 4294967296\n"},
     NULL, 0},
    {"error_object.lua", "10s", 1,
     {"ok 1 - one\nnot ok 2 - script exited with status 0 before its plan was met\n",
      "# os.exit(0) after 1 of the 2 planned tests"},
     NULL, 0},
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

static int fixture_dir(char *out, size_t len);

/* The build's hangar: this program is <build>/tests/scenarios/NAME, hangar <build>/host/hangar.
 * Returns 0 or -1. */
static int hangar_exe(char *out, size_t len)
{
    char exe[PATH_MAX - 32];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    char *slash;
    if (n <= 0)
        return -1;
    exe[n] = '\0';
    slash = strrchr(exe, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    snprintf(out, len, "%s/../../host/hangar", exe);
    return access(out, X_OK);
}

/* `hangar scenario ARGS` as a child process (a fork alone would start threads in the child of
 * a sanitizer's threaded process) with stdout on fd; returns its exit status (-1 when it did not
 * exit). */
static int run_child(int argc, char **argv, int fd)
{
    char exe[PATH_MAX], *args[8];
    int st = 0;
    pid_t pid;
    if (hangar_exe(exe, sizeof(exe)) < 0 || argc > 6)
        return -1;
    args[0] = exe;
    for (int i = 0; i < argc; i++)
        args[i + 1] = argv[i];
    args[argc + 1] = NULL;
    pid = fork();
    if (pid == 0) {
        char fixtures[PATH_MAX];
        if (fixture_dir(fixtures, sizeof(fixtures)) == 0)
            setenv("HANGAR_PLUGIN_PATH", fixtures, 1);
        dup2(fd, 1);
        execv(exe, args);
        _exit(127);
    }
    if (pid < 0 || waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Runs `hangar scenario --timeout T [--memory M] path` (in a child process when in_child) with
 * stdout into a file; returns its exit status and the output in *out (malloc'd). */
static int run_with(const char *path, const char *timeout, const char *memory, int in_child,
                    char **out)
{
    char tmpl[] = "/tmp/hangar-runner-XXXXXX";
    char *argv[] = {"scenario", "--timeout", (char *)timeout, (char *)path, NULL, NULL, NULL};
    int fd = mkstemp(tmpl), saved, rc, argc = 4;
    long len;
    FILE *f;
    if (memory) {
        argv[argc++] = "--memory";
        argv[argc++] = (char *)memory;
    }
    fflush(stdout);
    if (in_child) {
        rc = run_child(argc, argv, fd);
    } else {
        saved = dup(1);
        dup2(fd, 1);
        rc = hg__cli_scenario(argc, argv);
        fflush(stdout);
        dup2(saved, 1);
        close(saved);
    }
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

static int run(const char *path, const char *timeout, char **out)
{
    return run_with(path, timeout, NULL, 0, out);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Well formed: the header first, and one top-level plan (or a Bail out!) before every
 * top-level test line or after every one of them. */
static int well_formed(const char *out)
{
    int plans = 0, tests_after_plan = 0, tests_before_plan = 0;
    const char *p = out;
    if (strncmp(out, "TAP version 13\n", 15) != 0)
        return 0;
    if (strstr(out, "\nBail out!"))
        return 1;
    for (p = strchr(out, '\n'); p && p[1]; p = strchr(p + 1, '\n')) {
        const char *line = p + 1;
        if (strncmp(line, "1..", 3) == 0)
            plans++;
        else if ((strncmp(line, "ok ", 3) == 0 || strncmp(line, "not ok ", 7) == 0) && plans)
            tests_after_plan++;
        else if (strncmp(line, "ok ", 3) == 0 || strncmp(line, "not ok ", 7) == 0)
            tests_before_plan++;
    }
    return plans == 1 && (tests_before_plan == 0 || tests_after_plan == 0);
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
    int before = count_threads(), rc, all = 1, extra = -1;
    double t0 = now_s(), took;
    snprintf(path, sizeof(path), "%s/%s", RUNNER_DIR, c->script);
    for (size_t i = 0; i < sizeof(extras) / sizeof(extras[0]); i++)
        if (strcmp(extras[i].script, c->script) == 0)
            extra = (int)i;
    rc = run_with(path, c->timeout, extra >= 0 ? extras[extra].memory : NULL,
                  extra >= 0 && extras[extra].fork, &out);
    took = now_s() - t0;
    is_int(rc, c->rc, "%s: exit status %d", c->script, c->rc);
    if (c->max_s > 0 && !ok(took < c->max_s, "%s: done in less than %gs", c->script, c->max_s))
        tap_diag("it took %.2fs", took);
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

/* The validity check itself: a plan after a test that follows another plan is refused. */
static void check_well_formed(void)
{
    ok(well_formed("TAP version 13\n1..1\nok 1\n"), "well_formed: a leading plan");
    ok(well_formed("TAP version 13\nok 1\n1..1\n# after the plan: ok 2\n"),
       "well_formed: a trailing plan, comments after it");
    ok(!well_formed("TAP version 13\nok 1\n1..1\nnot ok 2 - host x logged no unexpected "
                    "error\n"), "well_formed: a test after a trailing plan is refused");
    ok(!well_formed("TAP version 13\nok 1\n1..1\nok 2\n1..2\n"), "well_formed: two plans too");
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

/* The fixture plugins' build directory: this program is <build>/tests/scenarios/NAME, the
 * plugins <build>/tests/plugins/good. */
static int fixture_dir(char *out, size_t len)
{
    char exe[PATH_MAX - 32];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    char *slash;
    if (n <= 0)
        return -1;
    exe[n] = '\0';
    slash = strrchr(exe, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    snprintf(out, len, "%s/../plugins/good", exe);
    return access(out, R_OK) == 0 ? 0 : -1;
}

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    int rc;
    if (!f)
        return -1;
    rc = fputs(text, f) < 0 ? -1 : 0;
    return fclose(f) == 0 ? rc : -1;
}

/* Builds dir/{plugins -> fixtures, relative_paths.lua -> the runner's, rel.yaml}. */
static int make_script_dir(const char *dir, const char *fixtures)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/plugins", dir);
    if (symlink(fixtures, path) < 0)
        return -1;
    snprintf(path, sizeof(path), "%s/relative_paths.lua", dir);
    if (symlink(RUNNER_DIR "/relative_paths.lua", path) < 0)
        return -1;
    snprintf(path, sizeof(path), "%s/rel.yaml", dir);
    return write_file(path, "hangar: 1\nplugin_path: plugins\npipelines:\n"
                            "  - { name: two, engine: fixture-oneshot, runs: 2 }\n");
}

static void remove_script_dir(const char *dir)
{
    static const char *const names[] = {"plugins", "relative_paths.lua", "rel.yaml", "ctl.sock"};
    char path[1024];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

/* Runs the script with the working directory cwd (holding marker.txt); returns its status. */
static int run_in(const char *cwd, const char *script, char **out)
{
    int back = open(".", O_RDONLY | O_DIRECTORY), rc = -1;
    if (back < 0)
        return -1;
    if (chdir(cwd) == 0) {
        if (write_file("marker.txt", "the run's working directory\n") == 0)
            rc = run(script, "20s", out);
        unlink("marker.txt");
        if (fchdir(back) < 0)
            tap_diag("cannot go back to the working directory");
    }
    close(back);
    return rc;
}

/* relative_paths.lua from a temporary directory, run with the working directory in another. */
static void check_relative_paths(void)
{
    char fixtures[PATH_MAX] = "", dir[] = "/tmp/hangar-scn-dir-XXXXXX";
    char cwd[] = "/tmp/hangar-scn-cwd-XXXXXX", script[1024], *out = NULL;
    int rc = -1, ready;
    ready = fixture_dir(fixtures, sizeof(fixtures)) == 0 && mkdtemp(dir) && mkdtemp(cwd) &&
            make_script_dir(dir, fixtures) == 0;
    if (!ok(ready, "relative_paths.lua: its directory is set up (fixture plugins built)"))
        tap_diag("fixtures looked for in %s", fixtures);
    snprintf(script, sizeof(script), "%s/relative_paths.lua", dir);
    if (ready)
        rc = run_in(cwd, script, &out);
    is_int(rc, 0, "relative_paths.lua: run from elsewhere, every path resolves beside it");
    if (rc != 0 && out)
        show(out);
    ok(out && well_formed(out) && strstr(out, "\n1..8\n"), "relative_paths.lua: 8 tests, planned");
    remove_script_dir(dir);
    rmdir(cwd);
    free(out);
}

int main(void)
{
    int n = (int)(sizeof(cases) / sizeof(cases[0])), timed = 0;
    char warm[1024], *out = NULL;
    for (int i = 0; i < n; i++)
        timed += cases[i].max_s > 0;
    tap_plan(n * 4 + timed + 2 + 3 + 4);
    /* One run first, uncounted: a sanitizer runtime starts its own helper threads lazily. */
    snprintf(warm, sizeof warm, "%s/%s", RUNNER_DIR, cases[0].script);
    run(warm, cases[0].timeout, &out);
    free(out);
    for (int i = 0; i < n; i++)
        check_case(&cases[i]);
    check_missing();
    check_relative_paths();
    check_well_formed();
    return tap_done();
}
