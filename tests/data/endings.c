/* endings.c — ways a process ends, for tests/integration/test_endings.py. Every mode first makes three threads
 * contend on `hot` (so a profile has something to say), then:
 *   term        kill(getpid(), SIGTERM)             int         kill(getpid(), SIGINT)
 *   term-thread another thread sends SIGTERM to the process
 *   abort       abort()                             segv        a store through a null pointer
 *   bus         a read past the end of a mapped file fpe         an integer division by zero
 *   handler     installs its own SIGTERM handler, which prints "handled"; sends SIGTERM; exits 0
 *   view        prints the disposition sigaction() reports for SIGINT, SIGTERM, SIGSEGV and SIGUSR2
 *   ignored     sends itself SIGTERM (started with SIGTERM ignored, it goes on) and exits 0
 * Prints "contended" once the threads are done. */
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
    } else if (!strcmp(mode, "ignored")) {
        kill(getpid(), SIGTERM);
        printf("still here\n");
    } else {
        fprintf(stderr, "endings: unknown mode %s\n", mode);
        return 2;
    }
    return 0;
}
