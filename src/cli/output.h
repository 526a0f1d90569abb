/* output.h — where report, flamegraph, export, diff and check --junit write (`-o PATH`, or standard output).
 *
 * A path is written only as a regular file, complete or not at all:
 *   - `-` (or no -o) is standard output, whatever the caller made it;
 *   - an existing symbolic link, FIFO, socket, directory or device at PATH is refused before anything is
 *     opened (one line, exit 2): lockprof never writes through a link, never opens a FIFO (which would block
 *     until a reader came) and never writes into a device. The one exception is the null device itself
 *     (`-o /dev/null`, a character device 1:3, checked again on the opened descriptor): writing there discards
 *     the output and cannot reach anything else;
 *   - otherwise the data goes to an unnamed file in PATH's directory (O_TMPFILE) that gets the name PATH only
 *     when it is complete (linkat; over an existing file through a temporary name and rename, with the
 *     terminating signals blocked in between). Where the file system has no O_TMPFILE, a temporary
 *     "PATH.tmp-PID" is created with O_EXCL|O_NOFOLLOW and renamed at the end; a terminating signal meanwhile
 *     removes it (async-signal-safe handler) and then terminates the process as the signal would have.
 * A killed or failed command therefore leaves PATH as it was and no temporary file behind. */
#ifndef LP_OUTPUT_H
#define LP_OUTPUT_H

#include <stdio.h>

struct out {
    FILE *f;
    char *path; /* the final name; NULL for standard output and the null device */
    int kind;   /* output.c: OUT_STDOUT, OUT_NULL, OUT_FILE */
    int named;  /* OUT_FILE: the data has the temporary name tmp (else it has no name yet) */
    char *tmp;
};

/* Opens the output; returns 0, or -1 after printing one line "lockprof: cannot write PATH: ...". */
int out_open(struct out *o, const char *path);
/* Puts the complete output in place (or flushes standard output); returns 0, or -1 after printing an error (the
 * data is then discarded and PATH left as it was). */
int out_commit(struct out *o);
/* Discards the output. */
void out_abort(struct out *o);

#endif
