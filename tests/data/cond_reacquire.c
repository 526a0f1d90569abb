/* cond_reacquire.c — ground truth for the re-acquisition of a mutex after a condition-variable wake-up
 * (tests/integration/test_native.py, CondReacquire). One thread waits on `ready` under `state_lock`, round after
 * round; how each round ends is chosen so that the time the woken waiter spends blocked re-acquiring the mutex is
 * known without a tracer. Whether the waiter has been woken is read from glibc's condition variable: __wrefs
 * counts, from bit 3 up, the threads inside pthread_cond_wait not yet woken (glibc 2.36 nptl/pthread_cond_wait.c:
 * the count drops right before the waiter re-locks the mutex).
 *
 *   cond_reacquire third ROUNDS HOLD_MS   the main thread signals without holding the mutex while a third thread
 *                                         (holder) holds it, and keeps holding it HOLD_MS after it saw the waiter
 *                                         woken: the waiter is blocked on the mutex at least HOLD_MS each round.
 *                                         Prints "rounds=N hold_ns=H cond_bound_ns=C": C sums, over the rounds, the
 *                                         time from the waiter's call to the moment the holder saw it woken, a
 *                                         bound on its time waiting for the condition.
 *   cond_reacquire free ROUNDS            the main thread signals while holding the mutex, unlocks it, then looks:
 *                                         when the waiter is still not woken after the unlock, nobody can hold the
 *                                         mutex when it re-locks it (nobody else takes it during the round), so it
 *                                         cannot block. Prints "rounds=N free=K": K rounds could not block. (The
 *                                         waiter may finish the round and wait for the next one before the main
 *                                         thread looks: the round count read after the look tells.) To make such
 *                                         rounds the rule, both threads share one CPU and the waiter runs at
 *                                         SCHED_IDLE, so that it does not run before the main thread yields. */
#define _GNU_SOURCE 1
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

pthread_mutex_t state_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t ready = PTHREAD_COND_INITIALIZER;
static int go;
static _Atomic int rounds_done, holder_go, holder_holds, stop;
static _Atomic unsigned long long enter_ns, bound_ns;
static long hold_ms;

static unsigned long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

static unsigned not_woken(void) { return __atomic_load_n(&ready.__data.__wrefs, __ATOMIC_ACQUIRE) >> 3; }

static void until(_Atomic int *v, int want)
{
    while (*v != want)
        sched_yield();
}

__attribute__((noinline)) static void wait_for_go(void)
{
    pthread_mutex_lock(&state_lock);
    while (!go) {
        enter_ns = now_ns();
        pthread_cond_wait(&ready, &state_lock);
    }
    go = 0;
    pthread_mutex_unlock(&state_lock);
}

static int free_mode;

static void *waiter(void *arg)
{
    long rounds = (long)arg;
    if (free_mode) {
        struct sched_param sp = {0};
        pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp); /* best effort: the count printed says */
    }
    for (long r = 0; r < rounds; r++) {
        wait_for_go();
        rounds_done++;
    }
    return NULL;
}

/* the third thread: takes the mutex when told, and gives it back HOLD_MS after the waiter was woken */
__attribute__((noinline)) static void hold_through_wakeup(void)
{
    pthread_mutex_lock(&state_lock);
    holder_holds = 1;
    while (not_woken() != 0)
        sched_yield();
    bound_ns += now_ns() - enter_ns;
    struct timespec d = {hold_ms / 1000, (hold_ms % 1000) * 1000000};
    nanosleep(&d, NULL);
    holder_holds = 0;
    pthread_mutex_unlock(&state_lock);
}

static void *holder(void *arg)
{
    (void)arg;
    for (;;) {
        while (!holder_go && !stop)
            sched_yield();
        if (stop)
            return NULL;
        holder_go = 0;
        hold_through_wakeup();
    }
}

/* the waiter is inside pthread_cond_wait and has released the mutex (it does both before its count shows) */
static void until_waiting(void)
{
    while (not_woken() != 1)
        sched_yield();
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    int third = !strcmp(argv[1], "third");
    long rounds = atol(argv[2]);
    hold_ms = argc > 3 ? atol(argv[3]) : 20;
    free_mode = !third;
    if (free_mode) {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(sched_getcpu() >= 0 ? sched_getcpu() : 0, &one);
        sched_setaffinity(0, sizeof one, &one); /* best effort; inherited by the waiter */
    }
    pthread_t w, h;
    pthread_create(&w, NULL, waiter, (void *)rounds);
    if (third)
        pthread_create(&h, NULL, holder, NULL);
    long free_rounds = 0;
    for (long r = 0; r < rounds; r++) {
        until_waiting();
        pthread_mutex_lock(&state_lock);
        go = 1;
        if (third) {
            pthread_mutex_unlock(&state_lock);
            holder_go = 1;
            until(&holder_holds, 1);
            pthread_cond_signal(&ready); /* not holding the mutex: the holder thread does */
        } else {
            pthread_cond_signal(&ready);
            pthread_mutex_unlock(&state_lock);
            /* not woken after the unlock, and still in this round's wait (it may finish the round and wait again
             * before we look: the round count, read after, tells) */
            int still = not_woken() == 1;
            free_rounds += still && rounds_done == r;
        }
        until(&rounds_done, (int)r + 1);
    }
    stop = 1;
    pthread_join(w, NULL);
    if (third) {
        pthread_join(h, NULL);
        printf("rounds=%ld hold_ns=%lld cond_bound_ns=%llu\n", rounds, hold_ms * 1000000ll,
               (unsigned long long)bound_ns);
    } else {
        printf("rounds=%ld free=%ld\n", rounds, free_rounds);
    }
    return 0;
}
