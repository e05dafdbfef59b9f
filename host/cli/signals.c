/* signals.c - the signals `hangar run` handles and what each does: the stop signals (and
 * the ones whose default would end the process without a word) shut down gracefully, SIGHUP
 * reloads the configuration, SIGQUIT kills, SIGUSR1 reopens the log file (log.file), SIGUSR2 is
 * logged and ignored; SIGPIPE and SIGXFSZ are ignored. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "signals.h"

/* Other signals whose default action ends the process: each asks for a graceful shutdown
 * instead, so that engines stop, summaries print and the control socket is removed; but only
 * when nothing handles or ignores it already (a preloaded profiler's SIGPROF). */
static const int other_sigs[] = {
    SIGALRM, SIGVTALRM, SIGPROF, SIGXCPU, SIGPWR, SIGIO,
#ifdef SIGSTKFLT
    SIGSTKFLT,
#endif
};

/* 1 when sig has its default action (no handler installed, not ignored). */
static int is_default(int sig)
{
    struct sigaction sa;
    return sigaction(sig, NULL, &sa) == 0 && !(sa.sa_flags & SA_SIGINFO) &&
           sa.sa_handler == SIG_DFL;
}

void hg__cli_signals_setup(sigset_t *set)
{
    struct sigaction hup;
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    /* started under nohup (SIGHUP ignored): it stays ignored */
    if (sigaction(SIGHUP, NULL, &hup) != 0 || (hup.sa_flags & SA_SIGINFO) ||
        hup.sa_handler != SIG_IGN)
        sigaddset(set, SIGHUP);
    for (size_t i = 0; i < sizeof other_sigs / sizeof other_sigs[0]; i++)
        if (is_default(other_sigs[i]))
            sigaddset(set, other_sigs[i]);
    for (int s = SIGRTMIN; s <= SIGRTMAX; s++)
        if (is_default(s))
            sigaddset(set, s);
    sigaddset(set, SIGQUIT);
    sigaddset(set, SIGUSR1);
    sigaddset(set, SIGUSR2);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN);
}

int hg__cli_signal_action(int sig)
{
    if (sig == SIGQUIT)
        return HG__SIG_KILL;
    if (sig == SIGUSR1)
        return HG__SIG_REOPEN;
    if (sig == SIGUSR2)
        return HG__SIG_LOG;
    if (sig == SIGHUP)
        return HG__SIG_RELOAD;
    return HG__SIG_SHUTDOWN;
}

const char *hg__cli_signal_name(int sig, char *buf, size_t cap)
{
    const char *abbrev = sigabbrev_np(sig);
    if (abbrev != NULL)
        snprintf(buf, cap, "SIG%s", abbrev);
    else if (sig >= SIGRTMIN && sig <= SIGRTMAX)
        snprintf(buf, cap, "SIGRTMIN+%d", sig - SIGRTMIN);
    else
        snprintf(buf, cap, "signal %d", sig);
    return buf;
}
