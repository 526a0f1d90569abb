/* config.c — parses the environment into lp_cfg: the collector's only reader of the environment. Runs once, in the
 * constructor (getenv is safe there). */
#include "config.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lp.h"

struct lp_config lp_cfg = {
    .native_depth = 48,
    .py_depth = 128,
    .sample_every = 1,
    .python = 1,
    .patch = 1,
    .holders = 1,
    .holder_interval_ns = 1000000,
    .hold_sample = 64,
    .stack_cache = 1,
    .mutex_fast_path = 1,
    .signal = SIGUSR2,
    .file_mode = 0600,
};

static void bad(const char *var, const char *val)
{
    char msg[256];
    size_t n = lp_strlcpy(msg, var, sizeof msg);
    n += lp_strlcpy(msg + n, "='", sizeof msg - n);
    n += lp_strlcpy(msg + n, val, sizeof msg - n > 40 ? 40 : sizeof msg - n);
    lp_strlcpy(msg + (n < sizeof msg ? n : sizeof msg - 1), "' is not valid; the default is kept", sizeof msg - n);
    lp_warn(msg);
}

/* Unsigned integer in [lo, hi], decimal (or octal when base 8). */
static void get_uint(const char *var, unsigned *out, unsigned lo, unsigned hi, int base)
{
    const char *v = getenv(var);
    if (!v || !*v)
        return;
    char *end;
    unsigned long x = strtoul(v, &end, base);
    if (*end || v[0] == '-' || x < lo || x > hi) {
        bad(var, v);
        return;
    }
    *out = (unsigned)x;
}

static void get_bool(const char *var, int *out)
{
    const char *v = getenv(var);
    if (!v || !*v)
        return;
    if (!strcmp(v, "1") || !strcmp(v, "yes") || !strcmp(v, "on") || !strcmp(v, "true"))
        *out = 1;
    else if (!strcmp(v, "0") || !strcmp(v, "no") || !strcmp(v, "off") || !strcmp(v, "false"))
        *out = 0;
    else
        bad(var, v);
}

static void get_path(const char *var, char *out, size_t cap, const char *dflt)
{
    const char *v = getenv(var);
    if (!v || !*v)
        v = dflt;
    if (!v)
        return;
    size_t n = 0;
    if (v[0] != '/') {
        /* Made absolute now so a later chdir() in the program does not move the profile. */
        if (!getcwd(out, cap - 2)) {
            lp_warn2("cannot resolve the working directory; profile path stays relative: ", v);
            lp_strlcpy(out, v, cap);
            return;
        }
        n = strlen(out);
        if (n && out[n - 1] != '/')
            out[n++] = '/';
    }
    if (n + strlen(v) >= cap) {
        bad(var, v);
        out[0] = 0;
        lp_strlcpy(out, dflt ? dflt : "", cap);
        return;
    }
    lp_strlcpy(out + n, v, cap - n);
}

int lp_config_disabled(void)
{
    const char *off = getenv("LOCKPROF_DISABLE");
    return off && *off && strcmp(off, "0") != 0;
}

void lp_config_load(void)
{
    const char *q = getenv("LOCKPROF_QUIET");
    lp_cfg.quiet = q && *q && strcmp(q, "0") != 0;
    lp_quiet = lp_cfg.quiet;
    get_path("LOCKPROF_OUTPUT", lp_cfg.output, sizeof lp_cfg.output, "lockprof.%p.prof");
    get_path("LOCKPROF_MANIFEST", lp_cfg.manifest, sizeof lp_cfg.manifest, NULL);

    const char *iv = getenv("LOCKPROF_INTERVAL");
    if (iv && *iv) {
        char *end;
        double s = strtod(iv, &end);
        if (*end || !(s >= 0) || s > 1e6)
            bad("LOCKPROF_INTERVAL", iv);
        else
            lp_cfg.interval_ns = (uint64_t)(s * 1e9);
    }
    get_uint("LOCKPROF_NATIVE_DEPTH", &lp_cfg.native_depth, 0, LP_MAX_NATIVE_DEPTH, 10);
    get_uint("LOCKPROF_PY_DEPTH", &lp_cfg.py_depth, 0, LP_MAX_PY_DEPTH, 10);
    get_uint("LOCKPROF_SAMPLE", &lp_cfg.sample_every, 1, 1000000000u, 10);
    unsigned mw = 0;
    const char *mwv = getenv("LOCKPROF_MIN_WAIT_NS");
    get_uint("LOCKPROF_MIN_WAIT_NS", &mw, 0, 4000000000u, 10);
    if (mwv && *mwv)
        lp_cfg.min_wait_ns = mw;
    get_bool("LOCKPROF_PYTHON", &lp_cfg.python);
    get_bool("LOCKPROF_PATCH", &lp_cfg.patch);
    get_bool("LOCKPROF_HOLDERS", &lp_cfg.holders);
    unsigned hi_us = (unsigned)(lp_cfg.holder_interval_ns / 1000);
    get_uint("LOCKPROF_HOLDER_INTERVAL_US", &hi_us, 0, 60000000u, 10);
    lp_cfg.holder_interval_ns = (uint64_t)hi_us * 1000;
    get_bool("LOCKPROF_STACK_CACHE", &lp_cfg.stack_cache);
    get_uint("LOCKPROF_HOLD_SAMPLE", &lp_cfg.hold_sample, 0, 1000000000u, 10);
    get_bool("LOCKPROF_MUTEX_FAST_PATH", &lp_cfg.mutex_fast_path);
    int timeline = 0;
    unsigned tl_size = 65536;
    get_bool("LOCKPROF_TIMELINE", &timeline);
    get_uint("LOCKPROF_TIMELINE_SIZE", &tl_size, 16, 1u << 24, 10);
    lp_cfg.timeline = timeline ? tl_size : 0;
    unsigned sig = (unsigned)lp_cfg.signal;
    get_uint("LOCKPROF_SIGNAL", &sig, 0, 64, 10);
    lp_cfg.signal = (int)sig;
    get_uint("LOCKPROF_FILE_MODE", &lp_cfg.file_mode, 0, 0777, 8);
    const char *pl = getenv("LOCKPROF_PRINT_LAYOUT");
    lp_cfg.print_layout = pl && *pl == '1';
    const char *root = getenv("LOCKPROF_ROOT_PID"); /* set by `lockprof run`, not by users */
    lp_cfg.root_pid = root && *root ? strtol(root, NULL, 10) : 0;
}
