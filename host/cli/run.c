/* run.c - `hangar run [CONFIG]`: start a host, wait for a signal, a `shutdown` command or
 * (with --until-done, and always for the built-in default) the end of every client pipeline;
 * then stop gracefully, print each pipeline's summary and exit 1 when a run failed
 * (outcome.c). The only place that installs signal handling (signals.c says which signal does
 * what): SIGINT and SIGTERM shut down within control.shutdown_timeout, a second signal kills;
 * SIGHUP reloads the configuration (service.c runs the reloads, one after another, and tells
 * systemd); SIGQUIT kills at once. Neither waits on an engine that does not return: a shutdown
 * still running STUCK_GRACE_NS after its bound, or a kill the host does not answer within
 * KILL_WAIT_NS, ends the process with _exit(1), naming the engine call its control thread is
 * stuck in.
 * It also installs the crash report (as `check` and `scenario` do; a host never does).
 * With -i a prompt reads commands from the terminal on its own thread meanwhile (prompt.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "clock.h"
#include "cli_common.h"
#include "crash.h"
#include "graph_summary.h"
#include "outcome.h"
#include "prompt.h"
#include "service.h"
#include "signals.h"
#include <hangar/plugin.h>

#include "host_api.h"
#include "hub.h"
#include "log.h"

#define STUCK_GRACE_NS (2ull * 1000000000ull)
#define KILL_WAIT_NS (1ull * 1000000000ull)

typedef struct shutdown_job {
    hg__host *h;
    pthread_t tid;
    int started;
    int done; /* atomic: shutdown_main returned */
    int rc;
    uint64_t deadline_ns; /* the shutdown is stuck past this (monotonic); 0: none asked */
    char *graph;          /* `graph` as it was when the shutdown began (the closing report) */
} shutdown_job;

