/* dump_file.h — writing a profile to its file (see dump_file.c). */
#ifndef LP_DUMP_FILE_H
#define LP_DUMP_FILE_H

#include <stddef.h>

#include "writer.h"

/* Creates the profile file of this process, calls fill(w, arg) to write its content, and gives it its name: the
 * configured path when `path` is NULL (the earlier file of this process image is replaced; a file this image did not
 * write never is), else exactly `path` (replaced, not listed in the manifest). The name written goes to `written`
 * (cap bytes) when given. Returns 0, or an errno value after one warning, with nothing left behind. */
int lp_dump_file_write(const char *path, char *written, size_t cap, void (*fill)(struct lpw *w, void *arg), void *arg);
/* A forked child writes its own file and replaces nothing of its parent's. */
void lp_dump_file_after_fork_child(void);

#endif
