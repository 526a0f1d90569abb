/* hot_mutex.c — several threads take one global mutex and do work while holding it: the textbook contended
 * lock. lockprof should name `hot_lock`, show `critical_work` <- `worker` waiting, and the holder inside
 * `critical_work` too. Usage: hot_mutex [threads] [iterations] */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

pthread_mutex_t hot_lock = PTHREAD_MUTEX_INITIALIZER;
static volatile unsigned long shared_counter;

__attribute__((noinline)) static void critical_work(void)
{
    pthread_mutex_lock(&hot_lock);
    for (int i = 0; i < 20000; i++) /* ~10-20 µs held */
        shared_counter++;
    pthread_mutex_unlock(&hot_lock);
}

__attribute__((noinline)) static void *worker(void *arg)
{
    long n = (long)arg;
    for (long i = 0; i < n; i++)
        critical_work();
    return NULL;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 4;
    long iters = argc > 2 ? atol(argv[2]) : 2000;
    pthread_t t[64];
    if (threads < 1 || threads > 64)
        return 2;
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, worker, (void *)iters);
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    printf("counter=%lu\n", shared_counter);
    return 0;
}
