/* rules.h — the rules language of `lockprof check` (specified in docs/RULES.md): parsing a rules file into rules
 * and measuring each rule on merged profiles (and an optional merged baseline). Every rule is
 * `max METRIC [SELECTOR] VALUE`; each metric is one measure function in rules.c's metric table, so a new rule
 * kind is one function and one table line. Nothing here prints except rules_load's one-line parse errors. */
#ifndef LP_RULES_H
#define LP_RULES_H

#include <stddef.h>

#include "model.h"

/* One term of a selector; a selector is a list of terms that must all hold (an empty list is `*`). */
enum sel_what { SEL_KIND, SEL_TYPE, SEL_LOCK, SEL_STACK, SEL_LABEL };

struct sel_term {
    enum sel_what what;
    int negate;    /* written with a leading '!': holds when the term does not */
    unsigned kind; /* SEL_KIND */
    char *arg;     /* SEL_TYPE, SEL_LOCK: exact text; SEL_STACK: substring of a frame; SEL_LABEL: the key */
    char *value;   /* SEL_LABEL: the label's value (exact text, may be empty) */
};

struct metric; /* rules.c: name, arity, limits and the measure function */

struct rule {
    const struct metric *metric;
    struct sel_term *terms;
    size_t n_terms;
    double limit;
    char *text;    /* the rule, tokens joined by single spaces: "max wait_ms kind=gil 250" */
    unsigned line; /* 1-based line in the rules file */
};

struct rules {
    char *path;
    struct rule *v;
    size_t n;
};

/* Reads and parses a rules file. `have_baseline` says whether --baseline profiles were given (regression_pct
 * needs them). On error prints one line "lockprof: FILE:LINE: problem" (or "lockprof: FILE: problem") and
 * returns -1 with *out empty. A file without any rule is an error. */
int rules_load(const char *path, int have_baseline, struct rules *out);
void rules_free(struct rules *r);

/* What a rule is measured on. */
struct rules_input {
    const struct model *profiles;
    const struct model *baseline; /* NULL without --baseline */
};

struct rule_result {
    int pass;            /* measured value <= limit */
    int matched;         /* the selector matched some contention (in the profiles or the baseline) */
    double value;        /* in the metric's unit */
    char measured[128];  /* the value with its unit: "130.251 ms", "11", "0.3725", "+inf%" */
    char limit[64];      /* the limit with its unit: "500 ms" */
    char detail[640];    /* context, may be empty: what the value is made of, the largest contributor */
};

/* Measures rule r. Every rule measures contention only (docs/RULES.md): rows that model_row_is_wait() calls
 * waits (condition variables, semaphores, notifications, self-held locks) never count. */
void rules_eval(const struct rule *r, const struct rules_input *in, struct rule_result *res);

#endif
