/* cancel_waits.c — threads cancelled while blocked in the calls lockprof interposes that are cancellation points
 * (tests/integration/test_reliability.py, Cancellation): pthread_cond_wait, pthread_cond_timedwait, sem_wait,
 * sem_timedwait and pthread_join. Each victim blocks for good; once /proc shows it in futex(), the main thread cancels
 * it and joins it. What POSIX promises must hold with lockprof as without: the victim's cleanup handler ran, a
 * condition waiter re-acquired the mutex before it (the handler unlocks it: the main thread can lock it after), the
 * join returns PTHREAD_CANCELED. Then the process exits with nothing blocked, so its profile lists no wait in
 * progress. Prints one line per case ("cond_wait cancelled=1 cleaned=1 relock=0", ...).
 * With an argument N: N sem_wait waiters cancelled one after the other, then one that the main thread's post
 * wakes (prints "posted_after=N taker=TID"). */
#define _GNU_SOURCE 1
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "futex_of.h"

static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static sem_t sem;
static pthread_t forever_thread;
static _Atomic pid_t victim_tid;
static _Atomic int cleaned;

/* Until the thread that set victim_tid sleeps in futex() (10 s at most). */
static void wait_for_victim(void)
{
    for (int i = 0; i < 100000 && !(victim_tid && in_futex(victim_tid)); i++)
        usleep(100);
}

static void far_deadline(struct timespec *ts)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += 3600;
}

static void unlock_mutex(void *arg)
{
    pthread_mutex_unlock(arg);
    cleaned = 1;
}

static void note_cleanup(void *arg)
{
    (void)arg;
    cleaned = 1;
}

static void *cond_victim(void *arg)
{
    int timed = arg != NULL;
    victim_tid = (pid_t)syscall(SYS_gettid);
    pthread_mutex_lock(&mutex);
    pthread_cleanup_push(unlock_mutex, &mutex);
    for (;;) {
        struct timespec ts;
        far_deadline(&ts);
        if (timed)
            pthread_cond_timedwait(&cond, &mutex, &ts);
        else
            pthread_cond_wait(&cond, &mutex);
    }
    pthread_cleanup_pop(1);
    return NULL;
}

static void *sem_victim(void *arg)
{
    int timed = arg != NULL;
    victim_tid = (pid_t)syscall(SYS_gettid);
    pthread_cleanup_push(note_cleanup, NULL);
    for (;;) {
        struct timespec ts;
        far_deadline(&ts);
        if (timed)
            sem_timedwait(&sem, &ts);
        else
            sem_wait(&sem);
    }
    pthread_cleanup_pop(0);
    return NULL;
}

static void *forever(void *arg)
{
    (void)arg;
    for (;;)
        pause();
    return NULL;
}

static void *join_victim(void *arg)
{
    (void)arg;
    victim_tid = (pid_t)syscall(SYS_gettid);
    pthread_cleanup_push(note_cleanup, NULL);
    pthread_join(forever_thread, NULL);
    pthread_cleanup_pop(0);
    return NULL;
}

static void run_case(const char *name, void *(*fn)(void *), void *arg)
{
    pthread_t t;
    victim_tid = 0;
    cleaned = 0;
    pthread_create(&t, NULL, fn, arg);
    wait_for_victim();
    pthread_cancel(t);
    void *ret = NULL;
    pthread_join(t, &ret);
    int relock = pthread_mutex_trylock(&mutex);
    if (relock == 0)
        pthread_mutex_unlock(&mutex);
    printf("%s cancelled=%d cleaned=%d relock=%d\n", name, ret == PTHREAD_CANCELED, (int)cleaned, relock);
    fflush(stdout);
}

static void *sem_taker(void *arg)
{
    (void)arg;
    victim_tid = (pid_t)syscall(SYS_gettid);
    sem_wait(&sem);
    return NULL;
}

/* After `n` waiters of `sem` were cancelled, one more blocks on it until the main thread posts: a wait whose holder
 * (the poster) the profile should name, which needs a slot of lockprof's waiter registry that the cancelled waits
 * gave back. */
static void wait_after_cancellations(int n)
{
    for (int i = 0; i < n; i++) {
        pthread_t t;
        victim_tid = 0;
        pthread_create(&t, NULL, sem_victim, NULL);
        wait_for_victim();
        pthread_cancel(t);
        pthread_join(t, NULL);
    }
    pthread_t t;
    victim_tid = 0;
    pthread_create(&t, NULL, sem_taker, NULL);
    wait_for_victim();
    sem_post(&sem);
    pthread_join(t, NULL);
    printf("posted_after=%d taker=%d\n", n, (int)victim_tid);
}

int main(int argc, char **argv)
{
    sem_init(&sem, 0, 0);
    if (argc > 1) {
        wait_after_cancellations(atoi(argv[1]));
        return 0;
    }
    run_case("cond_wait", cond_victim, NULL);
    run_case("cond_timedwait", cond_victim, (void *)1);
    run_case("sem_wait", sem_victim, NULL);
    run_case("sem_timedwait", sem_victim, (void *)1);
    pthread_create(&forever_thread, NULL, forever, NULL);
    run_case("join", join_victim, NULL);
    pthread_cancel(forever_thread);
    pthread_join(forever_thread, NULL);
    return 0;
}
