/* Unit tests of the profile format: writer → reader round trip (escapes, ids, histograms, references), and the
 * reader's rejection of malformed input. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "reader.h"
#include "writer.h"

/* Writes a small profile into a pipe-less memory file and returns its text. */
static char *write_sample(size_t *len)
{
    char path[] = "/tmp/lp-format-XXXXXX";
    int fd = mkstemp(path);
    char buf[64]; /* tiny buffer: exercises flushing */
    struct lpw w;
    lpw_init(&w, fd, buf, sizeof buf);
    lpw_header(&w);
    lpw_meta(&w, "pid", "42");
    lpw_meta(&w, "cmdline", "prog --arg 'x y'\n\\tab\t");
    lpw_string(&w, 0, "worker", 6);
    lpw_string(&w, 1, "/src/a b.py", 11);
    lpw_string(&w, 2, "hot_lock", 8);
    lpw_string(&w, 3, "dict", 4);
    lpw_string(&w, 4, "", 0);
    lpw_string(&w, 5, "test", 4);
    lpw_frame(&w, 0, 'n', 0, -1, 0, 1, 0x1234);
    lpw_frame(&w, 1, 'p', 0, 1, 17, -1, 0);
    uint64_t fr[] = {1, 0};
    lpw_stack(&w, 0, fr, 2);
    lpw_stack(&w, 1, NULL, 0);
    lpw_lock(&w, 0, LP_KIND_PYMUTEX, 0xdeadbeef, 2, 3);
    lpw_thread(&w, 77, 0);
    uint32_t hist[LP_HIST_BUCKETS] = {0};
    hist[lp_hist_bucket(1000)] = 2;
    hist[lp_hist_bucket(5)] = 1;
    uint64_t keys[] = {2, 5}, values[] = {1, 4}; /* hot_lock="/src/a b.py", test="" */
    lpw_labelset(&w, 0, keys, values, 2);
    lpw_agg(&w, 0, 0, 1, 77, 78, LP_AGG_PARKED, 3, 2005, 1000, hist, -1);
    lpw_agg(&w, 0, 1, -1, 77, 0, 0, 1, 5, 5, NULL, 0);
    lpw_event(&w, 10, 1000, 77, 0, -1);
    lpw_hold(&w, 0, 7, 5, 900, 400);
    CHECK(lpw_finish(&w) == 0);
    *len = (size_t)lseek(fd, 0, SEEK_END);
    char *text = malloc(*len + 1);
    CHECK(pread(fd, text, *len, 0) == (ssize_t)*len);
    close(fd);
    unlink(path);
    return text;
}

static int parses(const char *s, const char *expect_err)
{
    struct lp_profile p;
    char err[256];
    int rc = lp_profile_parse(s, strlen(s), &p, err, sizeof err);
    if (rc == 0) {
        lp_profile_free(&p);
        return expect_err == NULL;
    }
    if (expect_err && !strstr(err, expect_err)) {
        fprintf(stderr, "error '%s' does not mention '%s'\n", err, expect_err);
        return 0;
    }
    return expect_err != NULL;
}

