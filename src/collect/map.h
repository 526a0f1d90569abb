/* map.h — insert-only hash map from a non-zero 64-bit key to a pointer, with one writer and any number of
 * concurrent readers (the dump, possibly running in a signal handler on another thread). Slots are published
 * with release stores; growing allocates a new slot array from the owner's arena and publishes it atomically,
 * so a reader always sees a consistent (possibly slightly older) table. The value must be fully initialised
 * before lp_map_put. Keys are hashes: callers treat equal 64-bit keys as equal entries. */
#ifndef LP_MAP_H
#define LP_MAP_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"

struct lp_map_slot {
    _Atomic uint64_t key;
    void *_Atomic val;
};
struct lp_map_table {
    size_t mask;
    struct lp_map_slot slots[];
};
struct lp_map {
    struct lp_map_table *_Atomic tab;
    size_t count; /* writer only */
};

void *lp_map_get(const struct lp_map *m, uint64_t key);
/* Inserts key→val (key must be absent). Returns 0, or -1 when the arena is out of memory. */
int lp_map_put(struct lp_map *m, struct lp_arena *a, uint64_t key, void *val);

/* Iteration for readers: for (i = 0; lp_map_next(t, &i, &key, &val);) with t = lp_map_snapshot(m). */
const struct lp_map_table *lp_map_snapshot(const struct lp_map *m);
int lp_map_next(const struct lp_map_table *t, size_t *i, uint64_t *key, void **val);

#endif
