/* fork_unwind.c — a fork while another thread is inside libunwind (held there by slow_unwind.c, preloaded before
 * liblockprof): the child inherits libunwind's lock held, and its own first wait must still be recorded without
 * deadlocking (src/collect/stack.c: native stacks off in such a child). With the argument "brief", the lock is
 * let go 30 ms after the fork began: the fork waits for the unwind, and the child keeps native stacks. Prints
 * "child done" from the child and "done" from the parent; exit status 0. Exit 3 when libunwind took no lock to
 * hold (nothing was tested). */
#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t parent_lock = PTHREAD_MUTEX_INITIALIZER, child_lock = PTHREAD_MUTEX_INITIALIZER;

static void *wait_parent(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&parent_lock); /* held by main: a wait, whose stack capture enters libunwind */
    pthread_mutex_unlock(&parent_lock);
    return NULL;
}

static int timedlock_ms(pthread_mutex_t *m, long ms)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_nsec += ms * 1000000;
    t.tv_sec += t.tv_nsec / 1000000000;
    t.tv_nsec %= 1000000000;
    return pthread_mutex_timedlock(m, &t);
}

static void *wait_child(void *arg)
{
    (void)arg;
    return (void *)(long)timedlock_ms(&child_lock, 50); /* held by the child's main: always a recorded wait */
}

static void *warm_up(void *arg)
{
    (void)arg;
    timedlock_ms(&parent_lock, 20); /* held by main: a recorded wait */
    return NULL;
}

static int *release;

static void *release_soon(void *arg)
{
    (void)arg;
    struct timespec d = {0, 30000000};
    nanosleep(&d, NULL);
    __atomic_store_n(release, 1, __ATOMIC_RELEASE);
    return NULL;
}

int main(int argc, char **argv)
{
    int *armed = dlsym(RTLD_DEFAULT, "slow_unwind_armed"), *holding = dlsym(RTLD_DEFAULT, "slow_unwind_holding");
    release = dlsym(RTLD_DEFAULT, "slow_unwind_release");
    if (!armed || !holding || !release) {
        fprintf(stderr, "fork_unwind: slow_unwind.so is not preloaded\n");
        return 2;
    }
    pthread_mutex_lock(&parent_lock);
    /* a first wait initialises libunwind (locks of its own, taken once): the armed one below then holds the lock
     * every later unwind step takes */
    pthread_t w;
    pthread_create(&w, NULL, warm_up, NULL);
    pthread_join(w, NULL);
    __atomic_store_n(armed, 1, __ATOMIC_RELEASE);
    pthread_t t;
    pthread_create(&t, NULL, wait_parent, NULL);
    struct timespec d = {0, 1000000};
    for (int i = 0; i < 5000 && !__atomic_load_n(holding, __ATOMIC_ACQUIRE); i++)
        nanosleep(&d, NULL);
    int held = __atomic_load_n(holding, __ATOMIC_ACQUIRE);
    pthread_t r;
    int brief = argc > 1 && !strcmp(argv[1], "brief");
    if (brief)
        pthread_create(&r, NULL, release_soon, NULL);
    pid_t pid = held ? fork() : -1;
    if (pid == 0) {
        pthread_mutex_lock(&child_lock);
        pthread_t c;
        void *rc;
        pthread_create(&c, NULL, wait_child, NULL);
        pthread_join(c, &rc);
        pthread_mutex_unlock(&child_lock);
        printf("child done %s\n", (long)rc == ETIMEDOUT ? "timedout" : "?");
        fflush(stdout);
        exit(0);
    }
    __atomic_store_n(release, 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&parent_lock);
    pthread_join(t, NULL);
    if (brief)
        pthread_join(r, NULL);
    if (!held) {
        fprintf(stderr, "fork_unwind: libunwind took no lock while capturing\n");
        return 3;
    }
    int st;
    waitpid(pid, &st, 0);
    printf("done\n");
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}
