/* rules.c — see rules.h; the language is specified in docs/RULES.md. The parser turns each line into a rule
 * (metric, selector, limit); the metric table below says, per metric, which limits make sense and which function
 * measures it. To add a rule kind: write one measure_*() function and add one line to `metrics`, then document
 * it in docs/RULES.md. */
#include "rules.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "labelsets.h"
#include "reader.h"
#include "util.h"

typedef void measure_fn(const struct rule *r, const struct rules_input *in, struct rule_result *res);

struct metric {
    const char *name;
    const char *unit; /* printed after values: " ms", "%" or "" */
    int integer;      /* the limit must be a whole number */
    double lo, hi;    /* accepted limits */
    int baseline;     /* needs --baseline */
    measure_fn *measure;
};

static measure_fn measure_wait_ms, measure_contentions, measure_p99_ms, measure_wait_fraction,
    measure_regression_pct, measure_deadlocks;

static const struct metric metrics[] = {
    {"wait_ms", " ms", 0, 0, HUGE_VAL, 0, measure_wait_ms},
    {"contentions", "", 1, 0, 9.2e18, 0, measure_contentions},
    {"p99_ms", " ms", 0, 0, HUGE_VAL, 0, measure_p99_ms},
    {"wait_fraction", "", 0, 0, 1, 0, measure_wait_fraction},
    {"regression_pct", "%", 0, -100, HUGE_VAL, 1, measure_regression_pct},
    {"deadlocks", "", 1, 0, 9.2e18, 0, measure_deadlocks},
};
#define N_METRICS (sizeof metrics / sizeof metrics[0])

/* ---- parsing ------------------------------------------------------------------------------------------ */

static int bad(const char *path, unsigned line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(const char *path, unsigned line, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    die_msg("%s:%u: %s", path, line, msg);
    return -1;
}

static const struct metric *metric_find(const char *name)
{
    for (size_t i = 0; i < N_METRICS; i++)
        if (!strcmp(metrics[i].name, name))
            return &metrics[i];
    return NULL;
}

static void list_metrics(char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = 0;
    for (size_t i = 0; i < N_METRICS && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%s", i ? ", " : "", metrics[i].name);
}

static void list_contention_kinds(char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = 0;
    for (unsigned k = 0; k < LP_KIND_COUNT && n < cap; k++)
        if (!lp_kind_is_wait_class(k))
            n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? ", " : "", lp_kind_name(k));
}

static void free_rule(struct rule *r)
{
    for (size_t i = 0; i < r->n_terms; i++) {
        free(r->terms[i].arg);
        free(r->terms[i].value);
    }
    free(r->terms);
    free(r->text);
    memset(r, 0, sizeof *r);
}

/* SELECTOR: `*`, or TERM[,TERM...] with TERM one of kind=KIND, type=TYPE, lock=NAME, stack~TEXT, label=KEY:VALUE,
 * each optionally negated by a leading '!'. */
static int parse_selector(const char *path, unsigned line, const char *tok, struct rule *r)
{
    if (!strcmp(tok, "*"))
        return 0;
    const char *p = tok;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        struct sel_term t = {0};
        size_t klen;
        if (len && *p == '!') {
            t.negate = 1;
            p++;
            len--;
        }
        if (!len)
            return bad(path, line, "empty term in selector '%s'", tok);
        if (len >= 5 && !strncmp(p, "kind=", 5)) {
            t.what = SEL_KIND;
            klen = 5;
        } else if (len >= 5 && !strncmp(p, "type=", 5)) {
            t.what = SEL_TYPE;
            klen = 5;
        } else if (len >= 5 && !strncmp(p, "lock=", 5)) {
            t.what = SEL_LOCK;
            klen = 5;
        } else if (len >= 6 && !strncmp(p, "stack~", 6)) {
            t.what = SEL_STACK;
            klen = 6;
        } else if (len >= 6 && !strncmp(p, "label=", 6)) {
            t.what = SEL_LABEL;
            klen = 6;
        } else if (len == 1 && *p == '*') {
            return bad(path, line, "'*' selects everything and cannot be negated or combined with other terms in "
                       "'%s'", tok);
        } else {
            return bad(path, line,
                       "bad selector term '%.*s' (expected *, kind=KIND, type=TYPE, lock=NAME, stack~TEXT or "
                       "label=KEY:VALUE, each optionally negated with '!', joined by ',')",
                       (int)len, p);
        }
        if (len == klen)
            return bad(path, line, "selector term '%.*s' needs a value", (int)len, p);
        t.arg = xmalloc(len - klen + 1);
        memcpy(t.arg, p + klen, len - klen);
        t.arg[len - klen] = 0;
        if (t.what == SEL_KIND) {
            int k = lp_kind_parse(t.arg, strlen(t.arg));
            char kinds[256];
            list_contention_kinds(kinds, sizeof kinds);
            if (k < 0 || lp_kind_is_wait_class((unsigned)k)) {
                if (k < 0)
                    bad(path, line, "unknown lock kind '%s' (known: %s)", t.arg, kinds);
                else
                    bad(path, line, "kind=%s is a wait class, not contention; rules measure contention (%s)",
                        t.arg, kinds);
                free(t.arg);
                return -1;
            }
            t.kind = (unsigned)k;
        }
        if (t.what == SEL_LABEL) {
            char *colon = strchr(t.arg, ':');
            int bad_key = !colon || colon == t.arg;
            for (char *c = t.arg; !bad_key && c < colon; c++)
                bad_key = !lp_label_key_byte_ok((unsigned char)*c);
            if (bad_key) {
                bad(path, line, "selector term 'label=%s' needs label=KEY:VALUE (a key without '=' or ':')", t.arg);
                free(t.arg);
                return -1;
            }
            *colon = 0;
            t.value = xstrdup(colon + 1);
        }
        r->terms = xrealloc(r->terms, (r->n_terms + 1) * sizeof *r->terms);
        r->terms[r->n_terms++] = t;
        if (!end)
            return 0;
        p = end + 1;
    }
}

