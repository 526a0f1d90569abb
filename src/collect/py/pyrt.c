/* pyrt.c — the CPython layer's state, at the bottom of the layer: lp_pyrt (the layout in use and the interpreter's
 * addresses, written once by detect.c at start-up) and lp_pytls (each thread's slow-path and GIL bookkeeping,
 * written by hooks.c and classify.c). See pyrt.h and pytls.h. */
#include "py.h"
#include "pyrt.h"

struct lp_pyrt lp_pyrt;
LP_TLS struct lp_pytls lp_pytls;

int lp_py_active(void) { return lp_pyrt.active; }
