/* signals.c — the signals lockprof answers while the program leaves them at their default action: the dump signal
 * (LOCKPROF_SIGNAL, SIGUSR2: write the profile and go on) and every signal whose default action ends the process
 * (SIGINT, SIGTERM, SIGHUP, SIGSEGV, SIGABRT, ...: write the profile, then end the process exactly as the default
 * action would, with the same signal, exit status and core dump).
 *
 * Owns the virtualised dispositions. lockprof's handler is installed for such a signal while the program's
 * disposition is SIG_DFL, and the program never sees it: sigaction() and signal() report SIG_DFL while ours is in
 * place (CPython reads every handler at start-up and would otherwise show None, which code that saves and restores
 * a handler cannot put back). When the program installs a handler or SIG_IGN of its own, the program gets the
 * signal; when it sets SIG_DFL again, ours comes back (CPython does exactly that to die of SIGINT after an uncaught
 * KeyboardInterrupt: Modules/main.c exit_sigint). A signal ignored when the process started stays ignored.
 *
 * After writing the profile, the handler restores SIG_DFL and lets the signal happen again: a fault raised by an
 * instruction (si_code > 0 for SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP) recurs when the handler returns and the
 * instruction runs again; any other signal is raised anew and delivered as soon as the handler returns (it is
 * blocked meanwhile). A signal that interrupts the process's own dump (of its exit, say) lets that dump finish and
 * is raised again at its end. A process that shares our memory without being us (a vfork child) does not write. SIGKILL and
 * SIGSTOP cannot be caught: a process killed with SIGKILL leaves only its interval dumps (LOCKPROF_INTERVAL). */
#define _GNU_SOURCE 1
#include "signals.h"

#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "config.h"
#include "dump.h"
#include "lp.h"
#include "real.h"

enum { W_DUMP = 1, W_FATAL = 2 };

#define NSIGS 65
static unsigned char watched[NSIGS]; /* what lockprof does with the signal at SIG_DFL (set at start-up) */
static _Atomic int ours[NSIGS];      /* lockprof's handler is the installed one */
static pid_t my_pid;

/* The signals whose default action is to terminate the process (signal(7)), but SIGKILL and SIGSTOP, which
 * cannot be caught, and the real-time signals (glibc keeps the first ones for itself). */
static const int fatal_signals[] = {SIGHUP,  SIGINT,  SIGQUIT,  SIGILL,    SIGTRAP,   SIGABRT, SIGBUS,
                                    SIGFPE,  SIGUSR1, SIGSEGV,  SIGUSR2,   SIGPIPE,   SIGALRM, SIGTERM,
                                    SIGSTKFLT, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGIO, SIGPWR, SIGSYS};

static void on_dump_signal(int sig, siginfo_t *info, void *uc)
{
    (void)sig, (void)info, (void)uc;
    int e = errno;
    lp_dump("signal");
    errno = e;
}

static int from_instruction(int sig, const siginfo_t *info)
{
    return info && info->si_code > 0 &&
           (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGTRAP);
}

static void on_fatal_signal(int sig, siginfo_t *info, void *uc)
{
    (void)uc;
    int deferred = 0;
    if ((pid_t)syscall(SYS_getpid) == my_pid && atomic_load(&lp_state) == LP_STATE_ON)
        deferred = lp_dump_fatal(sig);
    /* The default action from now on, for this and every later arrival. */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    lp_real_sigaction(sig, &dfl, NULL);
    atomic_store(&ours[sig], 0);
    if (!deferred && !from_instruction(sig, info))
        syscall(SYS_tgkill, (pid_t)syscall(SYS_getpid), (pid_t)syscall(SYS_gettid), sig); /* pending until we return */
}

static int install_ours(int sig)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = watched[sig] == W_DUMP ? on_dump_signal : on_fatal_signal;
    /* the dump signal: the program's interrupted calls go on; a fatal one: nothing goes on. While a fatal signal's
     * handler writes the profile, every other such signal waits. */
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | (watched[sig] == W_DUMP ? SA_RESTART : 0);
    sigemptyset(&sa.sa_mask);
    if (watched[sig] == W_FATAL)
        for (size_t i = 0; i < sizeof fatal_signals / sizeof fatal_signals[0]; i++)
            sigaddset(&sa.sa_mask, fatal_signals[i]);
    return lp_real_sigaction(sig, &sa, NULL);
}

static int is_ours(const struct sigaction *sa)
{
    return (sa->sa_flags & SA_SIGINFO) && (sa->sa_sigaction == on_dump_signal || sa->sa_sigaction == on_fatal_signal);
}

static int is_default(const struct sigaction *act)
{
    return !(act->sa_flags & SA_SIGINFO) && act->sa_handler == SIG_DFL;
}

int lp_sig_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    if (sig <= 0 || sig >= NSIGS || !watched[sig])
        return lp_real_sigaction(sig, act, old);
    if (atomic_load(&ours[sig])) {
        struct sigaction cur;
        /* signal() or a raw syscall may have replaced ours behind our back: then the program owns it */
        if (lp_real_sigaction(sig, NULL, &cur) == 0 && is_ours(&cur)) {
            if (act && !is_default(act)) {
                int rc = lp_real_sigaction(sig, act, NULL);
                if (rc)
                    return rc;
                atomic_store(&ours[sig], 0);
            }
            if (old) {
                memset(old, 0, sizeof *old);
                old->sa_handler = SIG_DFL;
                sigemptyset(&old->sa_mask);
            }
            return 0;
        }
        atomic_store(&ours[sig], 0);
    }
    int rc = lp_real_sigaction(sig, act, old);
    if (rc == 0 && act && is_default(act) && install_ours(sig) == 0)
        atomic_store(&ours[sig], 1);
    return rc;
}

sighandler_t lp_sig_signal(int sig, sighandler_t handler)
{
    if (sig <= 0 || sig >= NSIGS || !watched[sig])
        return lp_real_signal(sig, handler);
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = SA_RESTART; /* glibc's signal(): BSD semantics */
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, sig);
    if (lp_sig_sigaction(sig, &sa, &old))
        return SIG_ERR;
    return old.sa_handler;
}

/* Takes sig over if the program left it at SIG_DFL. */
static void watch(int sig, int what)
{
    struct sigaction old;
    if (lp_real_sigaction(sig, NULL, &old) || !is_default(&old)) {
        if (what == W_DUMP)
            lp_warn("the dump signal already has a handler in this process; dumps on signal are off");
        return;
    }
    watched[sig] = (unsigned char)what;
    if (install_ours(sig) == 0)
        atomic_store(&ours[sig], 1);
    else
        watched[sig] = 0;
}

void lp_sig_init(void)
{
    my_pid = (pid_t)syscall(SYS_getpid);
    if (lp_cfg.signal > 0 && lp_cfg.signal < NSIGS)
        watch(lp_cfg.signal, W_DUMP); /* (not a fatal one below, whatever its number) */
    for (size_t i = 0; i < sizeof fatal_signals / sizeof fatal_signals[0]; i++)
        if (fatal_signals[i] != lp_cfg.signal)
            watch(fatal_signals[i], W_FATAL);
}

void lp_sig_after_fork_child(void) { my_pid = (pid_t)syscall(SYS_getpid); }
