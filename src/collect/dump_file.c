/* dump_file.c — where a profile goes: the output path (LOCKPROF_OUTPUT with %p, and ".<pid>" for processes other
 * than the one `lockprof run` started), an unnamed file that gets its name only when complete (so nobody ever reads
 * half a profile, and a process killed while writing leaves nothing), never replacing a file this process image did
 * not write, a device or FIFO written straight into, and the manifest `lockprof run` reads. Owns the name of the
 * file this image wrote last. System calls only: async-signal-safe. */
#define _GNU_SOURCE 1
#include "dump_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "arena.h"
#include "config.h"
#include "lp.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1
#endif

/* The file this process image wrote last, so the next dump may replace it (and nothing else). */
static char my_final[4200];
static dev_t my_dev;
static ino_t my_ino;
static unsigned tmp_counter;

void lp_dump_file_after_fork_child(void) { my_final[0] = 0; }


static const char *errname(int e)
{
    switch (e) {
    case ENOSPC: return "no space left on device";
    case EDQUOT: return "disk quota exceeded";
    case EACCES: return "permission denied";
    case EROFS: return "read-only file system";
    case ENOENT: return "no such directory";
    case ENOTDIR: return "not a directory";
    case ELOOP: return "path is a symbolic link";
    case EEXIST: return "file exists";
    case EIO: return "I/O error";
    case ENOMEM: return "out of memory";
    default: return "I/O failure";
    }
}

static void warn_errno(const char *what, const char *path, int e)
{
    char msg[4400];
    size_t n = lp_strlcpy(msg, what, sizeof msg);
    n += lp_strlcpy(msg + n, path, sizeof msg - n);
    n += lp_strlcpy(msg + n, ": ", sizeof msg - n);
    lp_strlcpy(msg + n, errname(e), sizeof msg - n);
    lp_warn(msg);
}

static void expand_path(char *out, size_t cap)
{
    const char *t = lp_cfg.output;
    size_t n = 0;
    int had_pid = 0;
    char pid[24];
    *lp_fmt_u64(pid, (uint64_t)getpid()) = 0;
    for (; *t && n + 24 < cap; t++) {
        if (t[0] == '%' && t[1] == 'p') {
            n += lp_strlcpy(out + n, pid, cap - n);
            t++;
            had_pid = 1;
        } else {
            out[n++] = *t;
        }
    }
    out[n] = 0;
    /* Without %p, the process `lockprof run` started writes the path as given; any other process (forked or
     * exec'd children) gets ".<pid>" appended so nobody overwrites anybody. */
    if (!had_pid && lp_cfg.root_pid && lp_cfg.root_pid != (long)getpid() && n + 24 < cap) {
        out[n++] = '.';
        lp_strlcpy(out + n, pid, cap - n);
    }
}

/* The file a dump is written to before it gets its name. Preferably an unnamed file (O_TMPFILE in the target
 * directory, named at the end with linkat through /proc/self/fd): a process killed while writing (a pool worker
 * terminated mid-exit) then leaves nothing behind. Where the file system or a missing /proc does not allow that,
 * a named temporary "<final>.tmp-<pid>-<n>" created with O_EXCL|O_NOFOLLOW, renamed at the end. */
struct outfile {
    int fd;
    int named;        /* the data is (now) under tmp */
    char tmp[4300];
    char proc[40];    /* /proc/self/fd/<fd> while unnamed */
};

static int open_out(struct outfile *o, const char *final)
{
    size_t n = lp_strlcpy(o->tmp, final, sizeof o->tmp - 64);
    memcpy(o->tmp + n, ".tmp-", 5);
    char *p = lp_fmt_u64(o->tmp + n + 5, (uint64_t)getpid());
    *p++ = '-';
    *lp_fmt_u64(p, tmp_counter++) = 0;
    o->named = 0;
    o->fd = -1;
    char dir[4200];
    lp_strlcpy(dir, final, sizeof dir);
    char *slash = strrchr(dir, '/');
    if (!slash)
        lp_strlcpy(dir, ".", sizeof dir);
    else if (slash == dir)
        dir[1] = 0;
    else
        *slash = 0;
    if (access("/proc/self/fd", X_OK) == 0)
        o->fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, lp_cfg.file_mode);
    if (o->fd >= 0) {
        memcpy(o->proc, "/proc/self/fd/", 14);
        *lp_fmt_u64(o->proc + 14, (uint64_t)o->fd) = 0;
        return 0;
    }
    o->fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, lp_cfg.file_mode);
    o->named = 1;
    return o->fd < 0 ? -1 : 0;
}

