/* frames.h — Python stacks and names read from the interpreter's memory (see frames.c). */
#ifndef LP_PY_FRAMES_H
#define LP_PY_FRAMES_H

#include <stddef.h>
#include <stdint.h>

#include "../thread.h"

/* Copies a Python str object's text (UTF-8) into buf; returns its length or -1. `safe` selects fault-tolerant
 * reads (for objects not known to be alive). */
int lp_py_str(uintptr_t str, char *buf, size_t cap, int safe);

/* The innermost Python frame of the calling thread as (qualname, filename); returns 0 when there is none. */
int lp_py_top_frame(struct lp_thread *t, const char **qualname, const char **filename, uint64_t *line);

#endif
