/* map.c — see map.h. Linear probing; the table doubles at 50% load. */
#include "map.h"

static size_t slot_of(uint64_t key, size_t mask) { return (size_t)(key * 0x9e3779b97f4a7c15ull >> 17) & mask; }

void *lp_map_get(const struct lp_map *m, uint64_t key)
{
    const struct lp_map_table *t = atomic_load_explicit(&m->tab, memory_order_acquire);
    if (!t)
        return NULL;
    for (size_t i = slot_of(key, t->mask);; i = (i + 1) & t->mask) {
        void *v = atomic_load_explicit(&t->slots[i].val, memory_order_acquire);
        if (!v)
            return NULL;
        if (atomic_load_explicit(&t->slots[i].key, memory_order_relaxed) == key)
            return v;
    }
}

static void place(struct lp_map_table *t, uint64_t key, void *val)
{
    size_t i = slot_of(key, t->mask);
    while (atomic_load_explicit(&t->slots[i].val, memory_order_relaxed))
        i = (i + 1) & t->mask;
    atomic_store_explicit(&t->slots[i].key, key, memory_order_relaxed);
    atomic_store_explicit(&t->slots[i].val, val, memory_order_release);
}

int lp_map_put(struct lp_map *m, struct lp_arena *a, uint64_t key, void *val)
{
    struct lp_map_table *t = atomic_load_explicit(&m->tab, memory_order_relaxed);
    if (!t || (m->count + 1) * 2 > t->mask + 1) {
        size_t n = t ? (t->mask + 1) * 2 : 64;
        struct lp_map_table *nt = lp_arena_alloc(a, sizeof *nt + n * sizeof(struct lp_map_slot));
        if (!nt)
            return -1;
        nt->mask = n - 1;
        for (size_t i = 0; t && i <= t->mask; i++) {
            void *v = atomic_load_explicit(&t->slots[i].val, memory_order_relaxed);
            if (v)
                place(nt, atomic_load_explicit(&t->slots[i].key, memory_order_relaxed), v);
        }
        atomic_store_explicit(&m->tab, nt, memory_order_release);
        t = nt; /* the old array stays valid for readers that still hold it */
    }
    place(t, key, val);
    m->count++;
    return 0;
}

const struct lp_map_table *lp_map_snapshot(const struct lp_map *m)
{
    return atomic_load_explicit(&m->tab, memory_order_acquire);
}

int lp_map_next(const struct lp_map_table *t, size_t *i, uint64_t *key, void **val)
{
    if (!t)
        return 0;
    while (*i <= t->mask) {
        size_t k = (*i)++;
        void *v = atomic_load_explicit(&t->slots[k].val, memory_order_acquire);
        if (v) {
            *key = atomic_load_explicit(&t->slots[k].key, memory_order_relaxed);
            *val = v;
            return 1;
        }
    }
    return 0;
}
