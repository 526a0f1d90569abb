/* A preloaded library whose constructor runs before lockprof's (it is listed after liblockprof.so in LD_PRELOAD,
 * and glibc initialises later preloads first): it starts threads that contend on a mutex, wait on a condition
 * and a semaphore while lockprof's hooks are not initialised yet. */
#include <pthread.h>
#include <semaphore.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static sem_t s;
static int ready;

static void *worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 2000; i++) {
        pthread_mutex_lock(&m);
        ready++;
        pthread_cond_broadcast(&c);
        pthread_mutex_unlock(&m);
    }
    sem_post(&s);
    return NULL;
}

__attribute__((constructor)) static void early(void)
{
    pthread_t t[2];
    sem_init(&s, 0, 0);
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, worker, NULL);
    pthread_mutex_lock(&m);
    while (ready < 4000)
        pthread_cond_wait(&c, &m);
    pthread_mutex_unlock(&m);
    sem_wait(&s);
    sem_wait(&s);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
}
