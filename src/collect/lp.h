/* lp.h — what every file of the in-process collector shares: compiler hints, the monotonic clock, warnings
 * that go straight to fd 2, and the global on/off switch.
 *
 * Rules for everything under src/collect/ (the library runs inside other people's programs):
 *  - never call malloc/free, stdio, or take a lock of the host's kind on a path a hook can reach;
 *  - validate every address that does not belong to us before reading through it;
 *  - pass every return value and errno of an interposed function through unchanged;
 *  - on any internal failure: lp_disable() with one warning, and keep forwarding calls;
 *  - warnings go to the stderr the process started with, never to whatever a program put on fd 2 later. */
#ifndef LP_LP_H
#define LP_LP_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define LP_LIKELY(x) __builtin_expect(!!(x), 1)
#define LP_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define LP_HIDDEN __attribute__((visibility("hidden")))
#define LP_EXPORT __attribute__((visibility("default")))
#define LP_TLS __thread __attribute__((tls_model("initial-exec")))

/* 0 until the constructor ran, 1 while collecting, 2 after lp_disable() (pure passthrough). */
extern _Atomic int lp_state;
enum { LP_STATE_BOOT = 0, LP_STATE_ON = 1, LP_STATE_OFF = 2 };

static inline uint64_t lp_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Writes "lockprof: warning: <msg>\n" to stderr with one write(2) unless lp_quiet (LOCKPROF_QUIET) is set. */
LP_HIDDEN extern int lp_quiet;
LP_HIDDEN void lp_warn(const char *msg);
/* Constructor: duplicates stderr out of the program's way, where warnings go from then on (lp.c). */
LP_HIDDEN void lp_warn_init(void);
/* Same, with a second string appended (e.g. a variable name or a path). */
LP_HIDDEN void lp_warn2(const char *msg, const char *detail);
/* Switches the collector to passthrough for good, with one warning naming the reason. */
LP_HIDDEN void lp_disable(const char *why);

/* Warnings issued so far (kept for the profile's `warning` meta records). */
LP_HIDDEN int lp_n_warnings(void);
LP_HIDDEN const char *lp_warning(int i);

/* Small async-signal-safe string helpers (the libc ones are fine too, these just avoid surprises). */
LP_HIDDEN size_t lp_strlcpy(char *dst, const char *src, size_t cap);
LP_HIDDEN char *lp_fmt_u64(char *p, uint64_t v); /* writes decimal, returns end (no NUL) */
LP_HIDDEN char *lp_fmt_hex(char *p, uint64_t v);

/* 64-bit mixing used for every hash in the collector. */
static inline uint64_t lp_mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

static inline uint64_t lp_hash_bytes(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 0x100000001b3ull;
    return h;
}

#endif
