/* real.c — resolves the real functions of hooks.def with dlsym/dlvsym(RTLD_NEXT).
 *
 * Recursion: glibc's dlsym does not call the pthread functions through the PLT (since 2.34 libpthread lives
 * inside libc and calls itself directly), so resolution cannot re-enter a hook. Should it ever happen (an older
 * or different libc), the thread-local `resolving` flag makes the nested hook call glibc's __pthread_* aliases,
 * which are bound at link time and need no lookup. */
#include "real.h"

#include <dlfcn.h>

#include "lp.h"

#include <errno.h>

/* Boot stubs: resolve, then forward (or fail with ENOSYS when the function does not exist in this libc). */
#define LP_HOOK(ret, name, params, args, version)                                                          \
    static ret boot_##name params;                                                                          \
    ret(*lp_real_##name) params = boot_##name;                                                              \
    static ret boot_##name params                                                                           \
    {                                                                                                       \
        lp_real_resolve();                                                                                  \
        if (lp_real_##name == boot_##name) {                                                                \
            errno = ENOSYS;                                                                                 \
            return (ret)-1;                                                                                 \
        }                                                                                                   \
        return lp_real_##name args;                                                                         \
    }
#define LP_REAL LP_HOOK
#define LP_HOOK_VOID(ret, name, params, args, version)                                                     \
    static ret boot_##name params;                                                                          \
    ret(*lp_real_##name) params = boot_##name;                                                              \
    static ret boot_##name params                                                                           \
    {                                                                                                       \
        lp_real_resolve();                                                                                  \
        if (lp_real_##name != boot_##name)                                                                  \
            lp_real_##name args;                                                                            \
    }
#include "hooks.def"
#undef LP_HOOK_VOID
#undef LP_HOOK
#undef LP_REAL

static int lp_real_ready;
static LP_TLS int resolving;

/* glibc's __pthread_* aliases, bound at link time to their (compat) version node so no lookup is needed. Used
 * only while resolving. */
#define COMPAT(ret, alias, sym, params)                                                                     \
    extern ret alias params;                                                                                \
    __asm__(".symver " #alias "," #sym "@GLIBC_2.2.5");
COMPAT(int, compat_mutex_lock, __pthread_mutex_lock, (pthread_mutex_t *))
COMPAT(int, compat_mutex_trylock, __pthread_mutex_trylock, (pthread_mutex_t *))
COMPAT(int, compat_mutex_unlock, __pthread_mutex_unlock, (pthread_mutex_t *))
COMPAT(int, compat_rwlock_rdlock, __pthread_rwlock_rdlock, (pthread_rwlock_t *))
COMPAT(int, compat_rwlock_wrlock, __pthread_rwlock_wrlock, (pthread_rwlock_t *))
COMPAT(int, compat_rwlock_unlock, __pthread_rwlock_unlock, (pthread_rwlock_t *))
#undef COMPAT

static void *lookup(const char *name, const char *version)
{
    void *p = NULL;
    if (version)
        p = dlvsym(RTLD_NEXT, name, version);
    if (!p)
        p = dlsym(RTLD_NEXT, name);
    return p;
}

int lp_real_resolve(void)
{
    if (__atomic_load_n(&lp_real_ready, __ATOMIC_ACQUIRE))
        return 0;
    if (resolving) {
        /* Re-entered from inside dlsym: make the mutex functions usable without a lookup. */
        if (lp_real_pthread_mutex_lock == boot_pthread_mutex_lock) lp_real_pthread_mutex_lock = compat_mutex_lock;
        if (lp_real_pthread_mutex_trylock == boot_pthread_mutex_trylock) lp_real_pthread_mutex_trylock = compat_mutex_trylock;
        if (lp_real_pthread_mutex_unlock == boot_pthread_mutex_unlock) lp_real_pthread_mutex_unlock = compat_mutex_unlock;
        if (lp_real_pthread_rwlock_rdlock == boot_pthread_rwlock_rdlock) lp_real_pthread_rwlock_rdlock = compat_rwlock_rdlock;
        if (lp_real_pthread_rwlock_wrlock == boot_pthread_rwlock_wrlock) lp_real_pthread_rwlock_wrlock = compat_rwlock_wrlock;
        if (lp_real_pthread_rwlock_unlock == boot_pthread_rwlock_unlock) lp_real_pthread_rwlock_unlock = compat_rwlock_unlock;
        return 0;
    }
    resolving = 1;
    int missing = 0;
    /* Each pointer is written once with the same value by whichever thread gets here; benign. */
#define LP_HOOK(ret, name, params, args, version)                                                    \
    {                                                                                                 \
        void *p = lookup(#name, version);                                                             \
        if (p)                                                                                        \
            __atomic_store_n((void **)&lp_real_##name, p, __ATOMIC_RELEASE);                          \
        else                                                                                          \
            missing = 1;                                                                              \
    }
#define LP_REAL LP_HOOK
#define LP_HOOK_VOID LP_HOOK
#include "hooks.def"
#undef LP_HOOK
#undef LP_REAL
#undef LP_HOOK_VOID
    resolving = 0;
    __atomic_store_n(&lp_real_ready, 1, __ATOMIC_RELEASE);
    if (missing)
        lp_disable("a libc function lockprof forwards to could not be found; profiling is off");
    return missing ? -1 : 0;
}
