/* lp.c — collector-wide state (the on/off switch, the warnings issued) and the small helpers declared in lp.h. The
 * bottom of the collector: depends on nothing of it. */
#include "lp.h"

#include <string.h>
#include <unistd.h>

_Atomic int lp_state;
int lp_quiet;

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
    ssize_t r = write(2, line, n);
    (void)r;
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
