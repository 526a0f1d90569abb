/* dump.h — writes the profile (docs/FORMAT.md): at exit, from _exit, before exec, on the dump signal and every
 * LOCKPROF_INTERVAL (dump.c: when; dump_encode.c: what; dump_file.c: where). Async-signal-safe throughout (runs
 * inside the signal handler): memory from a private arena, files with open/write/rename, names from symtab.c.
 * Other threads keep recording while a dump reads their tables; they are never stopped. At most one dump runs at a
 * time; a request that finds one running is skipped (and counted). */
#ifndef LP_DUMP_H
#define LP_DUMP_H

#include <stddef.h>

void lp_dump_init(void);
void lp_dump(const char *reason);
/* The last dump of this process image: later requests are ignored. */
void lp_dump_final(const char *reason);
/* A dump the program asked for (api.h lockprof_dump): to the configured output (path NULL) or exactly to path,
 * waiting for a dump in progress. Returns 0 or an errno value; the file written goes to `written`. */
int lp_dump_request(const char *path, char *written, size_t cap);
/* The last dump of a process that signal `sig` is about to end (signals.c): waits at most 2 s for a dump running on
 * another thread. Returns 1 when the signal interrupted a dump of the calling thread: that dump then finishes and
 * raises `sig` again at its end (the caller must not raise it now). */
int lp_dump_fatal(int sig);
void lp_dump_after_fork_child(void);
/* With LOCKPROF_INTERVAL set: starts the thread that writes the profile periodically. */
void lp_dump_start_interval_thread(void);

#endif
