/* cli_signals.c - the signals `hangar run` handles and what each does: the stop signals (and
 * the ones whose default would end the process without a word) shut down gracefully, SIGQUIT
 * kills, SIGUSR1/SIGUSR2 are logged and ignored; SIGPIPE and SIGXFSZ are ignored. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "cli_signals.h"

/* Signals whose default action ends the process: each asks for a graceful shutdown instead, so
 * that engines stop, summaries print and the control socket is removed. */
static const int shutdown_sigs[] = {
    SIGINT, SIGTERM, SIGHUP, SIGALRM, SIGVTALRM, SIGPROF, SIGXCPU, SIGPWR, SIGIO,
#ifdef SIGSTKFLT
    SIGSTKFLT,
#endif
};

void hg__cli_signals_setup(sigset_t *set)
{
    sigemptyset(set);
    for (size_t i = 0; i < sizeof shutdown_sigs / sizeof shutdown_sigs[0]; i++)
        sigaddset(set, shutdown_sigs[i]);
    for (int s = SIGRTMIN; s <= SIGRTMAX; s++)
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
    if (sig == SIGUSR1 || sig == SIGUSR2)
        return HG__SIG_LOG;
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