static int parse_limit(const char *path, unsigned line, const char *tok, const struct metric *mt, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(tok, &end);
    if (!*tok || *end || errno || !isfinite(v) || strpbrk(tok, "xX"))
        return bad(path, line, "bad value '%s': expected a plain number (the unit is part of the metric name)",
                   tok);
    if (mt->integer && strpbrk(tok, ".eExXpP"))
        return bad(path, line, "%s needs a whole number, not '%s'", mt->name, tok);
    if (v < mt->lo || v > mt->hi) {
        if (mt->hi == HUGE_VAL)
            return bad(path, line, "%s must be at least %g, not %s", mt->name, mt->lo, tok);
        return bad(path, line, "%s must be between %g and %g, not %s%s", mt->name, mt->lo, mt->hi, tok,
                   mt->hi == 1 ? " (a fraction: 0.05 means 5%)" : "");
    }
    *out = v;
    return 0;
}

/* Splits a line into at most `max` whitespace-separated tokens, stopping at a comment (`#` at the start of a
 * token). Returns the token count, or max + 1 when there are more. */
static size_t tokenize(char *s, char **tok, size_t max)
{
    size_t n = 0;
    for (;;) {
        while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\v' || *s == '\f')
            s++;
        if (!*s || *s == '#')
            return n;
        if (n == max)
            return max + 1;
        tok[n++] = s;
        while (*s && *s != ' ' && *s != '\t' && *s != '\r' && *s != '\v' && *s != '\f')
            s++;
        if (*s)
            *s++ = 0;
    }
}

static int parse_line(const char *path, unsigned line, char *text, int have_baseline, struct rule *r)
{
    char *tok[4];
    size_t n = tokenize(text, tok, 4);
    memset(r, 0, sizeof *r);
    if (!n)
        return 1; /* blank or comment */
    char names[256];
    list_metrics(names, sizeof names);
    if (strcmp(tok[0], "max"))
        return bad(path, line, "expected 'max METRIC [SELECTOR] VALUE', got '%s' (metrics: %s)", tok[0], names);
    if (n < 2)
        return bad(path, line, "'max' needs METRIC [SELECTOR] VALUE (metrics: %s)", names);
    const struct metric *mt = metric_find(tok[1]);
    if (!mt)
        return bad(path, line, "unknown metric '%s' (known: %s)", tok[1], names);
    if (n < 3 || n > 4)
        return bad(path, line, "max %s needs [SELECTOR] VALUE, got %s", mt->name,
                   n < 3 ? "nothing" : "too many fields");
    r->metric = mt;
    r->line = line;
    if ((n == 4 && parse_selector(path, line, tok[2], r)) || parse_limit(path, line, tok[n - 1], mt, &r->limit)) {
        free_rule(r);
        return -1;
    }
    if (mt->baseline && !have_baseline) {
        free_rule(r);
        return bad(path, line, "%s compares with a baseline: give --baseline PROFILE", mt->name);
    }
    struct strbuf t = {0};
    for (size_t i = 0; i < n; i++)
        sb_printf(&t, "%s%s", i ? " " : "", tok[i]);
    r->text = t.s;
    return 0;
}

