/* versions.h — picks the layout for the running interpreter (see versions.c). */
#ifndef LP_PY_VERSIONS_H
#define LP_PY_VERSIONS_H

#include "layout.h"

/* `runtime` is &_PyRuntime (for _Py_DebugOffsets). Returns 0, or -1 with *why = "unknown" for a version lockprof
 * has no entry for, or naming what this build's _Py_DebugOffsets disagree on. */
int lp_py_layout_for(uint32_t version_hex, const void *runtime, struct lp_pylayout *out, const char **why);

/* Calls fn(name, word) for each _Py_DebugOffsets field the entry of 3.<minor> reads (LOCKPROF_PRINT_LAYOUT). */
void lp_py_dbg_words(unsigned minor, void (*fn)(const char *name, long word));

#endif
