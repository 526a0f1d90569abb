/* export.h — what the exporters of `lockprof export` share (cmd_export.c dispatches; one file per format:
 * export_pprof.c, export_speedscope.c, export_chrome.c): which rows to take, the class of a wait, the name of
 * the synthetic per-lock frame, the frames of a stack after the --frames filter, and a small byte-key index.
 * Every exporter renders the whole output into memory, so a failure never leaves a partial file behind. */
#ifndef LP_EXPORT_H
#define LP_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "util.h"

struct export_opts {
    int all_frames; /* --frames all: keep the interpreter/libc/lockprof frames report hides */
    int all_waits;  /* --all: also the waits that are not contention */
    const char *split_label; /* --split-by-label KEY (speedscope): one profile per value of label KEY */
};

/* What a wait was: contention between threads, or one of the non-contention classes report lists apart. */
enum export_class { EXPORT_CONTENTION, EXPORT_CONDITION, EXPORT_SEMAPHORE, EXPORT_NOTIFY, EXPORT_SELF };

/* "contention", "condition", "semaphore", "notify", "self". */
const char *export_class_name(enum export_class c);
/* The class of an aggregate row (kind first, then the notify/self flags: model_row_is_wait, refined). */
enum export_class export_row_class(const struct model *m, const struct m_row *r);
/* The class of a wait on `lock` with `flags`. */
enum export_class export_class_of(unsigned kind, uint32_t flags);
/* Whether the options take rows of class c (contention only, unless --all). */
int export_class_wanted(const struct export_opts *o, enum export_class c);

/* Appends the name of the synthetic frame that groups waits by lock class: "pymutex:dict" for object locks
 * (kind:object type), the lock name when it already starts with the kind ("threading.Lock created at ...",
 * "pthread_mutex@0x..."), "kind:name" otherwise ("pthread_mutex:hot_lock"); " [class]" is added for the
 * non-contention classes ("pthread_cond:not_empty [condition]"). */
void export_lock_label(struct strbuf *b, const struct model *m, uint32_t lock, enum export_class c);

/* Appends a frame's function name: the symbol or Python qualname, or "module+0xOFFSET" (module base name)
 * for a native frame without a symbol, "0xADDRESS" without a module either. */
void export_func_name(struct strbuf *b, const struct model *m, uint32_t frame);

/* The frames of `stack` that the options show, leaf first, into *buf (grown as needed; the caller frees it).
 * `--frames user` drops, as `lockprof report` does, the interpreter/libc/lockprof frames except the leaf.
 * Returns the count (0 for an absent stack). */
uint32_t export_frames(const struct model *m, int32_t stack, const struct export_opts *o, uint32_t **buf,
                       size_t *cap);

/* An index from byte strings to dense ids 0, 1, 2, ... in order of first insertion. */
struct export_index;
/* The id of key; a new key gets the next id and sets *fresh (when fresh is not NULL). */
uint32_t export_index_get(struct export_index **ix, const void *key, size_t len, int *fresh);
/* The id of key, or -1 when it was never added. */
int64_t export_index_find(struct export_index *ix, const void *key, size_t len);
void export_index_free(struct export_index **ix);

/* The exporters: render the model into out. They return 0, or -1 after printing a one-line error. */
int export_pprof(const struct model *m, const struct export_opts *o, struct strbuf *out);
int export_speedscope(const struct model *m, const struct export_opts *o, struct strbuf *out);
int export_chrome(const struct model *m, const struct export_opts *o, struct strbuf *out);

#endif
