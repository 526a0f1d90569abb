/* run_output.c — see run_output.h. */
#include "run_output.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lp_format.h"
#include "reader.h"
#include "util.h"

#define DEFAULT_NAME "lockprof.%p.prof"

struct run_seen {
    char *name;
    dev_t dev;
    ino_t ino;
    uid_t uid;
    struct timespec mtime;
};

/* ---- preparing ----------------------------------------------------------------------------------------- */

int run_output_dir_writable(const char *dir)
{
    int fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    if (fd >= 0) {
        close(fd);
        return 0;
    }
    if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
        return errno;
    /* no O_TMPFILE on this file system: a named probe, removed at once */
    char probe[PATH_MAX];
    if (snprintf(probe, sizeof probe, "%s/.lockprof-probe-XXXXXX", dir) >= (int)sizeof probe)
        return ENAMETOOLONG;
    fd = mkstemp(probe);
    if (fd < 0)
        return errno;
    close(fd);
    unlink(probe);
    return 0;
}

/* mkdir -p: creates the missing directories of `dir` (absolute) with mode 0777 & ~umask. Returns 0 or an errno
 * value, with *where set to the component that failed. */
static int make_dirs(char *dir, const char **where)
{
    *where = dir;
    for (char *p = dir + 1;; p++) {
        if (*p && *p != '/')
            continue;
        char c = *p;
        *p = 0;
        struct stat st;
        int e = 0;
        if (stat(dir, &st) != 0) {
            if (errno != ENOENT || (mkdir(dir, 0777) != 0 && errno != EEXIST))
                e = errno;
            else if (stat(dir, &st) != 0)
                e = errno;
        }
        if (!e && !S_ISDIR(st.st_mode))
            e = ENOTDIR;
        *p = c;
        if (e) {
            *p = 0; /* *where: the prefix that failed */
            return e;
        }
        if (!c)
            return 0;
    }
}

int run_output_prepare(struct run_output *ro, const char *value, const char *from)
{
    memset(ro, 0, sizeof *ro);
    struct strbuf shown = {0}, p = {0};
    text_esc(&shown, value);
    int rc = -1;
    for (const unsigned char *c = (const unsigned char *)value; *c; c++)
        if (*c < 0x20 || *c == 0x7f) {
            die_msg("run: %s %s: the path contains a control character (a newline would break the list of "
                    "profiles); choose another name", from, shown.s);
            goto out;
        }
    if (!*value) {
        die_msg("run: %s is empty", from);
        goto out;
    }
    if (value[0] != '/') {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd)) {
            die_msg("run: cannot resolve the working directory for %s %s: %s", from, shown.s, strerror(errno));
            goto out;
        }
        sb_puts(&p, cwd);
        if (strcmp(cwd, "/"))
            sb_puts(&p, "/");
    }
    sb_puts(&p, value);
    struct stat st;
    if (p.s[p.len - 1] == '/' || (stat(p.s, &st) == 0 && S_ISDIR(st.st_mode))) {
        if (p.s[p.len - 1] != '/')
            sb_puts(&p, "/");
        sb_puts(&p, DEFAULT_NAME); /* a directory: the default name inside it */
    }
    char *slash = strrchr(p.s, '/');
    ro->pattern = xstrdup(p.s);
    ro->base = xstrdup(slash + 1);
    *slash = 0;
    ro->dir = xstrdup(p.len && p.s[0] ? p.s : "/");
    if (strstr(ro->dir, "%p")) {
        die_msg("run: %s %s: %%p may appear in the file name only, not in a directory", from, shown.s);
        goto out;
    }
    if (p.len >= PATH_MAX - 64) {
        die_msg("run: %s %s: the path is too long", from, shown.s);
        goto out;
    }
    const char *where;
    char *dir = xstrdup(ro->dir);
    int e = make_dirs(dir, &where);
    if (e) {
        struct strbuf w = {0};
        die_msg("run: cannot create the output directory %s: %s: %s", text_esc(&shown, ro->dir),
                text_esc(&w, where), strerror(e));
        sb_free(&w);
        free(dir);
        goto out;
    }
    free(dir);
    e = run_output_dir_writable(ro->dir);
    if (e) {
        die_msg("run: cannot write profiles into %s: %s", text_esc(&shown, ro->dir), strerror(e));
        goto out;
    }
    if (!strstr(ro->base, "%p") && stat(ro->pattern, &st) == 0 && !S_ISREG(st.st_mode)) {
        /* (a symbolic link to a regular file is left to the collector, which writes PATH.1 beside it) */
        die_msg("run: %s %s is %s, not a regular file: profiles are files, one per process (give a file name "
                "or a directory)", from, shown.s, lp_file_kind(st.st_mode));
        goto out;
    }
    rc = 0;
