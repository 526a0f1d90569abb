/* slow_unwind.c — test preload library for fork_unwind.c, loaded before liblockprof: the first pthread_mutex_lock
 * that libunwind makes after fork_unwind arms it keeps that lock held until fork_unwind releases it, so that a
 * fork happens while libunwind's lock is held (what a fork from a busy multi-threaded program does by chance). */
#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

int slow_unwind_armed, slow_unwind_holding, slow_unwind_release;

static int from_libunwind(void *ret)
{
    Dl_info i;
    return dladdr(ret, &i) && i.dli_fname && strstr(i.dli_fname, "libunwind");
}

int pthread_mutex_lock(pthread_mutex_t *m)
{
    static int (*next)(pthread_mutex_t *);
    if (!next)
        next = (int (*)(pthread_mutex_t *))dlsym(RTLD_NEXT, "pthread_mutex_lock");
    int rc = next(m);
    if (__atomic_load_n(&slow_unwind_armed, __ATOMIC_ACQUIRE) && from_libunwind(__builtin_return_address(0)) &&
        __atomic_exchange_n(&slow_unwind_armed, 0, __ATOMIC_ACQ_REL)) {
        __atomic_store_n(&slow_unwind_holding, 1, __ATOMIC_RELEASE);
        struct timespec d = {0, 1000000};
        for (int i = 0; i < 10000 && !__atomic_load_n(&slow_unwind_release, __ATOMIC_ACQUIRE); i++)
            nanosleep(&d, NULL);
    }
    return rc;
}
