/* model.h — one or more profiles merged into a single in-memory model that every subcommand renders.
 *
 * Frames, stacks and locks are interned by content, so the same Python line or the same named lock in several
 * processes (or profiles) becomes one entity; process-specific addresses never take part in identity except
 * for anonymous (heap) locks, which stay per process. Rows are the profile's aggregates with the ids mapped;
 * counts and waits are already scaled by each process's sample_every (row->scale says by how much). */
#ifndef LP_MODEL_H
#define LP_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "lp_format.h"

/* The function name of a frame of kind 'x': where the collector cut a stack at its depth limit. */
#define MODEL_CUT_FRAME "[stack cut at the depth limit]"

struct m_frame {
    char kind; /* 'n' native, 'p' Python, 'x' frames cut at the depth limit (func MODEL_CUT_FRAME) */
    const char *func, *file, *module; /* never NULL: "" when absent (func "??") */
    uint64_t line, offset;
    int interp; /* native frame inside the Python interpreter, libc or the loader */
    int inlined; /* native frame of a function inlined into the next frame (same module and offset) */
};

struct m_stack {
    uint32_t n;
    uint32_t *frames; /* leaf first */
};

/* Sampled acquisitions and hold times of a contended lock (`h` records), summed over profiles. */
struct m_hold {
    uint64_t acquired;   /* estimated acquisitions: each process's sampled ones times its hold_sample */
    uint64_t sampled;    /* acquisitions sampled */
    uint64_t timed;      /* ... whose hold was timed */
    uint64_t hold_ns;    /* total of the timed holds */
    uint64_t max_ns;     /* the longest timed hold */
    uint64_t every;      /* the sampling rate (the largest, when profiles differ) */
};

struct m_lock {
    unsigned kind;
    const char *name;
    const char *type; /* NULL when not an object lock */
    struct m_hold hold; /* sampled == 0: no hold data */
};

/* A label set (docs/FORMAT.md "Label sets"): n pairs, keys sorted bytewise; interned by content across profiles. */
struct m_labelset {
    uint32_t n;
    const char **keys, **values;
};

struct m_thread {
    uint32_t proc;
    uint64_t tid;
    const char *name;
};

struct m_row {
    uint32_t lock;
    int32_t stack, holder_stack; /* -1 when absent */
    uint32_t proc;
    uint64_t tid, holder_tid;
    uint32_t flags;
    int32_t labels;                  /* label set, -1 when none */
    uint64_t count, wait_ns, max_ns; /* scaled */
    uint64_t hist[LP_HIST_BUCKETS];  /* scaled */
    uint32_t scale;
};

struct m_event {
    uint32_t proc;
    uint64_t start_ns, dur_ns, tid; /* start relative to the process's start */
    uint32_t lock;
    int32_t stack;
};

/* A thread that was waiting when its process wrote the profile (`w` records). */
struct m_waiting {
    uint32_t proc;
    uint64_t tid;
    uint32_t lock;
    int32_t stack;
    uint64_t waited_ns; /* from the start of the wait to the profile's writing */
    uint64_t owner_tid; /* the thread holding the lock, 0 when the lock does not say */
    uint32_t flags;
    int innermost;      /* the thread's newest wait in progress (what it is blocked on now) */
};

struct m_proc {
    uint64_t pid, ppid;
    const char *path; /* profile file */
    const char *exe, *cmdline, *python, *python_build, *reason;
    uint64_t start_unix_ns, duration_ns, threads, sample_every, min_wait_ns;
    uint64_t events_below_min_wait, wait_below_min_wait_ns, events_dropped, self_contentions;
    uint64_t events_unblocked; /* CPython slow paths that took the lock without blocking: not waits */
    uint64_t self_waits, self_wait_ns; /* lockprof's own waits (libunwind's locks, ...): 0 in older profiles */
    uint64_t holder_interval_ns, holder_captured, holder_reused; /* holder stacks sampled (0: older profile) */
    uint64_t holder_skipped; /* releases with waiters that stamped no holder (a hot lock's, sampled out) */
    uint64_t timeline_capacity, timeline_dropped; /* 0 capacity: recorded without LOCKPROF_TIMELINE */
    int gil_enabled; /* -1 unknown */
    const char **warnings;
    size_t n_warnings;
};

