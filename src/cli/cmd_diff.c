/* cmd_diff.c — `lockprof diff` (not written yet). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "util.h"

int cmd_diff(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--help")) {
        puts("usage: lockprof diff ... (not implemented yet)");
        return EXIT_OK;
    }
    die_msg("diff: not implemented yet");
    return EXIT_USAGE;
}
