/* prodcons.c — a bounded queue with a mutex and two condition variables: consumers wait on `not_empty`
 * (a condition wait, not contention) and every wake-up re-acquires `queue_lock`, which the producer often still
 * holds (that part is contention). Usage: prodcons [consumers] [items] */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define CAP 8
pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER;
pthread_cond_t not_full = PTHREAD_COND_INITIALIZER;
static long items[CAP];
static int head, count, done;
static long consumed_sum;

__attribute__((noinline)) static void produce(long v)
{
    pthread_mutex_lock(&queue_lock);
    while (count == CAP)
        pthread_cond_wait(&not_full, &queue_lock);
    items[(head + count) % CAP] = v;
    count++;
    pthread_cond_signal(&not_empty);
    for (volatile int i = 0; i < 2000; i++) /* keep holding the lock after signalling */
        ;
    pthread_mutex_unlock(&queue_lock);
}

__attribute__((noinline)) static int consume(long *out)
{
    pthread_mutex_lock(&queue_lock);
    while (count == 0 && !done)
        pthread_cond_wait(&not_empty, &queue_lock);
    if (count == 0) {
        pthread_mutex_unlock(&queue_lock);
        return 0;
    }
    *out = items[head];
    head = (head + 1) % CAP;
    count--;
    pthread_cond_signal(&not_full);
    pthread_mutex_unlock(&queue_lock);
    return 1;
}

static void *consumer(void *arg)
{
    (void)arg;
    long v, sum = 0;
    while (consume(&v)) {
        sum += v;
        for (volatile int i = 0; i < 3000; i++)
            ;
    }
    pthread_mutex_lock(&queue_lock);
    consumed_sum += sum;
    pthread_mutex_unlock(&queue_lock);
    return NULL;
}

int main(int argc, char **argv)
{
    int consumers = argc > 1 ? atoi(argv[1]) : 3;
    long n = argc > 2 ? atol(argv[2]) : 20000;
    pthread_t t[64];
    if (consumers < 1 || consumers > 64)
        return 2;
    for (int i = 0; i < consumers; i++)
        pthread_create(&t[i], NULL, consumer, NULL);
    for (long i = 1; i <= n; i++)
        produce(i);
    pthread_mutex_lock(&queue_lock);
    done = 1;
    pthread_cond_broadcast(&not_empty);
    pthread_mutex_unlock(&queue_lock);
    for (int i = 0; i < consumers; i++)
        pthread_join(t[i], NULL);
    printf("sum=%ld\n", consumed_sum);
    return consumed_sum == n * (n + 1) / 2 ? 0 : 1;
}
