/* prompt.c - `hangar run -i CONFIG`: reads commands from the terminal with libedit (history,
 * Tab completion of command and engine names) while the host runs, and prints their replies as
 * `hangar ctl` does (ctl_exec.c), through the host's own command channel. `quit`, `exit`, the end
 * of input or `shutdown` end it, and with it the host. */
#define _GNU_SOURCE
#include <errno.h>
#include <histedit.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hangar/status.h>

#include "ctl.h"
#include "prompt.h"

#define MAX_WORDS 64
#define MAX_CANDIDATES 256

static int host_send(void *ud, const char *line, char **reply, FILE *err)
{
    int rc = hg__host_command(ud, line, reply);
    if (rc != 0)
        fprintf(err, "hangar: the host did not answer `%s`: %s\n", line, hg_err_name(rc));
    return rc;
}

/* libedit's read: one byte from stdin, waking every 100 ms to see whether the host stopped (0:
 * the end of input, so el_gets returns). */
static int read_char(EditLine *el, wchar_t *wc)
{
    hg__prompt *p = NULL;
    el_get(el, EL_CLIENTDATA, &p);
    for (;;) {
        struct pollfd pf = {STDIN_FILENO, POLLIN, 0};
        unsigned char c;
        ssize_t r;
        if (__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE))
            return 0;
        if (poll(&pf, 1, 100) <= 0)
            continue;
        r = read(STDIN_FILENO, &c, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r == 0 ? 0 : -1;
        *wc = (wchar_t)c;
        return 1;
    }
}

static char *prompt_text(EditLine *el)
{
    (void)el;
    return "hangar> ";
}

/* The words the word being typed may become: verbs first, names and options after. */
static uint32_t candidates(hg__host *h, int first_word, const char *verb, char **out)
{
    static const char *const local[] = {"status", "quit", "exit", NULL};
    uint32_t n = 0;
    char *text = NULL;
    json_t *r, *v;
    const char *k;
    size_t i;
    if (hg__host_command(h, first_word ? "help" : "counters", &text) != 0)
        return 0;
    r = json_loads(text, 0, NULL);
    free(text);
    if (first_word) {
        for (i = 0; local[i] && n < MAX_CANDIDATES; i++)
            out[n++] = strdup(local[i]);
        json_array_foreach(json_object_get(r, "commands"), i, v)
            if (n < MAX_CANDIDATES && json_string_value(v) != NULL)
                out[n++] = strndup(json_string_value(v), strcspn(json_string_value(v), " "));
    } else {
        json_object_foreach(json_object_get(r, "counters"), k, v)
            if (n < MAX_CANDIDATES && strcmp(k, "host") != 0)
                out[n++] = strdup(k);
        if (strcmp(verb, "records") == 0 && n < MAX_CANDIDATES)
            out[n++] = strdup("--limit");
        if ((strcmp(verb, "status") == 0 || strcmp(verb, "top") == 0) && n < MAX_CANDIDATES)
            out[n++] = strdup("--interval");
        if (strcmp(verb, "graph") == 0 && n < MAX_CANDIDATES)
            out[n++] = strdup("--dot");
    }
    json_decref(r);
    return n;
}

/* Completes the word before the cursor: the rest of the only match (and a space), else what all
 * matches share, else lists them. */
static unsigned char complete(EditLine *el, int ch)
{
    const LineInfo *li = el_line(el);
    char *cand[MAX_CANDIDATES], verb[32] = "", common[256] = "", line[1024];
    size_t typed, shared = 0, at = (size_t)(li->cursor - li->buffer), start = at;
    uint32_t n, matches = 0;
    hg__prompt *p = NULL;
    unsigned char rc = CC_REFRESH_BEEP;
    (void)ch;
    el_get(el, EL_CLIENTDATA, &p);
    if (at >= sizeof line)
        return CC_ERROR;
    memcpy(line, li->buffer, at); /* the text up to the cursor (libedit's is not terminated) */
    line[at] = '\0';
    while (start > 0 && line[start - 1] != ' ' && line[start - 1] != '\t')
        start--;
    typed = at - start;
    sscanf(line, "%31s", verb);
    n = candidates(p->h, strspn(line, " \t") == start, verb, cand);
    for (uint32_t i = 0; i < n; i++) {
        if (cand[i] == NULL || strncmp(cand[i], line + start, typed) != 0)
            continue;
        if (matches++ == 0)
            snprintf(common, sizeof common, "%s", cand[i]);
        for (shared = 0; common[shared] && common[shared] == cand[i][shared]; shared++)
            ;
        common[shared] = '\0';
    }
    if (matches == 1 && strlen(common) >= typed) {
        strcat(common, " ");
        rc = el_insertstr(el, common + typed) == 0 ? CC_REFRESH : CC_ERROR;
    } else if (matches > 1 && strlen(common) > typed) {
        rc = el_insertstr(el, common + typed) == 0 ? CC_REFRESH : CC_ERROR;
    } else if (matches > 1) {
        fputc('\n', stdout);
        for (uint32_t i = 0; i < n; i++)
            if (cand[i] != NULL && strncmp(cand[i], line + start, typed) == 0)
                printf("%s  ", cand[i]);
        fputc('\n', stdout);
        fflush(stdout);
        rc = CC_REDISPLAY;
    }
    for (uint32_t i = 0; i < n; i++)
        free(cand[i]);
    return rc;
}

