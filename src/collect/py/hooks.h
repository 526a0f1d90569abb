/* hooks.h — entry patching of CPython's lock slow paths (see hooks.c). */
#ifndef LP_PY_HOOKS_H
#define LP_PY_HOOKS_H

#include "../symtab.h"

/* Patches every slow-path function found in module m. Start-up only. */
void lp_py_patch_all(const struct lp_mod *m);

#endif
