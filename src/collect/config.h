/* config.h — every LOCKPROF_* variable the collector reads, parsed once in the constructor (no other file of the
 * collector calls getenv). A bad value gets one warning naming the variable and the default is kept
 * (docs/CONFIGURATION.md has the table). */
#ifndef LP_CONFIG_H
#define LP_CONFIG_H

#include <stdint.h>

#define LP_MAX_NATIVE_DEPTH 128
#define LP_MAX_PY_DEPTH 256

struct lp_config {
    char output[4096];      /* LOCKPROF_OUTPUT, absolute, still containing %p */
    char manifest[4096];    /* LOCKPROF_MANIFEST: file to which each written profile path is appended */
    uint64_t interval_ns;   /* LOCKPROF_INTERVAL (seconds, fractions allowed), 0 = off */
    unsigned native_depth;  /* LOCKPROF_NATIVE_DEPTH, 0 = no native stacks */
    unsigned py_depth;      /* LOCKPROF_PY_DEPTH, 0 = no Python stacks */
    unsigned sample_every;  /* LOCKPROF_SAMPLE: record 1 in N contention events (>= 1) */
    uint64_t min_wait_ns;   /* LOCKPROF_MIN_WAIT_NS: shorter waits are counted but not recorded */
    int python;             /* LOCKPROF_PYTHON: CPython awareness */
    int patch;              /* LOCKPROF_PATCH: entry patching of CPython's lock slow paths */
    int holders;            /* LOCKPROF_HOLDERS: capture holder stacks */
    uint64_t holder_interval_ns; /* LOCKPROF_HOLDER_INTERVAL_US: at most one fresh holder stack per thread and lock
                                  * in this time (stack.c), 0 = at every release that wakes a waiter */
    unsigned hold_sample;   /* LOCKPROF_HOLD_SAMPLE: look at 1 in N mutex acquisitions per thread for hold times of
                             * contended locks, 0 = off */
    int mutex_fast_path;    /* LOCKPROF_MUTEX_FAST_PATH: lock default glibc mutexes in place (glibc_mutex.h) */
    int stack_cache;        /* LOCKPROF_STACK_CACHE: reuse native stacks at a repeated Python position */
    unsigned timeline;      /* LOCKPROF_TIMELINE: events kept per thread in the timeline ring, 0 = off */
    int signal;             /* LOCKPROF_SIGNAL: dump on this signal, 0 = none */
    int quiet;              /* LOCKPROF_QUIET */
    unsigned file_mode;     /* LOCKPROF_FILE_MODE (octal) */
    int print_layout;       /* LOCKPROF_PRINT_LAYOUT: print the CPython layout in use (tests) */
    long root_pid;          /* LOCKPROF_ROOT_PID: the process `lockprof run` started (0 = not under it) */
};

extern struct lp_config lp_cfg;

/* LOCKPROF_DISABLE set (and not 0): pure passthrough, nothing else is read. */
int lp_config_disabled(void);
void lp_config_load(void);

#endif