int rules_load(const char *path, int have_baseline, struct rules *out)
{
    memset(out, 0, sizeof *out);
    char err[512];
    struct stat st;
    int fd = lp_open_regular(path, &st, err, sizeof err); /* never a FIFO or a device: they could block or never end */
    FILE *f = fd < 0 ? NULL : fdopen(fd, "r");
    if (!f) {
        if (fd >= 0) {
            snprintf(err, sizeof err, "%s: %s", path, strerror(errno));
            close(fd);
        }
        die_msg("cannot read rules file %s", err);
        return -1;
    }
    out->path = xstrdup(path);
    char *buf = NULL;
    size_t cap = 0, cap_rules = 0;
    unsigned line = 0;
    int rc = 0;
    while (getline(&buf, &cap, f) >= 0) {
        line++;
        size_t len = strlen(buf);
        if (len && buf[len - 1] == '\n')
            buf[--len] = 0;
        struct rule r;
        int st = parse_line(path, line, buf, have_baseline, &r);
        if (st < 0) {
            rc = -1;
            break;
        }
        if (st == 0) {
            GROWV(out->v, cap_rules, out->n + 1);
            out->v[out->n++] = r;
        }
    }
    if (!rc && ferror(f)) {
        die_msg("%s: %s", path, strerror(errno));
        rc = -1;
    }
    if (!rc && !out->n) {
        die_msg("%s: no rules (one per line: max METRIC [SELECTOR] VALUE; see docs/RULES.md)", path);
        rc = -1;
    }
    free(buf);
    fclose(f);
    if (rc)
        rules_free(out);
    return rc;
}

void rules_free(struct rules *r)
{
    for (size_t i = 0; i < r->n; i++)
        free_rule(&r->v[i]);
    free(r->v);
    free(r->path);
    memset(r, 0, sizeof *r);
}

/* ---- selection ---------------------------------------------------------------------------------------- */

static int stack_matches(const struct rule *r, const struct model *m, int32_t stack)
{
    for (size_t i = 0; i < r->n_terms; i++) {
        const struct sel_term *t = &r->terms[i];
        if (t->what != SEL_STACK)
            continue;
        int found = 0;
        if (stack >= 0) {
            const struct m_stack *s = &m->stacks[stack];
            char buf[1024];
            for (uint32_t j = 0; j < s->n && !found; j++)
                found = strstr(model_frame_str(m, s->frames[j], buf, sizeof buf), t->arg) != NULL;
        }
        if (found == t->negate)
            return 0;
    }
    return 1;
}

/* Whether every kind/type/lock/label term holds for lock l with label set `labels` (-1: none); stack terms are left
 * to the caller (*has_stack_term says whether there are any). */
static int lock_terms_hold(const struct rule *r, const struct model *m, const struct m_lock *l, int32_t labels,
                           int *has_stack_term)
{
    *has_stack_term = 0;
    for (size_t i = 0; i < r->n_terms; i++) {
        const struct sel_term *t = &r->terms[i];
        int holds;
        switch (t->what) {
        case SEL_KIND: holds = l->kind == t->kind; break;
        case SEL_TYPE: holds = l->type && !strcmp(l->type, t->arg); break;
        case SEL_LOCK: holds = !strcmp(l->name, t->arg); break;
        case SEL_LABEL: {
            const char *v = labelset_value(m, labels, t->arg);
            holds = v && !strcmp(v, t->value);
            break;
        }
        default: *has_stack_term = 1; continue; /* SEL_STACK */
        }
        if (holds == t->negate)
            return 0;
    }
    return 1;
}

/* memo: per stack (index stack + 1), 0 unknown, 1 match, 2 no match. */
static int row_selected(const struct rule *r, const struct model *m, const struct m_row *row, unsigned char *memo)
{
    if (model_row_is_wait(row, m))
        return 0;
    int has_stack_term;
    if (!lock_terms_hold(r, m, &m->locks[row->lock], row->labels, &has_stack_term))
        return 0;
    if (!has_stack_term)
        return 1;
    unsigned char *c = &memo[row->stack + 1];
    if (!*c)
        *c = stack_matches(r, m, row->stack) ? 1 : 2;
    return *c == 1;
}

/* A wait in progress (a deadlock's member) selected: the lock and stack terms as for rows; a wait carries no labels,
 * so a label term never holds for it. */
static int waiting_selected(const struct rule *r, const struct model *m, const struct m_waiting *w)
{
    int has_stack_term;
    return lock_terms_hold(r, m, &m->locks[w->lock], -1, &has_stack_term) &&
           (!has_stack_term || stack_matches(r, m, w->stack));
}

/* Totals of the selected rows, and a description of the lock with the most wait among them (and its stack
 * with the most wait). */
