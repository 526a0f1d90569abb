/* output.c — see output.h. */
#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "reader.h"
#include "util.h"

enum { OUT_STDOUT, OUT_NULL, OUT_FILE };

/* ---- removing a named temporary on a terminating signal ------------------------------------------------ */

/* The signals whose default action terminates the process and that it can catch (SIGKILL cannot be: a process
 * killed by it leaves the temporary behind, as every program would). */
static const int term_sigs[] = {SIGHUP,  SIGINT,  SIGQUIT, SIGTERM, SIGPIPE, SIGALRM,  SIGUSR1,
                                SIGUSR2, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF};
#define N_TERM_SIGS (sizeof term_sigs / sizeof term_sigs[0])

static char armed_path[PATH_MAX + 64]; /* the temporary to remove; only read by the handler while armed */
static volatile sig_atomic_t armed;
static struct sigaction saved[N_TERM_SIGS];
static int installed[N_TERM_SIGS];

static void on_term(int sig)
{
    int e = errno;
    if (armed)
        unlink(armed_path);
    /* the default action, with the signal still blocked in this handler: it is delivered as soon as the handler
     * returns, so the process ends exactly as the signal would have ended it (status, core dump) */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, NULL);
    raise(sig);
    errno = e;
}

static void term_sigset(sigset_t *s)
{
    sigemptyset(s);
    for (size_t i = 0; i < N_TERM_SIGS; i++)
        sigaddset(s, term_sigs[i]);
}

/* Arms the handler for `tmp` on every terminating signal the process does not ignore (nohup's SIGHUP stays
 * ignored). */
static void arm(const char *tmp)
{
    snprintf(armed_path, sizeof armed_path, "%s", tmp);
    armed = 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    term_sigset(&sa.sa_mask); /* one cleanup at a time */
    for (size_t i = 0; i < N_TERM_SIGS; i++) {
        struct sigaction cur;
        installed[i] = 0;
        if (sigaction(term_sigs[i], NULL, &cur) || cur.sa_handler == SIG_IGN)
            continue;
        if (sigaction(term_sigs[i], &sa, &saved[i]) == 0)
            installed[i] = 1;
    }
}

static void disarm(void)
{
    armed = 0;
    for (size_t i = 0; i < N_TERM_SIGS; i++)
        if (installed[i]) {
            sigaction(term_sigs[i], &saved[i], NULL);
            installed[i] = 0;
        }
}

/* ---- opening ------------------------------------------------------------------------------------------- */

static int is_null_device(const struct stat *st) { return S_ISCHR(st->st_mode) && st->st_rdev == makedev(1, 3); }

static void reset(struct out *o)
{
    free(o->path);
    free(o->tmp);
    memset(o, 0, sizeof *o);
}

int out_open(struct out *o, const char *path)
{
    memset(o, 0, sizeof *o);
    if (!path || !strcmp(path, "-")) {
        o->f = stdout;
        o->kind = OUT_STDOUT;
        return 0;
    }
    struct strbuf esc = {0};
    const char *shown = text_esc(&esc, path);
    struct stat st;
    if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        if (is_null_device(&st)) {
            int fd = open(path, O_WRONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
            struct stat fst;
            if (fd >= 0 && fstat(fd, &fst) == 0 && is_null_device(&fst) && (o->f = fdopen(fd, "w"))) {
                o->kind = OUT_NULL;
                sb_free(&esc);
                return 0;
            }
            if (fd >= 0)
                close(fd);
            die_msg("cannot write %s: %s", shown, errno ? strerror(errno) : "not the null device");
        } else if (S_ISLNK(st.st_mode)) {
            die_msg("cannot write %s: it is a symbolic link; lockprof writes only regular files and never through "
                    "a link (give the link's target, or remove the link)", shown);
        } else {
            die_msg("cannot write %s: it is %s, not a regular file (use - for standard output)", shown,
                    lp_file_kind(st.st_mode));
        }
        sb_free(&esc);
        return -1;
    }
    o->kind = OUT_FILE;
    o->path = xstrdup(path);
    size_t n = strlen(path) + 48;
    o->tmp = xmalloc(n);
    snprintf(o->tmp, n, "%s.tmp-%d", path, (int)getpid());
    char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        strcpy(dir, ".");
    else if (slash == dir)
        dir[1] = 0;
    else
        *slash = 0;
    int fd = -1;
    if (access("/proc/self/fd", X_OK) == 0)
        fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
    int e = errno;
    free(dir);
    if (fd < 0 && (e == EOPNOTSUPP || e == EISDIR || e == EINVAL || e == ENOENT)) {
        /* no O_TMPFILE here (or no /proc): a named temporary, removed by a terminating signal. ENOENT also means
         * a missing directory, which the open below reports. */
        sigset_t block, old;
        term_sigset(&block);
        sigprocmask(SIG_BLOCK, &block, &old);
        fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        e = errno;
        if (fd >= 0) {
            o->named = 1;
            arm(o->tmp);
        }
        sigprocmask(SIG_SETMASK, &old, NULL);
    }
    if (fd < 0 || !(o->f = fdopen(fd, "w"))) {
        die_msg("cannot create %s: %s", shown, strerror(fd < 0 ? e : errno));
        if (fd >= 0)
            close(fd);
        if (o->named) {
            unlink(o->tmp);
            disarm();
        }
        reset(o);
        sb_free(&esc);
        return -1;
    }
    sb_free(&esc);
    return 0;
}

