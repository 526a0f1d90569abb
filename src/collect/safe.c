/* safe.c — see safe.h. Owns nothing but a per-thread cache of the pid (renewed after fork). */
#define _GNU_SOURCE 1
#include "safe.h"

#include "thread.h"

#include <errno.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

static pid_t self_pid(void)
{
    static _Thread_local pid_t cached;
    static _Thread_local unsigned gen;
    if (!cached || gen != lp_fork_gen) {
        cached = (pid_t)syscall(SYS_getpid);
        gen = lp_fork_gen;
    }
    return cached;
}

int lp_safe_read(void *dst, uintptr_t src, size_t n)
{
    if (!src || src + n < src)
        return -1;
    int e = errno;
    struct iovec local = {dst, n}, remote = {(void *)src, n};
    ssize_t r = process_vm_readv(self_pid(), &local, 1, &remote, 1, 0);
    errno = e;
    return r == (ssize_t)n ? 0 : -1;
}

int lp_safe_ptr(uintptr_t src, uintptr_t *out) { return lp_safe_read(out, src, sizeof *out); }