static void *shutdown_main(void *arg)
{
    shutdown_job *j = arg;
    j->rc = hg__host_shutdown(j->h);
    __atomic_store_n(&j->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* Asks for the graceful shutdown on a thread of its own, so that signals are still seen. */
static void shutdown_begin(shutdown_job *job)
{
    hg__service_notify("STOPPING=1");
    job->graph = hg__cli_graph_snapshot(job->h); /* the drain ends the processors it lists */
    job->deadline_ns = hg__now_ns() + hg__host_config(job->h)->shutdown_timeout_ns + STUCK_GRACE_NS;
    job->started = pthread_create(&job->tid, NULL, shutdown_main, job) == 0;
}

/* The control thread is stuck in an engine that does not return: the host can be neither
 * stopped nor freed, so the process ends here (after joining our shutdown thread when it has
 * returned, so that no finished thread is left unjoined). */
static void exit_stuck(hg__host *h, int killing, shutdown_job *job)
{
    if (job->started && __atomic_load_n(&job->done, __ATOMIC_ACQUIRE)) {
        pthread_join(job->tid, NULL);
        job->started = 0;
    }
    hg__hub_busy b = hg__host_busy(h);
    double secs = b.engine ? (double)(hg__now_ns() - b.since_ns) / 1e9 : 0;
    if (b.engine && killing)
        fprintf(stderr, "hangar: engine '%s' did not return from %s; exiting at once\n",
                b.engine, b.what);
    else if (killing)
        fprintf(stderr, "hangar: the host did not answer the kill within %.3gs; exiting at "
                        "once\n", (double)KILL_WAIT_NS / 1e9);
    else if (b.engine)
        fprintf(stderr, "hangar: engine '%s' did not return from %s within %.1fs; exiting\n",
                b.engine, b.what, secs);
    else
        fprintf(stderr, "hangar: the host did not finish its shutdown within "
                        "control.shutdown_timeout + %.3gs; exiting\n",
                (double)STUCK_GRACE_NS / 1e9);
    fflush(stdout);
    fflush(stderr);
    _exit(HG_EXIT_RUNTIME);
}

/* 1 when a shutdown (asked by us, or by a command) runs past its bound plus the grace, or our
 * shutdown request came back unanswered while the host still runs. */
static int shutdown_stuck(hg__host *h, const shutdown_job *job)
{
    uint64_t now = hg__now_ns(), since = hg__host_shutdown_since(h);
    uint64_t bound = hg__host_config(h)->shutdown_timeout_ns + STUCK_GRACE_NS;
    if (job->started && now > job->deadline_ns)
        return 1;
    if (since != 0 && now - since > bound)
        return 1;
    return job->started && __atomic_load_n(&job->done, __ATOMIC_ACQUIRE) &&
           hg__host_wait(h, 0, 0) != 0;
}

/* Adds `progress: true` to each tcp-gen pipeline when stdout is a terminal, as iperf3 prints its
 * interval reports. Returns the extended --set list (the caller frees it and its new strings). */
static char **progress_sets(const hg__cli_opts *o, uint32_t *n_out)
{
    hg__config_src src = {o->config, NULL, o->sets, o->n_sets, HG__CFG_LIMITS_DEFAULT, NULL};
    hg__config *cfg = NULL;
    hg__diag d;
    char **v = NULL;
    uint32_t n = 0;

    *n_out = 0;
    if (!isatty(STDOUT_FILENO) || o->json || o->interactive)
        return NULL; /* the prompt's screen is for its own replies */
    hg__diag_init(&d);
    if (hg__config_load(&src, &cfg, &d) == 0) {
        v = calloc(cfg->n_instances + 1, sizeof *v);
        for (uint32_t i = 0; v && i < cfg->n_instances; i++) {
            const hg__instance_cfg *ic = &cfg->instances[i];
            if (strcmp(ic->engine, "tcp-gen") == 0 && hg__node_get(ic->node, "progress") == NULL) {
                size_t len = strlen(ic->name) + 32;
                v[n] = malloc(len);
                if (v[n])
                    snprintf(v[n++], len, "pipelines.%s.progress=true", ic->name);
            }
        }
        hg__config_free(cfg);
    }
    hg__diag_free(&d);
    *n_out = n;
    return v;
}

static void print_summaries(hg__host *h, int as_json)
{
    const hg__config *cfg = hg__host_config_now(h); /* after reloads: what ran last */
    for (uint32_t i = 0; i < cfg->n_instances; i++) {
        char *reply = NULL;
        json_t *j, *r;
        if (cfg->instances[i].section != HG__SEC_PIPELINE)
            continue;
        if (hg__host_call(h, cfg->instances[i].name, "\"summary\"", &reply) != 0)
            continue;
        j = json_loads(reply, 0, NULL);
        r = json_object_get(j, "reply");
        if (json_is_true(json_object_get(j, "ok")) && r != NULL) {
            if (as_json) {
                char *s = json_dumps(r, JSON_COMPACT | JSON_REAL_PRECISION(15));
                printf("{\"name\":\"%s\",\"summary\":%s}\n", cfg->instances[i].name, s);
                free(s);
            } else if (json_is_string(json_object_get(r, "text"))) {
                printf("== %s (%s)\n%s\n", cfg->instances[i].name, cfg->instances[i].engine,
                       json_string_value(json_object_get(r, "text")));
            }
        }
        json_decref(j);
        free(reply);
    }
    fflush(stdout);
}

/* SIGUSR1: the log file opened again by its path (logrotate moved it); without log.file it is
 * ignored, as before. */
static void reopen_log(hg__host *h)
{
    char err[400];
    hg__logger *lg = hg__host_logger(h);
    int rc = hg__logger_reopen(lg, err, sizeof err);
    if (rc == HG_ENOENT)
        hg__log(lg, HG_LOG_WARN, "host", "SIGUSR1: ignored (no log.file: lines go to stderr)");
    else if (rc != 0)
        hg__log(lg, HG_LOG_ERROR, "host", "SIGUSR1: %s; logging on to the old file", err);
    else
        hg__log(lg, HG_LOG_INFO, "host", "SIGUSR1: log file reopened");
}

/* Waits for signals and for the host to stop or finish; returns the exit status. */
static int supervise(hg__host *h, int until_done, const sigset_t *sigs, hg__service *svc,
                     char **graph)
{
    shutdown_job job = {h, 0, 0, 0, 0, 0, NULL};
    struct timespec tick = {0, 100 * 1000000L};
    int signals = 0;

    for (;;) {
        int sig = sigtimedwait(sigs, NULL, &tick);
        if (sig > 0 && hg__cli_signal_action(sig) == HG__SIG_REOPEN) {
            reopen_log(h);
        } else if (sig > 0 && hg__cli_signal_action(sig) == HG__SIG_RELOAD) {
            if (job.started) /* a shutdown runs: nothing left to reload */
                hg__log(hg__host_logger(h), HG_LOG_WARN, "host", "SIGHUP: shutting down; "
                        "not reloading");
            else {
                hg__log(hg__host_logger(h), HG_LOG_INFO, "host", "SIGHUP: reload asked");
                hg__service_reload(svc);
            }
        } else if (sig > 0 && hg__cli_signal_action(sig) == HG__SIG_LOG) {
            char name[32];
            hg__log(hg__host_logger(h), HG_LOG_WARN, "host", "%s: ignored (it has no use yet)",
                    hg__cli_signal_name(sig, name, sizeof name));
        } else if (sig > 0 && hg__cli_signal_action(sig) == HG__SIG_KILL) {
            signals = 2; /* as a second signal: a kill is not a clean stop */
            fprintf(stderr, "hangar: %s: killing (every engine stopped at once)\n",
                    strsignal(sig));
            if (hg__host_kill_within(h, KILL_WAIT_NS) != 0)
                exit_stuck(h, 1, &job);
            break;
        } else if (sig > 0) {
            signals++;
            if (signals == 1 && !job.started) {
                fprintf(stderr, "hangar: %s: shutting down (again to kill)\n", strsignal(sig));
                shutdown_begin(&job);
            } else {
                fprintf(stderr, "hangar: %s again: killing\n", strsignal(sig));
                if (hg__host_kill_within(h, KILL_WAIT_NS) != 0)
                    exit_stuck(h, 1, &job);
                break;
            }
        }
        if (!job.started && until_done && hg__host_wait(h, 1, 0) == 0)
            shutdown_begin(&job);
        if (hg__host_wait(h, 0, 0) == 0)
            break;
        if (shutdown_stuck(h, &job))
            exit_stuck(h, 0, &job);
    }
    if (job.started) {
        pthread_join(job.tid, NULL);
    } else {
        job.graph = hg__cli_graph_snapshot(h);
        job.rc = hg__host_shutdown(h); /* stopped by a command: did its shutdown overrun? */
    }
    *graph = job.graph;
    if (signals >= 2 || hg__host_killed(h))
        return HG_EXIT_RUNTIME; /* a kill is not a clean stop, whoever asked for it */
    return (job.rc != 0 || hg__host_failed_count(h) > 0) ? HG_EXIT_RUNTIME : HG_EXIT_OK;
}

/* Says what runs once the host started. Returns 0 to supervise it, or -1 when every engine
 * failed (to start, or at once): nothing runs, so there is nothing to wait for. */
static int announce(hg__host *h, int until_done)
{
    const hg__config *cfg = hg__host_config(h);
    uint32_t clients = 0, failed = hg__host_failed_count(h), n = cfg->n_instances - failed;
    for (uint32_t i = 0; i < cfg->n_instances; i++)
        clients += hg__node_get(cfg->instances[i].node, "listen") == NULL;
    if (failed >= cfg->n_instances) {
        fprintf(stderr, "hangar: nothing runs: %s failed (see the errors above); stopping\n",
                cfg->n_instances == 1 ? "the engine" : "every engine");
        return -1;
    } else if (until_done && clients == 0) {
        hg__log(hg__host_logger(h), HG_LOG_WARN, "host", "--until-done: no client pipeline "
                "will finish on its own; waiting for SIGINT/SIGTERM or `shutdown`");
    } else {
        hg__log(hg__host_logger(h), failed ? HG_LOG_WARN : HG_LOG_INFO, "host",
                "running %u engine%s%s (%s to stop)", n, n == 1 ? "" : "s",
                failed ? ", the others failed to start" : "",
                until_done ? "until done, or Ctrl-C" : "Ctrl-C");
    }
    return 0;
}

/* Takes the signals still pending (sent during the summaries, say), so that unblocking them
 * does not run their default action: SIGUSR1 would end the process after a clean stop. */
static void drain_signals(const sigset_t *sigs)
{
    struct timespec zero = {0, 0};
    while (sigtimedwait(sigs, NULL, &zero) > 0)
        ;
}

int hg__cli_run(int argc, char **argv)
{
    static const char *const allow[] = {"--until-done", "--json", "-i", NULL};
    hg__cli_opts o;
    hg__host_opts ho;
    hg__diag d;
    hg__host *h = NULL;
    sigset_t sigs, old;
    char **extra = NULL;
    const char **sets = NULL;
    uint32_t n_extra = 0;
    int rc = hg__cli_parse("run", argc, argv, allow, &o);

    if (rc != 0 || o.help) {
        hg__cli_opts_free(&o);
        return rc;
    }
    if (o.config == NULL)
        o.until_done = 1; /* the built-in demo ends when its generator does */
    extra = progress_sets(&o, &n_extra);
    sets = calloc(o.n_sets + n_extra + 1, sizeof *sets);
    if (sets == NULL) {
        rc = HG_EXIT_RUNTIME;
        goto out;
    }
    memcpy(sets, o.sets, o.n_sets * sizeof *sets);
    for (uint32_t i = 0; i < n_extra; i++)
        sets[o.n_sets + i] = extra[i];

    /* Block the signals before any thread exists, so that only sigtimedwait sees them. */
    hg__cli_signals_setup(&sigs);
    pthread_sigmask(SIG_BLOCK, &sigs, &old);
    signal(SIGPIPE, SIG_IGN);
    hg__crash_install(); /* a plugin that crashes the process is named */

    memset(&ho, 0, sizeof ho);
    ho.src.path = o.config;
    ho.src.sets = sets;
    ho.src.n_sets = o.n_sets + n_extra;
    ho.src.limits = (hg__cfg_limits)HG__CFG_LIMITS_DEFAULT;
    ho.extra_plugin_path = o.paths;
    ho.log_to_stderr = 1;
    hg__diag_init(&d);
    if (hg__host_create(&ho, &d, &h) != 0) {
        hg__diag_print(&d, stderr);
        rc = HG_EXIT_USAGE;
        goto out_diag;
    }
    if (hg__host_config(h)->n_instances == 0) {
        /* nothing would ever end the wait but a signal: say so instead of waiting */
        fprintf(stderr, "hangar: nothing to run: %s has no engines (no pipelines); stopping\n",
                hg__host_config(h)->file);
        rc = HG_EXIT_USAGE;
    } else if (hg__host_start(h) != 0) {
        /* Nothing ran: no summaries (they would report a run that never was). */
        fprintf(stderr, "hangar: the host did not start (see the errors above); stopping\n");
        hg__host_shutdown(h);
        rc = HG_EXIT_RUNTIME;
    } else if (announce(h, o.until_done) != 0) {
        hg__host_shutdown(h);
        rc = HG_EXIT_RUNTIME;
    } else {
        hg__service svc;
        hg__prompt prompt = {0};
        char *graph = NULL;
        if (hg__service_start(&svc, h) != 0)
            hg__log(hg__host_logger(h), HG_LOG_WARN, "host", "no service thread: SIGHUP will "
                    "not reload");
        if (o.interactive && hg__prompt_start(&prompt, h) != 0)
            fprintf(stderr, "hangar: -i: the prompt did not start; the host runs on\n");
        rc = supervise(h, o.until_done, &sigs, &svc, &graph);
        hg__prompt_stop(&prompt);
        hg__service_stop(&svc);
        print_summaries(h, o.json);
        hg__cli_print_graph(h, graph, o.json);
        free(graph);
        if (hg__cli_failed_outcomes(h) > 0 && rc == HG_EXIT_OK)
            rc = HG_EXIT_RUNTIME; /* a generator's run failed: a script can gate on it */
    }
    hg__host_destroy(h);
out_diag:
    hg__diag_free(&d);
    drain_signals(&sigs);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
out:
    for (uint32_t i = 0; i < n_extra; i++)
        free(extra[i]);
    free(extra);
    free(sets);
    hg__cli_opts_free(&o);
    return rc;
}
