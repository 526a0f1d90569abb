/* frames.h — Python stacks and names read from the interpreter's memory (see frames.c). */
#ifndef LP_PY_FRAMES_H
#define LP_PY_FRAMES_H

#include <stddef.h>
#include <stdint.h>

#include "../thread.h"

/* Copies a Python str object's text (UTF-8) into buf; returns its length or -1. `safe` selects fault-tolerant
 * reads (for objects not known to be alive). */
int lp_py_str(uintptr_t str, char *buf, size_t cap, int safe);

/* The calling thread's innermost Python frames (at most max, 16 at most), innermost first; returns how many. */
struct lp_pyframe {
    const char *qualname, *filename; /* interned */
    uint64_t line;
};
unsigned lp_py_frames(struct lp_thread *t, struct lp_pyframe *out, unsigned max);

/* The innermost Python frame of the calling thread as (qualname, filename); returns 0 when there is none. */
int lp_py_top_frame(struct lp_thread *t, const char **qualname, const char **filename, uint64_t *line);

/* Python frames of the calling thread, innermost first, two words each (see stack.h). seg_end[i] is the number of
 * frames in segments 0..i, one segment per eval-loop activation on the native stack. Returns the number of frames.
 * stack.c calls it through the source lp_py_init registers. */
unsigned lp_py_stack(struct lp_thread *t, uint64_t *words, unsigned max_frames, unsigned *seg_end, unsigned *n_seg);
/* Whether a native return address lies in the interpreter's eval loop. */
int lp_py_is_eval_pc(uintptr_t pc);

#endif
