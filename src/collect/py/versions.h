/* versions.h — picks the layout for the running interpreter (see versions.c). */
#ifndef LP_PY_VERSIONS_H
#define LP_PY_VERSIONS_H

#include "layout.h"

/* `runtime` is &_PyRuntime (for _Py_DebugOffsets). Returns 0, or -1 for a version lockprof does not know. */
int lp_py_layout_for(uint32_t version_hex, const void *runtime, struct lp_pylayout *out);

#endif
