/* dump_encode.h — what a profile says (see dump_encode.c). */
#ifndef LP_DUMP_ENCODE_H
#define LP_DUMP_ENCODE_H

#include <stdint.h>

#include "writer.h"

/* What the scheduler knows that the profile reports. */
struct lp_encode_info {
    uint64_t start_realtime_ns; /* when this process image's collector started */
    const char *exe;            /* /proc/self/exe at start */
    uint64_t skipped_dumps;     /* requests that found a dump running */
    int fatal_signal;           /* the signal ending the process (reason fatal_signal), else 0 */
};

/* Writes the whole profile of this process to w (lpw_finish is the caller's). */
void lp_encode_profile(struct lpw *w, const char *reason, const struct lp_encode_info *info);

#endif
