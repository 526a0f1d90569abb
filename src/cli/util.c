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

void sb_xml(struct strbuf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': sb_puts(b, "&lt;"); break;
        case '>': sb_puts(b, "&gt;"); break;
        case '&': sb_puts(b, "&amp;"); break;
        case '"': sb_puts(b, "&quot;"); break;
        case '\'': sb_puts(b, "&#39;"); break;
        default:
            if ((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t')
                sb_puts(b, "?");
            else
                sb_add(b, s, 1);
        }
    }
}

int out_open(struct out *o, const char *path)
{
    memset(o, 0, sizeof *o);
    if (!path || !strcmp(path, "-")) {
        o->f = stdout;
        return 0;
    }
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        /* An existing device, FIFO or socket (-o /dev/null, -o /dev/stdout): write to it; a temporary file renamed
         * over it would replace the device node itself. */
        if (S_ISDIR(st.st_mode)) {
            die_msg("cannot write %s: is a directory", path);
            return -1;
        }
        o->f = fopen(path, "w");
        if (!o->f) {
            die_msg("cannot open %s: %s", path, strerror(errno));
            return -1;
        }
        o->special = 1;
        return 0;
    }
    o->path = xstrdup(path);
    size_t n = strlen(path) + 32;
    o->tmp = xmalloc(n);
    snprintf(o->tmp, n, "%s.tmp-%d", path, (int)getpid());
    int fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0 || !(o->f = fdopen(fd, "w"))) {
        die_msg("cannot create %s: %s", o->tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        free(o->path);
        free(o->tmp);
        o->path = o->tmp = NULL;
        return -1;
    }
    return 0;
}

int out_commit(struct out *o)
{
    if (o->special) {
        int bad = ferror(o->f) | (fclose(o->f) != 0);
        o->f = NULL;
        o->special = 0;
        if (bad)
            die_msg("writing the output failed: %s", strerror(errno ? errno : EIO));
        return bad ? -1 : 0;
    }
    if (!o->path) {
        if (fflush(stdout)) {
            die_msg("writing to standard output: %s", strerror(errno));
            return -1;
        }
        return 0;
    }
    int bad = ferror(o->f);
    if (fclose(o->f))
        bad = 1;
    o->f = NULL;
    if (bad || rename(o->tmp, o->path)) {
        die_msg("cannot write %s: %s", o->path, strerror(errno ? errno : EIO));
        unlink(o->tmp);
        free(o->path);
        free(o->tmp);
        o->path = o->tmp = NULL;
        return -1;
    }
    free(o->path);
    free(o->tmp);
    o->path = o->tmp = NULL;
    return 0;
}

void out_abort(struct out *o)
{
    if (o->special && o->f)
        fclose(o->f);
    if (o->path) {
        if (o->f)
            fclose(o->f);
        unlink(o->tmp);
        free(o->path);
        free(o->tmp);
    }
    memset(o, 0, sizeof *o);
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
