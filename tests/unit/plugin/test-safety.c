/* test-safety.c - plugin path safety: a plugin file, or a directory on the search path, that
 * someone besides its owner could change is refused with its path and mode; a sticky directory
 * (like /tmp) and owner-only modes are accepted; symlinks are judged by their target too. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hangar/hangar.h>

#include "loader.h"
#include "tap.h"

static char good[4200]; /* build/tests/plugins/good/fixture-good.so */
static char tmp[] = "/tmp/hg-safety-XXXXXX";

static char *at(const char *rel)
{
    static char buf[8][4300];
    static int i;
    i = (i + 1) % 8;
    snprintf(buf[i], sizeof buf[i], "%s/%s", tmp, rel);
    return buf[i];
}

/* Copies the good fixture to rel with mode. Returns 0 on success. */
static int place(const char *rel, mode_t mode)
{
    char buf[65536];
    ssize_t n;
    int in = open(good, O_RDONLY), out = open(at(rel), O_WRONLY | O_CREAT | O_TRUNC, 0600), rc = 0;
    if (in < 0 || out < 0)
        rc = -1;
    while (rc == 0 && (n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n)
            rc = -1;
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    return rc == 0 ? chmod(at(rel), mode) : rc;
}

static int make_dir(const char *rel, mode_t mode)
{
    return mkdir(at(rel), 0700) == 0 && chmod(at(rel), mode) == 0 ? 0 : -1;
}

/* Probes one search-path entry; returns the first item's status and copies its error. */
static int probe_entry(const char *entry, char *error, size_t cap, uint32_t *n)
{
    char *path[2] = {(char *)entry, NULL};
    hg__probe_set set = {0};
    int status = -999;
    error[0] = '\0';
    *n = 0;
    if (hg__probe_path(path, &set) != 0)
        return status;
    *n = set.n;
    if (set.n > 0) {
        status = set.items[0].status;
        snprintf(error, cap, "%s", set.items[0].error ? set.items[0].error : "");
    }
    hg__probe_set_free(&set);
    return status;
}

static void test_safety_modes(void)
{
    char err[8192], want[8192];
    uint32_t n;

    ok(make_dir("open", 0777) == 0 && place("open/p.so", 0755) == 0,
       "a mode-0777 directory holding a plugin is made");
    is_int(probe_entry(at("open"), err, sizeof err, &n), HG_EPERM,
           "a search directory writable by others is refused");
    is_int(n, 1, "  as one item, the directory (its files are not read)");
    snprintf(want, sizeof want, "%s: writable by others (mode 0777, no sticky bit); a plugin "
             "directory must be writable only by its owner (or sticky, like /tmp)", at("open"));
    is_str(err, want, "  naming the directory and its mode");

    ok(make_dir("safe", 0755) == 0 && place("safe/w.so", 0666) == 0, "a mode-0666 plugin is made");
    is_int(probe_entry(at("safe/w.so"), err, sizeof err, &n), HG_EPERM,
           "a plugin file writable by others is refused");
    snprintf(want, sizeof want, "%s: writable by others (mode 0666); a plugin must be writable "
             "only by its owner", at("safe/w.so"));
    is_str(err, want, "  naming the file and its mode");
    is_int(probe_entry(at("safe"), err, sizeof err, &n), HG_EPERM,
           "  found by scanning its directory, too");

    ok(make_dir("sticky", 01777) == 0 && place("sticky/s.so", 0755) == 0,
       "a mode-1777 (sticky, like /tmp) directory holding a 0755 plugin is made");
    is_int(probe_entry(at("sticky"), err, sizeof err, &n), 0,
           "a sticky directory is accepted, and its owner-only plugin loads (%s)", err);

    place("open/q.so", 0755);
    is_int(probe_entry(at("open/q.so"), err, sizeof err, &n), HG_EPERM,
           "a 0755 plugin named directly inside a 0777 directory is refused");
    snprintf(want, sizeof want, "%s: its directory %s is writable by others (mode 0777, no "
             "sticky bit)", at("open/q.so"), at("open"));
    like_str(err, want, "  naming its directory");
    ok(place("safe/g.so", 0775) == 0, "a group-writable plugin is made");
    if (getuid() == 0 && chown(at("safe/g.so"), 0, 1) == 0) {
        is_int(probe_entry(at("safe/g.so"), err, sizeof err, &n), HG_EPERM,
               "a plugin writable by a group other than its owner's own is refused");
        like_str(err, "writable by group ", "  naming the group (%s)", err);
    } else {
        printf("ok %d # SKIP changing a file's group needs root\n", ++tap_n);
        printf("ok %d # SKIP changing a file's group needs root\n", ++tap_n);
    }
}

/* 1 when this user's primary group is a personal one (its name, no other members). */
static int personal_primary_group(void)
{
    struct passwd *pw = getpwuid(getuid());
    struct group *gr = pw ? getgrgid(pw->pw_gid) : NULL;
    return gr && strcmp(gr->gr_name, pw->pw_name) == 0 && (!gr->gr_mem || !gr->gr_mem[0]) &&
           getgid() == pw->pw_gid;
}

static void test_safety_personal_group(void)
{
    char err[8192];
    uint32_t n;
    if (!personal_primary_group()) {
        printf("ok %d # SKIP this user's primary group is not a personal one\n", ++tap_n);
        return;
    }
    place("safe/pg.so", 0775); /* as umask 002 makes it: group-writable by the owner's own group */
    is_int(probe_entry(at("safe/pg.so"), err, sizeof err, &n), 0,
           "group-writable by the owner's personal group (umask 002) is accepted (%s)", err);
}

static void test_safety_owner_and_links(void)
{
    char err[8192], want[8192];
    hg__registry *r = NULL;
    hg__diag d;
    uint32_t n;

    if (getuid() == 0 && place("safe/o.so", 0755) == 0 && chown(at("safe/o.so"), 1, 0) == 0) {
        is_int(probe_entry(at("safe/o.so"), err, sizeof err, &n), HG_EPERM,
               "a plugin owned by another user (uid 1) is refused");
        like_str(err, "owned by uid 1", "  naming the owner (%s)", err);
    } else {
        printf("ok %d # SKIP changing a file's owner needs root\n", ++tap_n);
        printf("ok %d # SKIP changing a file's owner needs root\n", ++tap_n);
    }

    ok(symlink(at("safe/w.so"), at("safe/to-w.so")) == 0, "a link to the 0666 plugin is made");
    is_int(probe_entry(at("safe/to-w.so"), err, sizeof err, &n), HG_EPERM,
           "a symlink is judged by its target's mode");
    ok(place("open/t.so", 0755) == 0 && symlink(at("open/t.so"), at("safe/to-t.so")) == 0,
       "a link in a safe directory to a plugin in the 0777 one is made");
    is_int(probe_entry(at("safe/to-t.so"), err, sizeof err, &n), HG_EPERM,
           "a symlink whose target's directory is writable by others is refused");
    snprintf(want, sizeof want, "its directory %s is writable by others", at("open"));
    like_str(err, want, "  naming the target's directory");

    hg__diag_init(&d);
    hg__registry_new(&r);
    is_int(hg__registry_load_file(r, at("safe/w.so"), &d), HG_EPERM,
           "loading an unsafe file directly (no probe) is refused the same way");
    hg__registry_free(r);
    hg__diag_free(&d);
}

int main(void)
{
    char *exe = realpath("/proc/self/exe", NULL);
    if (exe == NULL || !mkdtemp(tmp)) {
        printf("1..0 # SKIP cannot find the fixtures or make a temporary directory\n");
        return 0;
    }
    snprintf(good, sizeof good, "%s/plugins/good/fixture-good.so", dirname(dirname(exe)));
    free(exe);
    umask(022);
    test_safety_modes();
    test_safety_owner_and_links();
    test_safety_personal_group();
    {
        char cmd[4300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
        if (system(cmd) != 0)
            tap_diag("could not remove %s", tmp);
    }
    return tap_done();
}
