/* real.h — pointers to the real (next in lookup order) implementations of everything in hooks.def, and the
 * code that resolves them. Resolution is lazy and idempotent: a hook reached before the constructor (another
 * library's constructor locking a mutex) resolves everything on the spot. */
#ifndef LP_REAL_H
#define LP_REAL_H

#define _GNU_SOURCE 1
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <time.h>

#define LP_HOOK(ret, name, params, version) extern ret(*lp_real_##name) params;
#define LP_REAL(ret, name, params, version) extern ret(*lp_real_##name) params;
#include "hooks.def"
#undef LP_HOOK
#undef LP_REAL

/* Resolves every pointer. Returns 0, or -1 when a required function is missing (then lockprof disables
 * itself; hooks keep forwarding with whatever was found). Safe to call repeatedly and concurrently. */
int lp_real_resolve(void);

/* Ensures resolution happened; called at the top of every hook (one predictable branch). */
extern int lp_real_ready;
static inline void lp_real_ensure(void)
{
    if (__builtin_expect(!__atomic_load_n(&lp_real_ready, __ATOMIC_ACQUIRE), 0))
        lp_real_resolve();
}

#endif