/* Gives the data the name `path`, never replacing an existing file (EEXIST). */
static int name_out(struct outfile *o, const char *path)
{
    if (!o->named)
        return linkat(AT_FDCWD, o->proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW);
    long r = syscall(SYS_renameat2, AT_FDCWD, o->tmp, AT_FDCWD, path, RENAME_NOREPLACE);
    if (r != 0 && (errno == ENOSYS || errno == EINVAL)) {
        /* No renameat2 on this file system: link() also refuses to replace an existing name. */
        r = link(o->tmp, path);
        if (r == 0)
            unlink(o->tmp);
    }
    return (int)r;
}

/* Closes the file and removes what is left of it (nothing when it was unnamed or has been placed). */
static void discard_out(struct outfile *o)
{
    if (o->fd >= 0)
        close(o->fd);
    o->fd = -1;
    if (o->named)
        unlink(o->tmp);
    o->named = 0;
}

static int place_file(struct outfile *o, const char *final, char *placed, size_t cap)
{
    struct stat st;
    if (my_final[0] && strcmp(final, my_final) == 0 && lstat(final, &st) == 0 && S_ISREG(st.st_mode) &&
        st.st_dev == my_dev && st.st_ino == my_ino) {
        /* Our own earlier dump: replace it atomically (an unnamed file first gets its temporary name). */
        if (!o->named) {
            if (name_out(o, o->tmp))
                return -1;
            o->named = 1;
        }
        if (rename(o->tmp, final) == 0) {
            o->named = 0;
            lp_strlcpy(placed, final, cap);
            return 0;
        }
        return -1;
    }
    for (int i = 0; i < 100; i++) {
        char cand[4200];
        size_t n = lp_strlcpy(cand, final, sizeof cand);
        if (i && n + 8 < sizeof cand) {
            cand[n++] = '.';
            *lp_fmt_u64(cand + n, (uint64_t)i) = 0;
        }
        if (name_out(o, cand) == 0) {
            o->named = 0;
            if (i) {
                char msg[4400];
                size_t k = lp_strlcpy(msg, "a file this process did not write exists at ", sizeof msg);
                k += lp_strlcpy(msg + k, final, sizeof msg - k);
                k += lp_strlcpy(msg + k, "; the profile was written to ", sizeof msg - k);
                lp_strlcpy(msg + k, cand, sizeof msg - k);
                lp_warn(msg);
            }
            lp_strlcpy(placed, cand, cap);
            return 0;
        }
        if (errno != EEXIST)
            return -1;
    }
    errno = EEXIST;
    return -1;
}

