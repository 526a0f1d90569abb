/* signals.h — the signals lockprof answers at their default action (see signals.c). */
#ifndef LP_SIGNALS_H
#define LP_SIGNALS_H

#include <signal.h>

/* Constructor: takes over the dump signal and the terminating signals the program left at SIG_DFL. */
void lp_sig_init(void);
void lp_sig_after_fork_child(void);
/* The program's sigaction() and signal() (preload.c forwards them here). */
int lp_sig_sigaction(int sig, const struct sigaction *act, struct sigaction *old);
sighandler_t lp_sig_signal(int sig, sighandler_t handler);

#endif
