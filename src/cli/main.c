/* main.c — `lockprof` command dispatch. Each subcommand lives in its own cmd_*.c file. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "util.h"

static const char usage[] =
    "usage: lockprof COMMAND [ARGS...]\n"
    "\n"
    "Lock-contention profiler for Python and native programs.\n"
    "\n"
    "commands:\n"
    "  run         run a program under the profiler and summarise its contention\n"
    "  report      text, JSON or Markdown report of one or more profiles\n"
    "  flamegraph  folded stacks, SVG or HTML flame graph\n"
    "  export      pprof, speedscope or Chrome trace export\n"
    "  diff        compare two sets of profiles\n"
    "  check       CI gate: evaluate a rules file against profiles\n"
    "\n"
    "`lockprof COMMAND --help` describes each command. Exit status 2 means a usage or input error.\n";

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {{"run", cmd_run},       {"report", cmd_report}, {"flamegraph", cmd_flamegraph},
                {"export", cmd_export}, {"diff", cmd_diff},     {"check", cmd_check}};
    if (argc < 2) {
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        fputs(usage, stdout);
        return EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("lockprof %s\n", LOCKPROF_VERSION);
        return EXIT_OK;
    }
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (!strcmp(argv[1], cmds[i].name))
            return cmds[i].fn(argc - 1, argv + 1);
    die_msg("unknown command '%s'", argv[1]);
    fputs(usage, stderr);
    return EXIT_USAGE;
}
