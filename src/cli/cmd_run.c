/* cmd_run.c — `lockprof run`: checks the options (numeric ranges of the collector) and the output location
 * (run_output.c) before anything starts, runs a command with the collector preloaded, waits for it, lists the
 * profiles its processes wrote (they announce themselves in a manifest file; run_output.c finds those that
 * could not) and prints the top contended locks, or the reason when no profile appeared. Exits with the
 * command's status (128+N when it died of signal N; 127/126 when it could not be started). */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "run_output.h"
#include "util.h"

static const char usage[] =
    "usage: lockprof run [options] -- COMMAND [ARGS...]\n"
    "\n"
    "Runs COMMAND with liblockprof.so preloaded (prepended to any existing LD_PRELOAD). Every process of\n"
    "the command (forked and exec'd children included) writes its own profile; the paths and a summary\n"
    "of the top contended locks are printed to stderr at the end.\n"
    "\n"
    "  -o, --output PATH      profile path; %p becomes the pid (default lockprof.%p.prof, in the directory\n"
    "                         lockprof run starts in). Without %p, the started process writes PATH and every\n"
    "                         other process PATH.<pid>. An existing directory, or PATH ending in '/', means\n"
    "                         DIR/lockprof.%p.prof. Missing directories are created; a location that cannot\n"
    "                         be written, a FIFO or device at PATH, %p in a directory or a control character\n"
    "                         in PATH is an error before COMMAND starts\n"
    "  --interval SECONDS     also write the profile every SECONDS, 0 to 1000000 (0 = off; fractions allowed)\n"
    "  --native-depth N       native frames per stack, 0 to 128 (default 48, 0 = Python frames only)\n"
    "  --py-depth N           Python frames per stack, 0 to 256 (default 128, 0 = none)\n"
    "  --sample N             record 1 in N contention events, 1 to 1000000000; reports scale by N (default 1)\n"
    "  --min-wait-ns NS       record only waits of at least NS, 0 to 4000000000; shorter ones are only counted\n"
    "  --timeline[=N]         keep the last N events per thread with timestamps, 16 to 16777216 (default 65536)\n"
    "  --no-python            no CPython awareness (native view only)\n"
    "  --no-patch             do not patch CPython's lock slow paths (libc-level view only)\n"
    "  --no-holders           do not capture holder stacks\n"
    "  --no-summary           do not print the summary\n"
    "  -q, --quiet            no collector warnings\n"
    "\n"
    "A value out of range or malformed, in an option or in the LOCKPROF_* variable it sets, is an error (exit 2)\n"
    "before COMMAND starts.\n"
    "Sanitizer runtimes at the head of LD_PRELOAD (e.g. libasan.so, to profile an ASan-built program) stay\n"
    "first; the collector goes right after them.\n"
    "Environment: LOCKPROF_LIB overrides the collector's path. Options map to the LOCKPROF_* variables\n"
    "listed in the README; variables already set in the environment are kept unless an option overrides.\n"
    "\n"
    "Exit status: COMMAND's; 128+N when it was killed by signal N (said on stderr); 127 when it was not found\n"
    "and 126 when it could not be executed (the reason on stderr); 2 for a bad option or output location.\n"
    "When no profile appears, the last line says why (the command killed, the output location not writable,\n"
    "a static or set-user-ID executable, ...).\n";

static pid_t child;

static void forward(int sig)
{
    if (child > 0)
        kill(child, sig);
}

static int file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* The collector: $LOCKPROF_LIB, next to this executable (build tree), or the install libdir. */
static char *find_library(void)
{
    const char *env = getenv("LOCKPROF_LIB");
    if (env && *env) {
        if (file_exists(env))
            return realpath(env, NULL);
        die_msg("LOCKPROF_LIB=%s does not exist", env);
        return NULL;
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = 0;
        char *slash = strrchr(self, '/');
        if (slash) {
            char cand[PATH_MAX + 64];
            *slash = 0;
            snprintf(cand, sizeof cand, "%s/liblockprof.so", self);
            if (file_exists(cand))
                return realpath(cand, NULL);
        }
    }
    char cand[PATH_MAX];
    snprintf(cand, sizeof cand, "%s/liblockprof.so", LOCKPROF_LIBDIR);
    if (file_exists(cand))
        return realpath(cand, NULL);
    die_msg("cannot find liblockprof.so (looked next to the lockprof executable and in %s); set LOCKPROF_LIB",
            LOCKPROF_LIBDIR);
    return NULL;
}

