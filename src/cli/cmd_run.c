/* cmd_run.c — `lockprof run`: runs a command with the collector preloaded, waits for it, lists the profiles its
 * processes wrote (they announce themselves in a manifest file) and prints the top contended locks. Exits with
 * the command's status (128+N when it died of signal N; 127/126 when it could not be started). */
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
#include "util.h"

static const char usage[] =
    "usage: lockprof run [options] -- COMMAND [ARGS...]\n"
    "\n"
    "Runs COMMAND with liblockprof.so preloaded (prepended to any existing LD_PRELOAD). Every process of\n"
    "the command (forked and exec'd children included) writes its own profile; the paths and a summary\n"
    "of the top contended locks are printed to stderr at the end.\n"
    "\n"
    "  -o, --output PATH      profile path; %p becomes the pid (default lockprof.%p.prof). Without %p, the\n"
    "                         started process writes PATH and every other process PATH.<pid>\n"
    "  --interval SECONDS     also write the profile every SECONDS (long-running services)\n"
    "  --native-depth N       native frames per stack (default 48, 0 = Python frames only)\n"
    "  --py-depth N           Python frames per stack (default 128, 0 = none)\n"
    "  --sample N             record 1 in N contention events; reports scale by N (default 1)\n"
    "  --min-wait-ns NS       record only waits of at least NS; shorter ones are only counted\n"
    "  --timeline[=N]         keep the last N events per thread with timestamps (default 65536)\n"
    "  --no-python            no CPython awareness (native view only)\n"
    "  --no-patch             do not patch CPython's lock slow paths (libc-level view only)\n"
    "  --no-holders           do not capture holder stacks\n"
    "  --no-summary           do not print the summary\n"
    "  -q, --quiet            no collector warnings\n"
    "\n"
    "Sanitizer runtimes at the head of LD_PRELOAD (e.g. libasan.so, to profile an ASan-built program) stay\n"
    "first; the collector goes right after them.\n"
    "Environment: LOCKPROF_LIB overrides the collector's path. Options map to the LOCKPROF_* variables\n"
    "listed in the README; variables already set in the environment are kept unless an option overrides.\n";

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

static int set_env_checked(const char *var, const char *opt, const char *val, int numeric)
{
    if (numeric) {
        char *end;
        errno = 0;
        double d = strtod(val, &end);
        if (!*val || *end || errno || d < 0) {
            die_msg("run: %s needs a non-negative number, got '%s'", opt, val);
            return -1;
        }
    }
    setenv(var, val, 1);
    return 0;
}