/* ---- committing ---------------------------------------------------------------------------------------- */

/* Names the complete data `path` (signals blocked by the caller). Returns 0 or an errno value. */
static int place(struct out *o)
{
    if (!o->named) {
        char proc[64];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", fileno(o->f));
        if (linkat(AT_FDCWD, proc, AT_FDCWD, o->path, AT_SYMLINK_FOLLOW) == 0)
            return 0;
        if (errno != EEXIST)
            return errno;
        /* PATH exists: a temporary name first, then an atomic rename over it (rename replaces a name; it never
         * follows a link that appeared there meanwhile) */
        char *base = xstrdup(o->tmp);
        int e = 0;
        for (int i = 0; i <= 100; i++) {
            if (i)
                snprintf(o->tmp, strlen(base) + 16, "%s-%d", base, i); /* (o->tmp has room: out_open) */
            e = linkat(AT_FDCWD, proc, AT_FDCWD, o->tmp, AT_SYMLINK_FOLLOW) ? errno : 0;
            if (e != EEXIST)
                break;
        }
        free(base);
        if (e)
            return e;
        o->named = 1;
    }
    if (rename(o->tmp, o->path) == 0) {
        o->named = 0;
        return 0;
    }
    int e = errno;
    unlink(o->tmp);
    o->named = 0;
    return e;
}

int out_commit(struct out *o)
{
    if (o->kind == OUT_STDOUT) {
        if (fflush(stdout) || ferror(stdout)) {
            die_msg("writing to standard output: %s", strerror(errno ? errno : EIO));
            return -1;
        }
        return 0;
    }
    if (o->kind == OUT_NULL) {
        int bad = ferror(o->f) | (fclose(o->f) != 0);
        reset(o);
        if (bad)
            die_msg("writing the output failed: %s", strerror(errno ? errno : EIO));
        return bad ? -1 : 0;
    }
    struct strbuf esc = {0};
    int e = 0;
    errno = 0;
    if (fflush(o->f) || ferror(o->f))
        e = errno ? errno : EIO;
    if (!e) {
        sigset_t block, old;
        term_sigset(&block);
        sigprocmask(SIG_BLOCK, &block, &old);
        e = place(o);
        disarm();
        sigprocmask(SIG_SETMASK, &old, NULL);
    }
    if (!e && fclose(o->f)) {
        /* a late write error (network file systems report them here): the placed file may be incomplete */
        e = errno ? errno : EIO;
        unlink(o->path);
    } else if (e) {
        fclose(o->f);
        if (o->named)
            unlink(o->tmp);
        disarm();
    }
    o->f = NULL;
    if (e)
        die_msg("cannot write %s: %s", text_esc(&esc, o->path), strerror(e));
    sb_free(&esc);
    reset(o);
    return e ? -1 : 0;
}

void out_abort(struct out *o)
{
    if (o->kind == OUT_STDOUT) {
        memset(o, 0, sizeof *o);
        return;
    }
    if (o->f)
        fclose(o->f);
    if (o->named)
        unlink(o->tmp);
    disarm();
    reset(o);
}
