/* cmd_flamegraph.c — `lockprof flamegraph` (not written yet). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "util.h"

int cmd_flamegraph(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--help")) {
        puts("usage: lockprof flamegraph ... (not implemented yet)");
        return EXIT_OK;
    }
    die_msg("flamegraph: not implemented yet");
    return EXIT_USAGE;
}
