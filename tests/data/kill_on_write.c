/* kill_on_write.c — preloaded into the lockprof CLI by tests/integration/test_safety.py to kill it while it writes
 * an output file, deterministically (no timing): the first fwrite() into a regular file opened for writing sends
 * the process the signal $KILL_ON_WRITE_SIGNAL (a number) before any byte is written. With
 * $KILL_ON_WRITE_NO_TMPFILE=1, open() with O_TMPFILE fails with EOPNOTSUPP, as on a file system without it, so
 * the CLI's other way (a named temporary removed by its signal handler) is exercised too. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

size_t fwrite(const void *p, size_t size, size_t n, FILE *f)
{
    static size_t (*real)(const void *, size_t, size_t, FILE *);
    if (!real)
        real = (size_t (*)(const void *, size_t, size_t, FILE *))dlsym(RTLD_NEXT, "fwrite");
    const char *sig = getenv("KILL_ON_WRITE_SIGNAL");
    int fd = fileno(f);
    struct stat st;
    if (sig && fd > 2 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (fcntl(fd, F_GETFL) & O_ACCMODE) != O_RDONLY)
        kill(getpid(), atoi(sig));
    return real(p, size, n, f);
}

static int tmpfile_refused(int flags)
{
    const char *v = getenv("KILL_ON_WRITE_NO_TMPFILE");
    return v && *v == '1' && (flags & O_TMPFILE) == O_TMPFILE;
}

/* Both names, whatever the headers redirect `open` to (_FILE_OFFSET_BITS=64 makes it open64). */
static int forward(const char *name, const char *path, int flags, va_list ap)
{
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE))
        mode = va_arg(ap, mode_t);
    if (tmpfile_refused(flags)) {
        errno = EOPNOTSUPP;
        return -1;
    }
    int (*real)(const char *, int, ...) = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, name);
    return real(path, flags, mode);
}

int kow_open(const char *path, int flags, ...) __asm__("open");
int kow_open(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    int r = forward("open", path, flags, ap);
    va_end(ap);
    return r;
}

int kow_open64(const char *path, int flags, ...) __asm__("open64");
int kow_open64(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    int r = forward("open64", path, flags, ap);
    va_end(ap);
    return r;
}
