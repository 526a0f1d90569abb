/* temporary: subcommands not written yet */
#include "cli.h"
#include "util.h"
int cmd_flamegraph(int argc, char **argv) { (void)argc; (void)argv; die_msg("flamegraph: not implemented yet"); return EXIT_USAGE; }
int cmd_export(int argc, char **argv) { (void)argc; (void)argv; die_msg("export: not implemented yet"); return EXIT_USAGE; }
int cmd_diff(int argc, char **argv) { (void)argc; (void)argv; die_msg("diff: not implemented yet"); return EXIT_USAGE; }
int cmd_check(int argc, char **argv) { (void)argc; (void)argv; die_msg("check: not implemented yet"); return EXIT_USAGE; }
