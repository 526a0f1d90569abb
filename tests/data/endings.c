/* endings.c — ways a process ends, for tests/integration/test_endings.py. Every mode first makes three threads
 * contend on `hot` (so a profile has something to say), then:
 *   term        kill(getpid(), SIGTERM)             int         kill(getpid(), SIGINT)
 *   term-thread another thread sends SIGTERM to the process
 *   abort       abort()                             segv        a store through a null pointer
 *   bus         a read past the end of a mapped file fpe         an integer division by zero
 *   handler     installs its own SIGTERM handler, which prints "handled"; sends SIGTERM; exits 0
 *   view        prints the disposition sigaction() reports for SIGINT, SIGTERM, SIGSEGV and SIGUSR2
 *   ignored     sends itself SIGTERM (started with SIGTERM ignored, it goes on) and exits 0
 *   abba        two threads deadlock (each holds one of mutex_a, mutex_b and waits for the other); once both are
 *               blocked in the kernel, the main thread calls exit(3)
 *   stuck       seven threads block: three on mutex_a (held by the main thread), two on rw (write-held by the main
 *               thread), two on cond; once all are blocked in the kernel, the main thread calls exit(4)
 *   abba-wait   as abba, but the main thread then waits forever (for a signal)
 *   execl, execle, execlp, fexecve, execv
 *               replaces itself with /bin/true through that exec function
 * Prints "contended" once the threads are done, and "blocked" once the blocked threads are. */
#define _GNU_SOURCE 1
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static pthread_mutex_t hot = PTHREAD_MUTEX_INITIALIZER;
static volatile long counter;

static void *worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 200; i++) {
        pthread_mutex_lock(&hot);
        counter++;
        usleep(20); /* held across a sleep: the other threads certainly wait */
        pthread_mutex_unlock(&hot);
    }
    return NULL;
}

static pthread_mutex_t mutex_a = PTHREAD_MUTEX_INITIALIZER, mutex_b = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t cond_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t both_hold;
static volatile pid_t tids[16];
static volatile int n_tids;

static void note_tid(void) { tids[__atomic_fetch_add(&n_tids, 1, __ATOMIC_SEQ_CST)] = gettid(); }

/* Whether every noted thread sits in a futex wait (the kernel's view: /proc/self/task/TID/syscall starts with the
 * futex system call's number, 202 on x86-64). */
static int all_blocked(int n)
{
    if (n_tids < n)
        return 0;
    for (int i = 0; i < n; i++) {
        char path[64], buf[32] = "";
        snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)tids[i]);
        int fd = open(path, O_RDONLY);
        ssize_t r = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
        if (fd >= 0)
            close(fd);
        if (r < 4 || strncmp(buf, "202 ", 4) != 0)
            return 0;
    }
    return 1;
}

static void wait_blocked(int n)
{
    while (!all_blocked(n))
        usleep(1000);
    printf("blocked\n");
    fflush(stdout);
}

static void *ab(void *arg)
{
    pthread_mutex_t *first = arg ? &mutex_a : &mutex_b, *second = arg ? &mutex_b : &mutex_a;
    pthread_mutex_lock(first);
    pthread_barrier_wait(&both_hold);
    note_tid();
    pthread_mutex_lock(second); /* never returns */
    return NULL;
}

static void *lock_a(void *arg)
{
    (void)arg;
    note_tid();
    pthread_mutex_lock(&mutex_a);
    return NULL;
}

static void *write_rw(void *arg)
{
    (void)arg;
    note_tid();
    pthread_rwlock_wrlock(&rw);
    return NULL;
}

static void *wait_cond(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&cond_mutex);
    note_tid();
    for (;;)
        pthread_cond_wait(&cond, &cond_mutex);
    return NULL;
}

static void *send_term(void *arg)
{
    (void)arg;
    kill(getpid(), SIGTERM);
    pause();
    return NULL;
}

