/* A library a program loads, uses and unloads before it exits (tests/data/unload.c): one of its threads waits for
 * a global mutex of the library that another holds, so the profile's frames and lock lie in a module that is gone
 * when the profile is written. test_symbols.py checks that they keep their names. */
#include <pthread.h>
#include <sched.h>

pthread_mutex_t plugin_lock = PTHREAD_MUTEX_INITIALIZER;

__attribute__((noinline)) static void *plugin_worker(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&plugin_lock); /* plugin_worker's wait */
    pthread_mutex_unlock(&plugin_lock);
    return 0;
}

/* Holds plugin_lock, starts plugin_worker, waits until it sleeps on the lock (glibc's lock word is 2 once a waiter
 * is queued in the kernel), then lets it have the lock: exactly one contention, however the threads run. */
int plugin_run(void)
{
    pthread_t t;
    pthread_mutex_lock(&plugin_lock);
    pthread_create(&t, 0, plugin_worker, 0);
    while (__atomic_load_n(&plugin_lock.__data.__lock, __ATOMIC_ACQUIRE) != 2)
        sched_yield();
    pthread_mutex_unlock(&plugin_lock);
    pthread_join(t, 0);
    return 0;
}
