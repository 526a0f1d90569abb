/* cmd_flamegraph.c — `lockprof flamegraph`: folded stacks (FlameGraph's text format), an interactive SVG or an
 * HTML page of where threads waited for locks. The stacks come from folded.c, the pictures from flame_svg.c and
 * flame_html.c; this file reads the options, names the graph and writes the output atomically. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "flame.h"
#include "folded.h"
#include "labelsets.h"
#include "model.h"
#include "output.h"
#include "util.h"

static const char usage[] =
    "usage: lockprof flamegraph [--format folded|svg|html] [--weight wait|count] [--holders] [--all]\n"
    "                           [--frames user|all] [--title T] [--minwidth PX] [--label KEY=VALUE]...\n"
    "                           [--split-by-label KEY] [-o OUT] PROFILE...\n"
    "\n"
    "Merges the profiles and shows where threads waited for locks as a flame graph.\n"
    "\n"
    "  --format F     folded: one line per distinct stack, \"root;frame;...;leaf VALUE\", sorted bytewise (the\n"
    "                 input of flamegraph.pl, inferno and speedscope); svg: an interactive SVG (hover for\n"
    "                 details, click to zoom, Search or Ctrl-F to highlight frames); html: a page with the same\n"
    "                 graph and a search box. Default: svg or html when OUT ends in .svg or .html, else folded\n"
    "  --weight W     wait (default): total wait in microseconds, rounded; count: number of waits\n"
    "  --holders      the stacks of the holders when they released the lock (\"blocked by\") instead of the\n"
    "                 waiters' stacks, weighted by the waits they caused\n"
    "  --all          also waits that are not contention (condition variables, semaphores, Event/Queue/join\n"
    "                 notifications, locks held by the waiter itself); default: contention only\n"
    "  --frames F     user (default): hide native frames of the interpreter, libc and lockprof, except the\n"
    "                 leaf (as `lockprof report` does); all: keep every frame\n"
    "  --title T      title of the SVG/HTML graph\n"
    "  --minwidth PX  SVG/HTML: leave out frames narrower than PX pixels (default 0.1), as FlameGraph does;\n"
    "                 their time stays in their parent's width. Keeps graphs of many stacks small\n"
    "  --label K=V    only the waits labelled K=V (repeatable: every key given must match; a key given\n"
    "                 several times matches any of its values)\n"
    "  --split-by-label KEY\n"
    "                 one tower per value of label KEY: every stack starts with the frame KEY=VALUE\n"
    "                 (\"KEY unset\" for waits without it), above its lock class\n"
    "  -o OUT         write to OUT instead of standard output: a regular file, put in place only when\n"
    "                 complete; a symbolic link, FIFO, socket, directory or device at OUT is refused (/dev/null\n"
    "                 discards)\n"
    "\n"
    "Each stack starts at its lock class: KIND:TYPE for object locks (pymutex:dict), else KIND:NAME\n"
    "(pthread_mutex:hot_lock, gil:GIL); then the frames from the outermost to the innermost, Python frames\n"
    "as \"func (file.py:LINE)\", native frames as \"func (module)\"; ';' in names becomes ':'. A wait without a\n"
    "recorded stack shows as [no stack recorded]. Stacks whose wait rounds to 0 us are left out.\n"
    "\n"
    HELP_FOOTER;

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

/* "pid N: PROGRAM ARGS" with the program's directory left out, or "N processes". */
static void describe_procs(struct strbuf *o, const struct model *m)
{
    if (m->n_procs != 1) {
        sb_printf(o, "%zu processes", m->n_procs);
        return;
    }
    const struct m_proc *p = &m->procs[0];
    const char *cmd = *p->cmdline ? p->cmdline : p->exe;
    const char *sp = strchr(cmd, ' '), *slash = NULL;
    for (const char *c = cmd; *c && (!sp || c < sp); c++)
        if (*c == '/')
            slash = c;
    sb_printf(o, "pid %llu: %s", (unsigned long long)p->pid, slash ? slash + 1 : cmd);
}

static int flamegraph(int argc, char **argv, struct label_filters *lf);

int cmd_flamegraph(int argc, char **argv)
{
    struct label_filters lf = {0};
    int rc = flamegraph(argc, argv, &lf);
    label_filters_free(&lf);
    return rc;
}

