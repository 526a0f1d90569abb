/* uncontended.c — the control: every thread locks its own mutex, so nothing ever waits. lockprof must report
 * no contention. Usage: uncontended [threads] [iterations] [exit-status] */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

struct slot {
    pthread_mutex_t lock;
    unsigned long n;
    char pad[64];
};
static struct slot slots[64];

static void *worker(void *arg)
{
    struct slot *s = arg;
    for (long i = 0; i < 200000; i++) {
        pthread_mutex_lock(&s->lock);
        s->n++;
        pthread_mutex_unlock(&s->lock);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 4;
    int status = argc > 3 ? atoi(argv[3]) : 0;
    pthread_t t[64];
    if (threads < 1 || threads > 64)
        return 2;
    for (int i = 0; i < threads; i++) {
        pthread_mutex_init(&slots[i].lock, NULL);
        pthread_create(&t[i], NULL, worker, &slots[i]);
    }
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    printf("done\n");
    return status;
}
