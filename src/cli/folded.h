/* folded.h — folded stacks, the FlameGraph text format, built from the model: one line per distinct stack,
 * `root;frame;...;leaf VALUE`, root first, leaf last. This is the seam between the profile model and every
 * flame-graph renderer (`lockprof flamegraph`, the SVG and HTML in flame.h) and the differential output of
 * `lockprof diff`: both build a `struct folded` and either print it or render it.
 *
 * The text of a stack, the same for every command:
 *   root frame   the lock class: `KIND:TYPE` for an object lock (its object type: `pymutex:dict`), else
 *                `KIND:NAME` with the lock's name (`pthread_mutex:hot_lock`, `gil:GIL`,
 *                `threading.Lock:threading.Lock created at app.py:12 (<module>)`, `pymutex:pymutex@0x...`);
 *   then frames  outermost first: Python frames `func (file.py:LINE)` (basename of the file; `func (file.py)` when
 *                the line is unknown), native frames `func (module)` (basename of the module; an unresolved
 *                function is `?? (module+0xOFFSET)`, a frame without module `func (?)` or `?? (0xOFFSET)`);
 *   no stack     a row without a recorded stack has the single frame `[no stack recorded]` under its root;
 *   split        with `split_label` KEY, a frame `KEY=VALUE` (the row's value of that label, `KEY unset` when it
 *                has none) comes first, above the lock class, so each value is its own tower.
 * In every frame ';' becomes ':' and control characters (newline, tab, ..., and the Unicode line separators and
 * bidirectional formatting characters) become '?', as does the second '#' of "##[" (util.h, sb_text's
 * TEXT_QUESTION: no name can forge a line of a CI log), so a line always
 * splits into frames at ';' and into stack and value at its last space. */
#ifndef LP_FOLDED_H
#define LP_FOLDED_H

#include <stddef.h>
#include <stdint.h>

#include "group.h"
#include "model.h"
#include "util.h"

enum folded_weight {
    FOLDED_WAIT_US, /* total wait in microseconds: the rows' waits summed per stack in ns, then rounded */
    FOLDED_COUNT,   /* number of waits (contentions) */
};

struct folded_opts {
    enum folded_weight weight;
    int holders;         /* 1: the holder stacks ("blocked by") instead of the waiter stacks, weighted by the
                          * waits they caused */
    enum row_class rows; /* ROWS_CONTENTION (rows that are contention), ROWS_WAITS or ROWS_ALL */
    int all_frames;      /* 0: hide native frames of the interpreter, libc and lockprof (m_frame.interp), except
                          * the leaf, exactly like `lockprof report --frames user`; 1: keep every frame */
    const char *split_label; /* NULL, or a label key: the stacks start with the frame KEY=VALUE (see above) */
};

struct folded_line {
    const char *stack; /* "root;frame;...;leaf", without the value */
    uint64_t value;    /* in the weight's unit; never 0 */
};

struct folded {
    struct folded_line *lines; /* unique stacks, sorted bytewise (strcmp) */
    size_t n;
    uint64_t total; /* sum of the values */
    char *text;     /* owns the stack strings */
};

/* Builds the folded stacks of the model's rows selected by `o`. Stacks whose value rounds to 0 (waits below
 * 0.5 µs in total) are left out. Never fails (allocation failure exits, as everywhere in the CLI). The result
 * does not point into the model: the model may be freed first. */
void folded_build(const struct model *m, const struct folded_opts *o, struct folded *out);
void folded_free(struct folded *f);

/* Appends the folded text: "STACK VALUE\n" per line, in order. */
void folded_write(const struct folded *f, struct strbuf *o);

/* The texts used in the stacks (sanitised, see above): a frame of the model, and the root frame of a lock. */
void folded_frame_text(const struct model *m, uint32_t frame, struct strbuf *o);
void folded_root_text(const struct model *m, uint32_t lock, struct strbuf *o);

#endif
