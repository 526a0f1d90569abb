/* arena.h — bump allocator over mmap'd chunks: the only way the collector obtains memory. Async-signal-safe
 * (mmap/munmap only). One arena has one writer; it is never shared between threads. */
#ifndef LP_ARENA_H
#define LP_ARENA_H

#include <stddef.h>

struct lp_arena_chunk;
struct lp_arena {
    struct lp_arena_chunk *head;
    char *cur, *end;
    size_t chunk_size; /* default 256 KiB when 0 */
    size_t mapped;     /* bytes obtained from the kernel */
};

/* Returns zeroed memory aligned to 16 bytes, or NULL when the kernel refuses memory. */
void *lp_arena_alloc(struct lp_arena *a, size_t n);
char *lp_arena_strdup(struct lp_arena *a, const char *s, size_t n);
/* Returns every chunk to the kernel. */
void lp_arena_release(struct lp_arena *a);

#endif
