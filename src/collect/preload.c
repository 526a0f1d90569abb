/* preload.c — the top of the collector: the interposed symbols, the constructor/destructor, fork handling and the
 * dump signal. Each exported function only forwards (to hooks_pthread.c, or to the layer that owns the matter); the
 * exported set is exactly hooks.def's LP_HOOK lines (tests/unit/check_exports.py checks it). Owns the dump signal's
 * virtualised disposition and this image's pid. */
#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "config.h"
#include "dump.h"
#include "glibc_mutex.h"
#include "hooks_pthread.h"
#include "lp.h"
#include "modules.h"
#include "py/py.h"
#include "real.h"
#include "record.h"
#include "signals.h"
#include "stack.h"
#include "thread.h"
#include "waiters.h"

#define EXPORT LP_EXPORT

/* ---- pthread mutex ------------------------------------------------------------------------------------ */
EXPORT int pthread_mutex_lock(pthread_mutex_t *m) { return lp_mutex_lock(m); }
EXPORT int pthread_mutex_trylock(pthread_mutex_t *m) { return lp_mutex_trylock(m); }
EXPORT int pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *t)
{
    return lp_mutex_timedlock(m, 0, CLOCK_REALTIME, t);
}
EXPORT int pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t c, const struct timespec *t)
{
    return lp_mutex_timedlock(m, 1, c, t);
}
EXPORT int pthread_mutex_unlock(pthread_mutex_t *m) { return lp_mutex_unlock(m); }

/* ---- pthread rwlock ----------------------------------------------------------------------------------- */
EXPORT int pthread_rwlock_rdlock(pthread_rwlock_t *l) { return lp_rwlock_lock(l, 0, 0, 0, 0, NULL); }
EXPORT int pthread_rwlock_wrlock(pthread_rwlock_t *l) { return lp_rwlock_lock(l, 1, 0, 0, 0, NULL); }
EXPORT int pthread_rwlock_timedrdlock(pthread_rwlock_t *l, const struct timespec *t)
{
    return lp_rwlock_lock(l, 0, 1, 0, CLOCK_REALTIME, t);
}
EXPORT int pthread_rwlock_timedwrlock(pthread_rwlock_t *l, const struct timespec *t)
{
    return lp_rwlock_lock(l, 1, 1, 0, CLOCK_REALTIME, t);
}
EXPORT int pthread_rwlock_clockrdlock(pthread_rwlock_t *l, clockid_t c, const struct timespec *t)
{
    return lp_rwlock_lock(l, 0, 1, 1, c, t);
}
EXPORT int pthread_rwlock_clockwrlock(pthread_rwlock_t *l, clockid_t c, const struct timespec *t)
{
    return lp_rwlock_lock(l, 1, 1, 1, c, t);
}
EXPORT int pthread_rwlock_unlock(pthread_rwlock_t *l) { return lp_rwlock_unlock(l); }

/* ---- thread joins ------------------------------------------------------------------------------------- */
EXPORT int pthread_join(pthread_t t, void **ret) { return lp_join(t, ret, 0, 0, 0, NULL); }
EXPORT int pthread_timedjoin_np(pthread_t t, void **ret, const struct timespec *abstime)
{
    return lp_join(t, ret, 1, 0, CLOCK_REALTIME, abstime);
}
EXPORT int pthread_clockjoin_np(pthread_t t, void **ret, clockid_t c, const struct timespec *abstime)
{
    return lp_join(t, ret, 1, 1, c, abstime);
}

/* ---- condition variables ------------------------------------------------------------------------------
 * Our definitions are unversioned on purpose: an unversioned definition in a library without version nodes
 * satisfies both pthread_cond_*@GLIBC_2.3.2 and @GLIBC_2.2.5 references (so: no linker version script). */
EXPORT int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
    return lp_cond_wait(c, m, 0, 0, NULL, 0);
}
EXPORT int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *t)
{
    return lp_cond_wait(c, m, 1, CLOCK_REALTIME, t, 0);
}
EXPORT int pthread_cond_clockwait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t clk, const struct timespec *t)
{
    return lp_cond_wait(c, m, 1, clk, t, 1);
}
EXPORT int pthread_cond_signal(pthread_cond_t *c) { return lp_cond_signal(c, 0); }
EXPORT int pthread_cond_broadcast(pthread_cond_t *c) { return lp_cond_signal(c, 1); }

