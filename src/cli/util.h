/* util.h — small helpers every CLI file uses: checked allocation, a growable string buffer, atomic output
 * files (written to a temporary name and renamed, removed on failure, so no partial output is ever left), and
 * the exit codes. */
#ifndef LP_UTIL_H
#define LP_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Exit codes of every subcommand (README: "Exit codes"). */
enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t sz);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

/* Grow array `arr` with capacity `cap` so that `need` elements fit. */
#define GROWV(arr, cap, need)                                                                                \
    do {                                                                                                     \
        if ((need) > (cap)) {                                                                                \
            size_t nc_ = (cap) ? (cap) * 2 : 64;                                                             \
            while (nc_ < (need))                                                                             \
                nc_ *= 2;                                                                                    \
            (arr) = xrealloc((arr), nc_ * sizeof *(arr));                                                    \
            (cap) = nc_;                                                                                     \
        }                                                                                                    \
    } while (0)

struct strbuf {
    char *s;
    size_t len, cap;
};
void sb_reset(struct strbuf *b);
void sb_free(struct strbuf *b);
void sb_add(struct strbuf *b, const char *s, size_t n);
void sb_puts(struct strbuf *b, const char *s);
void sb_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* JSON string literal (with quotes); NULL → null. */
void sb_json_str(struct strbuf *b, const char *s);
/* XML/HTML text escape. */
void sb_xml(struct strbuf *b, const char *s);

/* Output destination: stdout when path is NULL or "-"; an existing device or FIFO (/dev/null) written directly;
 * else a temporary file in the same directory renamed over `path` by out_commit(). out_abort() removes the
 * temporary file. */
struct out {
    FILE *f;
    char *path, *tmp;
    int special; /* writing straight to an existing device/FIFO (no temporary file) */
};
int out_open(struct out *o, const char *path);
int out_commit(struct out *o); /* returns 0 or -1 after printing an error */
void out_abort(struct out *o);

/* "lockprof: <msg>" on stderr. */
void die_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* For getopt_long's ':' / '?' results (opterr = 0, optstring starting with ':'): prints
 * "lockprof: CMD: unknown option X (lockprof CMD --help)" or "... missing value for option X ..." and returns
 * EXIT_USAGE. */
int bad_option(const char *cmd, int c, char **argv);

/* Parses a non-negative integer option value; returns -1 (after printing) when invalid. */
int parse_count(const char *opt, const char *val, long *out);

/* Milliseconds with 3 decimals. */
double ms(uint64_t ns);

#endif
