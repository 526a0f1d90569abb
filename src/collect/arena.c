/* arena.c — see arena.h. Chunks are linked through a header at their start so release can unmap them. */
#include "arena.h"

#include <string.h>
#include <sys/mman.h>

struct lp_arena_chunk {
    struct lp_arena_chunk *next;
    size_t size;
};

#define HDR ((sizeof(struct lp_arena_chunk) + 15) & ~(size_t)15)

void *lp_arena_alloc(struct lp_arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if ((size_t)(a->end - a->cur) < n) {
        size_t cs = a->chunk_size ? a->chunk_size : (256u << 10);
        size_t want = n + HDR > cs ? ((n + HDR + 4095) & ~(size_t)4095) : cs;
        void *m = mmap(NULL, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED)
            return NULL;
        struct lp_arena_chunk *c = m;
        c->next = a->head;
        c->size = want;
        a->head = c;
        a->mapped += want;
        a->cur = (char *)m + HDR;
        a->end = (char *)m + want;
    }
    void *r = a->cur;
    a->cur += n;
    return r; /* fresh anonymous memory is zero */
}

char *lp_arena_strdup(struct lp_arena *a, const char *s, size_t n)
{
    char *d = lp_arena_alloc(a, n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

void lp_arena_release(struct lp_arena *a)
{
    for (struct lp_arena_chunk *c = a->head, *n; c; c = n) {
        n = c->next;
        munmap(c, c->size);
    }
    memset(a, 0, sizeof *a);
}