/* Length of the leading LD_PRELOAD entries that are sanitizer runtimes (ASan and its kin refuse to start unless
 * their runtime is the first library loaded, so the collector goes right after them), separators excluded. */
static size_t sanitizer_prefix(const char *pl)
{
    static const char *const rt[] = {"libasan.so", "libtsan.so", "libhwasan.so", "libclang_rt.asan",
                                     "libclang_rt.tsan", "libclang_rt.hwasan", "libclang_rt.msan"};
    size_t keep = 0, i = 0;
    for (;;) {
        while (pl[i] == ':' || pl[i] == ' ')
            i++;
        size_t len = strcspn(pl + i, ": ");
        if (!len)
            return keep;
        const char *base = pl + i;
        for (size_t j = 0; j < len; j++)
            if (pl[i + j] == '/')
                base = pl + i + j + 1;
        int is_rt = 0; /* (a name never contains the separators, so strncmp stops inside this entry) */
        for (size_t r = 0; r < sizeof rt / sizeof *rt; r++)
            is_rt |= strncmp(base, rt[r], strlen(rt[r])) == 0;
        if (!is_rt)
            return keep;
        i += len;
        keep = i;
    }
}

/* ---- options ------------------------------------------------------------------------------------------ */

enum { O_INTERVAL = 256, O_NDEPTH, O_PDEPTH, O_SAMPLE, O_MINWAIT, O_TIMELINE, O_NOPY, O_NOPATCH, O_NOHOLD, O_NOSUM };

/* The numeric settings and exactly the ranges the collector accepts (src/collect/config.c, lp_config_load): a
 * value outside them would be replaced by the default in every process, with a warning each. */
static const struct num_opt {
    int id;
    const char *opt, *var;
    int real; /* seconds, fractions allowed; else a decimal integer */
    double lo, hi;
} num_opts[] = {
    {O_INTERVAL, "--interval", "LOCKPROF_INTERVAL", 1, 0, 1e6},
    {O_NDEPTH, "--native-depth", "LOCKPROF_NATIVE_DEPTH", 0, 0, 128},  /* LP_MAX_NATIVE_DEPTH */
    {O_PDEPTH, "--py-depth", "LOCKPROF_PY_DEPTH", 0, 0, 256},          /* LP_MAX_PY_DEPTH */
    {O_SAMPLE, "--sample", "LOCKPROF_SAMPLE", 0, 1, 1e9},
    {O_MINWAIT, "--min-wait-ns", "LOCKPROF_MIN_WAIT_NS", 0, 0, 4e9},
    {O_TIMELINE, "--timeline", "LOCKPROF_TIMELINE_SIZE", 0, 16, 16777216},
};
#define N_NUM_OPTS (sizeof num_opts / sizeof num_opts[0])

/* Whether val is a valid value of o: decimal digits only for integers; for seconds a decimal number (digits,
 * at most one '.', an optional exponent), and not so small that it would round to 0 ns (which means off). */
static int num_valid(const struct num_opt *o, const char *val)
{
    const char *c = val;
    int digits = 0;
    while (*c >= '0' && *c <= '9')
        c++, digits++;
    if (o->real) {
        if (*c == '.')
            for (c++; *c >= '0' && *c <= '9'; c++)
                digits++;
        if (digits && (*c == 'e' || *c == 'E')) {
            c++;
            if (*c == '+' || *c == '-')
                c++;
            if (!(*c >= '0' && *c <= '9'))
                return 0;
            while (*c >= '0' && *c <= '9')
                c++;
        }
    }
    if (!digits || *c)
        return 0;
    errno = 0;
    double v = o->real ? strtod(val, NULL) : (double)strtoull(val, NULL, 10);
    if (errno == ERANGE && !(o->real && v == 0))
        return 0;
    if (o->real && v > 0 && v * 1e9 < 1)
        return 0;
    return v >= o->lo && v <= o->hi;
}

