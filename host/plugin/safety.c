/* safety.c - whether a plugin file, and the directories it is reached through, can only be
 * changed by their owner (root or the user running hangar), as sudo and PAM require of the
 * modules they load: otherwise whoever else can write them runs code inside the host. */
#define _GNU_SOURCE
#include "loader.h"

#include <grp.h>
#include <libgen.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* 1 when gid is uid's personal group (same name, the user's primary group, no other members):
 * the user-private-group scheme (umask 002), where group-writable means owner-writable. */
static int personal_group(uid_t uid, gid_t gid)
{
    struct passwd pw, *pwp = NULL;
    struct group gr, *grp = NULL;
    char pbuf[4096], gbuf[4096];

    if (getpwuid_r(uid, &pw, pbuf, sizeof pbuf, &pwp) != 0 || pwp == NULL || pw.pw_gid != gid)
        return 0;
    if (getgrgid_r(gid, &gr, gbuf, sizeof gbuf, &grp) != 0 || grp == NULL)
        return 0;
    return strcmp(gr.gr_name, pw.pw_name) == 0 && (gr.gr_mem == NULL || gr.gr_mem[0] == NULL);
}

static void user_name(uid_t uid, char *buf, size_t cap)
{
    struct passwd pw, *pwp = NULL;
    char pbuf[4096];
    if (getpwuid_r(uid, &pw, pbuf, sizeof pbuf, &pwp) == 0 && pwp != NULL)
        snprintf(buf, cap, "uid %u (%s)", (unsigned)uid, pw.pw_name);
    else
        snprintf(buf, cap, "uid %u", (unsigned)uid);
}

static void group_name(gid_t gid, char *buf, size_t cap)
{
    struct group gr, *grp = NULL;
    char gbuf[4096];
    if (getgrgid_r(gid, &gr, gbuf, sizeof gbuf, &grp) == 0 && grp != NULL)
        snprintf(buf, cap, "%s", gr.gr_name);
    else
        snprintf(buf, cap, "%u", (unsigned)gid);
}

/* What is wrong with st (`what` names it: "" for the path itself, else "its directory DIR is"),
 * into why; 0 when nothing is. */
static int judge(const struct stat *st, const char *what, char *why, size_t cap)
{
    int dir = S_ISDIR(st->st_mode), sticky = dir && (st->st_mode & S_ISVTX);
    unsigned mode = (unsigned)(st->st_mode & 07777);
    const char *rule = dir ? "a plugin directory must be writable only by its owner (or sticky, "
                             "like /tmp)"
                           : "a plugin must be writable only by its owner";
    char name[300];

    if (st->st_uid != 0 && st->st_uid != geteuid()) {
        user_name(st->st_uid, name, sizeof name);
        snprintf(why, cap, "%sowned by %s, neither root nor the user running hangar; %s",
                 what, name, dir ? "a plugin directory must belong to one of them"
                                 : "a plugin must belong to one of them");
        return 1;
    }
    if ((st->st_mode & S_IWOTH) && !sticky) {
        snprintf(why, cap, "%swritable by others (mode %04o%s); %s", what, mode,
                 dir ? ", no sticky bit" : "", rule);
        return 1;
    }
    if ((st->st_mode & S_IWGRP) && !sticky && !personal_group(st->st_uid, st->st_gid)) {
        group_name(st->st_gid, name, sizeof name);
        snprintf(why, cap, "%swritable by group %s (mode %04o); %s", what, name, mode, rule);
        return 1;
    }
    return 0;
}

/* Judges the directory that holds path. */
static int judge_parent(const char *path, char *why, size_t cap)
{
    char *copy = strdup(path), *dir, what[4200];
    struct stat st;
    int bad = 0;

    if (copy == NULL)
        return 0;
    dir = dirname(copy);
    snprintf(what, sizeof what, "its directory %s is ", dir);
    if (stat(dir, &st) == 0)
        bad = judge(&st, what, why, cap);
    free(copy);
    return bad;
}

int hg__plugin_path_unsafe(const char *path, char *why, size_t cap)
{
    struct stat lst, st;
    char *real;
    int bad;

    if (lstat(path, &lst) != 0 || stat(path, &st) != 0)
        return 0; /* missing: opening it says so */
    bad = judge(&st, "", why, cap); /* a symlink: its target's owner and mode */
    if (!bad && !S_ISDIR(st.st_mode))
        bad = judge_parent(path, why, cap); /* who may swap the file (or the link) */
    if (!bad && S_ISLNK(lst.st_mode) && (real = realpath(path, NULL)) != NULL) {
        bad = judge_parent(real, why, cap); /* who may swap the target */
        free(real);
    }
    return bad;
}
