/* join_wait.c — pthread_join as its own wait class (tests/integration/test_native.py, Joins). The main thread joins
 * a worker that ends only once the main thread is seen asleep in the kernel (in futex(), the join's wait, read from
 * /proc/self/task/TID/syscall): one join that blocked. Then it joins a second worker that has already ended (its
 * /proc/self/task entry is gone): a join that does not wait, and must not be recorded. Prints "blocked_tid=T" (the
 * worker the first join waited for). */
#define _GNU_SOURCE 1
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "futex_of.h"

static pid_t main_tid;
static _Atomic pid_t worker_tid;

static void *ends_when_joined(void *arg)
{
    (void)arg;
    worker_tid = (pid_t)syscall(SYS_gettid);
    while (!in_futex(main_tid))
        sched_yield();
    return NULL;
}

static void *ends_at_once(void *arg)
{
    *(_Atomic pid_t *)arg = (pid_t)syscall(SYS_gettid);
    return NULL;
}

int main(void)
{
    main_tid = (pid_t)syscall(SYS_gettid);
    pthread_t a, b;
    _Atomic pid_t b_tid = 0;
    pthread_create(&a, NULL, ends_when_joined, NULL);
    pthread_join(a, NULL);
    pthread_create(&b, NULL, ends_at_once, &b_tid);
    char path[64];
    struct stat st;
    while (!b_tid)
        sched_yield();
    snprintf(path, sizeof path, "/proc/self/task/%d", (int)b_tid);
    while (stat(path, &st) == 0)
        sched_yield();
    pthread_join(b, NULL);
    printf("blocked_tid=%d\n", (int)worker_tid);
    return 0;
}
