/* stack.h — captures the calling thread's stack on the event path and interns it in the thread's own table.
 *
 * Owns: each thread's interned stacks and stack cache (struct lp_stack_thread), libunwind's initialisation and its
 * pipe, the fork protocol around unwinds, and the code ranges hidden from stacks. Python frames come from the
 * source the CPython layer registers at start-up (lp_stack_set_python): this file does not know the interpreter.
 *
 * A stack is a sequence of 64-bit words, leaf first: a native frame is its return address; a Python frame is
 * two words, LP_W_PY|line followed by the 64-bit identity of its code object (see py/frames.c). With native
 * stacks on, the Python frames replace the interpreter's eval-loop frames they ran in (like py-spy --native);
 * with native stacks off, the stack is the Python frames alone. Stacks are identified by a 64-bit hash of their
 * words, which is what the aggregate tables and the holder hand-off store. A stack cut at the depth limit
 * (LOCKPROF_NATIVE_DEPTH, LOCKPROF_PY_DEPTH) carries the word LP_W_CUT where the frames not kept would have been:
 * the profile writes it as a frame of kind `x`. */
#ifndef LP_STACK_H
#define LP_STACK_H

#include <pthread.h>
#include <stdint.h>

#include "thread.h"

#define LP_W_PY (1ull << 63)
#define LP_W_CUT 1ull /* frames cut here (never a return address: the zero page is never mapped) */

struct lp_stack_ent {
    uint32_t n;
    uint64_t w[];
};

#define LP_HOLDER_SAMPLES 16

/* A thread's stacks. One writer (the thread); the dump reads `stacks` and the counters concurrently. */
struct lp_stack_thread {
    struct lp_map stacks;   /* stack hash → struct lp_stack_ent */
    void *cache;            /* recent (Python position, stack pointer) → stack hash */
    _Atomic int unwinding;  /* inside libunwind: a fork now would copy libunwind's locks held */
    _Atomic uint64_t n_dropped; /* stacks not kept for lack of memory */
    struct {
        uintptr_t lock;
        uint64_t hash, at_ns;
        unsigned since; /* releases since the clock was last looked at */
        uintptr_t stamp_lock;
        uint64_t stamp_ns;   /* start of the current window of stamped releases */
        unsigned stamped;    /* releases that stamped their waiters in that window */
    } holder[LP_HOLDER_SAMPLES]; /* the holder stack this thread last captured per lock (direct-mapped) */
    _Atomic uint64_t n_holder_captured, n_holder_reused; /* releases that woke a waiter: fresh stack, or not */
    _Atomic uint64_t n_holder_skipped; /* releases with waiters that stamped nothing (lp_stack_release_due) */
};

/* Where Python frames come from (py/frames.c), handed over by the CPython layer at start-up. */
struct lp_pyframes_source {
    /* the calling thread's Python frames, innermost first, two words each; seg_end[i] = frames in segments 0..i,
     * one segment per eval-loop activation on the native stack */
    unsigned (*stack)(struct lp_thread *t, uint64_t *words, unsigned max_frames, unsigned *seg_end,
                      unsigned *n_seg);
    int (*is_eval_pc)(uintptr_t pc); /* a native return address inside the interpreter's eval loop */
};
void lp_stack_set_python(const struct lp_pyframes_source *src);

/* Captures, interns and returns the hash of the current stack (0 when nothing could be captured).
 * `leaf`, when not NULL, is a code address prepended as the innermost frame (the CPython function a
 * patched hook replaced). `site`, when known, is the return address of the hooked call.
 *
 * Stack cache (LOCKPROF_STACK_CACHE, on by default): in a Python thread, the native part of a stack is reused
 * for a later event with the same Python frames (code and line), the same leaf and site, and the same stack
 * pointer at the capture point, which skips the native unwind for repeated events at one place. Two different
 * native paths between the same Python line and the same site with exactly the same total frame size would be
 * conflated; that is the price of the cache. */
uint64_t lp_stack_capture(struct lp_thread *t, const void *leaf, uintptr_t site);

/* Holder stacks (docs/DESIGN.md "The waiter registry and holder stacks"). A thread that releases a lock somebody
 * waits for stamps the stack it last captured releasing that lock (lp_stack_holder_last; 0 when none yet), which
 * sets *due when a fresh one is due: none yet, or none captured in the last LOCKPROF_HOLDER_INTERVAL_US (the coarse
 * clock, a few ms resolution, looked at every 16 releases). Then, after the release, lp_stack_holder_capture takes
 * it. So a hot lock costs at most one unwind per thread and interval, and never while the lock is held. */
uint64_t lp_stack_holder_last(struct lp_thread *t, uintptr_t lock, int *due);
uint64_t lp_stack_holder_capture(struct lp_thread *t, uintptr_t lock);
/* Whether this release of `lock`, made while somebody waits for it, stamps its waiters at all. On a hot lock the
 * stamping itself (the registry's slots of the waiters, written by every release) slows the program's lock down, so
 * each thread stamps at most LP_STAMPS_PER_WINDOW releases of a lock per window of LOCKPROF_HOLDER_INTERVAL_US (and
 * at least one tick of the coarse clock); the others are counted (skipped) and their waiters keep what an earlier
 * release stamped, or have no holder. A lock released with waiters less often than that is never sampled, and with
 * LOCKPROF_HOLDER_INTERVAL_US=0 no release is. */
#define LP_STAMPS_PER_WINDOW 8
int lp_stack_release_due(struct lp_thread *t, uintptr_t lock);
/* Sums of the counters above over all threads (for the profile's metadata). */
void lp_stack_holder_counts(uint64_t *captured, uint64_t *reused, uint64_t *skipped);

/* lockprof's own waits (docs/DESIGN.md "lockprof's own waits"): libunwind takes pthread mutexes of its own while it
 * unwinds (with Debian's build, a global cache lock at every unwind step and its memory pools' locks), which reach
 * lockprof's hooks re-entrantly and pass through unrecorded; two threads capturing stacks at once may block there.
 * lp_stack_unwinding_here says whether the calling thread is inside libunwind for lockprof, and
 * lp_stack_own_wait_lock takes such a mutex, counting the waits and their time (so do the waits for another thread
 * initialising libunwind); lp_stack_own_waits reads the totals for the profile (self_waits, self_wait_ns). */
extern LP_TLS int lp_stack_in_unwind;
static inline int lp_stack_unwinding_here(void) { return lp_stack_in_unwind; }
int lp_stack_own_wait_lock(pthread_mutex_t *m);
void lp_stack_own_waits(uint64_t *n, uint64_t *ns);

/* Called by the pipe2() forwarder after every successful call: when the calling thread is initialising libunwind,
 * moves the new pipe to the top of the descriptor table (see stack.c); otherwise does nothing. */
void lp_stack_after_pipe2(int fds[2], int flags);

/* Code ranges never shown in stacks (lockprof itself and its trampolines). */
void lp_stack_hide_range(uintptr_t lo, uintptr_t hi);

/* Called while the process is single-threaded (constructor, fork child): prepares the descriptor table for
 * libunwind's pipe (see stack.c). */
void lp_stack_init(void);

/* Fork handlers. Before a fork, no new unwind starts and the forking thread waits (up to 100 ms) for the ones
 * in progress: libunwind's locks must not be copied held into the child. Called first in the child, while the
 * parent's thread states are still listed: if some thread was inside libunwind all the same, its locks are held
 * in the child for good, and native stacks are turned off in the child (one warning) rather than deadlock its
 * first capture. */
void lp_stack_before_fork(void);
void lp_stack_after_fork_parent(void);
void lp_stack_after_fork_child(void);

#endif
