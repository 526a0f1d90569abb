/* passthrough_shim.c — the floor of benchmark 1: the smallest possible LD_PRELOAD interposer of
 * pthread_mutex_lock/unlock, which only forwards to libc (resolved once, in a constructor). Whatever an
 * interposing profiler costs on an uncontended lock, it cannot cost less than this: the call through the PLT into
 * the preloaded library, and from there into libc. bench/run.py reports it as "uncontended, pass-through shim". */
#include <dlfcn.h>
#include <pthread.h>

static int (*real_lock)(pthread_mutex_t *);
static int (*real_unlock)(pthread_mutex_t *);

__attribute__((constructor)) static void resolve(void)
{
    real_lock = (int (*)(pthread_mutex_t *))dlsym(RTLD_NEXT, "pthread_mutex_lock");
    real_unlock = (int (*)(pthread_mutex_t *))dlsym(RTLD_NEXT, "pthread_mutex_unlock");
}

int pthread_mutex_lock(pthread_mutex_t *m) { return real_lock(m); }
int pthread_mutex_unlock(pthread_mutex_t *m) { return real_unlock(m); }
