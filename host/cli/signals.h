/* signals.h - what each signal a user may send does to `hangar run` (README.md, "Signals"):
 * the set run waits for with sigtimedwait, and the action each one asks for. */
#ifndef HG_CLI_SIGNALS_H
#define HG_CLI_SIGNALS_H

#include <signal.h>

enum {
    HG__SIG_SHUTDOWN = 1, /* a graceful shutdown; a second signal kills */
    HG__SIG_KILL,         /* every engine stopped at once, exit 1 (SIGQUIT) */
    HG__SIG_LOG,          /* logged and ignored (SIGUSR2) */
    HG__SIG_REOPEN,       /* the log file reopened (SIGUSR1; logged and ignored without one) */
    HG__SIG_RELOAD,       /* reload the configuration file (SIGHUP) */
};

/* Fills set with the signals run takes itself (block them before any thread exists, then
 * sigtimedwait), and ignores the ones that must not end the process (SIGPIPE, SIGXFSZ: the
 * failed write reports it instead). SIGHUP ignored at start (nohup) stays ignored; SIGALRM and
 * the other rarer ones are taken only while they have their default action. [control-thread] */
void hg__cli_signals_setup(sigset_t *set);
/* The action for a signal of that set: HG__SIG_*. [any-thread] */
int hg__cli_signal_action(int sig);
/* The signal's name without its number ("SIGUSR1", "SIGRTMIN+3"), in buf. Returns buf. */
const char *hg__cli_signal_name(int sig, char *buf, size_t cap);

#endif
