/* dump_file.h — writing a profile to its file (see dump_file.c). */
#ifndef LP_DUMP_FILE_H
#define LP_DUMP_FILE_H

#include "writer.h"

/* Creates the profile file of this process, calls fill(w, arg) to write its content, and gives it its name (the
 * configured path; the earlier file of this process image is replaced; a file this image did not write never is).
 * On any failure: one warning, nothing left behind. */
void lp_dump_file_write(void (*fill)(struct lpw *w, void *arg), void *arg);
/* A forked child writes its own file and replaces nothing of its parent's. */
void lp_dump_file_after_fork_child(void);

#endif