static int num_check(const struct num_opt *o, const char *val, int from_env)
{
    if (num_valid(o, val))
        return 0;
    struct strbuf v = {0};
    char range[96];
    if (o->real)
        snprintf(range, sizeof range, "a number of seconds from %.0f to %.0f (0 = off, else at least 1 ns)", o->lo,
                 o->hi);
    else
        snprintf(range, sizeof range, "an integer from %.0f to %.0f", o->lo, o->hi);
    if (from_env)
        die_msg("run: %s='%s' in the environment is not valid: it must be %s", o->var, text_esc(&v, val), range);
    else
        die_msg("run: %s needs %s, not '%s'", o->opt, range, text_esc(&v, val));
    sb_free(&v);
    return -1;
}

/* ---- why no profile appeared --------------------------------------------------------------------------- */

/* The file execvp would run for cmd (its PATH search), or NULL. */
static char *resolve_command(const char *cmd)
{
    if (strchr(cmd, '/'))
        return xstrdup(cmd);
    const char *path = getenv("PATH");
    if (!path)
        path = "/bin:/usr/bin";
    for (const char *p = path;;) {
        size_t n = strcspn(p, ":");
        struct strbuf c = {0};
        if (n)
            sb_add(&c, p, n);
        else
            sb_puts(&c, ".");
        sb_printf(&c, "/%s", cmd);
        struct stat st;
        if (stat(c.s, &st) == 0 && S_ISREG(st.st_mode) && access(c.s, X_OK) == 0)
            return c.s;
        sb_free(&c);
        if (!p[n])
            return NULL;
        p += n + 1;
    }
}

/* Why the dynamic loader would not preload the collector into the executable at path, or NULL: set-user-ID or
 * set-group-ID (the loader ignores LD_PRELOAD paths with slashes in secure mode), or no program interpreter
 * (statically linked: there is no loader at all). */
static const char *not_preloadable(const char *path)
{
    struct stat st;
    if (!path || stat(path, &st))
        return NULL;
    if (st.st_mode & (S_ISUID | S_ISGID))
        return "it is set-user-ID or set-group-ID: the dynamic loader ignores LD_PRELOAD for it";
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    Elf64_Ehdr eh;
    const char *why = NULL;
    if (pread(fd, &eh, sizeof eh, 0) == (ssize_t)sizeof eh && !memcmp(eh.e_ident, ELFMAG, SELFMAG) &&
        eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_phentsize == sizeof(Elf64_Phdr) && eh.e_phnum < 4096) {
        int interp = 0;
        for (unsigned i = 0; i < eh.e_phnum; i++) {
            Elf64_Phdr ph;
            if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + i * sizeof ph)) != (ssize_t)sizeof ph)
                break;
            interp |= ph.p_type == PT_INTERP;
        }
        if (!interp && (eh.e_type == ET_EXEC || eh.e_type == ET_DYN))
            why = "it is statically linked: there is no dynamic loader to preload the collector";
    }
    close(fd);
    return why;
}

static void explain_no_profile(const struct run_output *out, const char *cmd, int status)
{
    struct strbuf a = {0}, b = {0};
    int e = run_output_dir_writable(out->dir);
    char *exe = resolve_command(cmd);
    const char *why = not_preloadable(exe);
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        die_msg("run: no profile was written: SIGKILL ends a process before it can write one (--interval SECONDS "
                "writes profiles while the command runs)");
    else if (WIFSIGNALED(status))
        die_msg("run: no profile was written before signal %d ended the command (--interval SECONDS writes "
                "profiles while it runs)", WTERMSIG(status));
    else if (e == ENOENT)
        die_msg("run: no profile was written: the output directory %s was removed during the run",
                text_esc(&a, out->dir));
    else if (e)
        die_msg("run: no profile was written: the output directory %s is not writable (now): %s",
                text_esc(&a, out->dir), strerror(e));
    else if (why)
        die_msg("run: no profile was written: %s: %s", text_esc(&a, exe), why);
    else
        die_msg("run: no profile was written: no process of %s loaded the collector and wrote its profile into %s "
                "(a program that clears LD_PRELOAD for its children, or one that changed its user id and cannot "
                "write there; the collector's warnings above say more)", text_esc(&a, cmd), text_esc(&b, out->dir));
    free(exe);
    sb_free(&a);
    sb_free(&b);
}

/* ---- the command --------------------------------------------------------------------------------------- */

