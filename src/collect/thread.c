/* thread.c — see thread.h. Calls nothing above it: upper layers register what must happen at a thread's exit. */
#define _GNU_SOURCE 1
#include "thread.h"

#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "real.h"

LP_TLS struct lp_tls lp_tls;
_Atomic unsigned lp_fork_gen;
_Atomic uint64_t lp_self_contentions;

static struct lp_thread *_Atomic all_head;
static struct lp_thread *free_head; /* guarded by free_lock */
static _Atomic int free_lock;
static pthread_key_t exit_key;
static int have_key;
static void (*exit_fns[4])(struct lp_thread *t);
static int n_exit_fns;

void lp_spin_lock(_Atomic int *l)
{
    if (!atomic_exchange_explicit(l, 1, memory_order_acquire))
        return;
    atomic_fetch_add_explicit(&lp_self_contentions, 1, memory_order_relaxed);
    while (atomic_exchange_explicit(l, 1, memory_order_acquire))
        lp_real_sched_yield();
}

void lp_spin_unlock(_Atomic int *l) { atomic_store_explicit(l, 0, memory_order_release); }

uint64_t lp_gettid(void)
{
    if (!lp_tls.tid || lp_tls.gen != atomic_load_explicit(&lp_fork_gen, memory_order_relaxed))
        lp_tls.tid = (uint64_t)syscall(SYS_gettid);
    return lp_tls.tid;
}

void lp_thread_on_exit(void (*fn)(struct lp_thread *t))
{
    if (n_exit_fns < (int)(sizeof exit_fns / sizeof exit_fns[0]))
        exit_fns[n_exit_fns++] = fn;
}

static void on_thread_exit(void *arg)
{
    struct lp_thread *t = arg;
    int ours = t && lp_tls.gen == atomic_load(&lp_fork_gen);
    if (ours && lp_guard_enter()) {
        for (int i = 0; i < n_exit_fns; i++)
            exit_fns[i](t);
        lp_guard_leave();
    }
    lp_tls.exiting = 1;
    if (!ours)
        return;
    atomic_store(&t->alive, 0);
    lp_spin_lock(&free_lock);
    t->next_free = free_head;
    free_head = t;
    lp_spin_unlock(&free_lock);
}

/* glibc keeps each thread's kernel tid in its descriptor (struct pthread, nptl/descr.h `tid`: 720 bytes in, glibc
 * 2.36 x86-64). Used only once checked against the calling thread, and only for a descriptor known to be alive. */
#define GLIBC_TID_OFFSET 720
static int tid_offset_ok;

void lp_thread_init(void)
{
    if (!have_key && pthread_key_create(&exit_key, on_thread_exit) == 0)
        have_key = 1;
    tid_offset_ok = *(const int *)((const char *)pthread_self() + GLIBC_TID_OFFSET) == (int)syscall(SYS_gettid);
}

uint64_t lp_thread_tid_of_live(uint64_t pthread)
{
    uint64_t tid = lp_thread_tid_of(pthread);
    if (!tid && tid_offset_ok && pthread) {
        int v = __atomic_load_n((const int *)((const char *)(uintptr_t)pthread + GLIBC_TID_OFFSET), __ATOMIC_RELAXED);
        tid = v > 0 ? (uint64_t)v : 0; /* glibc clears it when the thread has exited */
    }
    return tid;
}

void lp_thread_after_fork_child(void)
{
    /* Only the forking thread survives; the parent's data belongs to the parent's profile. The old states are
     * simply forgotten (their pages are the parent's copy-on-write memory). */
    atomic_fetch_add(&lp_fork_gen, 1);
    atomic_store(&all_head, NULL);
    free_head = NULL;
    atomic_store(&free_lock, 0);
    lp_tls.self = NULL;
    lp_tls.tid = 0;
    lp_tls.gen = atomic_load(&lp_fork_gen);
    if (have_key)
        pthread_setspecific(exit_key, NULL);
}

struct lp_thread *lp_thread_all(void) { return atomic_load_explicit(&all_head, memory_order_acquire); }

static struct lp_thread *fresh_state(void)
{
    struct lp_thread *t = NULL;
    lp_spin_lock(&free_lock);
    if (free_head) {
        t = free_head;
        free_head = t->next_free;
    }
    lp_spin_unlock(&free_lock);
    if (t)
        return t; /* recycled: keeps its tables (entries carry the tid of the thread that recorded them) */
    struct lp_arena a = {0};
    t = lp_arena_alloc(&a, sizeof *t);
    if (!t)
        return NULL;
    t->arena = a;
    struct lp_thread *head = atomic_load(&all_head);
    do {
        t->next_all = head;
    } while (!atomic_compare_exchange_weak(&all_head, &head, t));
    return t;
}

struct lp_thread *lp_thread_self(void)
{
    unsigned gen = atomic_load_explicit(&lp_fork_gen, memory_order_relaxed);
    if (LP_LIKELY(lp_tls.self && lp_tls.gen == gen))
        return lp_tls.self;
    if (lp_tls.exiting)
        return NULL;
    lp_tls.gen = gen;
    lp_tls.self = NULL;
    lp_tls.tid = 0;
    struct lp_thread *t = fresh_state();
    if (!t)
        return NULL;
    atomic_store(&t->tid, lp_gettid());
    struct lp_owner *o = lp_arena_alloc(&t->arena, sizeof *o);
    if (o) {
        o->tid = t->tid;
        o->pthread = (uint64_t)pthread_self();
        prctl(PR_GET_NAME, o->name, 0, 0, 0);
        o->next = atomic_load(&t->owners);
        atomic_store_explicit(&t->owners, o, memory_order_release);
    }
    atomic_store(&t->alive, 1);
    if (have_key)
        pthread_setspecific(exit_key, t);
    lp_tls.self = t;
    return t;
}

uint64_t lp_thread_tid_of(uint64_t pthread)
{
    uint64_t tid = 0;
    /* the newest owner wins: a pthread_t is reused once its thread is joined */
    for (struct lp_thread *t = lp_thread_all(); t; t = t->next_all)
        for (struct lp_owner *o = atomic_load_explicit(&t->owners, memory_order_acquire); o; o = o->next)
            if (o->pthread == pthread && atomic_load(&t->alive) && o == atomic_load(&t->owners))
                tid = o->tid;
    return tid;
}

const char *lp_intern(struct lp_thread *t, const char *s, size_t n)
{
    uint64_t h = lp_hash_bytes(s, n) | 1;
    const char *c = lp_map_get(&t->strs, h);
    if (c)
        return c;
    char *d = lp_arena_strdup(&t->arena, s, n);
    if (!d || lp_map_put(&t->strs, &t->arena, h, d))
        return NULL;
    return d;
}
