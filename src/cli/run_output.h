/* run_output.h — where the processes of `lockprof run` write their profiles, and how the CLI finds them.
 *
 * Before the command starts, run_output_prepare() settles the output pattern (`-o`, else $LOCKPROF_OUTPUT, else
 * lockprof.%p.prof) and refuses what could not work, so that nothing runs for nothing (exit 2, one line):
 *   - a path with a control character (a newline would split the manifest the processes append to);
 *   - `%p` in a directory part (one directory per pid cannot be created beforehand);
 *   - an existing FIFO, socket or device at the path (the collector would write PATH.1 beside it);
 *   - a directory that cannot be created or written (tried for real: an unnamed file is created and dropped).
 * A missing directory is created like `mkdir -p` (mode 0777 & ~umask). A path that names an existing directory
 * or ends in '/' means the default file name inside it: DIR/lockprof.%p.prof. The pattern is made absolute, so
 * every process writes to the same place whatever its working directory.
 *
 * After the command, run_output_scan() adds the profiles that appeared under the pattern during the run but are
 * not in the manifest, when another user owns them: a process that changed its user id (setuid to nobody) can
 * still write its profile into a world-writable directory but not append to the manifest `lockprof run` created.
 * (A file of lockprof run's own user that was not announced belongs to another run in the same directory.) */
#ifndef LP_RUN_OUTPUT_H
#define LP_RUN_OUTPUT_H

#include <stddef.h>

struct run_output {
    char *pattern; /* absolute, %p for the pid: the value given to the collector as LOCKPROF_OUTPUT */
    char *dir;     /* the pattern's directory */
    char *base;    /* the pattern's file name */
    struct run_seen *seen; /* files matching the pattern before the run, sorted by name */
    size_t n_seen;
};

/* Checks and prepares the output location (see above); `from` names where the value came from for messages
 * ("-o" or "LOCKPROF_OUTPUT"). Returns 0, or -1 after printing one line. */
int run_output_prepare(struct run_output *ro, const char *value, const char *from);

/* Remembers the files that match the pattern now (before the command starts). */
void run_output_snapshot(struct run_output *ro);

/* Appends to paths (growing it) the profiles that match the pattern, are new or changed since the snapshot, are
 * owned by another user than lockprof run's, are not listed yet, and start like a lockprof profile; in name
 * order. Returns how many it added. */
size_t run_output_scan(struct run_output *ro, char ***paths, size_t *n, size_t *cap);

/* 0 when a file can be created in dir now, else an errno value. */
int run_output_dir_writable(const char *dir);

void run_output_free(struct run_output *ro);

#endif
