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

#pragma GCC visibility push(hidden)
/* Until resolution ran, each pointer holds a boot stub that resolves everything and then calls the real function,
 * so hooks call through the pointer unconditionally (no "ready" test on the hot path). */
#define LP_HOOK(ret, name, params, args, version) extern ret(*lp_real_##name) params;
#define LP_REAL LP_HOOK
#include "hooks.def"
#undef LP_HOOK
#undef LP_REAL

/* Resolves every pointer. Returns 0, or -1 when a required function is missing (lockprof then disables itself
 * and a call to the missing function fails with ENOSYS). Safe to call repeatedly and concurrently. */
int lp_real_resolve(void);
#pragma GCC visibility pop

#endif
