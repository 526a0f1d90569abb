/* symtab.h — finding a few named functions and variables of one module at start-up (CPython's entry points that
 * py/ patches or watches). Exported names come from the loader (dlsym: the module's .gnu.hash table; dladdr1 gives
 * their size); the others, local symbols such as CPython 3.13's _PyMutex_LockTimed, from one pass over the
 * module file's .symtab (or, for a stripped file, its build-id debug file's) that stops when every name was
 * found: nothing is copied, sorted or kept. Not for dumps: names of frames and locks are the CLI's business. */
#ifndef LP_SYMTAB_H
#define LP_SYMTAB_H

#include <stddef.h>
#include <stdint.h>

#include "modules.h"

struct lp_symq {
    const char *name; /* asked for */
    uintptr_t addr;   /* found: its runtime address, inside the module */
    uint64_t size;
    int found;
};

/* The loaded module holding addr, from the dynamic linker (no /proc/self/maps): its path (canonical, as
 * /proc/self/maps would say it; into path, cap bytes), range, bias and build-id. Returns 0, or -1. */
int lp_symtab_module_of(const void *addr, struct lp_mod *m, char *path, size_t cap);

/* Looks up each name of q in module m. Returns how many were found. */
size_t lp_symtab_find(const struct lp_mod *m, struct lp_symq *q, size_t n);

#endif
