/* rwlock.c — readers and one writer share a pthread rwlock; the writer holds it for long stretches, so readers
 * queue behind it. Usage: rwlock [readers] [iterations] */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

pthread_rwlock_t table_lock = PTHREAD_RWLOCK_INITIALIZER;
static volatile unsigned long table[256];

__attribute__((noinline)) static void read_table(void)
{
    pthread_rwlock_rdlock(&table_lock);
    unsigned long s = 0;
    for (int i = 0; i < 256; i++)
        s += table[i];
    (void)s;
    pthread_rwlock_unlock(&table_lock);
}

__attribute__((noinline)) static void write_table(void)
{
    pthread_rwlock_wrlock(&table_lock);
    for (int r = 0; r < 100; r++)
        for (int i = 0; i < 256; i++)
            table[i]++;
    pthread_rwlock_unlock(&table_lock);
}

static void *reader(void *arg)
{
    for (long i = 0; i < (long)arg; i++)
        read_table();
    return NULL;
}

static void *writer(void *arg)
{
    for (long i = 0; i < (long)arg / 10; i++)
        write_table();
    return NULL;
}

int main(int argc, char **argv)
{
    int readers = argc > 1 ? atoi(argv[1]) : 3;
    long iters = argc > 2 ? atol(argv[2]) : 20000;
    pthread_t t[65];
    if (readers < 1 || readers > 64)
        return 2;
    pthread_create(&t[0], NULL, writer, (void *)iters);
    for (int i = 1; i <= readers; i++)
        pthread_create(&t[i], NULL, reader, (void *)iters);
    for (int i = 0; i <= readers; i++)
        pthread_join(t[i], NULL);
    printf("table[0]=%lu\n", table[0]);
    return 0;
}