/* ---- semaphores --------------------------------------------------------------------------------------- */
EXPORT int sem_wait(sem_t *s) { return lp_sem_wait(s, 0, 0, NULL, 0); }
EXPORT int sem_timedwait(sem_t *s, const struct timespec *t)
{
    return lp_sem_wait(s, 1, CLOCK_REALTIME, t, 0);
}
EXPORT int sem_clockwait(sem_t *s, clockid_t c, const struct timespec *t)
{
    return lp_sem_wait(s, 1, c, t, 1);
}
EXPORT int sem_post(sem_t *s) { return lp_sem_post(s); }
EXPORT int sem_trywait(sem_t *s) { return lp_sem_trywait(s); }
EXPORT int sem_init(sem_t *s, int pshared, unsigned value)
{
    int rc = lp_real_sem_init(s, pshared, value);
    if (rc == 0 && value == 1 && atomic_load_explicit(&lp_state, memory_order_relaxed) == LP_STATE_ON &&
        lp_guard_enter()) {
        int e = errno;
        lp_py_on_sem_init(s, value); /* remembers where Python created a PyThread lock */
        errno = e;
        lp_guard_leave();
    }
    return rc;
}
EXPORT int sem_destroy(sem_t *s)
{
    if (atomic_load_explicit(&lp_state, memory_order_relaxed) == LP_STATE_ON && lp_guard_enter()) {
        lp_py_on_sem_destroy(s);
        lp_guard_leave();
    }
    return lp_real_sem_destroy(s);
}

/* ---- scheduling --------------------------------------------------------------------------------------- */
__attribute__((noinline)) static int sched_yield_in_pyhook(void)
{
    lp_py_before_block(); /* the first yield of a CPython hook's wait: capture it now */
    int rc = lp_real_sched_yield();
    lp_py_after_block(); /* touches neither errno nor rc */
    return rc;
}
EXPORT int sched_yield(void)
{
    /* Only the spin of a CPython hook's wait matters (py/pytls.h): its first yield captures the wait, and each
     * yield ends it for now — unless the thread spins on a mutex its own critical section holds: only the park
     * ends that wait, and the park captures it (3.13 makes 40 such yields on every dict.get of a dict the thread
     * is inside). Anything else is a tail call. */
    if (LP_UNLIKELY(lp_py_yield_matters()))
        return sched_yield_in_pyhook();
    return lp_real_sched_yield();
}

/* ---- descriptors ------------------------------------------------------------------------------------------ */
EXPORT int pipe2(int fds[2], int flags)
{
    int rc = lp_real_pipe2(fds, flags);
    if (rc == 0) {
        int e = errno;
        lp_stack_after_pipe2(fds, flags);
        errno = e;
    }
    return rc;
}

/* ---- process lifetime --------------------------------------------------------------------------------- */
static pid_t my_pid; /* of this image; a vfork child shares our memory but not our pid */

static int is_own_process(void) { return (pid_t)syscall(SYS_getpid) == my_pid; }

EXPORT void _exit(int status)
{
    if (atomic_load(&lp_state) == LP_STATE_ON && is_own_process())
        lp_dump_final("_exit");
    lp_real__exit(status);
    __builtin_unreachable();
}

EXPORT void _Exit(int status)
{
    if (atomic_load(&lp_state) == LP_STATE_ON && is_own_process())
        lp_dump_final("_exit");
    lp_real__Exit(status);
    __builtin_unreachable();
}

/* Before the image is replaced: keep what was recorded (if anything). The new image, same pid, starts its own
 * profile and finds this file already there (it then writes <path>.1, see dump.c). */
static void before_exec(void)
{
    if (atomic_load(&lp_state) != LP_STATE_ON || !is_own_process())
        return;
    if (lp_record_any())
        lp_dump("exec");
}

EXPORT int execve(const char *p, char *const a[], char *const e[])
{
    before_exec();
    return lp_real_execve(p, a, e);
}
EXPORT int execv(const char *p, char *const a[])
{
    before_exec();
    return lp_real_execv(p, a);
}
EXPORT int execvp(const char *p, char *const a[])
{
    before_exec();
    return lp_real_execvp(p, a);
}
EXPORT int execvpe(const char *p, char *const a[], char *const e[])
{
    before_exec();
    return lp_real_execvpe(p, a, e);
}
EXPORT int fexecve(int fd, char *const a[], char *const e[])
{
    before_exec();
    return lp_real_fexecve(fd, a, e);
}

/* execl, execle, execlp: the arguments up to the NULL that ends them (and, for execle, the environment after it)
 * into a vector on the stack, as glibc does (posix/execl.c: the count first, then a VLA). */
static int count_args(const char *first, va_list ap)
{
    int n = 1;
    for (const char *a = first; a; a = va_arg(ap, const char *))
        n++;
    return n;
}

enum { EXEC_PATH, EXEC_ENV, EXEC_SEARCH };

static int exec_list(int how, const char *file, const char *arg, va_list count, va_list args)
{
    int n = count_args(arg, count);
    char *argv[n];
    argv[0] = (char *)arg;
    for (int i = 1; i < n; i++) /* the last one read is the terminating NULL */
        argv[i] = va_arg(args, char *);
    char *const *envp = how == EXEC_ENV ? va_arg(args, char *const *) : NULL; /* execle: after the NULL */
    before_exec();
    if (how == EXEC_SEARCH)
        return lp_real_execvp(file, argv);
    return lp_real_execve(file, argv, how == EXEC_ENV ? envp : environ);
}

