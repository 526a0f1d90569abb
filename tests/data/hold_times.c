/* hold_times.c — acquisition counts and hold times of contended locks (tests/integration/test_native.py, Holds).
 * A worker first blocks on each of two locks the main thread holds (seen asleep in futex(), through
 * /proc/self/task/TID/syscall), which makes them contended locks; then, with the main thread idle, it takes each one
 * ROUNDS more times: `plain_lock` (a default mutex) held 1 ms each time, `nested_lock` (a recursive mutex) locked
 * twice, the inner hold 1 ms, then 1 ms more under the outer one. Run with LOCKPROF_HOLD_SAMPLE=1 the counts are
 * exact: plain_lock 1 + ROUNDS acquisitions, all timed; nested_lock 1 + 2 x ROUNDS acquisitions, 1 + ROUNDS holds
 * timed (the outer ones: at least 2 ms each). Usage: hold_times ROUNDS. */
#define _GNU_SOURCE 1
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "futex_of.h"

pthread_mutex_t plain_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t nested_lock;
static _Atomic pid_t worker_tid;
static _Atomic int stage;
static long rounds;

static void ms1(void)
{
    struct timespec d = {0, 1000000};
    while (nanosleep(&d, &d))
        ;
}

static void *worker(void *arg)
{
    (void)arg;
    worker_tid = (pid_t)syscall(SYS_gettid);
    pthread_mutex_lock(&plain_lock); /* held by main: a contention */
    pthread_mutex_unlock(&plain_lock);
    stage = 1;
    pthread_mutex_lock(&nested_lock); /* held by main: a contention */
    pthread_mutex_unlock(&nested_lock);
    for (long i = 0; i < rounds; i++) {
        pthread_mutex_lock(&plain_lock);
        ms1();
        pthread_mutex_unlock(&plain_lock);
        pthread_mutex_lock(&nested_lock);
        pthread_mutex_lock(&nested_lock);
        ms1();
        pthread_mutex_unlock(&nested_lock);
        ms1();
        pthread_mutex_unlock(&nested_lock);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    rounds = argc > 1 ? atol(argv[1]) : 20;
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&nested_lock, &a);
    pthread_mutex_lock(&plain_lock);
    pthread_mutex_lock(&nested_lock);
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    while (!worker_tid || futex_of(worker_tid) != (unsigned long)&plain_lock)
        sched_yield();
    pthread_mutex_unlock(&plain_lock);
    while (!stage || futex_of(worker_tid) != (unsigned long)&nested_lock)
        sched_yield();
    pthread_mutex_unlock(&nested_lock);
    pthread_join(t, NULL);
    printf("rounds=%ld\n", rounds);
    return 0;
}