out:
    sb_free(&shown);
    sb_free(&p);
    if (rc)
        run_output_free(ro);
    return rc;
}

/* ---- finding the profiles ------------------------------------------------------------------------------ */

/* Whether a file name matches the pattern's file name: each %p one or more digits, then at most two ".N"
 * suffixes (the collector's ".PID" for the other processes of a pattern without %p, and ".N" beside a file it
 * did not write). */
static int matches(const char *pat, const char *name)
{
    while (*pat) {
        if (pat[0] == '%' && pat[1] == 'p') {
            if (!isdigit((unsigned char)*name))
                return 0;
            while (isdigit((unsigned char)*name))
                name++;
            pat += 2;
        } else if (*pat++ != *name++) {
            return 0;
        }
    }
    for (int k = 0; k < 2 && name[0] == '.' && isdigit((unsigned char)name[1]); k++)
        for (name++; isdigit((unsigned char)*name); name++)
            ;
    return *name == 0;
}

static int cmp_seen(const void *a, const void *b)
{
    return strcmp(((const struct run_seen *)a)->name, ((const struct run_seen *)b)->name);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Regular files (not links) in the directory that match the pattern. */
static struct run_seen *list(const struct run_output *ro, size_t *n)
{
    *n = 0;
    DIR *d = opendir(ro->dir);
    if (!d)
        return NULL;
    struct run_seen *v = NULL;
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        struct stat st;
        if (!matches(ro->base, e->d_name) || fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) ||
            !S_ISREG(st.st_mode))
            continue;
        GROWV(v, cap, *n + 1);
        v[(*n)++] = (struct run_seen){xstrdup(e->d_name), st.st_dev, st.st_ino, st.st_uid, st.st_mtim};
    }
    closedir(d);
    if (*n)
        qsort(v, *n, sizeof *v, cmp_seen);
    return v;
}

void run_output_snapshot(struct run_output *ro) { ro->seen = list(ro, &ro->n_seen); }

static int is_profile(const char *path)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    char head[sizeof LP_FORMAT_MAGIC];
    ssize_t r = read(fd, head, sizeof head);
    close(fd);
    return r == (ssize_t)sizeof head && !memcmp(head, LP_FORMAT_MAGIC " ", sizeof head);
}

size_t run_output_scan(struct run_output *ro, char ***paths, size_t *n, size_t *cap)
{
    size_t nv, added = 0, first = *n;
    struct run_seen *v = list(ro, &nv);
    for (size_t i = 0; i < nv; i++) {
        struct run_seen *old = ro->n_seen ? bsearch(&v[i], ro->seen, ro->n_seen, sizeof *v, cmp_seen) : NULL;
        int fresh = !old || old->dev != v[i].dev || old->ino != v[i].ino ||
                    old->mtime.tv_sec != v[i].mtime.tv_sec || old->mtime.tv_nsec != v[i].mtime.tv_nsec;
        struct strbuf full = {0};
        sb_printf(&full, "%s%s%s", ro->dir, strcmp(ro->dir, "/") ? "/" : "", v[i].name);
        int listed = 0;
        for (size_t k = 0; k < *n && !listed; k++)
            listed = !strcmp((*paths)[k], full.s);
        /* a file of lockprof run's own user could have been announced: it is another run's (two runs in one
         * directory at the same time), not one of this run's processes that could not append to the manifest */
        if (fresh && !listed && v[i].uid != geteuid() && is_profile(full.s)) {
            GROWV(*paths, *cap, *n + 1);
            (*paths)[(*n)++] = full.s;
            added++;
        } else {
            sb_free(&full);
        }
        free(v[i].name);
    }
    free(v);
    if (added > 1)
        qsort(*paths + first, added, sizeof **paths, cmp_str);
    return added;
}

void run_output_free(struct run_output *ro)
{
    for (size_t i = 0; i < ro->n_seen; i++)
        free(ro->seen[i].name);
    free(ro->seen);
    free(ro->pattern);
    free(ro->dir);
    free(ro->base);
    memset(ro, 0, sizeof *ro);
}
