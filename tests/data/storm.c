/* storm.c — stress programs for the collector's lifetime handling. Usage:
 *   storm threads N BATCH   create and destroy N threads, BATCH at a time, each contending on one mutex
 *   storm forks T C         T threads each fork C children; children run two contending threads of their own,
 *                           then half exit() and half _exit()
 *   storm exit-thread       a worker calls exit(0) while other threads are blocked on a mutex and a condition
 *   storm signals MS        for MS milliseconds a 50 us interval timer's handler sem_posts (async-signal-safe)
 *                           to a waiting thread while three threads contend on a mutex: hooks run inside
 *                           signal handlers that interrupt hooks
 * Prints "done" (or nothing for exit-thread) and exits 0. */
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static volatile long counter;

static void contend(int rounds)
{
    for (int i = 0; i < rounds; i++) {
        pthread_mutex_lock(&lock);
        for (volatile int k = 0; k < 2000; k++)
            counter++;
        pthread_mutex_unlock(&lock);
    }
}

static void *short_lived(void *arg)
{
    (void)arg;
    contend(3);
    return NULL;
}

static int threads_storm(int n, int batch)
{
    pthread_t *t = calloc((size_t)batch, sizeof *t);
    for (int done = 0; done < n; done += batch) {
        int k = n - done < batch ? n - done : batch;
        /* each batch starts against the lock held for a millisecond, so that every batch has contention,
         * however the scheduler runs the threads (on one core, unheld, they ran one after the other) */
        pthread_mutex_lock(&lock);
        for (int i = 0; i < k; i++)
            if (pthread_create(&t[i], NULL, short_lived, NULL))
                return 1;
        usleep(1000);
        pthread_mutex_unlock(&lock);
        for (int i = 0; i < k; i++)
            pthread_join(t[i], NULL);
    }
    free(t);
    return 0;
}

static int children_per_thread;

static void *forker(void *arg)
{
    long id = (long)arg;
    for (int c = 0; c < children_per_thread; c++) {
        pid_t pid = fork();
        if (pid == 0) {
            /* Only the forking thread survives, and `lock` may have been held by another thread at fork time:
             * the child starts its own mutex and threads (what a fork-safe program does). */
            pthread_mutex_init(&lock, NULL);
            pthread_t a, b;
            pthread_create(&a, NULL, short_lived, NULL);
            pthread_create(&b, NULL, short_lived, NULL);
            pthread_join(a, NULL);
            pthread_join(b, NULL);
            if ((id + c) % 2)
                exit(0);
            _exit(0);
        }
        int st;
        waitpid(pid, &st, 0);
        contend(2);
    }
    return NULL;
}

static int fork_storm(int threads, int children)
{
    pthread_t t[64];
    children_per_thread = children;
    for (long i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, forker, (void *)i);
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    return 0;
}

static void *blocked_on_mutex(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lock); /* held by main forever */
    return NULL;
}

static void *blocked_on_cond(void *arg)
{
    (void)arg;
    static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&m);
    for (;;)
        pthread_cond_wait(&cond, &m);
    return NULL;
}

static void *exiter(void *arg)
{
    (void)arg;
    usleep(200000);
    fflush(stdout);
    exit(0);
}

static int exit_from_thread(void)
{
    pthread_t a, b, c;
    pthread_mutex_lock(&lock);
    pthread_create(&a, NULL, blocked_on_mutex, NULL);
    pthread_create(&b, NULL, blocked_on_cond, NULL);
    pthread_create(&c, NULL, exiter, NULL);
    for (;;)
        pause();
    return 1;
}

static sem_t ticks;
static volatile sig_atomic_t stop_ticks;

static void on_alarm(int sig)
{
    (void)sig;
    sem_post(&ticks); /* interposed: runs inside whatever the interrupted thread was doing */
}

static void *tick_consumer(void *arg)
{
    (void)arg;
    while (!stop_ticks)
        sem_wait(&ticks);
    return NULL;
}

static void *contender(void *arg)
{
    (void)arg;
    while (!stop_ticks)
        contend(1);
    return NULL;
}

static int signal_storm(int ms)
{
    pthread_t t[4];
    sem_init(&ticks, 0, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    pthread_create(&t[0], NULL, tick_consumer, NULL);
    for (int i = 1; i < 4; i++)
        pthread_create(&t[i], NULL, contender, NULL);
    struct itimerval it = {{0, 50}, {0, 50}};
    setitimer(ITIMER_REAL, &it, NULL);
    usleep((useconds_t)ms * 1000);
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    stop_ticks = 1;
    sem_post(&ticks);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && !strcmp(argv[1], "threads"))
        return threads_storm(atoi(argv[2]), atoi(argv[3])) || (puts("done"), 0);
    if (argc >= 4 && !strcmp(argv[1], "forks"))
        return fork_storm(atoi(argv[2]), atoi(argv[3])) || (puts("done"), 0);
    if (argc >= 2 && !strcmp(argv[1], "exit-thread"))
        return exit_from_thread();
    if (argc >= 3 && !strcmp(argv[1], "signals"))
        return signal_storm(atoi(argv[2])) || (puts("done"), 0);
    fprintf(stderr, "usage: storm threads N BATCH | forks T C | exit-thread\n");
    return 2;
}
