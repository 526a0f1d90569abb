/* blocked_mutex.c — accuracy workload (bench/run.py, the "accuracy" rows): threads take one mutex and work while
 * holding it, like examples/c/hot_mutex.c, and each thread measures, with no tracer attached, how long the kernel
 * kept it off the CPU and not runnable: its wall time minus its run time and its run-queue wait, both from
 * /proc/thread-self/schedstat (Documentation/scheduler/sched-stats.rst). The only thing these threads block on is
 * `bench_lock`, so that sum is the kernel's view of the time they were blocked on it. Each thread also times its
 * own blocking calls (clock before and after pthread_mutex_lock, when a trylock found the lock busy): the
 * program's view of the same waits, which lockprof's should match.
 * A hold lasts a fixed time (work until the clock says so), not a fixed number of loop iterations: the same
 * arguments then make the same waits on any CPU.
 * Usage: blocked_mutex [threads] [iterations] [hold in µs, default 50]; prints "blocked_ns=N waited_ns=M". */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

pthread_mutex_t bench_lock = PTHREAD_MUTEX_INITIALIZER;
static volatile unsigned long counter;
static unsigned long long blocked_ns[64];
static _Thread_local unsigned long long waited; /* this thread's own measure of its blocking calls */
static unsigned long long waited_ns[64];

static unsigned long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

/* run time and run-queue wait of the calling thread, in ns; 0 on success */
static int schedstat(unsigned long long *run, unsigned long long *queued)
{
    char buf[128];
    int fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    return sscanf(buf, "%llu %llu", run, queued) == 2 ? 0 : -1;
}

static long hold_us = 50;

__attribute__((noinline)) static void critical_work(void)
{
    if (pthread_mutex_trylock(&bench_lock) != 0) {
        unsigned long long t0 = now_ns();
        pthread_mutex_lock(&bench_lock);
        waited += now_ns() - t0;
    }
    unsigned long long until = now_ns() + (unsigned long long)hold_us * 1000u;
    while (now_ns() < until)
        counter++;
    pthread_mutex_unlock(&bench_lock);
}

static long iterations;

static void *worker(void *arg)
{
    long id = (long)arg;
    unsigned long long run0, q0, run1, q1, t0 = now_ns();
    if (schedstat(&run0, &q0))
        exit(3);
    for (long i = 0; i < iterations; i++)
        critical_work();
    unsigned long long t1 = now_ns();
    if (schedstat(&run1, &q1))
        exit(3);
    long long off = (long long)(t1 - t0) - (long long)(run1 - run0) - (long long)(q1 - q0);
    blocked_ns[id] = off > 0 ? (unsigned long long)off : 0;
    waited_ns[id] = waited;
    return NULL;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    iterations = argc > 2 ? atol(argv[2]) : 2000;
    hold_us = argc > 3 ? atol(argv[3]) : 50;
    pthread_t t[64];
    if (threads < 1 || threads > 64 || iterations < 0 || hold_us < 0)
        return 2;
    for (long i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, worker, (void *)i);
    unsigned long long blocked = 0, own = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        blocked += blocked_ns[i];
        own += waited_ns[i];
    }
    printf("blocked_ns=%llu waited_ns=%llu\n", blocked, own);
    return 0;
}