struct tally {
    uint64_t rows, count, wait_ns, max_ns;
    uint64_t hist[LP_HIST_BUCKETS];
    char top[512];
};

static void tally(const struct rule *r, const struct model *m, struct tally *t)
{
    memset(t, 0, sizeof *t);
    unsigned char *memo = xcalloc(m->n_stacks + 1, 1);
    uint64_t *lock_wait = xcalloc(m->n_locks + 1, sizeof *lock_wait);
    uint64_t *lock_count = xcalloc(m->n_locks + 1, sizeof *lock_count);
    char *sel = xcalloc(m->n_rows + 1, 1);
    for (size_t i = 0; i < m->n_rows; i++) {
        const struct m_row *row = &m->rows[i];
        if (!row_selected(r, m, row, memo))
            continue;
        sel[i] = 1;
        t->rows++;
        t->count = sat_add(t->count, row->count);
        t->wait_ns = sat_add(t->wait_ns, row->wait_ns);
        if (row->max_ns > t->max_ns)
            t->max_ns = row->max_ns;
        for (int b = 0; b < LP_HIST_BUCKETS; b++)
            t->hist[b] = sat_add(t->hist[b], row->hist[b]);
        lock_wait[row->lock] = sat_add(lock_wait[row->lock], row->wait_ns);
        lock_count[row->lock] = sat_add(lock_count[row->lock], row->count);
    }
    /* the lock with the most wait; ties: more contentions, then the lower id (model order is the order of
     * the profiles on the command line, so this is deterministic). None when the selected rows' counts sum
     * to 0 per lock (counts wrap on absurd input). */
    size_t top = SIZE_MAX;
    for (size_t k = 0; t->rows && k < m->n_locks; k++)
        if (lock_count[k] && (top == SIZE_MAX || lock_wait[k] > lock_wait[top] ||
                              (lock_wait[k] == lock_wait[top] && lock_count[k] > lock_count[top])))
            top = k;
    if (top != SIZE_MAX) {
        uint64_t *stack_wait = xcalloc(m->n_stacks + 1, sizeof *stack_wait);
        for (size_t i = 0; i < m->n_rows; i++)
            if (sel[i] && m->rows[i].lock == top)
                stack_wait[m->rows[i].stack + 1] = sat_add(stack_wait[m->rows[i].stack + 1], m->rows[i].wait_ns);
        size_t ts = 0;
        for (size_t s = 1; s <= m->n_stacks; s++)
            if (stack_wait[s] > stack_wait[ts])
                ts = s;
        /* names come from the profiled program: escaped here, so every output of check (text, JUnit, GitHub
         * annotations) gets them on one line */
        const struct m_lock *l = &m->locks[top];
        struct strbuf frame = {0}, name = {0}, type = {0};
        int64_t f = model_top_frame(m, (int32_t)ts - 1);
        if (f >= 0)
            model_frame_text(m, (uint32_t)f, &frame);
        snprintf(t->top, sizeof t->top, "most wait: %s %s%s%s (%.3f ms in %llu contentions)%s%.200s",
                 lp_kind_name(l->kind), text_esc(&name, l->name), l->type ? " of type " : "",
                 l->type ? text_esc(&type, l->type) : "", ms(lock_wait[top]), (unsigned long long)lock_count[top],
                 frame.len ? " waiting in " : "", frame.s ? frame.s : "");
        sb_free(&frame);
        sb_free(&name);
        sb_free(&type);
        free(stack_wait);
    }
    free(memo);
    free(lock_wait);
    free(lock_count);
    free(sel);
}

