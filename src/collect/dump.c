/* dump.c — when a profile is written: at exit (lp_dump_final), from _exit, before exec, on the dump signal, on a
 * signal that ends the process (lp_dump_fatal, from signals.c), and from
 * the LOCKPROF_INTERVAL thread (the only thread lockprof creates, and the only source of interval dumps). Owns the
 * exclusivity of dumps (one at a time; a request that finds one running is skipped and counted, except the final
 * one, which waits), the interval thread, and what the profile says about this process image's start. The content
 * is dump_encode.c's, the file dump_file.c's. Async-signal-safe throughout. */
#define _GNU_SOURCE 1
#include "dump.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "dump_encode.h"
#include "dump_file.h"
#include "lp.h"
#include "record.h"
#include "thread.h"

static _Atomic int dumping;
static _Atomic int final_done;
static _Atomic uint64_t last_dump_ns;
static _Atomic uint64_t skipped_dumps;
static _Atomic int fatal_signal; /* the signal that ends the process, for its last profile */
static _Atomic int deferred_signal; /* ... when it arrived during this process's own dump: raised at its end */
static uint64_t start_realtime_ns;
static char exe_path[1024];

static uint64_t realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void lp_dump_init(void)
{
    start_realtime_ns = realtime_ns();
    atomic_store(&last_dump_ns, lp_now());
    ssize_t n = readlink("/proc/self/exe", exe_path, sizeof exe_path - 1);
    exe_path[n > 0 ? n : 0] = 0;
}

void lp_dump_after_fork_child(void)
{
    atomic_store(&dumping, 0);
    atomic_store(&final_done, 0);
    lp_dump_file_after_fork_child();
    start_realtime_ns = realtime_ns();
    lp_start_ns = lp_now();
}

static void fill(struct lpw *w, void *reason)
{
    struct lp_encode_info info = {.start_realtime_ns = start_realtime_ns, .exe = exe_path,
                                  .skipped_dumps = atomic_load(&skipped_dumps),
                                  .fatal_signal = atomic_load(&fatal_signal)};
    lp_encode_profile(w, reason, &info);
}

static int do_dump(const char *reason, const char *path, char *written, size_t cap)
{
    return lp_dump_file_write(path, written, cap, fill, (void *)reason);
}

static _Atomic uint64_t dumper_tid;

/* Runs one dump. When `wait_ms` is set (a final dump) and another thread is dumping, waits for it (that long at
 * most) instead of skipping; a nested request on the dumping thread itself (a signal during our own dump) never
 * waits. */
static int dump_now(const char *reason, unsigned wait_ms, const char *path, char *written, size_t cap)
{
    uint64_t me = lp_gettid();
    for (unsigned spins = 0; atomic_exchange(&dumping, 1); spins++) {
        if (!wait_ms || atomic_load(&dumper_tid) == me || spins > wait_ms) {
            atomic_fetch_add(&skipped_dumps, 1);
            return EBUSY;
        }
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    atomic_store(&dumper_tid, me);
    int saved_errno = errno;
    int saved_depth = lp_tls.depth;
    lp_tls.depth = 1;
    /* This thread's own last wait, if it is still in its deferred slot (record.h), goes into the tables first, so
     * that it is in the timeline too. Only when the dump did not interrupt the thread inside lockprof: every write
     * to a thread's tables happens inside the re-entrancy guard. */
    if (!saved_depth && lp_tls.self && lp_tls.gen == atomic_load(&lp_fork_gen))
        lp_deferred_flush(lp_tls.self);
    int rc = do_dump(reason, path, written, cap);
    atomic_store(&last_dump_ns, lp_now());
    lp_tls.depth = saved_depth;
    errno = saved_errno;
    atomic_store(&dumper_tid, 0);
    atomic_store(&dumping, 0);
    int sig = atomic_exchange(&deferred_signal, 0);
    if (sig) /* a signal ended the process during this dump (lp_dump_fatal): now it does */
        syscall(SYS_tgkill, (pid_t)syscall(SYS_getpid), (pid_t)syscall(SYS_gettid), sig);
    return rc;
}

void lp_dump(const char *reason)
{
    if (!atomic_load(&final_done))
        dump_now(reason, 0, NULL, NULL, 0);
}

void lp_dump_final(const char *reason)
{
    if (atomic_load(&final_done))
        return;
    dump_now(reason, 10000, NULL, NULL, 0);
    atomic_store(&final_done, 1);
}

int lp_dump_request(const char *path, char *written, size_t cap)
{
    return dump_now("request", 10000, path, written, cap);
}

int lp_dump_fatal(int sig)
{
    if (atomic_load(&dumping) && atomic_load(&dumper_tid) == lp_gettid()) {
        /* the signal interrupted this thread's own dump (an exit's, say): let it finish, then die of the signal */
        atomic_store(&deferred_signal, sig);
        return 1;
    }
    if (atomic_exchange(&final_done, 1))
        return 0;
    atomic_store(&fatal_signal, sig);
    dump_now("fatal_signal", 2000, NULL, NULL, 0); /* the process dies next: not kept alive long for a dump */
    return 0;
}

/* LOCKPROF_INTERVAL: a detached thread that writes the profile every interval, so an idle service still gets its
 * file. It blocks every signal (none of the program's signals is ever delivered to it) and never records. This is
 * the only thread lockprof creates, and only when the variable is set. */
static void *interval_thread(void *arg)
{
    (void)arg;
    lp_tls.depth = 1;
    prctl(PR_SET_NAME, "lockprof-dump", 0, 0, 0);
    for (;;) {
        struct timespec ts = {(time_t)(lp_cfg.interval_ns / 1000000000u), (long)(lp_cfg.interval_ns % 1000000000u)};
        while (nanosleep(&ts, &ts) && errno == EINTR)
            ;
        if (atomic_load(&final_done))
            return NULL;
        uint64_t last = atomic_load(&last_dump_ns), now = lp_now();
        if (now - last >= lp_cfg.interval_ns / 2 && atomic_compare_exchange_strong(&last_dump_ns, &last, now))
            lp_dump("interval");
    }
}

void lp_dump_start_interval_thread(void)
{
    if (!lp_cfg.interval_ns)
        return;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* the new thread inherits the full mask */
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&a, 256 * 1024);
    pthread_t t;
    int rc = pthread_create(&t, &a, interval_thread, NULL);
    pthread_attr_destroy(&a);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc)
        lp_warn("cannot start the LOCKPROF_INTERVAL thread; no periodic profiles");
}
