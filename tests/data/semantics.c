/* semantics.c — every observable result of the interposed functions, printed one per line, so a test can run it
 * with and without lockprof and require identical output: return values and errno for EBUSY, ETIMEDOUT, EDEADLK,
 * EPERM, EOWNERDEAD, EINTR, EAGAIN; recursive, error-checking, robust and priority-inheritance mutexes; signals
 * delivered during waits; errno untouched by successful calls; the fields glibc keeps in a default mutex (lockprof
 * locks those in place, src/collect/glibc_mutex.h) and a default mutex shared by threads that lock it every way
 * (lock, trylock, timedlock, condition waits): nothing lost, nothing left locked. Exit status 0 when every result matches what
 * POSIX/glibc specify (printed as "ok"/"BAD"). */
#define _GNU_SOURCE 1
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int bad;

static void check(const char *what, long got, long want)
{
    printf("%-48s %s (%ld)\n", what, got == want ? "ok" : "BAD", got);
    if (got != want)
        bad = 1;
}

static struct timespec in_ms(clockid_t clk, long ms)
{
    struct timespec t;
    clock_gettime(clk, &t);
    t.tv_nsec += ms * 1000000L;
    t.tv_sec += t.tv_nsec / 1000000000L;
    t.tv_nsec %= 1000000000L;
    return t;
}

static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static sem_t go, done;

static void *holder(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&held);
    pthread_rwlock_rdlock(&rw);
    sem_post(&go);
    sem_wait(&done);
    pthread_rwlock_unlock(&rw);
    pthread_mutex_unlock(&held);
    return NULL;
}

static pthread_mutex_t robust, lost;
static void *die_holding(void *arg)
{
    pthread_mutex_lock(arg);
    return NULL; /* exits without unlocking */
}

static void *timedlock_lost(void *arg)
{
    struct timespec t = in_ms(CLOCK_REALTIME, 200);
    *(int *)arg = pthread_mutex_timedlock(&lost, &t);
    return NULL;
}

static volatile sig_atomic_t got_signal;
static void on_usr1(int s)
{
    (void)s;
    got_signal++;
}

static sem_t never;
static void *poke(void *arg)
{
    pthread_t target = *(pthread_t *)arg;
    usleep(100000);
    pthread_kill(target, SIGUSR1);
    return NULL;
}

/* A default mutex's fields while held and after release, as glibc keeps them (tid printed as "is me"). */
static void default_fields(const char *when, pthread_mutex_t *m)
{
    char what[96];
    pthread_mutex_lock(m);
    snprintf(what, sizeof what, "%s: held: lock word", when);
    check(what, m->__data.__lock, 1);
    snprintf(what, sizeof what, "%s: held: owner is me", when);
    check(what, m->__data.__owner == gettid(), 1);
    snprintf(what, sizeof what, "%s: held: users", when);
    check(what, m->__data.__nusers, 1);
    pthread_mutex_unlock(m);
    snprintf(what, sizeof what, "%s: released: lock word, owner, users", when);
    check(what, m->__data.__lock | m->__data.__owner | (int)m->__data.__nusers, 0);
}

enum { STRESS_THREADS = 4, STRESS_ITERS = 100000, PINGPONG_ROUNDS = 2000 };
static pthread_mutex_t shared = PTHREAD_MUTEX_INITIALIZER;
static long shared_count;
static int stress_errors;
static pthread_barrier_t stress_start;

static void *stress(void *arg)
{
    (void)arg;
    pthread_barrier_wait(&stress_start);
    for (int i = 0; i < STRESS_ITERS; i++) {
        if (i % 97 == 0) {
            while (pthread_mutex_trylock(&shared) == EBUSY)
                sched_yield();
        } else if (i % 1009 == 0) {
            struct timespec ts = in_ms(CLOCK_REALTIME, 10000);
            if (pthread_mutex_timedlock(&shared, &ts) != 0) {
                __atomic_add_fetch(&stress_errors, 1, __ATOMIC_RELAXED);
                continue;
            }
        } else {
            pthread_mutex_lock(&shared);
        }
        shared_count++;
        pthread_mutex_unlock(&shared);
    }
    return NULL;
}

/* Two threads taking turns through a condition variable: glibc re-takes the mutex after a wake-up with the
 * "waiters" value in the lock word, which the next unlock must honour. */
static pthread_mutex_t pm = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pc = PTHREAD_COND_INITIALIZER;
static int turn, turns;

static void *pingpong(void *arg)
{
    int me = (int)(long)arg;
    for (int r = 0; r < PINGPONG_ROUNDS; r++) {
        pthread_mutex_lock(&pm);
        while (turn != me)
            pthread_cond_wait(&pc, &pm);
        turn = !me;
        turns++;
        pthread_cond_signal(&pc);
        pthread_mutex_unlock(&pm);
    }
    return NULL;
}

