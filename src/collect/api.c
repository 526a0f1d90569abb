/* api.c — the exported C interface (api.h): thin wrappers over labels.c and dump.c. */
#include "api.h"

#include <errno.h>

#include "dump.h"
#include "labels.h"
#include "thread.h"

int lockprof_active(void) { return atomic_load_explicit(&lp_state, memory_order_relaxed) == LP_STATE_ON; }

int lockprof_set_labels(const char *pairs, size_t len) { return lp_labels_set(pairs, len); }

int lockprof_dump(const char *path, char *written, size_t cap)
{
    if (written && cap)
        written[0] = 0;
    if (atomic_load_explicit(&lp_state, memory_order_relaxed) != LP_STATE_ON)
        return ENOTSUP;
    if (lp_tls.depth)
        return EAGAIN;
    int saved = errno;
    int rc = lp_dump_request(path, written, cap);
    errno = saved;
    return rc;
}