#define EXEC_LIST(how, file, arg)                                                                                  \
    va_list count, args;                                                                                           \
    va_start(count, arg);                                                                                          \
    va_start(args, arg);                                                                                           \
    int rc = exec_list(how, file, arg, count, args);                                                               \
    va_end(args);                                                                                                  \
    va_end(count);                                                                                                 \
    return rc

EXPORT int execl(const char *path, const char *arg, ...) { EXEC_LIST(EXEC_PATH, path, arg); }
EXPORT int execle(const char *path, const char *arg, ...) { EXEC_LIST(EXEC_ENV, path, arg); }
EXPORT int execlp(const char *file, const char *arg, ...) { EXEC_LIST(EXEC_SEARCH, file, arg); }

/* ---- libraries ------------------------------------------------------------------------------------------ */
/* A library unloaded before the profile is written keeps its frames' and locks' names: the modules this call
 * unloads (it may unload dependencies too, or nothing: another handle keeps it) are noted before they go
 * (modules.c). lockprof's own dlclose (the disassembler's, at start-up) calls the real one. The library's
 * destructors run unguarded, as the program's code. */
EXPORT int dlclose(void *handle)
{
    struct lp_unload u;
    int follow = atomic_load_explicit(&lp_state, memory_order_relaxed) == LP_STATE_ON && lp_guard_enter();
    if (follow) {
        int e = errno;
        lp_modules_unload_begin(&u);
        errno = e;
        lp_guard_leave();
    }
    int rc = lp_real_dlclose(handle);
    if (follow) {
        int e = errno, guarded = lp_guard_enter(); /* (free again: it was before the call) */
        lp_modules_unload_end(&u);
        if (guarded)
            lp_guard_leave();
        errno = e;
    }
    return rc;
}

/* ---- start-up ----------------------------------------------------------------------------------------- */
static void after_fork_child(void)
{
    my_pid = (pid_t)syscall(SYS_getpid);
    lp_stack_after_fork_child(); /* needs the parent's thread states, which the next line forgets */
    lp_thread_after_fork_child();
    lp_stack_init(); /* the child's descriptor table may have shrunk back: grow it while single-threaded */
    lp_waiters_reset();
    lp_hold.n = 0; /* the forking thread's sampled holds are the parent's */
    lp_dump_after_fork_child();
    lp_sig_after_fork_child();
    lp_dump_start_interval_thread(); /* threads do not survive fork */
}

EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    return lp_sig_sigaction(sig, act, old);
}

EXPORT sighandler_t signal(int sig, sighandler_t handler) { return lp_sig_signal(sig, handler); }

/* This library's own ELF file as mapped, from its start (the linker defines the symbol at the ELF header; declared
 * without a size, since the program headers that follow are read through it too). */
extern const char __ehdr_start[] LP_HIDDEN;

static void hide_self(void)
{
    /* Our own frames never appear in stacks: our executable segments, from our own headers in memory. */
    Elf64_Ehdr eh;
    memcpy(&eh, __ehdr_start, sizeof eh);
    uintptr_t base = (uintptr_t)__ehdr_start, lo = UINTPTR_MAX, hi = 0;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        memcpy(&ph, __ehdr_start + eh.e_phoff + i * sizeof ph, sizeof ph);
        if (ph.p_type == PT_LOAD && ph.p_offset == 0)
            base = (uintptr_t)__ehdr_start - ph.p_vaddr; /* the segment that maps the header */
        if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X)) {
            lo = ph.p_vaddr < lo ? ph.p_vaddr : lo;
            hi = ph.p_vaddr + ph.p_memsz > hi ? ph.p_vaddr + ph.p_memsz : hi;
        }
    }
    if (lo < hi)
        lp_stack_hide_range(base + lo, base + hi);
}

__attribute__((constructor)) static void lp_init(void)
{
    lp_real_resolve();
    my_pid = (pid_t)syscall(SYS_getpid);
    if (lp_config_disabled()) {
        atomic_store(&lp_state, LP_STATE_OFF);
        return;
    }
    if (atomic_load(&lp_state) == LP_STATE_OFF)
        return; /* resolution failed */
    lp_warn_init();
    lp_config_load();
    lp_start_ns = lp_now();
    lp_tls.depth = 1; /* nothing below may record events */
    lp_thread_init();
    lp_record_init();
    lp_stack_init();
    lp_dump_init();
    hide_self();
    lp_glibc_mutex_init(lp_cfg.mutex_fast_path);
    pthread_atfork(lp_stack_before_fork, lp_stack_after_fork_parent, after_fork_child);
    lp_sig_init();
    if (lp_cfg.python)
        lp_py_init();
    lp_dump_start_interval_thread();
    lp_tls.depth = 0;
    int expect = LP_STATE_BOOT;
    atomic_compare_exchange_strong(&lp_state, &expect, LP_STATE_ON);
}

__attribute__((destructor)) static void lp_fini(void)
{
    if (atomic_load(&lp_state) == LP_STATE_ON && is_own_process())
        lp_dump_final("exit");
}
