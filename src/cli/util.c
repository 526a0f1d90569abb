/* util.c — see util.h. */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fputs("lockprof: out of memory\n", stderr);
        exit(EXIT_USAGE);
    }
    return p;
}

void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz ? sz : 1);
    if (!p) {
        fputs("lockprof: out of memory\n", stderr);
        exit(EXIT_USAGE);
    }
    return p;
}

void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p) {
        fputs("lockprof: out of memory\n", stderr);
        exit(EXIT_USAGE);
    }
    return p;
}

char *xstrdup(const char *s)
{
    size_t n = strlen(s);
    char *d = xmalloc(n + 1);
    memcpy(d, s, n + 1);
    return d;
}

void sb_reset(struct strbuf *b)
{
    b->len = 0;
    if (b->s)
        b->s[0] = 0;
}

void sb_free(struct strbuf *b)
{
    free(b->s);
    memset(b, 0, sizeof *b);
}

void sb_add(struct strbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 256;
        while (nc < b->len + n + 1)
            nc *= 2;
        b->s = xrealloc(b->s, nc);
        b->cap = nc;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = 0;
}

void sb_puts(struct strbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

void sb_printf(struct strbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[512];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof tmp) {
        sb_add(b, tmp, (size_t)n);
        return;
    }
    char *big = xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb_add(b, big, (size_t)n);
    free(big);
}

/* Length of the valid UTF-8 sequence starting at p (1..4), or 0 when the bytes there are not one. */
static int utf8_len(const unsigned char *p)
{
    if (p[0] < 0x80)
        return 1;
    int n = p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 && p[0] < 0xe0 ? 2 : 0;
    for (int i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if (n == 3 && ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0)))
        return 0; /* overlong or a surrogate */
    if (n == 4 && ((p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90)))
        return 0;
    return n;
}

void sb_json_str(struct strbuf *b, const char *s)
{
    if (!s) {
        sb_puts(b, "null");
        return;
    }
    sb_add(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        switch (*p) {
        case '"': sb_add(b, "\\\"", 2); p++; continue;
        case '\\': sb_add(b, "\\\\", 2); p++; continue;
        case '\n': sb_add(b, "\\n", 2); p++; continue;
        case '\t': sb_add(b, "\\t", 2); p++; continue;
        case '\r': sb_add(b, "\\r", 2); p++; continue;
        case '#':
            if (p[1] == '#' && p[2] == '[') { /* see gh_prefix() */
                sb_puts(b, "#\\u0023");
                p += 2;
                continue;
            }
            break;
        }
        if (*p < 0x20 || *p == 0x7f) {
            sb_printf(b, "\\u%04x", *p);
            p++;
            continue;
        }
        int n = utf8_len(p);
        if (!n) {
            sb_puts(b, "\\ufffd"); /* not UTF-8 (names come from binaries and the interpreter's memory) */
            p++;
            continue;
        }
        sb_add(b, (const char *)p, (size_t)n);
        p += n;
    }
    sb_add(b, "\"", 1);
}

/* GitHub Actions reads a line as a workflow command when it starts, after blanks, with "::" (`::error ...::`),
 * and, in its older syntax, when "##[" appears anywhere in it (`##[error]...`, `##[stop-commands]...`). A profiled
 * program names its functions, locks and threads itself, so a name must never be able to end a line or carry
 * that prefix into a CI log: the escapers below turn the second '#' of "##[" into an escape of their own format
 * (\u0023 in JSON, &#35; in XML, \x23 in text), and text never contains a raw line break. True at s. */
static int gh_prefix(const char *s) { return s[0] == '#' && s[1] == '#' && s[2] == '['; }

void sb_xml(struct strbuf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        switch (*p) {
        case '<': sb_puts(b, "&lt;"); p++; continue;
        case '>': sb_puts(b, "&gt;"); p++; continue;
        case '&': sb_puts(b, "&amp;"); p++; continue;
        case '"': sb_puts(b, "&quot;"); p++; continue;
        case '\'': sb_puts(b, "&#39;"); p++; continue;
        case '#':
            if (gh_prefix((const char *)p)) {
                sb_puts(b, "#&#35;");
                p += 2;
                continue;
            }
            break;
        }
        int n = *p < 0x20 || *p == 0x7f ? (*p == '\n' || *p == '\t') : utf8_len(p);
        if (!n) {
            sb_puts(b, "?"); /* not allowed in XML 1.0 (control characters), or not UTF-8 */
            p++;
            continue;
        }
        sb_add(b, (const char *)p, (size_t)n);
        p += n;
    }
}

