/* unwind_wait.c — lockprof's own waits (tests/integration/test_native.py, OwnWaits): with slow_unwind.c preloaded
 * before liblockprof, one thread's stack capture stops inside libunwind with libunwind's lock held, and a second
 * thread's capture then blocks on that lock, inside lockprof, before its own wait on the program's lock begins.
 * The main thread lets the first one go once it has seen the second asleep in futex() on an address that is not
 * the program's lock (/proc/self/task/TID/syscall). Prints "blocked_in=unwind" (or "blocked_in=lock" when the second
 * capture did not need libunwind's held lock: then nothing was tested). */
#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "futex_of.h"

static pthread_mutex_t first_lock = PTHREAD_MUTEX_INITIALIZER, second_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic pid_t second_tid;

static int timedlock_ms(pthread_mutex_t *m, long ms)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_nsec += ms * 1000000;
    t.tv_sec += t.tv_nsec / 1000000000;
    t.tv_nsec %= 1000000000;
    return pthread_mutex_timedlock(m, &t);
}

static void *warm_up(void *arg)
{
    (void)arg;
    timedlock_ms(&first_lock, 20); /* a recorded wait: libunwind initialises */
    return NULL;
}

static void *wait_first(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&first_lock); /* its capture is held inside libunwind by slow_unwind.c */
    pthread_mutex_unlock(&first_lock);
    return NULL;
}

static void *wait_second(void *arg)
{
    (void)arg;
    second_tid = (pid_t)syscall(SYS_gettid);
    pthread_mutex_lock(&second_lock); /* its capture needs libunwind's lock, held by wait_first */
    pthread_mutex_unlock(&second_lock);
    return NULL;
}

int main(void)
{
    int *armed = dlsym(RTLD_DEFAULT, "slow_unwind_armed"), *holding = dlsym(RTLD_DEFAULT, "slow_unwind_holding");
    int *release = dlsym(RTLD_DEFAULT, "slow_unwind_release");
    if (!armed || !holding || !release) {
        fprintf(stderr, "unwind_wait: slow_unwind.so is not preloaded\n");
        return 2;
    }
    pthread_mutex_lock(&first_lock);
    pthread_mutex_lock(&second_lock);
    pthread_t w, a, b;
    pthread_create(&w, NULL, warm_up, NULL);
    pthread_join(w, NULL);
    __atomic_store_n(armed, 1, __ATOMIC_RELEASE);
    pthread_create(&a, NULL, wait_first, NULL);
    while (!__atomic_load_n(holding, __ATOMIC_ACQUIRE))
        sched_yield();
    pthread_create(&b, NULL, wait_second, NULL);
    unsigned long at;
    while (!second_tid || !(at = futex_of(second_tid)))
        sched_yield();
    __atomic_store_n(release, 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&first_lock);
    pthread_mutex_unlock(&second_lock);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    printf("blocked_in=%s\n", at == (unsigned long)&second_lock ? "lock" : "unwind");
    return 0;
}