static int flamegraph(int argc, char **argv, struct label_filters *lf)
{
    enum { O_LABEL = 256, O_SPLIT };
    static const struct option lo[] = {
        {"format", 1, 0, 'f'}, {"weight", 1, 0, 'w'}, {"holders", 0, 0, 'H'},  {"all", 0, 0, 'a'},
        {"frames", 1, 0, 'F'}, {"title", 1, 0, 't'},  {"minwidth", 1, 0, 'm'}, {"output", 1, 0, 'o'},
        {"label", 1, 0, O_LABEL}, {"split-by-label", 1, 0, O_SPLIT}, {"help", 0, 0, 'h'},   {0, 0, 0, 0}};
    const char *format = NULL, *out = NULL, *title = NULL;
    struct folded_opts fo = {.weight = FOLDED_WAIT_US, .holders = 0, .rows = ROWS_CONTENTION, .all_frames = 0};
    double minwidth = 0.1;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":f:w:HaF:t:m:o:h", lo, NULL)) != -1) {
        switch (c) {
        case O_LABEL:
            if (label_filter_add(lf, "flamegraph", optarg))
                return EXIT_USAGE;
            break;
        case O_SPLIT:
            if (!*optarg || strchr(optarg, '=')) {
                die_msg("flamegraph: --split-by-label needs a label key, not '%s'", optarg);
                return EXIT_USAGE;
            }
            fo.split_label = optarg;
            break;
        case 'f':
            if (strcmp(optarg, "folded") && strcmp(optarg, "svg") && strcmp(optarg, "html")) {
                die_msg("flamegraph: --format must be folded, svg or html, not '%s'", optarg);
                return EXIT_USAGE;
            }
            format = optarg;
            break;
        case 'w':
            if (strcmp(optarg, "wait") && strcmp(optarg, "count")) {
                die_msg("flamegraph: --weight must be wait or count, not '%s'", optarg);
                return EXIT_USAGE;
            }
            fo.weight = !strcmp(optarg, "count") ? FOLDED_COUNT : FOLDED_WAIT_US;
            break;
        case 'H': fo.holders = 1; break;
        case 'a': fo.rows = ROWS_ALL; break;
        case 'F': if (parse_frames("flamegraph", optarg, &fo.all_frames)) return EXIT_USAGE; break;
        case 't': title = optarg; break;
        case 'm': {
            char *end;
            errno = 0;
            minwidth = strtod(optarg, &end);
            if (!*optarg || *end || errno || !isfinite(minwidth) || minwidth < 0 || minwidth > 1200) {
                die_msg("flamegraph: --minwidth needs a number of pixels from 0 to 1200, not '%s'", optarg);
                return EXIT_USAGE;
            }
            break;
        }
        case 'o': out = optarg; break;
        case 'h': fputs(usage, stdout); return EXIT_OK;
        default: return bad_option("flamegraph", c, argv);
        }
    }
    if (!format)
        format = out && ends_with(out, ".svg") ? "svg" : out && ends_with(out, ".html") ? "html" : "folded";
    if (optind >= argc) {
        die_msg("flamegraph: no profile given");
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    struct model m;
    if (model_load(&m, argv + optind, argc - optind))
        return EXIT_USAGE;
    label_filters_apply(&m, lf);
    struct folded fd;
    folded_build(&m, &fo, &fd);
    struct strbuf sub = {0};
    sb_printf(&sub, "%s stacks \xc2\xb7 %s \xc2\xb7 width: %s \xc2\xb7 frames: %s \xc2\xb7 ",
              fo.holders ? "Holder (blocked-by)" : "Waiter", fo.rows == ROWS_ALL ? "all waits" : "contention only",
              fo.weight == FOLDED_COUNT ? "number of waits" : "wait time", fo.all_frames ? "all" : "user");
    describe_procs(&sub, &m);
    model_free(&m);

    struct strbuf o = {0};
    if (!strcmp(format, "folded")) {
        folded_write(&fd, &o);
    } else {
        char deftitle[96];
        snprintf(deftitle, sizeof deftitle, "%s: %s", fo.rows == ROWS_ALL ? "Lock waits" : "Lock contention",
                 fo.holders ? "the holders that blocked the waiters" : "where threads waited");
        struct flame_opts opt = {
            .title = title ? title : deftitle,
            .subtitle = sub.s,
            .unit = fo.weight == FOLDED_COUNT ? FLAME_UNIT_COUNT : FLAME_UNIT_US,
            .noun = fo.rows == ROWS_ALL ? "wait" : "contention",
            .empty = fo.rows == ROWS_ALL ? "No waits recorded." : "No lock contention recorded.",
            .minwidth = minwidth,
        };
        if (!strcmp(format, "svg"))
            flame_svg(&fd, &opt, &o);
        else
            flame_html(&fd, &opt, &o);
    }
    folded_free(&fd);
    sb_free(&sub);

    struct out f;
    int rc = EXIT_OK;
    if (out_open(&f, out)) {
        rc = EXIT_USAGE;
    } else {
        if (o.len && fwrite(o.s, 1, o.len, f.f) != o.len) {
            die_msg("cannot write %s", out && strcmp(out, "-") ? out : "standard output");
            out_abort(&f);
            rc = EXIT_USAGE;
        } else if (out_commit(&f)) {
            rc = EXIT_USAGE;
        }
    }
    sb_free(&o);
    return rc;
}