/* res->detail = what the value is made of, then the largest contributor (when anything matched). */
static void set_detail(struct rule_result *res, const struct tally *t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_detail(struct rule_result *res, const struct tally *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(res->detail, sizeof res->detail, fmt, ap);
    va_end(ap);
    if (*t->top && n >= 0 && (size_t)n < sizeof res->detail)
        snprintf(res->detail + n, sizeof res->detail - (size_t)n, "; %s", t->top);
}

/* ---- the metrics: one function each ------------------------------------------------------------------- */

/* wait_ms: total contention wait of the selected locks, in ms. */
static void measure_wait_ms(const struct rule *r, const struct rules_input *in, struct rule_result *res)
{
    struct tally t;
    tally(r, in->profiles, &t);
    res->matched = t.rows > 0;
    res->value = ms(t.wait_ns);
    snprintf(res->measured, sizeof res->measured, "%.3f ms", res->value);
    set_detail(res, &t, "%llu contentions", (unsigned long long)t.count);
}

/* contentions: number of contended acquisitions of the selected locks. */
static void measure_contentions(const struct rule *r, const struct rules_input *in, struct rule_result *res)
{
    struct tally t;
    tally(r, in->profiles, &t);
    res->matched = t.rows > 0;
    res->value = (double)t.count;
    snprintf(res->measured, sizeof res->measured, "%llu", (unsigned long long)t.count);
    set_detail(res, &t, "%.3f ms of wait", ms(t.wait_ns));
}

/* p99_ms: 99th percentile of a single contention's wait, from the merged log2 histograms (never above the
 * longest wait observed). */
static void measure_p99_ms(const struct rule *r, const struct rules_input *in, struct rule_result *res)
{
    struct tally t;
    tally(r, in->profiles, &t);
    res->matched = t.rows > 0;
    res->value = ms(model_hist_quantile_max(t.hist, 0.99, t.max_ns));
    snprintf(res->measured, sizeof res->measured, "%.3f ms", res->value);
    set_detail(res, &t, "longest %.3f ms of %llu contentions", ms(t.max_ns), (unsigned long long)t.count);
}

/* wait_fraction: contention wait of the selected locks divided by the thread time of the profiles
 * (model_thread_time_ns: Σ duration_ns × threads); 0 when there is no thread time. */
static void measure_wait_fraction(const struct rule *r, const struct rules_input *in, struct rule_result *res)
{
    struct tally t;
    tally(r, in->profiles, &t);
    uint64_t tt = model_thread_time_ns(in->profiles);
    res->matched = t.rows > 0;
    res->value = tt ? (double)t.wait_ns / (double)tt : 0.0;
    snprintf(res->measured, sizeof res->measured, "%.4f", res->value);
    set_detail(res, &t, "%.3f ms of contention in %.3f ms of thread time", ms(t.wait_ns), ms(tt));
}

/* deadlocks: cycles of threads each waiting for a lock the next one holds, in the waits in progress the profiles
 * were written with (a deadlock counts when the lock one of its threads waits for is selected). */
static void measure_deadlocks(const struct rule *r, const struct rules_input *in, struct rule_result *res)
{
    const struct model *m = in->profiles;
    struct m_deadlock *d;
    size_t n = model_deadlocks(m, &d), hits = 0;
    char first[256] = "";
    for (size_t i = 0; i < n; i++) {
        int sel = 0;
        for (size_t j = 0; j < d[i].n && !sel; j++)
            sel = waiting_selected(r, m, &m->waiting[d[i].waiting[j]]);
        if (sel && !hits++) {
            struct strbuf name = {0};
            const struct m_waiting *w = &m->waiting[d[i].waiting[0]];
            snprintf(first, sizeof first, "pid %llu: %zu threads, one waiting for %s",
                     (unsigned long long)m->procs[d[i].proc].pid, d[i].n, text_esc(&name, m->locks[w->lock].name));
            sb_free(&name);
        }
        free(d[i].waiting);
    }
    free(d);
    res->matched = hits > 0;
    res->value = (double)hits;
    snprintf(res->measured, sizeof res->measured, "%zu", hits);
    snprintf(res->detail, sizeof res->detail, "%s", hits ? first : "no deadlock in the waits in progress");
}

/* regression_pct: relative change of the selected locks' contention wait against the baseline, in percent:
 * 100 × (new − baseline) / baseline; 0 when both are 0, +inf when only the baseline is 0. */
static void measure_regression_pct(const struct rule *r, const struct rules_input *in, struct rule_result *res)
{
    struct tally t, b;
    tally(r, in->profiles, &t);
    tally(r, in->baseline, &b);
    res->matched = t.rows > 0 || b.rows > 0;
    if (b.wait_ns)
        res->value = 100.0 * ((double)t.wait_ns - (double)b.wait_ns) / (double)b.wait_ns;
    else
        res->value = t.wait_ns ? HUGE_VAL : 0.0;
    if (isinf(res->value))
        snprintf(res->measured, sizeof res->measured, "+inf%%");
    else
        snprintf(res->measured, sizeof res->measured, "%+.1f%%", res->value);
    set_detail(res, &t, "wait %.3f ms, baseline %.3f ms", ms(t.wait_ns), ms(b.wait_ns));
}

void rules_eval(const struct rule *r, const struct rules_input *in, struct rule_result *res)
{
    memset(res, 0, sizeof *res);
    r->metric->measure(r, in, res);
    res->pass = res->value <= r->limit;
    /* the limit as written, with the metric's unit */
    const char *v = strrchr(r->text, ' ') + 1;
    snprintf(res->limit, sizeof res->limit, "%s%s", v, r->metric->unit);
}
