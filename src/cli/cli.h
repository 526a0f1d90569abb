/* cli.h — the subcommands (one file each) and what they share. */
#ifndef LP_CLI_H
#define LP_CLI_H

int cmd_run(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_flamegraph(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_check(int argc, char **argv);

/* The closing paragraphs of the --help texts of the commands that read profiles and write one output. */
#define HELP_ESCAPED_NAMES                                                                                          \
    "Names from profiles (functions, locks, threads: the profiled program chose them) are escaped in text\n"       \
    "output: \\n, \\xHH, \\uXXXX, so they never start a line (docs/SAFETY.md). "
#define HELP_PROFILE_TWICE                                                                                          \
    "A profile given twice (the same\n"                                                                             \
    "file, or the same process: pid and start time) counts once, with a warning.\n"
#define HELP_EXIT_STATUS                                                                                            \
    "Exit status: 0 ok; 2 bad option, unreadable/malformed profile, input that is not a regular file (FIFO,\n"     \
    "directory, device), or an output path that cannot be written.\n"
#define HELP_FOOTER HELP_ESCAPED_NAMES HELP_PROFILE_TWICE "\n" HELP_EXIT_STATUS

/* Prints the run summary (top contended locks) of the given profiles to stderr. */
void report_summary(char **paths, int n, int top);

#endif
