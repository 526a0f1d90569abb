/* cli.h — the subcommands (one file each) and what they share. */
#ifndef LP_CLI_H
#define LP_CLI_H

int cmd_run(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_flamegraph(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_check(int argc, char **argv);

/* Prints the run summary (top contended locks) of the given profiles to stderr. */
void report_summary(char **paths, int n, int top);

#endif
