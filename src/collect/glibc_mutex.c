/* glibc_mutex.c — deciding whether lockprof may lock default mutexes in place (see glibc_mutex.h), and the
 * futex wake of the in-place unlock. */
#define _GNU_SOURCE 1
#include "glibc_mutex.h"

#include <dlfcn.h>
#include <link.h>
#include <errno.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "real.h"

_Atomic int lp_glibc_mutex_on;
static const char *why_off = "0: not started";

const char *lp_glibc_mutex_state(void) { return atomic_load(&lp_glibc_mutex_on) ? "1" : why_off; }

void lp_glibc_mutex_wake(pthread_mutex_t *m)
{
    int e = errno;
    syscall(SYS_futex, &m->__data.__lock, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1, NULL, NULL, 0);
    errno = e;
}

/* The real functions are libc's own (libpthread's before glibc 2.34), not another interposer's that must see every
 * call. The loader's list of objects, not dladdr: dladdr also searches the object's symbol table for the nearest
 * name, about 10 µs per call in libc, paid by every process at start-up. */
struct in_libc {
    uintptr_t addr[3];
    int libc[3]; /* 1: inside a loaded segment of libc.so or libpthread.so; 0: elsewhere or nowhere */
};

static int note_libc(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    struct in_libc *q = arg;
    const char *name = info->dlpi_name ? info->dlpi_name : "";
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    int is_libc = strncmp(base, "libc.so", 7) == 0 || strncmp(base, "libpthread.so", 13) == 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
        for (int k = 0; k < 3; k++)
            if (q->addr[k] >= lo && q->addr[k] < hi)
                q->libc[k] = is_libc;
    }
    return 0;
}

static int from_libc(void *lock, void *unlock, void *trylock)
{
    struct in_libc q = {{(uintptr_t)lock, (uintptr_t)unlock, (uintptr_t)trylock}, {0, 0, 0}};
    if (!lock || !unlock || !trylock)
        return 0;
    dl_iterate_phdr(note_libc, &q);
    return q.libc[0] && q.libc[1] && q.libc[2];
}

static int fields_are(const pthread_mutex_t *m, int lock, int owner, unsigned nusers)
{
    return m->__data.__lock == lock && m->__data.__owner == owner && m->__data.__nusers == nusers &&
           m->__data.__kind == 0 && m->__data.__count == 0;
}

/* Runs the real functions and lockprof's in-place ones on a private mutex, in every combination one thread can
 * observe, and checks that each leaves the fields the other expects. A libc that stores anything else (another
 * layout, a forced elision flag, an owner that is not the kernel tid) fails here and keeps every call in libc. */
static const char *protocol_differs(void)
{
    int tid = (int)lp_gettid();
    pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b;
    if (pthread_mutex_init(&b, NULL) != 0 || memcmp(&a, &b, sizeof a) != 0 || !fields_are(&a, 0, 0, 0))
        return "0: a default mutex is not all zeroes";
    if (lp_real_pthread_mutex_lock(&a) != 0 || !fields_are(&a, 1, tid, 1))
        return "0: libc's lock stores other fields";
    if (lp_real_pthread_mutex_trylock(&a) != EBUSY || lp_real_pthread_mutex_unlock(&a) != 0 ||
        !fields_are(&a, 0, 0, 0))
        return "0: libc's unlock stores other fields";
    if (!lp_glibc_mutex_trylock(&a) || !fields_are(&a, 1, tid, 1) || lp_real_pthread_mutex_trylock(&a) != EBUSY)
        return "0: libc does not see lockprof's lock";
    if (lp_real_pthread_mutex_unlock(&a) != 0 || !fields_are(&a, 0, 0, 0) || lp_real_pthread_mutex_trylock(&a) != 0)
        return "0: libc cannot release lockprof's lock";
    if (lp_glibc_mutex_trylock(&a) || lp_glibc_mutex_unlock(&a) != 0 || !fields_are(&a, 0, 0, 0))
        return "0: lockprof cannot release libc's lock";
    return NULL;
}

void lp_glibc_mutex_init(int wanted)
{
    atomic_store(&lp_glibc_mutex_on, 0);
    if (!wanted) {
        why_off = "0: LOCKPROF_MUTEX_FAST_PATH=0";
        return;
    }
    if (!from_libc((void *)lp_real_pthread_mutex_lock, (void *)lp_real_pthread_mutex_unlock,
                   (void *)lp_real_pthread_mutex_trylock)) {
        why_off = "0: pthread_mutex_lock/unlock after lockprof are not libc's";
        lp_warn("another library interposes pthread_mutex_lock/unlock after lockprof; every call goes to it");
        return;
    }
    why_off = protocol_differs();
    if (why_off) {
        lp_warn2("uncontended locks go through libc (slower): ", why_off + 3);
        return;
    }
    atomic_store(&lp_glibc_mutex_on, 1);
}