static void append_manifest(const char *path)
{
    if (!lp_cfg.manifest[0])
        return;
    int fd = open(lp_cfg.manifest, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return;
    char line[4300];
    size_t n = lp_strlcpy(line, path, sizeof line - 2);
    line[n++] = '\n';
    ssize_t r = write(fd, line, n); /* one write with O_APPEND: lines from concurrent processes never mix */
    (void)r;
    close(fd);
}

/* Gives the data the name `final`, replacing what is there, atomically (an unnamed file first gets its temporary
 * name): a file the program named (lockprof_dump). */
static int replace_at(struct outfile *o, const char *final, char *placed, size_t cap)
{
    if (!o->named) {
        if (name_out(o, o->tmp))
            return -1;
        o->named = 1;
    }
    if (rename(o->tmp, final))
        return -1;
    o->named = 0;
    lp_strlcpy(placed, final, cap);
    return 0;
}

/* Encodes the profile into fd through a 64 KiB buffer of its own; 0 or the error (ENOMEM when no buffer). */
static int encode_into(int fd, void (*fill)(struct lpw *w, void *arg), void *arg)
{
    struct lp_arena a = {0};
    char *buf = lp_arena_alloc(&a, 1u << 16);
    int err = ENOMEM;
    if (buf) {
        struct lpw w;
        lpw_init(&w, fd, buf, 1u << 16);
        fill(&w, arg);
        err = lpw_finish(&w);
    }
    lp_arena_release(&a);
    return err;
}

/* The profile into a character device or FIFO that exists at `final` (/dev/null to discard it, /dev/stdout, a
 * pipe a reader holds open): written straight in, since there is no file to name or replace. Never in the manifest
 * (`lockprof run` reads those back); a FIFO without a reader is an error, not a wait at the host's exit. */
static int write_stream(const char *final, void (*fill)(struct lpw *w, void *arg), void *arg)
{
    int fd = open(final, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (e == ENXIO) {
            char msg[4300];
            size_t n = lp_strlcpy(msg, "profile lost: no process reads the FIFO ", sizeof msg);
            lp_strlcpy(msg + n, final, sizeof msg - n);
            lp_warn(msg);
        } else {
            warn_errno("cannot open the profile's device: ", final, e);
        }
        return e;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    int err = encode_into(fd, fill, arg);
    if (close(fd) && !err)
        err = errno;
    if (err)
        warn_errno("writing the profile failed: ", final, err);
    return err;
}

/* Whether `final` is a character device or FIFO to write into: the node itself, or what a symbolic link owned by
 * root or by this user points to (/dev/stdout, /dev/fd/N). A link somebody else planted is not followed: the path
 * is then a foreign file like any other, and the profile goes beside it. */
static int is_stream(const char *final)
{
    struct stat st;
    if (lstat(final, &st) != 0)
        return 0;
    if (S_ISLNK(st.st_mode) && (st.st_uid == 0 || st.st_uid == geteuid()) && stat(final, &st) != 0)
        return 0;
    return S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode);
}

int lp_dump_file_write(const char *path, char *written, size_t cap, void (*fill)(struct lpw *w, void *arg), void *arg)
{
    char final[4200], placed[4200];
    if (path)
        lp_strlcpy(final, path, sizeof final);
    else
        expand_path(final, sizeof final);
    if (is_stream(final)) {
        int e = write_stream(final, fill, arg);
        if (!e && written)
            lp_strlcpy(written, final, cap);
        return e;
    }
    struct outfile o;
    if (open_out(&o, final)) {
        int e = errno;
        warn_errno("cannot create the profile ", o.tmp, e);
        return e;
    }
    int err = encode_into(o.fd, fill, arg);
    struct stat st;
    if (!err && fstat(o.fd, &st))
        err = errno;
    if (err) {
        discard_out(&o);
        warn_errno("writing the profile failed, profile lost: ", final, err);
        return err;
    }
    if (path ? replace_at(&o, final, placed, sizeof placed) : place_file(&o, final, placed, sizeof placed)) {
        int e = errno;
        discard_out(&o);
        warn_errno("cannot put the profile in place: ", final, e);
        return e;
    }
    if (close(o.fd)) {
        /* a late write error (network file systems report them here): the file may be incomplete, and a reader
         * must never see that */
        int e = errno;
        unlink(placed);
        warn_errno("writing the profile failed, profile lost: ", placed, e);
        return e;
    }
    if (written)
        lp_strlcpy(written, placed, cap);
    if (path)
        return 0; /* the caller's own file: not the output this process replaces next time, not listed */
    int fresh = strcmp(placed, my_final) != 0;
    lp_strlcpy(my_final, placed, sizeof my_final);
    my_dev = st.st_dev;
    my_ino = st.st_ino;
    if (fresh)
        append_manifest(placed);
    return 0;
}