int cmd_run(int argc, char **argv)
{
    enum { O_INTERVAL = 256, O_NDEPTH, O_PDEPTH, O_SAMPLE, O_MINWAIT, O_TIMELINE, O_NOPY, O_NOPATCH, O_NOHOLD,
           O_NOSUM };
    static const struct option lo[] = {
        {"output", 1, 0, 'o'},         {"interval", 1, 0, O_INTERVAL},  {"native-depth", 1, 0, O_NDEPTH},
        {"py-depth", 1, 0, O_PDEPTH},  {"sample", 1, 0, O_SAMPLE},      {"min-wait-ns", 1, 0, O_MINWAIT},
        {"timeline", 2, 0, O_TIMELINE}, {"no-python", 0, 0, O_NOPY},    {"no-patch", 0, 0, O_NOPATCH},
        {"no-holders", 0, 0, O_NOHOLD}, {"no-summary", 0, 0, O_NOSUM},  {"quiet", 0, 0, 'q'},
        {"help", 0, 0, 'h'},           {0, 0, 0, 0}};
    const char *output = NULL;
    int summary = 1, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+:o:qh", lo, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'o': output = optarg; break;
        case O_INTERVAL: bad = set_env_checked("LOCKPROF_INTERVAL", "--interval", optarg, 1); break;
        case O_NDEPTH: bad = set_env_checked("LOCKPROF_NATIVE_DEPTH", "--native-depth", optarg, 1); break;
        case O_PDEPTH: bad = set_env_checked("LOCKPROF_PY_DEPTH", "--py-depth", optarg, 1); break;
        case O_SAMPLE: bad = set_env_checked("LOCKPROF_SAMPLE", "--sample", optarg, 1); break;
        case O_MINWAIT: bad = set_env_checked("LOCKPROF_MIN_WAIT_NS", "--min-wait-ns", optarg, 1); break;
        case O_TIMELINE:
            setenv("LOCKPROF_TIMELINE", "1", 1);
            if (optarg)
                bad = set_env_checked("LOCKPROF_TIMELINE_SIZE", "--timeline", optarg, 1);
            break;
        case O_NOPY: setenv("LOCKPROF_PYTHON", "0", 1); break;
        case O_NOPATCH: setenv("LOCKPROF_PATCH", "0", 1); break;
        case O_NOHOLD: setenv("LOCKPROF_HOLDERS", "0", 1); break;
        case O_NOSUM: summary = 0; break;
        case 'q': setenv("LOCKPROF_QUIET", "1", 1); break;
        case 'h': fputs(usage, stdout); return EXIT_OK;
        default: return bad_option("run", c, argv);
        }
        if (bad)
            return EXIT_USAGE;
    }
    if (optind >= argc) {
        die_msg("run: no command given");
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    char *lib = find_library();
    if (!lib)
        return EXIT_USAGE;

    const char *old = getenv("LD_PRELOAD");
    if (!old)
        old = "";
    size_t keep = sanitizer_prefix(old), pl = strlen(lib) + strlen(old) + 3;
    const char *rest = old + keep + strspn(old + keep, ": ");
    char *preload = xmalloc(pl);
    snprintf(preload, pl, "%.*s%s%s%s%s", (int)keep, old, keep ? ":" : "", lib, *rest ? ":" : "", rest);
    setenv("LD_PRELOAD", preload, 1);
    if (output)
        setenv("LOCKPROF_OUTPUT", output, 1);

    const char *tmpdir = getenv("TMPDIR");
    char manifest[PATH_MAX];
    snprintf(manifest, sizeof manifest, "%s/lockprof-manifest-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    int mfd = mkstemp(manifest);
    if (mfd < 0) {
        die_msg("run: cannot create a manifest file in %s: %s", tmpdir && *tmpdir ? tmpdir : "/tmp", strerror(errno));
        return EXIT_USAGE;
    }
    setenv("LOCKPROF_MANIFEST", manifest, 1);

    struct sigaction ign = {.sa_handler = SIG_IGN}, fwd = {.sa_handler = forward}, old_int, old_quit;
    sigemptyset(&ign.sa_mask);
    sigemptyset(&fwd.sa_mask);
    fflush(NULL);
    child = fork();
    if (child < 0) {
        die_msg("run: fork: %s", strerror(errno));
        unlink(manifest);
        return EXIT_USAGE;
    }
    if (child == 0) {
        char pid[32];
        snprintf(pid, sizeof pid, "%d", (int)getpid());
        setenv("LOCKPROF_ROOT_PID", pid, 1);
        close(mfd);
        execvp(argv[optind], argv + optind);
        int e = errno;
        fprintf(stderr, "lockprof: run: cannot execute %s: %s\n", argv[optind], strerror(e));
        _exit(e == ENOENT ? 127 : 126);
    }
    /* Ctrl-C reaches the whole process group: let the command handle it and report afterwards. */
    sigaction(SIGINT, &ign, &old_int);
    sigaction(SIGQUIT, &ign, &old_quit);
    sigaction(SIGTERM, &fwd, NULL);
    sigaction(SIGHUP, &fwd, NULL);
    sigaction(SIGUSR2, &fwd, NULL);
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR)
        ;
    int rc = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 1;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGQUIT, &old_quit, NULL);

    /* The profiles the processes announced, in order, without duplicates. */
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
    if (!np) {
        die_msg("run: no profile was written (was the command a static or setuid binary?)");
    } else {
        fprintf(stderr, "lockprof: %zu profile%s written:", np, np == 1 ? "" : "s");
        for (size_t i = 0; i < np && i < 20; i++)
            fprintf(stderr, " %s", paths[i]);
        fputs(np > 20 ? " ...\n" : "\n", stderr);
        if (summary)
            report_summary(paths, (int)np, 5);
        fprintf(stderr, "lockprof: details: lockprof report %s%s\n", np == 1 ? paths[0] : "PROFILE...",
                np == 1 ? "" : " (any of the files above)");
    }
    for (size_t i = 0; i < np; i++)
        free(paths[i]);
    free(paths);
    free(lib);
    free(preload);
    return rc;
}
