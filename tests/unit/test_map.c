/* Unit tests of the collector's insert-only map: lookups across growth, iteration, and a reader thread that
 * iterates while the owner inserts (what the dump does while threads keep recording). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "check.h"
#include "map.h"

static struct lp_map m;
static _Atomic int done;
static _Atomic long reader_bad;

static void *reader(void *arg)
{
    (void)arg;
    while (!atomic_load(&done)) {
        const struct lp_map_table *t = lp_map_snapshot(&m);
        size_t i = 0;
        uint64_t k;
        void *v;
        while (lp_map_next(t, &i, &k, &v))
            if ((uint64_t)(uintptr_t)v != k * 3) /* a published slot is always complete */
                atomic_fetch_add(&reader_bad, 1);
    }
    return NULL;
}

int main(void)
{
    struct lp_arena a = {0};
    pthread_t th;
    pthread_create(&th, NULL, reader, NULL);
    for (uint64_t k = 1; k <= 200000; k++)
        CHECK(lp_map_put(&m, &a, k, (void *)(uintptr_t)(k * 3)) == 0);
    atomic_store(&done, 1);
    pthread_join(th, NULL);
    CHECK(atomic_load(&reader_bad) == 0);
    for (uint64_t k = 1; k <= 200000; k++)
        if ((uintptr_t)lp_map_get(&m, k) != k * 3) {
            CHECK(!"lookup failed");
            break;
        }
    CHECK(lp_map_get(&m, 200001) == NULL);
    size_t i = 0, n = 0;
    uint64_t k;
    void *v;
    const struct lp_map_table *t = lp_map_snapshot(&m);
    while (lp_map_next(t, &i, &k, &v))
        n++;
    CHECK(n == 200000);
    lp_arena_release(&a);
    return CHECK_DONE();
}