struct model {
    struct m_frame *frames; size_t n_frames;
    struct m_stack *stacks; size_t n_stacks;
    struct m_lock *locks; size_t n_locks;
    struct m_row *rows; size_t n_rows;
    struct m_proc *procs; size_t n_procs;
    struct m_thread *threads; size_t n_threads;
    struct m_event *events; size_t n_events;
    struct m_labelset *labelsets; size_t n_labelsets;
    struct m_waiting *waiting; size_t n_waiting;
    void *priv;
};

/* A cycle of threads of one process, each waiting for a lock the next one holds (from the waits in progress). */
struct m_deadlock {
    uint32_t proc;
    size_t n;          /* threads in the cycle */
    uint32_t *waiting; /* indices into model.waiting, one per thread, in cycle order */
};
/* Finds every such cycle (each once); the caller frees each `waiting` and the array. */
size_t model_deadlocks(const struct model *m, struct m_deadlock **out);

/* Loads and merges the profiles. On error prints "lockprof: PATH: problem" to stderr and returns -1.
 * Native frames and global locks of profiles that say which module they lie in (format version 2) are named from
 * the modules' files (symbolize.h): a native frame becomes one frame per function of its inline chain. */
int model_load(struct model *m, char **paths, int n);
void model_free(struct model *m);

/* Thread name or NULL. */
const char *model_thread_name(const struct model *m, uint32_t proc, uint64_t tid);

/* What a row measures: contention between threads, a slow path on a lock the waiter itself held (a nested
 * critical section: a real cost, but nobody else to blame), or a wait for an event (condition variables,
 * semaphores, notification waits: usually idle time). */
enum row_kind { ROW_CONTENTION = 0, ROW_SELF = 1, ROW_WAIT = 2 };
enum row_kind model_row_class(const struct m_row *r, const struct model *m);
const char *model_row_class_name(enum row_kind k);

/* True for rows that are not contention between threads (ROW_SELF and ROW_WAIT). */
int model_row_is_wait(const struct m_row *r, const struct model *m);

/* The "user frames" rule of `--frames user` (report, flamegraph, diff, export): frame i of stack s (0 = the
 * leaf) is shown unless it is a native frame of the interpreter, libc, the loader or lockprof itself
 * (m_frame.interp) other than the leaf. With all_frames every frame is shown. */
static inline int model_frame_shown(const struct model *m, const struct m_stack *s, uint32_t i, int all_frames)
{
    return all_frames || i == 0 || !m->frames[s->frames[i]].interp;
}

/* The most telling frame of a stack: innermost Python frame, else innermost native frame outside the
 * interpreter and libc, else the leaf. -1 for an empty/absent stack. */
int64_t model_top_frame(const struct model *m, int32_t stack);

/* Formats a frame as "func (file:line)" (Python frames, and native ones with line information; an inlined native
 * function: "func (file:line, inlined)"), or "func (module+0xoff)". Returns buf. The text is raw (for matching and
 * for the escapers of JSON and XML); text outputs use model_frame_text. */
char *model_frame_str(const struct model *m, uint32_t frame, char *buf, size_t cap);
/* The same, escaped for a text output (util.h sb_text), appended to o. */
struct strbuf;
void model_frame_text(const struct model *m, uint32_t frame, struct strbuf *o);

/* Approximate quantile (0..1) of a histogram, in ns (log2 buckets, linear inside a bucket). */
uint64_t model_hist_quantile(const uint64_t *hist, double q);
/* The same, never above the observed maximum. */
uint64_t model_hist_quantile_max(const uint64_t *hist, double q, uint64_t max);

/* Total duration (ns) of all processes, and thread-time (sum over processes of duration × threads). */
uint64_t model_duration_ns(const struct model *m);
/* Thread time (ns): the sum over processes of duration_ns × threads, where `threads` is the profile's count of
 * threads that recorded at least one wait (docs/FORMAT.md). The denominator of `lockprof check`'s wait_fraction
 * and of the share shown by `report --format markdown`. */
uint64_t model_thread_time_ns(const struct model *m);

#endif
