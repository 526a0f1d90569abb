/* uncontended_loop.c — benchmark 1: one thread locks and unlocks one pthread mutex N times and prints the time
 * per lock/unlock pair in ns (measured inside the program, so the profiler's start-up and dump are excluded).
 * With a second argument "idle", an idle second thread exists during the loop (the process is then
 * multi-threaded, which changes glibc's own fast path and lockprof's). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static volatile unsigned long counter;
static int pipefd[2];

static void *idle(void *arg)
{
    (void)arg;
    char c;
    ssize_t r = read(pipefd[0], &c, 1); /* blocks until main is done */
    (void)r;
    return NULL;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 20000000;
    int with_idle = argc > 2 && !strcmp(argv[2], "idle");
    pthread_t t;
    if (with_idle && (pipe(pipefd) || pthread_create(&t, NULL, idle, NULL)))
        return 1;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++) {
        pthread_mutex_lock(&m);
        counter++;
        pthread_mutex_unlock(&m);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    if (with_idle) {
        ssize_t w = write(pipefd[1], "x", 1);
        (void)w;
        pthread_join(t, NULL);
    }
    double ns = (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
    printf("%.3f\n", ns / (double)n);
    return 0;
}
