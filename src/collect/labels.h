/* labels.h — the label set each thread carries (docs/FORMAT.md, "Label sets"): what the program says the thread
 * is doing (`lockprof.label(request="/api")` in Python, lockprof_set_labels in api.c). A set arrives in its
 * canonical form — key NUL value NUL ..., keys sorted bytewise and distinct — and is interned once per thread
 * state, in that thread's own arena and table (struct lp_thread.labels), keyed by the hash of its bytes. The
 * thread's current set is one thread-local pointer: the event path (record.c) reads it and nothing more, and an
 * aggregate keeps the pointer (arena memory is never freed while the process lives, and a forked child keeps its
 * copy), so the dump can write the set without looking it up.
 *
 * Must never: malloc, use stdio, take a lock, or be entered from inside lockprof (lp_guard_enter). */
#ifndef LP_LABELS_H
#define LP_LABELS_H

#include <stddef.h>
#include <stdint.h>

#include "lp.h"

struct lp_labelset {
    uint64_t hash; /* of data[0..len), never 0: the aggregation key's label field */
    uint32_t len;  /* bytes of data */
    uint32_t n;    /* pairs */
    char data[];   /* key NUL value NUL ... (canonical) */
};

/* The calling thread's current label set, NULL when it has none. */
extern LP_TLS const struct lp_labelset *lp_labels_cur;

static inline uint64_t lp_labels_hash(const struct lp_labelset *s) { return s ? s->hash : 0; }

/* Makes pairs[0..len) (canonical form; len 0 = no labels) the calling thread's label set. Cheap when it is the
 * current set already (one hash and one compare). Returns 0, or EINVAL (not canonical, a key with a byte keys may
 * not have, more than LP_LABELS_MAX_BYTES), ENOMEM (the set could not be interned; the thread keeps its previous
 * set), EAGAIN (called from inside lockprof, e.g. a signal handler that interrupted a hook) or ENOTSUP (the
 * collector is not recording). errno is left as it was. */
int lp_labels_set(const char *pairs, size_t len);

/* Checks the canonical form; returns the number of pairs, or 0 when it is not canonical. */
uint32_t lp_labels_check(const char *pairs, size_t len);

#endif