/* Splits line into words (blanks between) in place. Returns the count. */
static int split(char *line, char **words)
{
    int n = 0;
    for (char *tok = strtok(line, " \t\r\n"); tok && n < MAX_WORDS; tok = strtok(NULL, " \t\r\n"))
        words[n++] = tok;
    return n;
}

/* What a line did to the prompt. */
enum { GO_ON, QUIT, SHUT_DOWN };

/* Runs one line. Returns GO_ON, QUIT (quit, exit) or SHUT_DOWN (a shutdown that succeeded). */
static int run_line(hg__ctl_link *l, const char *text)
{
    char *copy = strdup(text), *words[MAX_WORDS];
    int n = copy ? split(copy, words) : 0, end = GO_ON;
    if (n > 0 && (strcmp(words[0], "quit") == 0 || strcmp(words[0], "exit") == 0))
        end = QUIT;
    else if (n > 0 && hg__ctl_exec(l, n, words, 0, stdout, stderr) == 0 &&
             (strcmp(words[0], "shutdown") == 0 || (strcmp(words[0], "stop") == 0 && n == 1)))
        end = SHUT_DOWN;
    fflush(stdout);
    free(copy);
    return end;
}

/* Reads and runs lines until one ends the prompt or the input does. Returns what ended it
 * (GO_ON: the end of input, or the host stopped). */
static int read_lines(EditLine *el, History *hist, hg__ctl_link *l)
{
    HistEvent ev;
    for (;;) {
        int count = 0, end;
        const char *line = el_gets(el, &count);
        if (line == NULL || count <= 0)
            return GO_ON;
        if (strspn(line, " \t\r\n") == strlen(line))
            continue;
        history(hist, &ev, H_ENTER, line);
        if ((end = run_line(l, line)) != GO_ON)
            return end;
    }
}

static EditLine *editor(hg__prompt *p, History *hist)
{
    EditLine *el = el_init("hangar", stdin, stdout, stderr);
    if (el == NULL)
        return NULL;
    el_set(el, EL_CLIENTDATA, p);
    el_set(el, EL_EDITOR, "emacs");
    el_set(el, EL_PROMPT, prompt_text);
    el_set(el, EL_HIST, history, hist);
    el_set(el, EL_GETCFN, read_char);
    /* the wide form: libedit keeps these strings as given (its narrow form copies them and never
     * frees the copies) */
    el_wset(el, EL_ADDFN, L"hangar-complete", L"complete a command or engine name", complete);
    el_set(el, EL_BIND, "^I", "hangar-complete", NULL);
    return el;
}

/* Where the history is kept between runs: $HANGAR_HISTORY (empty: nowhere), else
 * ~/.hangar_history. Returns a malloc'd path or NULL. */
static char *history_file(void)
{
    const char *env = getenv("HANGAR_HISTORY"), *home = getenv("HOME");
    char *path = NULL;
    if (env != NULL)
        return *env ? strdup(env) : NULL;
    if (home == NULL || *home == '\0' || asprintf(&path, "%s/.hangar_history", home) < 0)
        return NULL;
    return path;
}

static void *prompt_main(void *arg)
{
    hg__prompt *p = arg;
    hg__ctl_link l = {host_send, p->h, "this host", "hangar", 1};
    History *hist = history_init();
    HistEvent ev;
    EditLine *el = hist ? editor(p, hist) : NULL;
    char *file = history_file();
    if (el == NULL) {
        fprintf(stderr, "hangar: the prompt could not start (libedit); the host runs on\n");
        goto out;
    }
    history(hist, &ev, H_SETSIZE, 1000);
    history(hist, &ev, H_SETUNIQUE, 1);
    if (file != NULL)
        history(hist, &ev, H_LOAD, file); /* none yet is fine */
    printf("hangar: type commands as for `hangar ctl` (status, counters [NAME], records NAME "
           "[--limit N], perf, help, ...); Tab completes; quit, shutdown or Ctrl-D ends the "
           "host\n");
    fflush(stdout);
    if (read_lines(el, hist, &l) != SHUT_DOWN && !__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE)) {
        char *words[] = {"shutdown"}; /* quit, exit, the end of input: the host ends too */
        printf("\n");
        hg__ctl_exec(&l, 1, words, 0, stdout, stderr);
    }
    if (file != NULL && history(hist, &ev, H_SAVE, file) < 0)
        fprintf(stderr, "hangar: the prompt's history was not saved to %s\n", file);
    el_end(el);
out:
    if (hist)
        history_end(hist);
    free(file);
    return NULL;
}

int hg__prompt_start(hg__prompt *p, hg__host *h)
{
    memset(p, 0, sizeof *p);
    p->h = h;
    if (pthread_create(&p->tid, NULL, prompt_main, p) != 0)
        return HG_EIO;
    p->started = 1;
    return 0;
}

void hg__prompt_stop(hg__prompt *p)
{
    if (!p->started)
        return;
    __atomic_store_n(&p->stop, 1, __ATOMIC_RELEASE);
    pthread_join(p->tid, NULL);
    p->started = 0;
}
