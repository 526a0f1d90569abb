/* junit.h — writes JUnit XML (the test-report format CI systems display: GitHub, GitLab, Jenkins) for
 * `lockprof check`: one <testsuite>, one <testcase> per case, a <failure> element for each failed case. The
 * file is written atomically (util.h out_open/out_commit): a failed write leaves no partial file. */
#ifndef LP_JUNIT_H
#define LP_JUNIT_H

#include <stddef.h>

struct junit_case {
    const char *name;      /* unique within the suite */
    const char *file;      /* source of the case (the rules file), may be NULL; also the classname */
    unsigned line;         /* 0 = unknown */
    const char *output;    /* <system-out> text, may be NULL */
    const char *failure;   /* NULL: passed; else the failure's one-line message */
    const char *details;   /* failure body, may be NULL */
};

/* Writes `n` cases as suite `suite` to `path` ("-" = standard output). Returns 0, or -1 after printing. */
int junit_write(const char *path, const char *suite, const struct junit_case *cases, size_t n);

#endif
