/* Unit tests of the CLI's aggregation: two profiles from different processes merge by content (the same named
 * lock and the same frames become one entity, anonymous locks stay per process), sampling scales counts, and
 * grouping sums and sorts deterministically. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "group.h"
#include "model.h"
#include "writer.h"

static void write_profile(const char *path, int pid, unsigned sample, uint64_t wait)
{
    FILE *f = fopen(path, "w");
    char buf[256];
    struct lpw w;
    lpw_init(&w, fileno(f), buf, sizeof buf);
    lpw_header(&w);
    lpw_meta_u64(&w, "pid", (uint64_t)pid);
    lpw_meta_u64(&w, "sample_every", sample);
    lpw_string(&w, 0, "worker", 6);
    lpw_string(&w, 1, "app.py", 6);
    lpw_string(&w, 2, "hot_lock", 8);
    lpw_string(&w, 3, "pthread_mutex@0x10", 18);
    lpw_frame(&w, 0, 'p', 0, 1, 10, -1, 0);
    uint64_t fr[] = {0};
    lpw_stack(&w, 0, fr, 1);
    lpw_lock(&w, 0, LP_KIND_PTHREAD_MUTEX, 0x1000 + (uint64_t)pid, 2, -1);
    lpw_lock(&w, 1, LP_KIND_PTHREAD_MUTEX, 0x10, 3, -1);
    uint32_t hist[LP_HIST_BUCKETS] = {0};
    hist[lp_hist_bucket(wait)] = 1;
    lpw_agg(&w, 0, 0, -1, 5, 0, 0, 1, wait, wait, hist, -1);
    lpw_agg(&w, 1, 0, -1, 5, 0, 0, 1, 7, 7, NULL, -1);
    CHECK(lpw_finish(&w) == 0);
    fclose(f);
}

int main(void)
{
    char a[] = "/tmp/lp-model-a-XXXXXX", b[] = "/tmp/lp-model-b-XXXXXX";
    close(mkstemp(a));
    close(mkstemp(b));
    write_profile(a, 100, 1, 1000);
    write_profile(b, 200, 4, 3000);
    char *paths[] = {a, b};
    struct model m;
    CHECK(model_load(&m, paths, 2) == 0);
    CHECK(m.n_procs == 2 && m.n_frames == 1 && m.n_stacks == 1);
    CHECK(m.n_locks == 3); /* hot_lock merged; the anonymous lock stays one per process */
    size_t n;
    struct grp *g = group_rows(&m, BY_LOCK, ROWS_CONTENTION, &n);
    CHECK(n == 3);
    CHECK(!strcmp(g[0].label, "hot_lock"));
    CHECK(g[0].count == 1 + 4);                /* second profile sampled 1 in 4: scaled */
    CHECK(g[0].wait_ns == 1000 + 4 * 3000);
    CHECK(g[0].max_ns == 3000);
    CHECK(g[0].n_stacks == 1 && g[0].stacks[0].count == 5);
    CHECK(g[1].wait_ns == 28 && g[2].wait_ns == 7); /* sorted by wait */
    groups_free(g, n);
    g = group_rows(&m, BY_STACK, ROWS_CONTENTION, &n);
    CHECK(n == 1 && g[0].count == 1 + 4 + 1 + 4 && !strcmp(g[0].label, "worker (app.py:10)"));
    groups_free(g, n);
    g = group_rows(&m, BY_THREAD, ROWS_ALL, &n);
    CHECK(n == 2); /* tid 5 in two processes */
    groups_free(g, n);
    uint64_t hist[LP_HIST_BUCKETS] = {0};
    hist[10] = 100;
    uint64_t p50 = model_hist_quantile(hist, 0.5);
    CHECK(p50 >= 1024 && p50 < 2048);
    CHECK(model_hist_quantile_max(hist, 0.99, 1500) == 1500);
    model_free(&m);
    unlink(a);
    unlink(b);
    return CHECK_DONE();
}
