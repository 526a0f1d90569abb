/* hot_mutex.c — several threads take one global mutex and do work while holding it: the textbook contended
 * lock. lockprof should name `hot_lock`, show `critical_work` <- `worker` waiting, and the holder inside
 * `critical_work` too. Usage: hot_mutex [threads] [iterations]
 *
 * Contention is certain, not only likely: in its first section the first thread keeps hot_lock until every other
 * thread is blocked on it (asleep in futex() on hot_lock, as /proc shows; 2 s at most), so each run has at least
 * threads-1 waits, however the scheduler interleaves the rest (on a fast or a loaded machine, short runs sometimes
 * had none). */
#define _GNU_SOURCE 1
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

pthread_mutex_t hot_lock = PTHREAD_MUTEX_INITIALIZER;
static volatile unsigned long shared_counter;

static int nthreads;
static atomic_int first_held;  /* thread 0 holds hot_lock in its first section */
static atomic_int about_to_lock;
static atomic_long tids[64];

static void pause_100us(void)
{
    struct timespec ts = {0, 100000};
    nanosleep(&ts, NULL);
}

/* True when thread `tid` of this process sleeps in futex() on hot_lock (/proc/self/task/TID/syscall: the system
 * call's number, then its first argument, the futex's address), or when /proc cannot tell. */
static int blocked_on_hot_lock(long tid)
{
    char path[64], buf[256] = {0};
    snprintf(path, sizeof path, "/proc/self/task/%ld/syscall", tid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 1; /* no /proc: do not wait for what cannot be seen */
    unsigned long nr = 0, addr = 0;
    int n = fgets(buf, sizeof buf, f) ? sscanf(buf, "%lu %lx", &nr, &addr) : 0;
    fclose(f);
    return n == 2 && nr == SYS_futex && addr == (unsigned long)&hot_lock;
}

static void wait_for_the_others(void)
{
    for (int spins = 0; spins < 20000; spins++) { /* 2 s at most */
        int blocked = atomic_load(&about_to_lock) == nthreads - 1;
        for (int i = 1; blocked && i < nthreads; i++)
            blocked = blocked_on_hot_lock(atomic_load(&tids[i]));
        if (blocked)
            return;
        pause_100us();
    }
}

__attribute__((noinline)) static void critical_work(int first)
{
    pthread_mutex_lock(&hot_lock);
    if (first) {
        atomic_store(&first_held, 1);
        wait_for_the_others();
    }
    for (int i = 0; i < 20000; i++) /* ~10-20 µs held */
        shared_counter++;
    pthread_mutex_unlock(&hot_lock);
}

__attribute__((noinline)) static void *worker(void *arg)
{
    long index = (long)arg >> 32, n = (long)arg & 0xffffffff;
    if (index > 0) {
        while (!atomic_load(&first_held))
            pause_100us();
        atomic_store(&tids[index], syscall(SYS_gettid));
        atomic_fetch_add(&about_to_lock, 1);
    }
    for (long i = 0; i < n; i++)
        critical_work(index == 0 && i == 0);
    return NULL;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 4;
    long iters = argc > 2 ? atol(argv[2]) : 2000;
    pthread_t t[64];
    if (threads < 1 || threads > 64 || iters < 1 || iters > 0xffffffffL)
        return 2;
    nthreads = threads;
    for (long i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, worker, (void *)(i << 32 | iters));
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    printf("counter=%lu\n", shared_counter);
    return 0;
}
