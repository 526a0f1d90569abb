/* util.h — small helpers every CLI file uses: checked allocation, a growable string buffer, the escapers of
 * text that comes from profiles (JSON, XML, and sb_text for every line-oriented text output), saturating
 * sums, option parsing, and the exit codes. Output files are output.h's. */
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
/* Text from profiles is written by the profiled program (it names its functions, locks and threads) and must
 * not be able to forge output: every escaper below keeps it on its line and never lets it form a GitHub Actions
 * workflow command ("::cmd::" at the start of a line, or "##[" anywhere in one: util.c, gh_prefix). */

/* JSON string literal (with quotes); NULL → null. Invalid UTF-8 becomes U+FFFD. */
void sb_json_str(struct strbuf *b, const char *s);
/* XML/HTML text or attribute value; control characters other than newline and tab (not allowed in XML 1.0)
 * and bytes that are not UTF-8 become '?'. */
void sb_xml(struct strbuf *b, const char *s);

/* How sb_text shows what a line-oriented text output must not carry raw: control characters (C0, DEL, C1),
 * line and paragraph separators and bidirectional formatting characters, and the "##[" prefix. */
enum text_style {
    TEXT_ESCAPE = 0,   /* reports, check, diff, messages: \n \r \t, \xHH (other control bytes, and bytes that
                        * are not UTF-8), \uXXXX (the Unicode ones), "#\x23[" for "##["; a backslash is
                        * doubled, so nothing is lost and a name reads back exactly */
    TEXT_SPACE = 1,    /* each becomes a space (Markdown code spans); bytes that are not UTF-8 stay */
    TEXT_QUESTION = 2, /* each becomes '?' (folded stacks: folded.h); bytes that are not UTF-8 stay */
    TEXT_STYLE_MASK = 3,
    TEXT_NO_SEMICOLON = 4, /* flag: ';' becomes ':' (folded stacks split at ';') */
};
/* Appends s[0..len) in the given style (a text_style, optionally | TEXT_NO_SEMICOLON). s[len] need not be NUL,
 * but s must lie inside a NUL-terminated string. The only escaper of text outputs: use it for every name. */
void sb_text(struct strbuf *b, const char *s, size_t len, unsigned style);
/* sb_text(b, s, strlen(s), TEXT_ESCAPE). */
void sb_text_str(struct strbuf *b, const char *s);
/* s escaped (TEXT_ESCAPE) into *scratch, for printf-style formatting: the result lives until the next use of
 * scratch. NULL → "". */
const char *text_esc(struct strbuf *scratch, const char *s);

/* Sums and products of counters saturate at UINT64_MAX instead of wrapping (hand-made or hostile profiles can
 * hold any 64-bit value; a report must never show a small number for a huge one). */
static inline uint64_t sat_add(uint64_t a, uint64_t b) { return a + b < a ? UINT64_MAX : a + b; }
static inline uint64_t sat_mul(uint64_t a, uint64_t b)
{
    uint64_t r;
    return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}
/* b - a as a signed difference, clamped to the int64_t range. */
static inline int64_t sat_diff(uint64_t b, uint64_t a)
{
    if (b >= a)
        return b - a > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)(b - a);
    return a - b > (uint64_t)INT64_MAX ? INT64_MIN : -(int64_t)(a - b);
}

/* "lockprof: <msg>" on stderr. */
void die_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* For getopt_long's ':' / '?' results (opterr = 0, optstring starting with ':'): prints
 * "lockprof: CMD: unknown option X (lockprof CMD --help)" or "... missing value for option X ..." and returns
 * EXIT_USAGE. */
int bad_option(const char *cmd, int c, char **argv);

/* `--frames user|all` of report, flamegraph and export: sets *all_frames; returns -1 after printing
 * "lockprof: CMD: --frames must be user or all, not 'VAL'". (Which frames `user` hides: model_frame_shown.) */
int parse_frames(const char *cmd, const char *val, int *all_frames);

/* Parses a non-negative integer option value; returns -1 (after printing) when invalid. */
int parse_count(const char *opt, const char *val, long *out);

/* Milliseconds with 3 decimals. */
double ms(uint64_t ns);

#endif
