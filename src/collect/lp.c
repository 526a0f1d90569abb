/* lp.c — collector-wide state (the on/off switch, the warnings issued) and the small helpers declared in lp.h. The
 * bottom of the collector: depends on nothing of it. */
#include "lp.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

_Atomic int lp_state;
int lp_quiet;

/* Where warnings go: a duplicate of the process's stderr taken at start-up, high in the descriptor table, so that a
 * program that closes fd 2 and reuses it for its data never gets lockprof's text in its file. Before writing,
 * the duplicate must still be the file it was (a program that closes every descriptor may reuse that number too):
 * otherwise nothing is written, and the warning stays in the profile only. */
static int warn_fd = 2;
static dev_t warn_dev;
static ino_t warn_ino;

void lp_warn_init(void)
{
    struct stat st;
    int e = errno;
    if (fstat(2, &st) == 0) {
        int fd = fcntl(2, F_DUPFD_CLOEXEC, 900); /* near libunwind's pipe: out of the program's way */
        if (fd < 0)
            fd = fcntl(2, F_DUPFD_CLOEXEC, 3);
        if (fd >= 0) {
            warn_fd = fd;
            warn_dev = st.st_dev;
            warn_ino = st.st_ino;
        }
    }
    errno = e;
}

static int warn_target(void)
{
    if (warn_fd == 2)
        return 2; /* before start-up (or without a stderr then): the process's stderr as it is */
    struct stat st;
    if (fstat(warn_fd, &st) || st.st_dev != warn_dev || st.st_ino != warn_ino)
        return -1;
    return warn_fd;
}

#define MAX_WARNINGS 16
static char warnings[MAX_WARNINGS][240];
static _Atomic int n_warnings;

size_t lp_strlcpy(char *dst, const char *src, size_t cap)
{
    size_t n = strlen(src);
    if (!cap)
        return n;
    size_t k = n < cap - 1 ? n : cap - 1;
    memcpy(dst, src, k);
    dst[k] = 0;
    return k;
}

char *lp_fmt_u64(char *p, uint64_t v)
{
    char tmp[24];
    int i = 0;
    do {
        tmp[i++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (i)
        *p++ = tmp[--i];
    return p;
}

char *lp_fmt_hex(char *p, uint64_t v)
{
    static const char hx[] = "0123456789abcdef";
    char tmp[20];
    int i = 0;
    do {
        tmp[i++] = hx[v & 15];
        v >>= 4;
    } while (v);
    while (i)
        *p++ = tmp[--i];
    return p;
}

void lp_warn2(const char *msg, const char *detail)
{
    char line[1024];
    size_t n = lp_strlcpy(line, "lockprof: warning: ", sizeof line);
    size_t start = n;
    n += lp_strlcpy(line + n, msg, sizeof line - n);
    if (detail)
        n += lp_strlcpy(line + n, detail, sizeof line - n);
    int i = atomic_fetch_add(&n_warnings, 1);
    if (i < MAX_WARNINGS)
        lp_strlcpy(warnings[i], line + start, sizeof warnings[i]);
    if (lp_quiet)
        return;
    if (n < sizeof line - 1)
        line[n++] = '\n';
    int e = errno, fd = warn_target();
    if (fd >= 0) {
        ssize_t r = write(fd, line, n);
        (void)r;
    }
    errno = e;
}

void lp_warn(const char *msg) { lp_warn2(msg, NULL); }

int lp_n_warnings(void)
{
    int n = atomic_load(&n_warnings);
    return n < MAX_WARNINGS ? n : MAX_WARNINGS;
}

const char *lp_warning(int i) { return warnings[i]; }

void lp_disable(const char *why)
{
    if (atomic_exchange(&lp_state, LP_STATE_OFF) != LP_STATE_OFF)
        lp_warn(why);
}
