/* symbols.c — locks and frames the CLI names from DWARF (tests/integration/test_symbols.py): an element of a
 * global mutex array, a mutex member of a global struct, an element of a two-dimensional array, a static array
 * and a function's static mutex, each waited for once by a thread while main holds it; one of the waits happens
 * in a function inlined into the thread's function (drop_space into compress_thread, as in pigz). The build
 * has a copy without debug information (symbols_nodebug), named from ELF symbols only.
 * Prints one line "NAME LINE" per wait: the source line of the call that waited (the test compares). */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>

pthread_mutex_t lru_locks[32];
struct stats {
    long hits;
    pthread_mutex_t mutex;
    long misses;
} stats_state = {0, PTHREAD_MUTEX_INITIALIZER, 0};
pthread_mutex_t grid[4][8];
static pthread_mutex_t table_lock[2] = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER};
static volatile long sink;

/* Holds m, starts fn, waits until fn's thread sleeps on m (glibc's lock word is 2 once a waiter is queued in the
 * kernel), then lets it have m: exactly one contention on m, however the threads run. */
static void contend(pthread_mutex_t *m, void *(*fn)(void *))
{
    pthread_t t;
    pthread_mutex_lock(m);
    pthread_create(&t, NULL, fn, NULL);
    while (__atomic_load_n(&m->__data.__lock, __ATOMIC_ACQUIRE) != 2)
        sched_yield();
    pthread_mutex_unlock(m);
    pthread_join(t, NULL);
}

__attribute__((noinline)) static void *lru_thread(void *arg)
{
    pthread_mutex_lock(&lru_locks[18]); /* wait: lru */
    pthread_mutex_unlock(&lru_locks[18]);
    return arg;
}

static inline __attribute__((always_inline)) void drop_space(long n)
{
    pthread_mutex_lock(&stats_state.mutex); /* wait: drop_space */
    stats_state.hits += n;
    pthread_mutex_unlock(&stats_state.mutex);
}

__attribute__((noinline)) static void *compress_thread(void *arg)
{
    sink++;
    drop_space(sink); /* call: drop_space */
    sink++;
    return arg;
}

__attribute__((noinline)) static void *grid_thread(void *arg)
{
    pthread_mutex_lock(&grid[2][5]); /* wait: grid */
    pthread_mutex_unlock(&grid[2][5]);
    return arg;
}

__attribute__((noinline)) static void *table_thread(void *arg)
{
    pthread_mutex_lock(&table_lock[1]); /* wait: table */
    pthread_mutex_unlock(&table_lock[1]);
    return arg;
}

static pthread_mutex_t *registry_lock(void)
{
    static pthread_mutex_t registry = PTHREAD_MUTEX_INITIALIZER;
    return &registry;
}

__attribute__((noinline)) static void *registry_thread(void *arg)
{
    pthread_mutex_lock(registry_lock()); /* wait: registry */
    pthread_mutex_unlock(registry_lock());
    return arg;
}

int main(void)
{
    for (int i = 0; i < 32; i++)
        pthread_mutex_init(&lru_locks[i], NULL);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 8; j++)
            pthread_mutex_init(&grid[i][j], NULL);
    contend(&lru_locks[18], lru_thread);
    contend(&stats_state.mutex, compress_thread);
    contend(&grid[2][5], grid_thread);
    contend(&table_lock[1], table_thread);
    contend(registry_lock(), registry_thread);
    puts("done");
    return 0;
}
