/* cmd_export.c — `lockprof export`: converts profiles for other tools — pprof (`go tool pprof`, pprof's web
 * UI), speedscope, and the Chrome trace event format (Perfetto, chrome://tracing). This file parses the
 * options and dispatches; each format lives in its own export_*.c (export.h), renders into memory, and only
 * a complete rendering is written, atomically, so a failed export never leaves an output file.
 * docs/EXPORT.md describes what each format contains and the choices behind it. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "export.h"
#include "labelsets.h"
#include "model.h"
#include "output.h"
#include "util.h"

static const char usage[] =
    "usage: lockprof export --format pprof|speedscope|chrome [-o OUT] [--frames user|all] [--all]\n"
    "                       [--label KEY=VALUE]... [--split-by-label KEY] PROFILE...\n"
    "\n"
    "Merges the profiles and writes them in another tool's format.\n"
    "\n"
    "  --format F   pprof: gzip-compressed profile.proto for `go tool pprof` / pprof (binary: never written\n"
    "                 to a terminal). Sample types contentions/count and delay/nanoseconds (the default);\n"
    "                 the outermost frame of every stack names the lock class (\"pthread_mutex:hot_lock\",\n"
    "                 \"pymutex:dict\"); labels lock_kind, lock, object_type, wait_class, flags, thread,\n"
    "                 tid, pid, holder_tid (e.g. pprof -tagfocus=lock=hot_lock), and the program's own labels\n"
    "                 (lockprof.label): KEY, or label:KEY when KEY is one of those names\n"
    "               speedscope: JSON for speedscope; one profile per lock class, heaviest first, weighted\n"
    "                 in nanoseconds of wait\n"
    "               chrome: Chrome trace event JSON for Perfetto / chrome://tracing: every wait as a slice on\n"
    "                 its thread, timestamps in microseconds from the earliest process start. Needs profiles\n"
    "                 recorded with `lockprof run --timeline` (or LOCKPROF_TIMELINE=1)\n"
    "  -o OUT       write to OUT instead of standard output: a regular file, put in place only when\n"
    "               complete; a symbolic link, FIFO, socket, directory or device at OUT is refused (/dev/null\n"
    "               discards)\n"
    "  --frames F   user (default): hide native frames of the interpreter, libc and lockprof below the leaf,\n"
    "               as `lockprof report` does; all: keep every frame\n"
    "  --all        also export the waits that are not contention (condition variables, semaphores,\n"
    "               Event/Queue/join notifications, locks held by the waiter itself), marked by class;\n"
    "               by default only lock contention is exported, the same total as `lockprof report`\n"
    "  --label K=V  only the waits labelled K=V (repeatable: every key given must match; a key given\n"
    "               several times matches any of its values). Not for chrome: timeline events have no labels\n"
    "  --split-by-label KEY\n"
    "               speedscope: one profile per value of label KEY (\"KEY unset\" for waits without it),\n"
    "               each with its lock classes as root frames, instead of one profile per lock class\n"
    "\n"
    "A profile given twice (the same file, or the same process: pid and start time) counts once, with a warning.\n"
    "\n"
    "Exit status: 0 ok; 2 bad option, unreadable/malformed profile, input that is not a regular file (FIFO,\n"
    "directory, device), an output path that cannot be written, or no timeline for --format chrome.\n";

static int export(int argc, char **argv, struct label_filters *lf);

int cmd_export(int argc, char **argv)
{
    struct label_filters lf = {0};
    int rc = export(argc, argv, &lf);
    label_filters_free(&lf);
    return rc;
}

static int export(int argc, char **argv, struct label_filters *lf)
{
    enum { O_FRAMES = 256, O_ALL, O_LABEL, O_SPLIT };
    static const struct option lo[] = {{"format", 1, 0, 'f'}, {"output", 1, 0, 'o'}, {"frames", 1, 0, O_FRAMES},
                                       {"all", 0, 0, O_ALL},  {"label", 1, 0, O_LABEL},
                                       {"split-by-label", 1, 0, O_SPLIT}, {"help", 0, 0, 'h'},   {0, 0, 0, 0}};
    const char *format = NULL, *out = NULL;
    struct export_opts eo = {0, 0, NULL};
    int c;
    optind = 1;
    opterr = 0; /* one-line errors of our own below, instead of getopt's message and the usage */
    while ((c = getopt_long(argc, argv, ":f:o:h", lo, NULL)) != -1) {
        switch (c) {
        case 'f': format = optarg; break;
        case 'o': out = optarg; break;
        case O_FRAMES: if (parse_frames("export", optarg, &eo.all_frames)) return EXIT_USAGE; break;
        case O_ALL: eo.all_waits = 1; break;
        case O_LABEL:
            if (label_filter_add(lf, "export", optarg))
                return EXIT_USAGE;
            break;
        case O_SPLIT:
            if (!*optarg || strchr(optarg, '=')) {
                die_msg("export: --split-by-label needs a label key, not '%s'", optarg);
                return EXIT_USAGE;
            }
            eo.split_label = optarg;
            break;
        case 'h': fputs(usage, stdout); return EXIT_OK;
        case ':':
            die_msg("export: option %s needs a value (lockprof export --help)", argv[optind - 1]);
            return EXIT_USAGE;
        default: /* optopt: the unknown short option, 0 for an unknown long one, our value for "--all=X" */
            if (optopt > 0 && optopt < 128)
                die_msg("export: invalid option -%c (lockprof export --help)", optopt);
            else
                die_msg("export: invalid option %s (lockprof export --help)", argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    static const struct {
        const char *name;
        int (*fn)(const struct model *, const struct export_opts *, struct strbuf *);
        int binary; /* never written to a terminal */
    } formats[] = {{"pprof", export_pprof, 1}, {"speedscope", export_speedscope, 0}, {"chrome", export_chrome, 0}};
    int f = -1;
    for (int i = 0; format && i < (int)(sizeof formats / sizeof formats[0]); i++)
        if (!strcmp(format, formats[i].name))
            f = i;
    if (!format) {
        die_msg("export: --format is required: pprof, speedscope or chrome");
        return EXIT_USAGE;
    }
    if (f < 0) {
        die_msg("export: --format must be pprof, speedscope or chrome, not '%s'", format);
        return EXIT_USAGE;
    }
    if (eo.split_label && strcmp(format, "speedscope")) {
        die_msg("export: --split-by-label is for --format speedscope (pprof: pprof -tagroot=KEY)");
        return EXIT_USAGE;
    }
    if (lf->n && !strcmp(format, "chrome")) {
        die_msg("export: --label does not apply to --format chrome: timeline events carry no labels");
        return EXIT_USAGE;
    }
    if (optind >= argc) {
        die_msg("export: no profile given (lockprof export --help)");
        return EXIT_USAGE;
    }
    int to_stdout = !out || !strcmp(out, "-");
    if (formats[f].binary && to_stdout && isatty(STDOUT_FILENO)) {
        die_msg("export: %s output is binary and standard output is a terminal: use -o FILE or redirect it",
                format);
        return EXIT_USAGE;
    }

    struct model m;
    if (model_load(&m, argv + optind, argc - optind))
        return EXIT_USAGE;
    label_filters_apply(&m, lf);
    struct strbuf o = {0};
    int rc = formats[f].fn(&m, &eo, &o) ? EXIT_USAGE : EXIT_OK;
    model_free(&m);
    if (rc == EXIT_OK) {
        struct out w;
        if (out_open(&w, out)) {
            rc = EXIT_USAGE;
        } else if (o.len && fwrite(o.s, 1, o.len, w.f) != o.len) {
            out_abort(&w);
            die_msg("export: cannot write %s", to_stdout ? "standard output" : out);
            rc = EXIT_USAGE;
        } else if (out_commit(&w)) {
            rc = EXIT_USAGE;
        }
    }
    sb_free(&o);
    return rc;
}
