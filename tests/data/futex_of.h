/* futex_of.h — for the test programs in tests/data: whether a thread of this process sleeps in futex(), seen the way
 * the kernel reports it (/proc/self/task/TID/syscall: the system call's number, then its arguments in hex). A test
 * program waits for that before it lets another thread go, so that a wait it wants is certain, not likely. */
#ifndef LOCKPROF_TESTS_FUTEX_OF_H
#define LOCKPROF_TESTS_FUTEX_OF_H

#include <stdio.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

/* The futex address thread `tid` sleeps on; 0 when it is not in futex() (or has ended). */
static inline unsigned long futex_of(pid_t tid)
{
    char path[64], buf[256] = {0};
    snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)tid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    unsigned long nr = 0, a0 = 0;
    if (!fgets(buf, sizeof buf, f) || sscanf(buf, "%lu %lx", &nr, &a0) != 2 || nr != SYS_futex)
        a0 = 0;
    fclose(f);
    return a0;
}

static inline int in_futex(pid_t tid) { return futex_of(tid) != 0; }

#endif