int cmd_run(int argc, char **argv)
{
    static const struct option lo[] = {
        {"output", 1, 0, 'o'},         {"interval", 1, 0, O_INTERVAL},  {"native-depth", 1, 0, O_NDEPTH},
        {"py-depth", 1, 0, O_PDEPTH},  {"sample", 1, 0, O_SAMPLE},      {"min-wait-ns", 1, 0, O_MINWAIT},
        {"timeline", 2, 0, O_TIMELINE}, {"no-python", 0, 0, O_NOPY},    {"no-patch", 0, 0, O_NOPATCH},
        {"no-holders", 0, 0, O_NOHOLD}, {"no-summary", 0, 0, O_NOSUM},  {"quiet", 0, 0, 'q'},
        {"help", 0, 0, 'h'},           {0, 0, 0, 0}};
    const char *output = NULL;
    int summary = 1, c, given[N_NUM_OPTS] = {0};
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+:o:qh", lo, NULL)) != -1) {
        for (size_t i = 0; i < N_NUM_OPTS; i++)
            if (c == num_opts[i].id && optarg) {
                if (num_check(&num_opts[i], optarg, 0))
                    return EXIT_USAGE;
                setenv(num_opts[i].var, optarg, 1);
                given[i] = 1;
            }
        switch (c) {
        case 'o': output = optarg; break;
        case O_INTERVAL: case O_NDEPTH: case O_PDEPTH: case O_SAMPLE: case O_MINWAIT: break;
        case O_TIMELINE: setenv("LOCKPROF_TIMELINE", "1", 1); break;
        case O_NOPY: setenv("LOCKPROF_PYTHON", "0", 1); break;
        case O_NOPATCH: setenv("LOCKPROF_PATCH", "0", 1); break;
        case O_NOHOLD: setenv("LOCKPROF_HOLDERS", "0", 1); break;
        case O_NOSUM: summary = 0; break;
        case 'q': setenv("LOCKPROF_QUIET", "1", 1); break;
        case 'h': fputs(usage, stdout); return EXIT_OK;
        default: return bad_option("run", c, argv);
        }
    }
    if (optind >= argc) {
        die_msg("run: no command given");
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    for (size_t i = 0; i < N_NUM_OPTS; i++) {
        const char *v = getenv(num_opts[i].var);
        if (!given[i] && v && *v && num_check(&num_opts[i], v, 1))
            return EXIT_USAGE;
    }
    const char *env_out = getenv("LOCKPROF_OUTPUT");
    struct run_output out;
    if (run_output_prepare(&out, output ? output : env_out && *env_out ? env_out : "lockprof.%p.prof",
                           output ? "-o" : env_out && *env_out ? "LOCKPROF_OUTPUT" : "the default output"))
        return EXIT_USAGE;
    char *lib = find_library();
    if (!lib) {
        run_output_free(&out);
        return EXIT_USAGE;
    }

    const char *old = getenv("LD_PRELOAD");
    if (!old)
        old = "";
    size_t keep = sanitizer_prefix(old), pl = strlen(lib) + strlen(old) + 3;
    const char *rest = old + keep + strspn(old + keep, ": ");
    char *preload = xmalloc(pl);
    snprintf(preload, pl, "%.*s%s%s%s%s", (int)keep, old, keep ? ":" : "", lib, *rest ? ":" : "", rest);
    setenv("LD_PRELOAD", preload, 1);
    setenv("LOCKPROF_OUTPUT", out.pattern, 1);
    free(lib);
    free(preload);

    const char *tmpdir = getenv("TMPDIR");
    char manifest[PATH_MAX];
    snprintf(manifest, sizeof manifest, "%s/lockprof-manifest-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    int mfd = mkstemp(manifest);
    if (mfd < 0) {
        die_msg("run: cannot create a manifest file in %s: %s", tmpdir && *tmpdir ? tmpdir : "/tmp", strerror(errno));
        run_output_free(&out);
        return EXIT_USAGE;
    }
    setenv("LOCKPROF_MANIFEST", manifest, 1);
    run_output_snapshot(&out);

    /* exec failures come back through a close-on-exec pipe: nothing to read means the exec succeeded */
    int ep[2];
    if (pipe2(ep, O_CLOEXEC)) {
        die_msg("run: pipe: %s", strerror(errno));
        unlink(manifest);
        run_output_free(&out);
        return EXIT_USAGE;
    }
    struct sigaction ign = {.sa_handler = SIG_IGN}, fwd = {.sa_handler = forward}, old_int, old_quit;
    sigemptyset(&ign.sa_mask);
    sigemptyset(&fwd.sa_mask);
    fflush(NULL);
    child = fork();
    if (child < 0) {
        die_msg("run: fork: %s", strerror(errno));
        unlink(manifest);
        run_output_free(&out);
        return EXIT_USAGE;
    }
    if (child == 0) {
        char pid[32];
        snprintf(pid, sizeof pid, "%d", (int)getpid());
        setenv("LOCKPROF_ROOT_PID", pid, 1);
        close(mfd);
        close(ep[0]);
        execvp(argv[optind], argv + optind);
        int e = errno;
        ssize_t w = write(ep[1], &e, sizeof e);
        (void)w;
        _exit(e == ENOENT ? 127 : 126);
    }
    close(ep[1]);
    /* Ctrl-C reaches the whole process group: let the command handle it and report afterwards. */
    sigaction(SIGINT, &ign, &old_int);
    sigaction(SIGQUIT, &ign, &old_quit);
    sigaction(SIGTERM, &fwd, NULL);
    sigaction(SIGHUP, &fwd, NULL);
    sigaction(SIGUSR2, &fwd, NULL);
    int exec_errno = 0;
    ssize_t r;
    while ((r = read(ep[0], &exec_errno, sizeof exec_errno)) < 0 && errno == EINTR)
        ;
    close(ep[0]);
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR)
        ;
    int rc = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 1;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGQUIT, &old_quit, NULL);
    if (r == (ssize_t)sizeof exec_errno) {
        struct strbuf a = {0};
        die_msg("run: cannot execute %s: %s", text_esc(&a, argv[optind]), strerror(exec_errno));
        sb_free(&a);
        close(mfd);
        unlink(manifest);
        run_output_free(&out);
        return exec_errno == ENOENT ? 127 : 126;
    }

    /* The profiles the processes announced, in order, without duplicates; then those that appeared under the
     * output pattern without being announced. */
    FILE *mf = fdopen(mfd, "r");
    char **paths = NULL;
    size_t np = 0, cap = 0;
    char line[PATH_MAX + 2];
    while (mf && fgets(line, sizeof line, mf)) {
        line[strcspn(line, "\n")] = 0;
        int dup = 0;
        for (size_t i = 0; i < np; i++)
            dup |= !strcmp(paths[i], line);
        if (!dup && *line && file_exists(line)) {
            GROWV(paths, cap, np + 1);
            paths[np++] = xstrdup(line);
        }
    }
    if (mf)
        fclose(mf);
    unlink(manifest);
    size_t found = run_output_scan(&out, &paths, &np, &cap);
    struct strbuf esc = {0};
    if (WIFSIGNALED(status))
        die_msg("run: the command was killed by signal %d (SIG%s: %s)", WTERMSIG(status),
                sigabbrev_np(WTERMSIG(status)) ? sigabbrev_np(WTERMSIG(status)) : "?", strsignal(WTERMSIG(status)));
    if (!np) {
        explain_no_profile(&out, argv[optind], status);
    } else {
        fprintf(stderr, "lockprof: %zu profile%s written:", np, np == 1 ? "" : "s");
        for (size_t i = 0; i < np && i < 20; i++)
            fprintf(stderr, " %s", text_esc(&esc, paths[i]));
        fputs(np > 20 ? " ...\n" : "\n", stderr);
        if (found)
            die_msg("note: %zu of them %s found in %s without being announced in lockprof run's list (a process "
                    "that changed its user id cannot append to it)", found, found == 1 ? "was" : "were",
                    text_esc(&esc, out.dir));
        if (summary)
            report_summary(paths, (int)np, 5);
        fprintf(stderr, "lockprof: details: lockprof report %s%s\n", np == 1 ? text_esc(&esc, paths[0]) : "PROFILE...",
                np == 1 ? "" : " (any of the files above)");
    }
    sb_free(&esc);
    for (size_t i = 0; i < np; i++)
        free(paths[i]);
    free(paths);
    run_output_free(&out);
    return rc;
}
