/* cmd_export.c — `lockprof export` (not written yet). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "util.h"

int cmd_export(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--help")) {
        puts("usage: lockprof export ... (not implemented yet)");
        return EXIT_OK;
    }
    die_msg("export: not implemented yet");
    return EXIT_USAGE;
}
