/* cmd_check.c — `lockprof check` (not written yet). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "util.h"

int cmd_check(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--help")) {
        puts("usage: lockprof check ... (not implemented yet)");
        return EXIT_OK;
    }
    die_msg("check: not implemented yet");
    return EXIT_USAGE;
}
