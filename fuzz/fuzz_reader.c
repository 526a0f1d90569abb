/* fuzz_reader.c — libFuzzer target for the profile reader (src/format/reader.c): any input must be either parsed
 * into a consistent profile or rejected with a message, never crash, hang or leak. Built with -Dfuzz=true (clang);
 * scripts/fuzz.sh runs it on the seed corpus in fuzz/corpus/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct lp_profile p;
    char err[256];
    if (lp_profile_parse((const char *)data, size, &p, err, sizeof err) == 0) {
        /* A parsed profile is internally consistent: every reference resolves. */
        for (size_t i = 0; i < p.n_stacks; i++)
            for (uint32_t j = 0; j < p.stacks[i].n; j++)
                if (p.stacks[i].frames[j] >= p.n_frames)
                    abort();
        for (size_t i = 0; i < p.n_aggs; i++)
            if (p.aggs[i].lock >= p.n_locks || p.aggs[i].stack >= (int32_t)p.n_stacks ||
                p.aggs[i].holder_stack >= (int32_t)p.n_stacks || p.aggs[i].max_ns > p.aggs[i].wait_ns)
                abort();
        lp_profile_free(&p);
    } else if (!err[0] || strchr(err, '\n')) {
        abort(); /* every rejection has a one-line message */
    }
    return 0;
}