int main(void)
{
    pthread_mutexattr_t a;
    pthread_t t;

    /* errno is left alone by successful calls */
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    errno = 1234;
    pthread_mutex_lock(&m);
    pthread_mutex_unlock(&m);
    check("errno after mutex lock/unlock", errno, 1234);
    default_fields("default mutex, one thread", &m);

    /* error-checking mutex */
    pthread_mutex_t ec;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_init(&ec, &a);
    check("errorcheck: lock", pthread_mutex_lock(&ec), 0);
    check("errorcheck: relock -> EDEADLK", pthread_mutex_lock(&ec), EDEADLK);
    check("errorcheck: trylock -> EBUSY", pthread_mutex_trylock(&ec), EBUSY);
    struct timespec ts = in_ms(CLOCK_REALTIME, 10);
    check("errorcheck: timedlock relock -> EDEADLK", pthread_mutex_timedlock(&ec, &ts), EDEADLK);
    check("errorcheck: unlock", pthread_mutex_unlock(&ec), 0);
    check("errorcheck: unlock unowned -> EPERM", pthread_mutex_unlock(&ec), EPERM);

    /* recursive mutex */
    pthread_mutex_t rec;
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&rec, &a);
    check("recursive: lock x3", pthread_mutex_lock(&rec) + pthread_mutex_lock(&rec) + pthread_mutex_trylock(&rec), 0);
    check("recursive: unlock x3", pthread_mutex_unlock(&rec) + pthread_mutex_unlock(&rec) + pthread_mutex_unlock(&rec),
          0);
    check("recursive: unlock unowned -> EPERM", pthread_mutex_unlock(&rec), EPERM);

    /* a mutex, an rwlock held by another thread */
    sem_init(&go, 0, 0);
    sem_init(&done, 0, 0);
    pthread_create(&t, NULL, holder, NULL);
    sem_wait(&go);
    check("busy: trylock -> EBUSY", pthread_mutex_trylock(&held), EBUSY);
    ts = in_ms(CLOCK_REALTIME, 50);
    check("busy: timedlock -> ETIMEDOUT", pthread_mutex_timedlock(&held, &ts), ETIMEDOUT);
    ts = in_ms(CLOCK_MONOTONIC, 50);
    check("busy: clocklock -> ETIMEDOUT", pthread_mutex_clocklock(&held, CLOCK_MONOTONIC, &ts), ETIMEDOUT);
    check("rwlock: trywrlock while read-held -> EBUSY", pthread_rwlock_trywrlock(&rw), EBUSY);
    ts = in_ms(CLOCK_REALTIME, 50);
    check("rwlock: timedwrlock -> ETIMEDOUT", pthread_rwlock_timedwrlock(&rw, &ts), ETIMEDOUT);
    ts = in_ms(CLOCK_MONOTONIC, 50);
    check("rwlock: clockwrlock -> ETIMEDOUT", pthread_rwlock_clockwrlock(&rw, CLOCK_MONOTONIC, &ts), ETIMEDOUT);
    check("rwlock: rdlock shared", pthread_rwlock_rdlock(&rw), 0);
    check("rwlock: unlock", pthread_rwlock_unlock(&rw), 0);
    sem_post(&done);
    pthread_join(t, NULL);
    check("rwlock: wrlock", pthread_rwlock_wrlock(&rw), 0);
    check("rwlock: wrlock again -> EDEADLK", pthread_rwlock_wrlock(&rw), EDEADLK);
    check("rwlock: tryrdlock while write-held -> EBUSY", pthread_rwlock_tryrdlock(&rw), EBUSY);
    check("rwlock: unlock", pthread_rwlock_unlock(&rw), 0);

    /* robust mutex whose owner died */
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&robust, &a);
    pthread_create(&t, NULL, die_holding, &robust);
    pthread_join(t, NULL);
    check("robust: lock after owner died -> EOWNERDEAD", pthread_mutex_lock(&robust), EOWNERDEAD);
    check("robust: consistent", pthread_mutex_consistent(&robust), 0);
    check("robust: unlock", pthread_mutex_unlock(&robust), 0);
    check("robust: lock again", pthread_mutex_lock(&robust), 0);
    pthread_mutex_unlock(&robust);
    /* ... and one left inconsistent: not recoverable from then on, for every caller */
    pthread_mutex_init(&lost, &a);
    pthread_create(&t, NULL, die_holding, &lost);
    pthread_join(t, NULL);
    check("robust: lock after owner died -> EOWNERDEAD", pthread_mutex_lock(&lost), EOWNERDEAD);
    check("robust: unlock without consistent", pthread_mutex_unlock(&lost), 0);
    check("robust: lock -> ENOTRECOVERABLE", pthread_mutex_lock(&lost), ENOTRECOVERABLE);
    int trc = -1;
    pthread_create(&t, NULL, timedlock_lost, &trc);
    pthread_join(t, NULL);
    check("robust: timedlock elsewhere -> ENOTRECOVERABLE", trc, ENOTRECOVERABLE);
    check("robust: lock again -> ENOTRECOVERABLE", pthread_mutex_lock(&lost), ENOTRECOVERABLE);

    /* priority inheritance */
    pthread_mutex_t pi;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT);
    int pi_ok = pthread_mutex_init(&pi, &a);
    check("pi: init", pi_ok, 0);
    if (!pi_ok) {
        check("pi: lock", pthread_mutex_lock(&pi), 0);
        check("pi: trylock -> EDEADLK or EBUSY", pthread_mutex_trylock(&pi) != 0, 1);
        check("pi: unlock", pthread_mutex_unlock(&pi), 0);
    }

    /* condition variables */
    pthread_cond_t c = PTHREAD_COND_INITIALIZER;
    pthread_mutex_lock(&m);
    ts = in_ms(CLOCK_REALTIME, 30);
    check("cond: timedwait -> ETIMEDOUT", pthread_cond_timedwait(&c, &m, &ts), ETIMEDOUT);
    ts = in_ms(CLOCK_MONOTONIC, 30);
    check("cond: clockwait -> ETIMEDOUT", pthread_cond_clockwait(&c, &m, CLOCK_MONOTONIC, &ts), ETIMEDOUT);
    check("cond: mutex held after timeout (trylock EBUSY)", pthread_mutex_trylock(&m), EBUSY);
    pthread_mutex_unlock(&m);

    /* semaphores: errno values */
    sem_t s;
    sem_init(&s, 0, 0);
    errno = 0;
    check("sem: trywait -> -1", sem_trywait(&s), -1);
    check("sem: trywait errno EAGAIN", errno, EAGAIN);
    ts = in_ms(CLOCK_REALTIME, 30);
    errno = 0;
    check("sem: timedwait -> -1", sem_timedwait(&s, &ts), -1);
    check("sem: timedwait errno ETIMEDOUT", errno, ETIMEDOUT);
    ts = in_ms(CLOCK_MONOTONIC, 30);
    errno = 0;
    check("sem: clockwait -> -1", sem_clockwait(&s, CLOCK_MONOTONIC, &ts), -1);
    check("sem: clockwait errno ETIMEDOUT", errno, ETIMEDOUT);
    sem_post(&s);
    errno = 4321;
    check("sem: wait on posted", sem_wait(&s), 0);
    check("sem: errno after successful wait", errno, 4321);
    ts.tv_nsec = -1;
    errno = 0;
    check("sem: timedwait bad timeout -> -1", sem_timedwait(&s, &ts), -1);
    check("sem: errno EINVAL", errno, EINVAL);

    /* a signal during a wait: sem_wait returns EINTR (always, even with SA_RESTART); the handler runs */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    sem_init(&never, 0, 0);
    pthread_t self = pthread_self(), p;
    pthread_create(&p, NULL, poke, &self);
    errno = 0;
    check("signal: sem_wait -> -1", sem_wait(&never), -1);
    check("signal: sem_wait errno EINTR", errno, EINTR);
    check("signal: handler ran", got_signal, 1);
    pthread_join(p, NULL);

    /* a signal during pthread_mutex_lock: the handler runs, the lock is still acquired */
    sem_init(&go, 0, 0);
    sem_init(&done, 0, 0);
    pthread_create(&t, NULL, holder, NULL);
    sem_wait(&go);
    pthread_create(&p, NULL, poke, &self);
    pthread_t releaser;
    struct timespec d = {0, 300000000};
    pthread_create(&releaser, NULL, (void *(*)(void *))(void *)sem_post, &done); /* releases after the poke */
    nanosleep(&d, NULL);
    check("signal: mutex lock after handler", pthread_mutex_lock(&held), 0);
    check("signal: handler ran again", got_signal, 2);
    pthread_mutex_unlock(&held);
    pthread_join(p, NULL);
    pthread_join(t, NULL);
    pthread_join(releaser, NULL);

    default_fields("default mutex, threads", &m);
    pthread_t st[STRESS_THREADS], pp[2];
    pthread_barrier_init(&stress_start, NULL, STRESS_THREADS);
    for (long i = 0; i < STRESS_THREADS; i++)
        pthread_create(&st[i], NULL, stress, (void *)i);
    for (long i = 0; i < 2; i++)
        pthread_create(&pp[i], NULL, pingpong, (void *)i);
    for (int i = 0; i < STRESS_THREADS; i++)
        pthread_join(st[i], NULL);
    for (int i = 0; i < 2; i++)
        pthread_join(pp[i], NULL);
    check("shared mutex: timedlock errors", stress_errors, 0);
    check("shared mutex: increments", shared_count, (long)STRESS_THREADS * STRESS_ITERS);
    check("shared mutex: left unlocked, no owner, no users",
          shared.__data.__lock | shared.__data.__owner | (int)shared.__data.__nusers, 0);
    check("condition ping-pong: turns", turns, 2 * PINGPONG_ROUNDS);
    check("condition ping-pong: mutex left unlocked", pm.__data.__lock | pm.__data.__owner | (int)pm.__data.__nusers, 0);
    printf("%s\n", bad ? "FAILED" : "ALL OK");
    return bad;
}
