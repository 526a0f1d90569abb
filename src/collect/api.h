/* api.h — the C interface liblockprof.so exports to the programs it profiles: the only symbols besides the
 * interposed functions of hooks.def. A program (or the `lockprof` Python package, through ctypes) finds them with
 * dlsym(RTLD_DEFAULT, ...) and calls nothing when they are absent, so it runs unchanged without the collector.
 * They are not lock hooks: they may take microseconds, never block, and each returns 0 or an errno value.
 *
 *   int lockprof_active(void);
 *       1 while the collector is recording in this process, 0 when it is loaded but switched off
 *       (LOCKPROF_DISABLE, or disabled after a failure).
 *
 *   int lockprof_set_labels(const char *pairs, size_t len);
 *       Sets the calling thread's complete label set: every wait the thread records from now on carries it
 *       (docs/FORMAT.md, "Label sets"). pairs is the canonical form: key NUL value NUL ..., keys sorted bytewise
 *       and distinct, each key non-empty without control characters, space, '=', ',' or ':'; at most 4096
 *       bytes. len 0 clears the set. A thread starts without labels; a set is per thread (other threads are not
 *       affected). Calling it again with the current set costs one hash and one compare.
 *       Returns 0, EINVAL (not canonical / too long), ENOMEM (not interned; the previous set stays), EAGAIN
 *       (called from inside lockprof, e.g. from a signal handler that interrupted a lock hook) or ENOTSUP (the
 *       collector is not recording).
 *
 *   int lockprof_dump(const char *path, char *written, size_t cap);
 *       Writes a profile of the process now (reason `request`). path NULL: the configured output
 *       (LOCKPROF_OUTPUT, `lockprof run -o`), as SIGUSR2 does: the process's own earlier file there is replaced,
 *       `lockprof run` lists it. Otherwise exactly `path`, replacing whatever file is there (not listed by
 *       `lockprof run`). When written is not NULL, the path of the file written is copied there (NUL-terminated,
 *       truncated to cap). Returns 0, EBUSY (another dump still ran after 10 s), EAGAIN (called from inside
 *       lockprof), ENOTSUP (the collector is not recording) or the errno of the failed file operation (the
 *       collector also prints its one-line warning).
 */
#ifndef LP_API_H
#define LP_API_H

#include <stddef.h>

#include "lp.h"

LP_EXPORT int lockprof_active(void);
LP_EXPORT int lockprof_set_labels(const char *pairs, size_t len);
LP_EXPORT int lockprof_dump(const char *path, char *written, size_t cap);

#endif
