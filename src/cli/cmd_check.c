/* cmd_check.c — `lockprof check`: the CI gate. Reads a rules file (docs/RULES.md, parsed and measured by
 * rules.c), merges the profiles (and the --baseline profiles), prints one PASS/FAIL line per rule with the
 * measured value and the limit, optionally writes JUnit XML (junit.c) and, under GitHub Actions, an ::error
 * annotation per failed rule. Exit status 0 when every rule holds, 1 when one failed, 2 on any usage or input
 * error (then nothing is evaluated and no JUnit file is written). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "junit.h"
#include "model.h"
#include "rules.h"
#include "util.h"

static const char usage[] =
    "usage: lockprof check --rules RULES [--baseline BASE]... [--junit FILE] PROFILE...\n"
    "\n"
    "The CI gate: evaluates every rule of RULES on the merged PROFILEs and prints one PASS/FAIL line per\n"
    "rule with the measured value and the limit.\n"
    "\n"
    "  --rules FILE     the rules (docs/RULES.md): one per line, `max METRIC [SELECTOR] VALUE`, # comments\n"
    "  --baseline BASE  baseline profile for regression_pct rules (repeat for several; they are merged)\n"
    "  --junit FILE     also write JUnit XML to FILE (one testcase per rule): a regular file, put in place only\n"
    "                   when complete; a symbolic link, FIFO, socket, directory or device there is refused\n"
    "\n"
    "Metrics (contention only; waits on condition variables, semaphores and notifications never count):\n"
    "  wait_ms         total contention wait [ms]\n"
    "  contentions     number of contended acquisitions\n"
    "  p99_ms          99th percentile of one contention's wait [ms]\n"
    "  wait_fraction   contention wait / thread time, thread time = sum of duration x threads (0..1)\n"
    "  regression_pct  change of contention wait against the --baseline profiles [%]\n"
    "Selectors (default *): *, kind=KIND, type=TYPE, lock=NAME, stack~TEXT (a waiter frame contains TEXT);\n"
    "join terms with ',' to require all of them, e.g. kind=pymutex,type=dict.\n"
    "\n"
    "With GITHUB_ACTIONS=true, each failed rule is also printed as an ::error annotation on its rules line.\n"
    "Names from profiles are escaped (\\n, \\xHH, \\uXXXX; docs/SAFETY.md): no profile can start a line or\n"
    "print a workflow command of its own. A profile given twice counts once, with a warning.\n"
    "\n"
    "Exit status: 0 every rule holds, 1 a rule failed, 2 bad option, rules file or profile (also one that is\n"
    "not a regular file: FIFO, directory, device), or a --junit path that cannot be written.\n";

/* A workflow-command value: '%', CR and LF are escaped, and in properties also ':' and ',' (GitHub's own
 * escaping rules). Names from profiles reach here already escaped by sb_text, so they hold no line break and
 * no "##[" (util.h); this keeps the file name, the rule and the message each inside its field. */
static void gh_escape(struct strbuf *o, const char *s, int property)
{
    for (; *s; s++) {
        if (*s == '%')
            sb_puts(o, "%25");
        else if (*s == '\r')
            sb_puts(o, "%0D");
        else if (*s == '\n')
            sb_puts(o, "%0A");
        else if (property && *s == ':')
            sb_puts(o, "%3A");
        else if (property && *s == ',')
            sb_puts(o, "%2C");
        else
            sb_add(o, s, 1);
    }
}

static void gh_error(struct strbuf *o, const char *file, unsigned line, const char *title, const char *msg)
{
    sb_puts(o, "::error file=");
    gh_escape(o, file, 1);
    sb_printf(o, ",line=%u,title=", line);
    gh_escape(o, title, 1);
    sb_puts(o, "::");
    gh_escape(o, msg, 0);
    sb_puts(o, "\n");
}

