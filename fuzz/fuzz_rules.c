/* fuzz_rules.c — libFuzzer target for the rules files of `lockprof check` (src/cli/rules.c, docs/RULES.md): any
 * input must be parsed into well-formed rules or rejected with one line on stderr, never crash, hang or leak. Each
 * input is parsed with and without a baseline, and every rule it yields is measured (rules_eval) on a small fixed
 * model that has every selector's target: named and object locks, Python and native frames, wait classes and
 * self/notify rows, a sampled process. rules_load reads a file, so the input goes through a memfd.
 * Built with -Dfuzz=true (clang); scripts/fuzz.sh 60 rules runs it on fuzz/corpus-rules/. */
#define _GNU_SOURCE 1
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "model.h"
#include "rules.h"

static const char profile[] =
    "lockprof-profile 1\n"
    "m pid 4242\n"
    "m reason exit\n"
    "m start_unix_ns 1000\n"
    "m duration_ns 1000000000\n"
    "m threads 3\n"
    "m sample_every 2\n"
    "s 0 worker\n"
    "s 1 /usr/bin/app\n"
    "s 2 hot_lock\n"
    "s 3 update\n"
    "s 4 /srv/app/service.py\n"
    "s 5 dict\n"
    "s 6 dict@0x7f00\n"
    "s 7 GIL\n"
    "s 8 not_empty\n"
    "s 9 main\n"
    "f 0 n 0 - 0 1 11c1\n"
    "f 1 p 3 4 22 - 0\n"
    "f 2 n 9 - 0 1 1000\n"
    "k 0 0 2\n"
    "k 1 1 0\n"
    "k 2\n"
    "l 0 pthread_mutex 4040 2 -\n"
    "l 1 pymutex 7f00 6 5\n"
    "l 2 gil a000 7 -\n"
    "l 3 pthread_cond 5000 8 -\n"
    "t 4243 -\n"
    "t 4244 9\n"
    "a 0 0 1 4243 4244 0 3 61000 40000 13:2,15:1\n"
    "a 1 1 0 4244 4243 8 5 900000 500000 16:3,19:2\n"
    "a 1 1 1 4244 4244 1 2 1000 600 9:2\n"
    "a 2 - - 4243 0 20 1 5000 5000 -\n"
    "a 3 0 - 4243 0 0 4 800000000 300000000 28:4\n"
    "a 0 2 - 4244 4243 50 1 7000 7000 12:1\n"
    "e 100 61000 4243 0 0\n"
    "end 35\n";

static struct model model;
static char rules_path[64];
static int rules_fd = -1;

static int put(int fd, const void *data, size_t size)
{
    if (ftruncate(fd, 0))
        return -1;
    for (size_t off = 0; off < size;) {
        ssize_t n = pwrite(fd, (const char *)data + off, size - off, (off_t)off);
        if (n <= 0)
            return -1;
        off += (size_t)n;
    }
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char path[64];
    int pfd = memfd_create("profile", 0);
    rules_fd = memfd_create("rules", 0);
    if (pfd < 0 || rules_fd < 0 || put(pfd, profile, sizeof profile - 1))
        abort();
    snprintf(path, sizeof path, "/proc/self/fd/%d", pfd);
    char *paths[] = {path};
    if (model_load(&model, paths, 1))
        abort();
    close(pfd);
    snprintf(rules_path, sizeof rules_path, "/proc/self/fd/%d", rules_fd);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (put(rules_fd, data, size))
        abort();
    for (int with_baseline = 0; with_baseline < 2; with_baseline++) {
        struct rules r;
        if (rules_load(rules_path, with_baseline, &r)) {
            if (r.n || r.v || r.path)
                abort(); /* a rejected file leaves nothing behind */
            continue;
        }
        if (!r.n)
            abort(); /* a file without rules is an error */
        struct rules_input in = {&model, with_baseline ? &model : NULL};
        for (size_t i = 0; i < r.n; i++) {
            const struct rule *ru = &r.v[i];
            if (!ru->metric || !ru->text || !ru->line || strncmp(ru->text, "max ", 4))
                abort();
            for (size_t j = 0; j < ru->n_terms; j++)
                if (ru->terms[j].what != SEL_KIND ? !ru->terms[j].arg || !ru->terms[j].arg[0]
                                                  : ru->terms[j].kind >= LP_KIND_COUNT)
                    abort();
            struct rule_result res;
            memset(&res, 0xa5, sizeof res); /* everything read below must have been written */
            rules_eval(ru, &in, &res);
            if ((res.pass != 0 && res.pass != 1) || !memchr(res.measured, 0, sizeof res.measured) ||
                !memchr(res.limit, 0, sizeof res.limit) || !memchr(res.detail, 0, sizeof res.detail))
                abort();
        }
        rules_free(&r);
    }
    return 0;
}