int main(void)
{
    size_t len;
    char *text = write_sample(&len);
    struct lp_profile p;
    char err[256];
    CHECK(lp_profile_parse(text, len, &p, err, sizeof err) == 0);
    CHECK(p.version == LP_FORMAT_VERSION);
    CHECK(!strcmp(lp_profile_meta(&p, "cmdline"), "prog --arg 'x y'\n\\tab\t"));
    CHECK(p.n_strings == 6 && !strcmp(p.strings[1], "/src/a b.py") && !strcmp(p.strings[4], ""));
    CHECK(p.n_frames == 2 && p.frames[0].kind == 'n' && p.frames[0].offset == 0x1234 && !p.frames[0].file);
    CHECK(p.frames[1].kind == 'p' && p.frames[1].line == 17 && !strcmp(p.frames[1].file, "/src/a b.py"));
    CHECK(p.n_stacks == 2 && p.stacks[0].n == 2 && p.stacks[0].frames[0] == 1 && p.stacks[1].n == 0);
    CHECK(p.n_locks == 1 && p.locks[0].kind == LP_KIND_PYMUTEX && p.locks[0].addr == 0xdeadbeef &&
          !strcmp(p.locks[0].type, "dict"));
    CHECK(p.n_threads == 1 && p.threads[0].tid == 77);
    CHECK(p.n_labelsets == 1 && p.labelsets[0].n == 2 && !strcmp(p.labelsets[0].keys[0], "hot_lock") &&
          !strcmp(p.labelsets[0].values[0], "/src/a b.py") && !strcmp(p.labelsets[0].keys[1], "test") &&
          !strcmp(p.labelsets[0].values[1], ""));
    CHECK(p.n_aggs == 2 && p.aggs[0].labels == -1 && p.aggs[1].labels == 0 && p.aggs[1].holder_stack == -1);
    CHECK(p.aggs[0].count == 3 && p.aggs[0].wait_ns == 2005 && p.aggs[0].max_ns == 1000);
    CHECK(p.aggs[0].hist[9] == 2 && p.aggs[0].hist[2] == 1 && p.aggs[0].holder_stack == 1);
    CHECK(p.aggs[0].flags == LP_AGG_PARKED && p.aggs[0].holder_tid == 78);
    CHECK(p.n_events == 1 && p.events[0].stack == -1 && p.events[0].dur_ns == 1000);
    CHECK(p.n_holds == 1 && p.holds[0].lock == 0 && p.holds[0].acquired == 7 && p.holds[0].held == 5 &&
          p.holds[0].hold_ns == 900 && p.holds[0].max_ns == 400);
    lp_profile_free(&p);

    /* every prefix of a valid profile is rejected (truncation is always detected) */
    int accepted = 0;
    for (size_t cut = 0; cut < len; cut++)
        if (lp_profile_parse(text, cut, &p, err, sizeof err) == 0) {
            accepted++;
            lp_profile_free(&p);
        }
    CHECK(accepted == 0);
    free(text);

    /* histogram buckets */
    CHECK(lp_hist_bucket(0) == 0 && lp_hist_bucket(1) == 0 && lp_hist_bucket(2) == 1 && lp_hist_bucket(3) == 1);
    CHECK(lp_hist_bucket(1024) == 10 && lp_hist_bucket(UINT64_MAX) == LP_HIST_BUCKETS - 1);

    /* malformed input */
    CHECK(parses("lockprof-profile 1\nend 0\n", NULL));
    CHECK(parses("", "empty"));
    CHECK(parses("lockprof-profile 1\n", "truncated"));
    CHECK(parses("lockprof-profile 1\nend 0", "truncated"));
    CHECK(parses("lockprof-profile 2\nend 0\n", NULL));
    CHECK(parses("lockprof-profile 3\nend 0\n", "newer"));
    CHECK(parses("LOCKPROF 1\nend 0\n", "bad magic"));
    CHECK(parses("lockprof-profile 1\ns 1 x\nend 1\n", "out of sequence"));
    CHECK(parses("lockprof-profile 1\nk 0 0\nend 1\n", "undefined"));
    CHECK(parses("lockprof-profile 1\ns 0 a\\qb\nend 1\n", "bad escape"));
    CHECK(parses("lockprof-profile 1\ns 0 a\\x00b\nend 1\n", "NUL"));
    CHECK(parses("lockprof-profile 1\ns 0 x\nl 0 futex 10 0 -\nend 2\n", "unknown lock kind"));
    CHECK(parses("lockprof-profile 1\ns 0 x\nl 0 gil 10 0 -\na 0 - - 1 0 0 0 0 0 -\nend 3\n", "zero count"));
    CHECK(parses("lockprof-profile 1\ns 0 x\nl 0 gil 10 0 -\na 0 - - 1 0 0 1 5 9 -\nend 3\n", "max wait"));
    CHECK(parses("lockprof-profile 1\ns 0 x\nl 0 gil 10 0 -\na 0 - - 1 0 0 1 5 5 3:2\nend 3\n", "more waits"));
    CHECK(parses("lockprof-profile 1\ns 0 x\nl 0 gil 10 0 -\na 0 - - 1 0 0 1 5 5 99:1\nend 3\n", "histogram"));
    CHECK(parses("lockprof-profile 1\ns 0 x\nl 0 gil 10 0 -\na 0 - - 1 0 100 1 5 5 -\nend 3\n", "flags"));
    CHECK(parses("lockprof-profile 1\nm pid 1\nend 2\n", "count mismatch"));
    CHECK(parses("lockprof-profile 1\nm pid 1\nend 1\nm x 2\n", "after the end"));
    CHECK(parses("lockprof-profile 1\nf 0 n - - 0 - 18446744073709551616\nend 1\n", "bad offset"));
    CHECK(parses("lockprof-profile 1\n\nend 0\n", "empty line"));

    /* version 1 files: aggregates end at the histogram and have no label set; `g` is not part of version 1 */
#define L1 "lockprof-profile 1\ns 0 x\nl 0 gil 10 0 -\n"
#define L2 "lockprof-profile 2\ns 0 x\ns 1 k\ns 2 v\ns 3 z\nl 0 gil 10 0 -\n"
    CHECK(parses(L1 "a 0 - - 1 0 0 1 5 5 -\nend 3\n", NULL));
    CHECK(parses(L1 "a 0 - - 1 0 0 1 5 5 - -\nend 3\n", "extra field"));
    CHECK(parses(L1 "g 0 0 0\nend 3\n", "not part of format version 1"));
    /* version 2: the label-set field is required, refers backwards, and sets are canonical */
    CHECK(parses(L2 "g 0 1 2\na 0 - - 1 0 0 1 5 5 - 0\nend 7\n", NULL));
    CHECK(parses(L2 "g 0 1 2 3 0\na 0 - - 1 0 0 1 5 5 - -\nend 7\n", NULL));
    CHECK(parses(L2 "a 0 - - 1 0 0 1 5 5 -\nend 6\n", "missing label set"));
    CHECK(parses(L2 "a 0 - - 1 0 0 1 5 5 - 0\nend 6\n", "undefined"));
    CHECK(parses(L2 "g 0\nend 6\n", "without labels"));
    CHECK(parses(L2 "g 0 1\nend 6\n", "key without a value"));
    CHECK(parses(L2 "g 0 1 -\nend 6\n", "bad label value"));
    CHECK(parses(L2 "g 0 3 0 1 2\nend 6\n", "ascending"));
    CHECK(parses(L2 "g 0 1 2 1 0\nend 6\n", "ascending"));
    CHECK(parses(L2 "g 1 1 2\nend 6\n", "out of sequence"));
    CHECK(parses("lockprof-profile 2\ns 0 a=b\ng 0 0 0\nend 2\n", "label key 1 has a blank"));
    CHECK(parses("lockprof-profile 2\ns 0 a b\ng 0 0 0\nend 2\n", "label key 1 has a blank"));
    CHECK(parses("lockprof-profile 2\ns 0 k\ns 1 a\\nb\ng 0 0 0 1 0\nend 3\n", "label key 2 has a blank"));
    static const char newline_key[] = "lockprof-profile 2\ns 0 a\\nb\ng 0 0 0\nend 2\n";
    CHECK(lp_profile_parse(newline_key, strlen(newline_key), &p, err, sizeof err) != 0 && strstr(err, "label key 1") &&
          !strchr(err, '\n')); /* one line: the key is not quoted */
    CHECK(parses("lockprof-profile 2\ns 0 \ng 0 0 0\nend 2\n", "empty label key"));
    /* version 2: hold records (sampled acquisitions and hold times) and the pthread_join kind */
    CHECK(parses(L2 "h 0 3 2 50 30\nend 6\n", NULL));
    CHECK(parses(L2 "h 0 3 0 0 0\nend 6\n", NULL));
    CHECK(parses(L2 "h 0 0 0 0 0\nend 6\n", "no acquisition"));
    CHECK(parses(L2 "h 0 3 4 50 30\nend 6\n", "more timed holds"));
    CHECK(parses(L2 "h 0 3 2 50 60\nend 6\n", "max hold"));
    CHECK(parses(L2 "h 0 3 0 5 0\nend 6\n", "max hold"));
    CHECK(parses(L2 "h 1 3 2 50 30\nend 6\n", "undefined"));
    CHECK(parses(L1 "h 0 3 2 50 30\nend 3\n", "not part of format version 1"));
    CHECK(parses("lockprof-profile 2\ns 0 pthread_join\nl 0 pthread_join 7f00 0 -\nend 2\n", NULL));
    /* frame kind x: where a stack was cut at the depth limit; version 2 only, no name, file, line, module or offset */
    CHECK(parses(L2 "f 0 n - - 0 - 10\nf 1 x - - 0 - 0\nk 0 0 1\nend 8\n", NULL));
    CHECK(parses(L1 "f 0 x - - 0 - 0\nend 3\n", "not part of format version 1"));
    CHECK(parses(L2 "f 0 x 0 - 0 - 0\nend 6\n", "kind 'x'"));
    CHECK(parses(L2 "f 0 x - - 3 - 0\nend 6\n", "kind 'x'"));
    CHECK(parses(L2 "f 0 x - - 0 - 10\nend 6\n", "kind 'x'"));
    CHECK(parses(L2 "f 0 y - - 0 - 0\nend 6\n", "frame kind must be"));
    /* modules (`o`) and lock locations (`v`): version 2 only; a native frame lies in the module whose path
     * string it names, when that module came before it */
#define M2 "lockprof-profile 2\ns 0 /lib/a.so\ns 1 /lib/a.so\ns 2 x\n"
    CHECK(parses(L1 "o 0 0 - 0 0 0 0\nend 3\n", "not part of format version 1"));
    CHECK(parses(L1 "f 0 n - - 0 - 10\nv 0 - 0 0\nend 4\n", "not part of format version 1"));
    CHECK(parses(M2 "o 0 0 abcd 1000 2000 1000 1\no 1 1 - 0 0 0 0\nend 5\n", NULL));
    CHECK(parses(M2 "o 0 0 - 0 0 0 0\no 1 0 - 0 0 0 0\nend 5\n", "already module 0's"));
    CHECK(parses(M2 "o 0 0 abc 0 0 0 0\nend 4\n", "bad build-id"));
    CHECK(parses(M2 "o 0 0 ABCD 0 0 0 0\nend 4\n", "bad build-id"));
    CHECK(parses(M2 "o 0 0 - 10 f 0 0\nend 4\n", "ends before it starts"));
    CHECK(parses(M2 "o 0 0 - 0 0 0 2\nend 4\n", "unknown module flags"));
    CHECK(parses(M2 "o 0 -\nend 4\n", "module path string"));
    CHECK(parses(M2 "o 1 0 - 0 0 0 0\nend 4\n", "out of sequence"));
    CHECK(parses(M2 "l 0 gil 10 2 -\nv 0 0 10 -\nend 5\n", "undefined"));
    CHECK(parses(M2 "l 0 gil 10 2 -\nv 0 - 0 -\nend 5\n", "without a module or a site"));
    CHECK(parses(M2 "o 0 0 - 0 0 0 0\nl 0 gil 10 2 -\nv 0 0 10 -\nv 0 0 10 -\nend 7\n", "second location"));
    CHECK(parses(M2 "l 0 gil 10 2 -\nf 0 n - - 0 - 10\nv 0 - 5 0\nend 6\n", "offset without a module"));
    CHECK(parses(M2 "l 0 gil 10 2 -\nf 0 p 2 2 1 - 0\nv 0 - 0 0\nend 6\n", "not a native frame"));
    static const char mods[] = M2 "f 0 n - - 0 1 10\no 0 1 ab 1000 2000 1000 1\nf 1 n - - 0 1 20\nf 2 n - - 0 0 30\n"
                               "f 3 p 2 0 3 1 0\nl 0 pthread_mutex 1040 2 -\nv 0 0 40 1\nl 1 pymutex 9 2 -\nv 1 - 0 1\n"
                               "end 12\n";
    CHECK(lp_profile_parse(mods, strlen(mods), &p, err, sizeof err) == 0);
    if (p.n_frames == 4 && p.n_modules == 1 && p.n_locks == 2) {
        CHECK(p.frames[0].mod == -1); /* before the module */
        CHECK(p.frames[1].mod == 0 && !strcmp(p.frames[1].module, "/lib/a.so"));
        CHECK(p.frames[2].mod == -1); /* the same text in another string: no module */
        CHECK(p.frames[3].mod == -1); /* Python frames never lie in one */
        CHECK(!strcmp(p.modules[0].build_id, "ab") && p.modules[0].start == 0x1000 && p.modules[0].end == 0x2000 &&
              p.modules[0].bias == 0x1000 && p.modules[0].flags == LP_MODULE_UNLOADED);
        CHECK(p.locks[0].module == 0 && p.locks[0].module_offset == 0x40 && p.locks[0].site == 1);
        CHECK(p.locks[1].module == -1 && p.locks[1].site == 1);
        lp_profile_free(&p);
    } else {
        CHECK(!"modules and locations parsed");
    }
#undef M2
#undef L1
#undef L2
    CHECK(lp_profile_parse("lockprof-profile 1\n\0end 0\n", 24, &p, err, sizeof err) != 0 && strstr(err, "NUL"));
    return CHECK_DONE();
}