/* The code point of the valid UTF-8 sequence of length n at p. */
static unsigned utf8_cp(const unsigned char *p, int n)
{
    if (n == 1)
        return p[0];
    unsigned cp = p[0] & (0xff >> (n + 1));
    for (int i = 1; i < n; i++)
        cp = cp << 6 | (p[i] & 0x3f);
    return cp;
}

/* Characters that change how a terminal or a log viewer lays text out: C1 controls, line and paragraph
 * separators, and the bidirectional formatting characters ("Trojan Source"). */
static int layout_char(unsigned cp)
{
    return (cp >= 0x80 && cp <= 0x9f) || cp == 0x61c || cp == 0x200e || cp == 0x200f ||
           (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

void sb_text(struct strbuf *b, const char *s, size_t len, unsigned style)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    enum text_style how = style & TEXT_STYLE_MASK;
    while (p < end) {
        size_t run = 0; /* the common case: a run of plain printable ASCII, copied at once */
        while (p + run < end && p[run] >= 0x20 && p[run] < 0x7f && p[run] != '\\' && p[run] != '#' &&
               p[run] != ';')
            run++;
        if (run) {
            sb_add(b, (const char *)p, run);
            p += run;
            continue;
        }
        unsigned c = *p;
        if (c == ';') {
            sb_add(b, (style & TEXT_NO_SEMICOLON) ? ":" : ";", 1);
            p++;
            continue;
        }
        if (c == '#') {
            if (end - p >= 3 && gh_prefix((const char *)p)) {
                sb_puts(b, how == TEXT_ESCAPE ? "#\\x23" : how == TEXT_SPACE ? "# " : "#?");
                p += 2;
            } else {
                sb_add(b, "#", 1);
                p++;
            }
            continue;
        }
        if (c == '\\') {
            sb_puts(b, how == TEXT_ESCAPE ? "\\\\" : "\\");
            p++;
            continue;
        }
        int n = c < 0x80 ? (c >= 0x20 && c != 0x7f) : utf8_len(p);
        if (n > end - p)
            n = 0; /* a sequence cut by len */
        if (n && !(n > 1 && layout_char(utf8_cp(p, n)))) {
            sb_add(b, (const char *)p, (size_t)n);
            p += n;
            continue;
        }
        if (how == TEXT_SPACE || how == TEXT_QUESTION) {
            if (!n && c >= 0x80) { /* not UTF-8: the byte stays (these styles only keep lines whole) */
                sb_add(b, (const char *)p, 1);
                p++;
            } else {
                sb_add(b, how == TEXT_SPACE ? " " : "?", 1);
                p += n ? n : 1;
            }
            continue;
        }
        if (n) {
            sb_printf(b, "\\u%04x", utf8_cp(p, n));
            p += n;
        } else if (c == '\n') {
            sb_puts(b, "\\n"), p++;
        } else if (c == '\r') {
            sb_puts(b, "\\r"), p++;
        } else if (c == '\t') {
            sb_puts(b, "\\t"), p++;
        } else {
            sb_printf(b, "\\x%02x", c);
            p++;
        }
    }
}

void sb_text_str(struct strbuf *b, const char *s) { sb_text(b, s, strlen(s), TEXT_ESCAPE); }

const char *text_esc(struct strbuf *scratch, const char *s)
{
    sb_reset(scratch);
    sb_text_str(scratch, s ? s : "");
    return scratch->s ? scratch->s : "";
}

void die_msg(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("lockprof: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int bad_option(const char *cmd, int c, char **argv)
{
    die_msg("%s: %s %s (lockprof %s --help)", cmd, c == ':' ? "missing value for option" : "unknown option",
            argv[optind - 1], cmd);
    return EXIT_USAGE;
}

int parse_frames(const char *cmd, const char *val, int *all_frames)
{
    if (strcmp(val, "user") && strcmp(val, "all")) {
        die_msg("%s: --frames must be user or all, not '%s'", cmd, val);
        return -1;
    }
    *all_frames = !strcmp(val, "all");
    return 0;
}

int parse_count(const char *opt, const char *val, long *out)
{
    char *end;
    errno = 0;
    long v = val ? strtol(val, &end, 10) : -1;
    if (!val || !*val || *end || errno || v < 0) {
        die_msg("option %s needs a non-negative integer, got '%s'", opt, val ? val : "");
        return -1;
    }
    *out = v;
    return 0;
}

double ms(uint64_t ns) { return (double)ns / 1e6; }