int cmd_check(int argc, char **argv)
{
    static const struct option lo[] = {{"rules", 1, 0, 'r'}, {"baseline", 1, 0, 'b'}, {"junit", 1, 0, 'j'},
                                       {"help", 0, 0, 'h'},  {0, 0, 0, 0}};
    const char *rules_path = NULL, *junit = NULL;
    char **base = NULL;
    int n_base = 0, c;
    optind = 1;
    opterr = 0; /* our own messages: "lockprof: check: ..." */
    while ((c = getopt_long(argc, argv, ":r:b:j:h", lo, NULL)) != -1) {
        switch (c) {
        case 'r':
            if (rules_path) {
                die_msg("check: --rules given twice");
                free(base);
                return EXIT_USAGE;
            }
            rules_path = optarg;
            break;
        case 'b':
            base = xrealloc(base, (size_t)(n_base + 1) * sizeof *base);
            base[n_base++] = optarg;
            break;
        case 'j': junit = optarg; break;
        case 'h': fputs(usage, stdout); free(base); return EXIT_OK;
        default:
            free(base);
            return bad_option("check", c, argv);
        }
    }
    if (!rules_path || optind >= argc) {
        die_msg("check: %s (lockprof check --help)", !rules_path ? "--rules FILE is required" : "no profile given");
        free(base);
        return EXIT_USAGE;
    }
    struct rules rules;
    if (rules_load(rules_path, n_base > 0, &rules)) {
        free(base);
        return EXIT_USAGE;
    }
    struct model m, bm;
    int have_base = 0;
    if (model_load(&m, argv + optind, argc - optind)) {
        rules_free(&rules);
        free(base);
        return EXIT_USAGE;
    }
    if (n_base) {
        if (model_load(&bm, base, n_base)) {
            model_free(&m);
            rules_free(&rules);
            free(base);
            return EXIT_USAGE;
        }
        have_base = 1;
    }
    free(base);

    struct rules_input in = {&m, have_base ? &bm : NULL};
    struct rule_result *res = xcalloc(rules.n, sizeof *res);
    /* the rules file is text too: its name and its rules are shown escaped (util.h) */
    struct strbuf path_text = {0}, *rule_text = xcalloc(rules.n, sizeof *rule_text);
    sb_text_str(&path_text, rules.path);
    size_t failed = 0, width = 0, where_w = 0;
    for (size_t i = 0; i < rules.n; i++) {
        rules_eval(&rules.v[i], &in, &res[i]);
        failed += !res[i].pass;
        sb_text_str(&rule_text[i], rules.v[i].text);
        size_t w = rule_text[i].len;
        if (w > width)
            width = w;
        char where[32];
        w = (size_t)snprintf(where, sizeof where, "%u", rules.v[i].line);
        if (w > where_w)
            where_w = w;
    }

    int nprof = argc - optind;
    struct strbuf o = {0};
    sb_printf(&o, "lockprof check: %zu rule%s from %s on %d profile%s", rules.n, rules.n == 1 ? "" : "s",
              path_text.s, nprof, nprof == 1 ? "" : "s");
    if (have_base)
        sb_printf(&o, " (baseline: %d profile%s)", n_base, n_base == 1 ? "" : "s");
    sb_puts(&o, "\n");
    int gha = getenv("GITHUB_ACTIONS") && !strcmp(getenv("GITHUB_ACTIONS"), "true");
    struct junit_case *cases = xcalloc(rules.n, sizeof *cases);
    struct strbuf *texts = xcalloc(rules.n * 3, sizeof *texts); /* per rule: name, summary, details */
    for (size_t i = 0; i < rules.n; i++) {
        const struct rule *r = &rules.v[i];
        const struct rule_result *x = &res[i];
        struct strbuf *name = &texts[3 * i], *summary = &texts[3 * i + 1], *details = &texts[3 * i + 2];
        sb_printf(summary, "measured %s, limit %s", x->measured, x->limit);
        /* a hint against typos in type= and lock=; with a limit of 0, matching nothing is the point */
        if (!x->matched && r->n_terms && r->limit > 0)
            sb_puts(summary, " (the selector matched no contention)");
        sb_printf(&o, "%s  %s:%-*u  %-*s  %s\n", x->pass ? "PASS" : "FAIL", path_text.s, (int)where_w, r->line,
                  (int)width, rule_text[i].s, summary->s);
        if (!x->pass && *x->detail)
            sb_printf(&o, "      %s\n", x->detail);

        sb_printf(name, "line %u: %s", r->line, r->text);
        sb_printf(details, "%s:%u: %s\n%s\n%s", rules.path, r->line, r->text, summary->s, x->detail);
        cases[i] = (struct junit_case){name->s, rules.path, r->line, x->pass ? details->s : NULL,
                                       x->pass ? NULL : summary->s, details->s};
        if (gha && !x->pass) {
            struct strbuf title = {0}, msg = {0};
            sb_printf(&title, "lockprof check: %s", rule_text[i].s);
            sb_printf(&msg, "%s%s%s", summary->s, *x->detail ? "; " : "", x->detail);
            gh_error(&o, rules.path, r->line, title.s, msg.s);
            sb_free(&title);
            sb_free(&msg);
        }
    }
    if (failed)
        sb_printf(&o, "lockprof check: FAILED: %zu of %zu rule%s\n", failed, rules.n, rules.n == 1 ? "" : "s");
    else
        sb_printf(&o, "lockprof check: passed: %zu rule%s\n", rules.n, rules.n == 1 ? "" : "s");
    fwrite(o.s, 1, o.len, stdout);
    int rc = failed ? EXIT_FAILED : EXIT_OK;
    if (fflush(stdout)) {
        die_msg("check: writing to standard output failed");
        rc = EXIT_USAGE;
    }
    if (junit && junit_write(junit, "lockprof check", cases, rules.n))
        rc = EXIT_USAGE;

    for (size_t i = 0; i < rules.n * 3; i++)
        sb_free(&texts[i]);
    for (size_t i = 0; i < rules.n; i++)
        sb_free(&rule_text[i]);
    free(rule_text);
    sb_free(&path_text);
    free(texts);
    free(cases);
    free(res);
    sb_free(&o);
    if (have_base)
        model_free(&bm);
    model_free(&m);
    rules_free(&rules);
    return rc;
}