static void on_term(int sig)
{
    (void)sig;
    static const char msg[] = "handled\n";
    ssize_t r = write(1, msg, sizeof msg - 1);
    (void)r;
}

static const char *disposition(int sig)
{
    struct sigaction old;
    if (sigaction(sig, NULL, &old))
        return "error";
    if (old.sa_flags & SA_SIGINFO)
        return "handler";
    return old.sa_handler == SIG_DFL ? "default" : old.sa_handler == SIG_IGN ? "ignored" : "handler";
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, worker, NULL);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    printf("contended\n");
    fflush(stdout);
    if (!strcmp(mode, "term")) {
        kill(getpid(), SIGTERM);
        pause();
    } else if (!strcmp(mode, "int")) {
        kill(getpid(), SIGINT);
        pause();
    } else if (!strcmp(mode, "term-thread")) {
        pthread_t s;
        pthread_create(&s, NULL, send_term, NULL);
        pause();
    } else if (!strcmp(mode, "abort")) {
        abort();
    } else if (!strcmp(mode, "segv")) {
        *(volatile int *)(uintptr_t)(counter & 0) = 1;
    } else if (!strcmp(mode, "bus")) {
        char path[] = "/tmp/endings-bus-XXXXXX";
        int fd = mkstemp(path);
        unlink(path);
        volatile char *p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0); /* an empty file: no page behind it */
        return p[0];
    } else if (!strcmp(mode, "fpe")) {
        volatile int zero = (int)(counter & 0);
        return 100 / zero; /* (gcc turns 1 / x into compares, no division) */
    } else if (!strcmp(mode, "handler")) {
        signal(SIGTERM, on_term);
        kill(getpid(), SIGTERM);
    } else if (!strcmp(mode, "view")) {
        printf("SIGINT %s SIGTERM %s SIGSEGV %s SIGUSR2 %s\n", disposition(SIGINT), disposition(SIGTERM),
               disposition(SIGSEGV), disposition(SIGUSR2));
    } else if (!strcmp(mode, "abba") || !strcmp(mode, "abba-wait")) {
        pthread_barrier_init(&both_hold, NULL, 2);
        pthread_t a, b;
        pthread_create(&a, NULL, ab, (void *)1);
        pthread_create(&b, NULL, ab, NULL);
        wait_blocked(2);
        if (!strcmp(mode, "abba-wait"))
            for (;;)
                pause();
        exit(3);
    } else if (!strcmp(mode, "stuck")) {
        pthread_t s;
        pthread_mutex_lock(&mutex_a);
        pthread_rwlock_wrlock(&rw);
        for (int i = 0; i < 3; i++)
            pthread_create(&s, NULL, lock_a, NULL);
        for (int i = 0; i < 2; i++)
            pthread_create(&s, NULL, write_rw, NULL);
        for (int i = 0; i < 2; i++)
            pthread_create(&s, NULL, wait_cond, NULL);
        wait_blocked(7);
        exit(4);
    } else if (!strcmp(mode, "execl")) {
        execl("/bin/true", "true", (char *)NULL);
    } else if (!strcmp(mode, "execle")) {
        char *env[] = {NULL};
        execle("/bin/true", "true", (char *)NULL, env);
    } else if (!strcmp(mode, "execlp")) {
        execlp("true", "true", (char *)NULL);
    } else if (!strcmp(mode, "execv")) {
        char *argv[] = {"true", NULL};
        execv("/bin/true", argv);
    } else if (!strcmp(mode, "fexecve")) {
        char *argv[] = {"true", NULL};
        int fd = open("/bin/true", O_RDONLY | O_CLOEXEC);
        fexecve(fd, argv, environ);
    } else if (!strcmp(mode, "ignored")) {
        kill(getpid(), SIGTERM);
        printf("still here\n");
    } else {
        fprintf(stderr, "endings: unknown mode %s\n", mode);
        return 2;
    }
    return 0;
}
