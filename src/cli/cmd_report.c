/* cmd_report.c — `lockprof report`: text, JSON and Markdown reports of one or more profiles. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "folded.h"
#include "group.h"
#include "labelsets.h"
#include "model.h"
#include "output.h"
#include "textstack.h"
#include "util.h"
#include "waiting.h"

static const char usage[] =
    "usage: lockprof report [--format text|json|markdown] [--by lock|type|stack|thread|label] [--top N]\n"
    "                       [--depth N] [--frames user|all] [--label KEY=VALUE]... [-o OUT] PROFILE...\n"
    "\n"
    "Merges the profiles and prints where threads waited for locks.\n"
    "\n"
    "  --format F   text (default), json (schema: docs/report-schema.json) or markdown (for PR comments)\n"
    "  --by K       group the tables by lock (default), object type, waiter stack, thread or label set\n"
    "               (the labels the program set with lockprof.label / lockprof_set_labels)\n"
    "  --label K=V  only the waits labelled K=V (repeatable: every key given must match; a key given\n"
    "               several times matches any of its values)\n"
    "  --top N      rows per table (default 10; 0 = all)\n"
    "  --depth N    frames shown per stack in text/markdown (default 16; 0 = all)\n"
    "  --frames F   user (default): hide native frames of the interpreter, libc and lockprof between\n"
    "               the leaf and the first user frame; all: show every frame\n"
    "  -o OUT       write to OUT instead of standard output: a regular file, put in place only when\n"
    "               complete; a symbolic link, FIFO, socket, directory or device at OUT is refused (/dev/null\n"
    "               discards)\n"
    "\n"
    HELP_FOOTER;

struct ropts {
    enum group_by by;
    long top, depth;
    int all_frames;
};

static const char *pct(uint64_t part, uint64_t whole, char *buf)
{
    snprintf(buf, 16, "%.1f%%", whole ? 100.0 * (double)part / (double)whole : 0.0);
    return buf;
}

/* The title of the column that names a group. */
/* How many of n rows a table shows: --top, 0 meaning all. */
static size_t shown_rows(const struct ropts *ro, size_t n)
{
    return ro->top && (size_t)ro->top < n ? (size_t)ro->top : n;
}

static const char *by_column(enum group_by by)
{
    static const char *const names[] = {"lock", "object type", "top waiter frame", "thread", "labels"};
    return names[by];
}

/* ---- text --------------------------------------------------------------------------------------------- */

static void print_stack(struct strbuf *o, const struct model *m, int32_t stack, const struct ropts *ro,
                        const char *indent)
{
    text_stack(o, m, stack, ro->depth, ro->all_frames, indent);
}

/* Widens the lock (*wl) and object-type (*wt) columns to the longest of the first n names (escaped as printed),
 * up to 64 and 40 characters, so that the figures after them line up; a longer name overflows its column. */
static void name_widths(const struct grp *g, size_t n, int types, int *wl, int *wt)
{
    struct strbuf e = {0};
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(text_esc(&e, g[i].label));
        size_t t = types ? strlen(text_esc(&e, g[i].type ? g[i].type : "-")) : 0;
        *wl = l > (size_t)*wl ? (l < 64 ? (int)l : 64) : *wl;
        *wt = t > (size_t)*wt ? (t < 40 ? (int)t : 40) : *wt;
    }
    sb_free(&e);
}

static void text_table(struct strbuf *o, const struct model *m, struct grp *g, size_t n, const struct ropts *ro,
                       uint64_t total)
{
    const char *col = by_column(ro->by);
    size_t lim = shown_rows(ro, n);
    struct strbuf label = {0}, type = {0}, frame = {0};
    int wl = 32, wt = 18;
    name_widths(g, lim, ro->by == BY_LOCK, &wl, &wt);
    sb_printf(o, "  %-3s %-15s %-*s %-*s %11s %11s %9s %9s %9s %6s  %s\n", "#", "kind", wl, col, wt,
              ro->by == BY_LOCK ? "object type" : "", "contentions", "wait[ms]", "avg[ms]", "max[ms]", "p99[ms]",
              "share", ro->by == BY_STACK ? "" : "top waiter frame");
    for (size_t i = 0; i < lim; i++) {
        char p[16];
        sb_reset(&frame);
        if (ro->by != BY_STACK && g[i].n_stacks) {
            int64_t f = model_top_frame(m, g[i].stacks[0].stack);
            if (f >= 0)
                model_frame_text(m, (uint32_t)f, &frame);
        }
        char wait[32]; /* "~" marks a wait estimated in part */
        snprintf(wait, sizeof wait, "%s%.3f", g[i].est_ns ? "~" : "", ms(g[i].wait_ns));
        sb_printf(o, "  %-3zu %-15s %-*s %-*s %11llu %11s %9.3f %9.3f %9.3f %6s  %s\n", i + 1,
                  lp_kind_name(g[i].kind), wl, text_esc(&label, g[i].label), wt,
                  ro->by == BY_LOCK ? text_esc(&type, g[i].type ? g[i].type : "-") : "",
                  (unsigned long long)g[i].count, wait,
                  g[i].count ? ms(g[i].wait_ns) / (double)g[i].count : 0.0, ms(g[i].max_ns),
                  ms(model_hist_quantile_max(g[i].hist, 0.99, g[i].max_ns)), pct(g[i].wait_ns, total, p),
                  frame.s ? frame.s : "");
    }
    sb_free(&label);
    sb_free(&type);
    sb_free(&frame);
    if (lim < n)
        sb_printf(o, "  ... %zu more (use --top 0 to see all)\n", n - lim);
    uint64_t est = 0;
    for (size_t i = 0; i < n; i++)
        est = sat_add(est, g[i].est_ns);
    if (est)
        sb_printf(o, "  ~ estimated in part: %.3f ms of this table's wait are mutexes re-acquired after a condition-"
                     "variable wake-up,\n    which glibc does where lockprof cannot time it (docs/DESIGN.md, "
                     "\"Re-acquiring the mutex after a condition wait\")\n",
                  ms(est));
}

static void text_stacks(struct strbuf *o, const struct model *m, struct grp *g, size_t n, const struct ropts *ro)
{
    size_t locks = n < 5 ? n : 5;
    if (ro->top && (size_t)ro->top < locks)
        locks = (size_t)ro->top;
    struct strbuf label = {0}, type = {0}, name = {0};
    for (size_t i = 0; i < locks; i++) {
        sb_printf(o, "\n  [%zu] %s %s%s%s — %llu contentions, %.3f ms\n", i + 1, lp_kind_name(g[i].kind),
                  text_esc(&label, g[i].label), g[i].type && ro->by == BY_LOCK ? " of type " : "",
                  g[i].type && ro->by == BY_LOCK ? text_esc(&type, g[i].type) : "", (unsigned long long)g[i].count,
                  ms(g[i].wait_ns));
        size_t ns = g[i].n_stacks < 3 ? g[i].n_stacks : 3;
        for (size_t j = 0; j < ns; j++) {
            const struct stack_stat *s = &g[i].stacks[j];
            char p[16];
            sb_printf(o, "    stack %zu: %llu contentions, %.3f ms (%s of this lock)%s%s\n", j + 1,
                      (unsigned long long)s->count, ms(s->wait_ns), pct(s->wait_ns, g[i].wait_ns, p),
                      s->flags & LP_AGG_SELF ? " [held by the waiter itself]" : "",
                      s->est_ns ? " [re-acquired after a condition wait: estimated]" : "");
            sb_puts(o, "      waiter:\n");
            print_stack(o, m, s->stack, ro, "        ");
            if (s->holder_stack >= 0) {
                sb_puts(o, "      blocked by (holder at release):\n");
                print_stack(o, m, s->holder_stack, ro, "        ");
            }
            if (s->holder_tid) {
                const char *nm = model_thread_name(m, s->proc, s->holder_tid);
                sb_printf(o, "      holder thread: %s (tid %llu)\n", nm ? text_esc(&name, nm) : "?",
                          (unsigned long long)s->holder_tid);
            }
        }
        if (g[i].n_stacks > ns)
            sb_printf(o, "    ... %zu more stacks\n", g[i].n_stacks - ns);
    }
    sb_free(&label);
    sb_free(&type);
    sb_free(&name);
}

static uint64_t sum_wait(struct grp *g, size_t n)
{
    uint64_t t = 0;
    for (size_t i = 0; i < n; i++)
        t = sat_add(t, g[i].wait_ns);
    return t;
}

static void text_header(struct strbuf *o, const struct model *m)
{
    uint64_t events = 0;
    for (size_t i = 0; i < m->n_rows; i++)
        events = sat_add(events, m->rows[i].count);
    sb_printf(o, "lockprof report: %zu process%s, %zu thread%s, %llu recorded waits\n", m->n_procs,
              m->n_procs == 1 ? "" : "es", m->n_threads, m->n_threads == 1 ? "" : "s", (unsigned long long)events);
    struct strbuf cmd = {0}, py = {0}, build = {0};
    for (size_t i = 0; i < m->n_procs; i++) {
        const struct m_proc *p = &m->procs[i];
        sb_reset(&cmd);
        const char *c = *p->cmdline ? p->cmdline : p->exe;
        sb_text(&cmd, c, strnlen(c, 200), TEXT_ESCAPE);
        sb_printf(o, "  pid %llu: %s — %.3f s, %llu thread%s", (unsigned long long)p->pid, cmd.s ? cmd.s : "",
                  (double)p->duration_ns / 1e9, (unsigned long long)p->threads, p->threads == 1 ? "" : "s");
        if (p->python)
            sb_printf(o, ", Python %s (%s)", text_esc(&py, p->python),
                      p->python_build ? text_esc(&build, p->python_build) : "?");
        if (p->sample_every > 1)
            sb_printf(o, ", sampled 1 in %llu (counts and waits scaled x%llu)", (unsigned long long)p->sample_every,
                      (unsigned long long)p->sample_every);
        sb_puts(o, "\n");
    }
    sb_free(&cmd);
    sb_free(&py);
    sb_free(&build);
}

static void text_notes(struct strbuf *o, const struct model *m)
{
    int header = 0;
    struct strbuf esc = {0};
#define NOTE(...)                                                                                              \
    do {                                                                                                       \
        if (!header++)                                                                                         \
            sb_puts(o, "\nNotes:\n");                                                                          \
        sb_printf(o, "  - " __VA_ARGS__);                                                                      \
        sb_puts(o, "\n");                                                                                      \
    } while (0)
    for (size_t i = 0; i < m->n_procs; i++) {
        const struct m_proc *p = &m->procs[i];
        if (p->python_build && !strcmp(p->python_build, "free-threaded") && p->gil_enabled == 1)
            NOTE("pid %llu: THE GIL IS ENABLED in this free-threaded build (PYTHON_GIL=1 or an extension "
                 "without Py_mod_gil re-enabled it): threads are serialised on the GIL",
                 (unsigned long long)p->pid);
        if (p->min_wait_ns)
            NOTE("pid %llu: waits shorter than %llu ns were counted but not recorded: %llu waits, %.3f ms",
                 (unsigned long long)p->pid, (unsigned long long)p->min_wait_ns,
                 (unsigned long long)p->events_below_min_wait, ms(p->wait_below_min_wait_ns));
        if (p->events_unblocked)
            NOTE("pid %llu: %llu CPython lock acquisitions entered the slow path and took the lock before blocking: "
                 "counted, not waits", (unsigned long long)p->pid, (unsigned long long)p->events_unblocked);
        if (p->events_dropped)
            NOTE("pid %llu: %llu events dropped (collector out of memory)", (unsigned long long)p->pid,
                 (unsigned long long)p->events_dropped);
        if (p->self_contentions)
            NOTE("pid %llu: the profiler's own internal lock was contended %llu times", (unsigned long long)p->pid,
                 (unsigned long long)p->self_contentions);
        if (p->self_waits)
            NOTE("pid %llu: lockprof itself waited %llu time%s, %.3f ms in all, not counted above (for libunwind's "
                 "internal locks while threads captured stacks, or for libunwind's start-up)",
                 (unsigned long long)p->pid, (unsigned long long)p->self_waits, p->self_waits == 1 ? "" : "s",
                 ms(p->self_wait_ns));
        if (p->holder_reused)
            NOTE("pid %llu: holder stacks are sampled: %llu of the %llu releases made while a thread waited captured "
                 "the releasing thread's stack; the others show the stack it last captured releasing the same lock "
                 "(at most one capture per thread and lock every %.3f ms)", (unsigned long long)p->pid,
                 (unsigned long long)p->holder_captured, (unsigned long long)(p->holder_captured + p->holder_reused),
                 ms(p->holder_interval_ns));
        if (p->holder_skipped)
            NOTE("pid %llu: on hot locks, %llu releases made while a thread waited were not told to the waiters (each "
                 "thread tells them of a few releases of a lock every %.3f ms): those waits show an earlier release's "
                 "holder, or none", (unsigned long long)p->pid, (unsigned long long)p->holder_skipped,
                 ms(p->holder_interval_ns));
        for (size_t w = 0; w < p->n_warnings; w++)
            NOTE("pid %llu: collector warning: %s", (unsigned long long)p->pid, text_esc(&esc, p->warnings[w]));
    }
    sb_free(&esc);
#undef NOTE
}

/* One section of the text report: a heading with the section's total, the table, and the top stacks of its first
 * `stack_groups` groups (none for 0). Sections other than contention are left out when empty. */
static void text_section(struct strbuf *o, const struct model *m, const struct ropts *ro, int rows,
                         const char *heading, const char *stacks_heading, size_t stack_groups)
{
    size_t n;
    struct grp *g = group_rows(m, ro->by, rows, &n);
    if (n || rows == ROWS_CONTENTION) {
        uint64_t total = sum_wait(g, n);
        sb_printf(o, "\n%s: %.3f ms total\n", heading, ms(total));
        if (!n)
            sb_puts(o, "  no contention recorded\n");
        else
            text_table(o, m, g, n, ro, total);
        if (n && stack_groups) {
            sb_printf(o, "\n%s\n", stacks_heading);
            text_stacks(o, m, g, n < stack_groups ? n : stack_groups, ro);
        }
    }
    groups_free(g, n);
}

/* Sampled acquisitions and hold times of the contended locks (record h): a table of its own, when there are any. */
struct hold_row {
    uint32_t lock;
    uint64_t contentions;
    double total_ns; /* estimated: mean timed hold x estimated acquisitions */
};

static int cmp_hold_row(const void *a, const void *b)
{
    const struct hold_row *x = a, *y = b;
    if (x->total_ns != y->total_ns)
        return x->total_ns > y->total_ns ? -1 : 1;
    return x->lock < y->lock ? -1 : x->lock > y->lock;
}

static size_t hold_rows(const struct model *m, struct hold_row **out)
{
    size_t n = 0;
    struct hold_row *rows = xcalloc(m->n_locks + 1, sizeof *rows);
    for (uint32_t i = 0; i < m->n_locks; i++) {
        const struct m_hold *h = &m->locks[i].hold;
        if (!h->sampled)
            continue;
        rows[n].lock = i;
        rows[n].total_ns = h->timed ? (double)h->hold_ns / (double)h->timed * (double)h->acquired : 0;
        n++;
    }
    for (size_t r = 0; r < m->n_rows; r++)
        for (size_t i = 0; i < n; i++)
            if (rows[i].lock == m->rows[r].lock && model_row_class(&m->rows[r], m) == ROW_CONTENTION)
                rows[i].contentions = sat_add(rows[i].contentions, m->rows[r].count);
    qsort(rows, n, sizeof *rows, cmp_hold_row);
    *out = rows;
    return n;
}

/* The sampling period of the hold measurements (the largest, should processes differ). */
static unsigned long long hold_every(const struct model *m, const struct hold_row *rows, size_t n)
{
    uint64_t every = 0;
    for (size_t i = 0; i < n; i++)
        if (m->locks[rows[i].lock].hold.every > every)
            every = m->locks[rows[i].lock].hold.every;
    return (unsigned long long)every;
}

static double hold_avg_us(const struct m_hold *h) { return h->timed ? (double)h->hold_ns / (double)h->timed / 1e3 : 0; }

static double hold_contended_pct(const struct hold_row *r, const struct m_hold *h)
{
    return h->acquired ? 100.0 * (double)r->contentions / (double)h->acquired : 0;
}

static void text_holds(struct strbuf *o, const struct model *m, const struct ropts *ro)
{
    struct hold_row *rows;
    size_t n = hold_rows(m, &rows);
    if (n) {
        sb_printf(o, "\nAcquisitions and hold times of the contended locks (sampled: 1 in %llu acquisitions per "
                     "thread; acquisitions and total hold are estimates):\n",
                  hold_every(m, rows, n));
        sb_printf(o, "  %-3s %-15s %-32s %13s %10s %13s %12s %15s\n", "#", "kind", "lock", "acquisitions",
                  "contended", "avg hold[us]", "max hold[ms]", "total hold[ms]");
        size_t lim = shown_rows(ro, n);
        struct strbuf label = {0};
        for (size_t i = 0; i < lim; i++) {
            const struct m_lock *l = &m->locks[rows[i].lock];
            const struct m_hold *h = &l->hold;
            char c[16];
            snprintf(c, sizeof c, "%.1f%%", hold_contended_pct(&rows[i], h));
            sb_printf(o, "  %-3zu %-15s %-32s %13llu %10s %13.3f %12.3f %15.3f\n", i + 1, lp_kind_name(l->kind),
                      text_esc(&label, l->name), (unsigned long long)h->acquired, c, hold_avg_us(h), ms(h->max_ns),
                      rows[i].total_ns / 1e6);
        }
        sb_free(&label);
        if (lim < n)
            sb_printf(o, "  ... %zu more (use --top 0 to see all)\n", n - lim);
    }
    free(rows);
}

static void render_text(struct strbuf *o, const struct model *m, const struct ropts *ro)
{
    text_header(o, m);
    waiting_text_deadlocks(o, m, ro->depth, ro->all_frames);
    char heading[160];
    snprintf(heading, sizeof heading, "Lock contention by %s (time threads waited for a lock another thread held)",
             group_by_name(ro->by));
    text_section(o, m, ro, ROWS_CONTENTION, heading,
                 "Top stacks (waiter, and the holder's stack when it released the lock):", (size_t)-1);
    text_holds(o, m, ro);
    text_section(o, m, ro, ROWS_SELF,
                 "Slow paths on a lock the waiting thread already held (a nested critical section re-locking its "
                 "own object: CPython 3.13 does this, e.g. in dict.get)",
                 "Top stacks:", 2);
    text_section(o, m, ro, ROWS_EVENTS,
                 "Waits for events, not contention (condition variables, semaphores, Event/Queue/join "
                 "notifications)",
                 NULL, 0);
    waiting_text(o, m, ro->depth, ro->all_frames);
    text_notes(o, m);
    sb_puts(o, "\nLegend: wait = time from the failed fast path to acquisition; p99 from a log2 histogram; "
               "share = part of this table's total.\n");
}

/* ---- JSON --------------------------------------------------------------------------------------------- */

static void json_frames(struct strbuf *o, const struct model *m, int32_t stack)
{
    sb_puts(o, "[");
    if (stack >= 0) {
        const struct m_stack *s = &m->stacks[stack];
        for (uint32_t i = 0; i < s->n; i++) {
            const struct m_frame *f = &m->frames[s->frames[i]];
            if (i)
                sb_puts(o, ",");
            sb_puts(o, "{\"function\":");
            sb_json_str(o, f->func);
            sb_puts(o, ",\"file\":");
            sb_json_str(o, *f->file ? f->file : NULL);
            if (f->line)
                sb_printf(o, ",\"line\":%llu", (unsigned long long)f->line);
            else
                sb_puts(o, ",\"line\":null");
            sb_puts(o, ",\"module\":");
            sb_json_str(o, *f->module ? f->module : NULL);
            if (f->kind == 'n')
                sb_printf(o, ",\"offset\":%llu", (unsigned long long)f->offset);
            if (f->inlined)
                sb_puts(o, ",\"inlined\":true");
            sb_printf(o, ",\"kind\":\"%s\"}", f->kind == 'p' ? "python" : f->kind == 'x' ? "cut" : "native");
        }
    }
    sb_puts(o, "]");
}

static void json_flags(struct strbuf *o, uint32_t flags)
{
    static const char *names[] = {"self", "write", "reacquire", "parked", "notify", "handoff", "failed"};
    sb_puts(o, "[");
    int first = 1;
    for (int b = 0; b < 7; b++)
        if (flags & (1u << b)) {
            sb_printf(o, "%s\"%s\"", first ? "" : ",", names[b]);
            first = 0;
        }
    sb_puts(o, "]");
}

static void render_json(struct strbuf *o, const struct model *m)
{
    sb_printf(o, "{\"format_version\":1,\"generator\":\"lockprof %s\",\"processes\":[", LOCKPROF_VERSION);
    for (size_t i = 0; i < m->n_procs; i++) {
        const struct m_proc *p = &m->procs[i];
        sb_printf(o, "%s{\"pid\":%llu,\"ppid\":%llu,\"profile\":", i ? "," : "", (unsigned long long)p->pid,
                  (unsigned long long)p->ppid);
        sb_json_str(o, p->path);
        sb_puts(o, ",\"exe\":");
        sb_json_str(o, p->exe);
        sb_puts(o, ",\"cmdline\":");
        sb_json_str(o, p->cmdline);
        sb_printf(o, ",\"duration_ns\":%llu,\"threads\":%llu,\"sample_every\":%llu,\"min_wait_ns\":%llu",
                  (unsigned long long)p->duration_ns, (unsigned long long)p->threads,
                  (unsigned long long)p->sample_every, (unsigned long long)p->min_wait_ns);
        sb_puts(o, ",\"python\":");
        sb_json_str(o, p->python);
        sb_puts(o, ",\"python_build\":");
        sb_json_str(o, p->python_build);
        if (p->gil_enabled >= 0)
            sb_printf(o, ",\"gil_enabled\":%s", p->gil_enabled ? "true" : "false");
        else
            sb_puts(o, ",\"gil_enabled\":null");
        sb_printf(o, ",\"slow_paths_unblocked\":%llu", (unsigned long long)p->events_unblocked);
        sb_printf(o, ",\"self_contentions\":%llu,\"self_waits\":%llu,\"self_wait_ns\":%llu,"
                     "\"holder_stacks\":{\"captured\":%llu,\"reused\":%llu,\"interval_ns\":%llu,"
                     "\"releases_skipped\":%llu},\"warnings\":[",
                  (unsigned long long)p->self_contentions, (unsigned long long)p->self_waits,
                  (unsigned long long)p->self_wait_ns, (unsigned long long)p->holder_captured,
                  (unsigned long long)p->holder_reused, (unsigned long long)p->holder_interval_ns,
                  (unsigned long long)p->holder_skipped);
        for (size_t w = 0; w < p->n_warnings; w++) {
            if (w)
                sb_puts(o, ",");
            sb_json_str(o, p->warnings[w]);
        }
        sb_puts(o, "]}");
    }
    sb_puts(o, "],\"locks\":[");
    size_t n;
    struct grp *g = group_rows(m, BY_LOCK, ROWS_ALL, &n);
    for (size_t i = 0; i < n; i++) {
        const struct grp *gr = &g[i];
        sb_printf(o, "%s{\"kind\":\"%s\",\"name\":", i ? "," : "", lp_kind_name(gr->kind));
        sb_json_str(o, gr->label);
        sb_puts(o, ",\"object_type\":");
        sb_json_str(o, gr->type);
        sb_printf(o, ",\"contention\":%s,\"class\":\"%s\",\"flags\":", gr->is_wait ? "false" : "true",
                  model_row_class_name(gr->cls));
        json_flags(o, gr->flags);
        const struct m_hold *h = &m->locks[gr->lock].hold;
        if (h->sampled && gr->cls == ROW_CONTENTION)
            sb_printf(o, ",\"hold\":{\"acquisitions\":%llu,\"sampled\":%llu,\"timed\":%llu,\"avg_hold_ns\":%llu,"
                         "\"max_hold_ns\":%llu,\"sample_every\":%llu}",
                      (unsigned long long)h->acquired, (unsigned long long)h->sampled, (unsigned long long)h->timed,
                      (unsigned long long)(h->timed ? h->hold_ns / h->timed : 0), (unsigned long long)h->max_ns,
                      (unsigned long long)h->every);
        else
            sb_puts(o, ",\"hold\":null");
        sb_printf(o, ",\"contentions\":%llu,\"wait_ns\":%llu,\"estimated_wait_ns\":%llu,\"max_wait_ns\":%llu,"
                     "\"p50_wait_ns\":%llu,\"p99_wait_ns\":%llu,\"histogram\":[",
                  (unsigned long long)gr->count, (unsigned long long)gr->wait_ns, (unsigned long long)gr->est_ns,
                  (unsigned long long)gr->max_ns,
                  (unsigned long long)model_hist_quantile_max(gr->hist, 0.5, gr->max_ns),
                  (unsigned long long)model_hist_quantile_max(gr->hist, 0.99, gr->max_ns));
        for (int b = 0; b < LP_HIST_BUCKETS; b++)
            sb_printf(o, "%s%llu", b ? "," : "", (unsigned long long)gr->hist[b]);
        sb_puts(o, "],\"stacks\":[");
        for (size_t j = 0; j < gr->n_stacks; j++) {
            const struct stack_stat *s = &gr->stacks[j];
            sb_printf(o, "%s{\"contentions\":%llu,\"wait_ns\":%llu,\"estimated_wait_ns\":%llu,\"max_wait_ns\":%llu,"
                         "\"flags\":", j ? "," : "", (unsigned long long)s->count, (unsigned long long)s->wait_ns,
                      (unsigned long long)s->est_ns, (unsigned long long)s->max_ns);
            json_flags(o, s->flags);
            sb_puts(o, ",\"holder_thread\":");
            if (s->holder_tid) {
                sb_printf(o, "{\"tid\":%llu,\"name\":", (unsigned long long)s->holder_tid);
                sb_json_str(o, model_thread_name(m, s->proc, s->holder_tid));
                sb_puts(o, "}");
            } else {
                sb_puts(o, "null");
            }
            sb_puts(o, ",\"frames\":");
            json_frames(o, m, s->stack);
            sb_puts(o, ",\"holder_frames\":");
            if (s->holder_stack >= 0)
                json_frames(o, m, s->holder_stack);
            else
                sb_puts(o, "null");
            sb_puts(o, "}");
        }
        sb_puts(o, "]}");
    }
    groups_free(g, n);
    sb_puts(o, "],\"threads\":[");
    g = group_rows(m, BY_THREAD, ROWS_CONTENTION, &n);
    for (size_t i = 0; i < n; i++) {
        sb_printf(o, "%s{\"pid\":%llu,\"tid\":%llu,\"name\":", i ? "," : "",
                  (unsigned long long)m->procs[g[i].proc].pid, (unsigned long long)g[i].tid);
        sb_json_str(o, model_thread_name(m, g[i].proc, g[i].tid));
        sb_printf(o, ",\"contentions\":%llu,\"wait_ns\":%llu}", (unsigned long long)g[i].count,
                  (unsigned long long)g[i].wait_ns);
    }
    groups_free(g, n);
    sb_puts(o, "],\"label_sets\":[");
    g = group_rows(m, BY_LABEL, ROWS_CONTENTION, &n);
    for (size_t i = 0; i < n; i++) {
        sb_printf(o, "%s{\"labels\":{", i ? "," : "");
        const struct m_labelset *s = g[i].labels >= 0 ? &m->labelsets[g[i].labels] : NULL;
        for (uint32_t j = 0; s && j < s->n; j++) {
            sb_puts(o, j ? "," : "");
            sb_json_str(o, s->keys[j]);
            sb_puts(o, ":");
            sb_json_str(o, s->values[j]);
        }
        sb_printf(o, "},\"contentions\":%llu,\"wait_ns\":%llu,\"max_wait_ns\":%llu}", (unsigned long long)g[i].count,
                  (unsigned long long)g[i].wait_ns, (unsigned long long)g[i].max_ns);
    }
    groups_free(g, n);
    sb_puts(o, "],");
    waiting_json(o, m, json_frames);
    sb_puts(o, "}\n");
}

/* ---- Markdown ----------------------------------------------------------------------------------------- */

/* GitHub-flavoured Markdown for PR comments and job summaries: a heading that is the summary, one line of
 * context, a warning when the GIL is on in a free-threaded build, the table, the top stack and the profiled
 * processes in collapsed <details> blocks, then the notes. Text from profiles (lock names, frames, command
 * lines) only ever appears inside code spans, code blocks or HTML-escaped, so it cannot break the layout,
 * start a mention or inject markup. */

/* Longest run of backticks in s. */
static size_t md_backtick_run(const char *s)
{
    size_t best = 0, run = 0;
    for (; *s; s++) {
        run = *s == '`' ? run + 1 : 0;
        if (run > best)
            best = run;
    }
    return best;
}

/* s as an inline code span. In a table cell '|' is escaped (GFM reads "\\|" inside code spans of tables as
 * '|'); control characters become spaces (sb_text's TEXT_SPACE). An empty s is an em dash. */
static void md_code(struct strbuf *o, const char *raw, int in_table)
{
    if (!*raw) {
        sb_puts(o, "—");
        return;
    }
    struct strbuf t = {0};
    sb_text(&t, raw, strlen(raw), TEXT_SPACE);
    const char *s = t.s;
    size_t fence = md_backtick_run(s) + 1;
    size_t len = strlen(s);
    int pad = s[0] == '`' || s[len - 1] == '`' || s[0] == ' ' || s[len - 1] == ' ';
    for (size_t i = 0; i < fence; i++)
        sb_add(o, "`", 1);
    if (pad)
        sb_add(o, " ", 1);
    for (; *s; s++) {
        if (in_table && *s == '|')
            sb_add(o, "\\|", 2);
        else
            sb_add(o, s, 1);
    }
    if (pad)
        sb_add(o, " ", 1);
    for (size_t i = 0; i < fence; i++)
        sb_add(o, "`", 1);
    sb_free(&t);
}

/* A fenced code block around `body` (which ends in a newline), with a fence longer than any backtick run in it. */
static void md_code_block(struct strbuf *o, const struct strbuf *body)
{
    size_t run = body->len ? md_backtick_run(body->s) : 0, fence = run < 3 ? 3 : run + 1;
    for (size_t i = 0; i < fence; i++)
        sb_add(o, "`", 1);
    sb_puts(o, "text\n");
    if (body->len)
        sb_add(o, body->s, body->len);
    for (size_t i = 0; i < fence; i++)
        sb_add(o, "`", 1);
    sb_puts(o, "\n");
}

/* A group's label: a code span, except the "(not an object)" group of --by type, which is not a name. `html`:
 * for the <summary> of a <details> block. */
static void md_label(struct strbuf *o, const struct grp *g, enum group_by by, int in_table, int html)
{
    if (by == BY_TYPE && !g->type) {
        sb_puts(o, html ? "locks that are not objects" : "*not an object*");
    } else if (html) {
        /* control characters (a newline pair would end the HTML block) become spaces */
        struct strbuf t = {0};
        sb_text(&t, g->label, strlen(g->label), TEXT_SPACE);
        sb_puts(o, "<code>");
        sb_xml(o, t.s ? t.s : ""); /* (an empty name leaves t unallocated) */
        sb_puts(o, "</code>");
        sb_free(&t);
    } else {
        md_code(o, g->label, in_table);
    }
}

static void md_summary(struct strbuf *o, const struct model *m, const struct grp *g, size_t n, uint64_t total,
                       enum group_by by)
{
    uint64_t count = 0, threads = 0, duration = 0;
    for (size_t i = 0; i < n; i++)
        count = sat_add(count, g[i].count);
    for (size_t i = 0; i < m->n_procs; i++) {
        threads = sat_add(threads, m->procs[i].threads);
        if (m->procs[i].duration_ns > duration)
            duration = m->procs[i].duration_ns;
    }
    if (n)
        sb_printf(o, "### lockprof: %llu lock contention%s, %.3f ms waiting\n\n", (unsigned long long)count,
                  count == 1 ? "" : "s", ms(total));
    else
        sb_puts(o, "### lockprof: no lock contention\n\n");
    sb_printf(o, "%zu process%s, %llu thread%s that waited, longest run %.3f s", m->n_procs,
              m->n_procs == 1 ? "" : "es", (unsigned long long)threads, threads == 1 ? "" : "s",
              (double)duration / 1e9);
    uint64_t tt = model_thread_time_ns(m);
    if (n && tt) {
        double f = 100.0 * (double)total / (double)tt;
        if (f < 0.1)
            sb_puts(o, "; contention is <0.1% of their thread time");
        else
            sb_printf(o, "; contention is %.1f%% of their thread time", f);
    }
    if (n) {
        char p[16];
        sb_puts(o, "; top: ");
        md_label(o, &g[0], by, 0, 0);
        sb_printf(o, " (%s, %s of the wait)", lp_kind_name(g[0].kind), pct(g[0].wait_ns, total, p));
    }
    sb_puts(o, ".\n\n");
}

static void md_gil_warning(struct strbuf *o, const struct model *m)
{
    for (size_t i = 0; i < m->n_procs; i++) {
        const struct m_proc *p = &m->procs[i];
        if (!p->python_build || strcmp(p->python_build, "free-threaded") || p->gil_enabled != 1)
            continue;
        struct strbuf v = {0};
        sb_printf(o, "> [!WARNING]\n> **The GIL is enabled** in free-threaded Python %s (pid %llu): threads are "
                     "serialised on the GIL, so this profile does not show free-threaded behaviour. "
                     "`PYTHON_GIL=1` enables it, and so does importing an extension module that does not declare "
                     "`Py_mod_gil` (Python then warns with the module's name); `PYTHON_GIL=0` keeps it off.\n\n",
                  text_esc(&v, p->python), (unsigned long long)p->pid);
        sb_free(&v);
    }
}

static void md_table(struct strbuf *o, const struct model *m, const struct grp *g, size_t n,
                     const struct ropts *ro, uint64_t total)
{
    const char *col = by_column(ro->by);
    sb_printf(o, "| # | kind | %s |%s contentions | wait [ms] | share | avg [ms] | max [ms] | p99 [ms] |%s\n", col,
              ro->by == BY_LOCK ? " object type |" : "", ro->by == BY_STACK ? "" : " top waiter frame |");
    sb_printf(o, "|--:|------|------|%s------------:|----------:|------:|---------:|---------:|---------:|%s\n",
              ro->by == BY_LOCK ? "-------------|" : "", ro->by == BY_STACK ? "" : "------------------|");
    size_t lim = shown_rows(ro, n);
    struct strbuf frame = {0};
    for (size_t i = 0; i < lim; i++) {
        char p[16];
        sb_printf(o, "| %zu | %s | ", i + 1, lp_kind_name(g[i].kind));
        md_label(o, &g[i], ro->by, 1, 0);
        sb_puts(o, " |");
        if (ro->by == BY_LOCK) {
            sb_puts(o, " ");
            md_code(o, g[i].type ? g[i].type : "", 1);
            sb_puts(o, " |");
        }
        sb_printf(o, " %llu | %s%.3f | %s | %.3f | %.3f | %.3f |", (unsigned long long)g[i].count,
                  g[i].est_ns ? "~" : "", ms(g[i].wait_ns),
                  pct(g[i].wait_ns, total, p), g[i].count ? ms(g[i].wait_ns) / (double)g[i].count : 0.0,
                  ms(g[i].max_ns), ms(model_hist_quantile_max(g[i].hist, 0.99, g[i].max_ns)));
        if (ro->by != BY_STACK) {
            /* short form (file and module base names, no offset): the <details> block has the full frames */
            int64_t f = g[i].n_stacks ? model_top_frame(m, g[i].stacks[0].stack) : -1;
            sb_reset(&frame);
            if (f >= 0)
                folded_frame_text(m, (uint32_t)f, &frame);
            sb_puts(o, " ");
            md_code(o, frame.s ? frame.s : "", 1);
            sb_puts(o, " |");
        }
        sb_puts(o, "\n");
    }
    sb_free(&frame);
    if (lim < n)
        sb_printf(o, "\n%zu more not shown (`lockprof report --format markdown --top 0` lists all).\n", n - lim);
}

static void md_top_stack(struct strbuf *o, const struct model *m, const struct grp *g, const struct ropts *ro)
{
    const struct stack_stat *s = &g->stacks[0];
    char p[16];
    sb_puts(o, "\n<details><summary>Top stack: ");
    md_label(o, g, ro->by, 0, 1);
    sb_printf(o, " (%s), %llu contentions, %.3f ms (%s of its wait)</summary>\n\n", lp_kind_name(g->kind),
              (unsigned long long)s->count, ms(s->wait_ns), pct(s->wait_ns, g->wait_ns, p));
    struct strbuf b = {0};
    sb_printf(&b, "waiter%s%s:\n", s->flags & LP_AGG_SELF ? " (the lock was held by the waiter itself)" : "",
              s->est_ns ? " (re-acquiring the mutex after a condition wait: the time is estimated)" : "");
    print_stack(&b, m, s->stack, ro, "  ");
    if (s->holder_stack >= 0 || s->holder_tid) {
        sb_puts(&b, "blocked by (the holder when it released the lock)");
        if (s->holder_tid) {
            const char *nm = model_thread_name(m, s->proc, s->holder_tid);
            sb_puts(&b, ", thread ");
            if (nm)
                sb_text_str(&b, nm);
            else
                sb_puts(&b, "?");
            sb_printf(&b, " (tid %llu)", (unsigned long long)s->holder_tid);
        }
        sb_puts(&b, ":\n");
        if (s->holder_stack >= 0)
            print_stack(&b, m, s->holder_stack, ro, "  ");
        else
            sb_puts(&b, "  (no stack recorded)\n");
    }
    md_code_block(o, &b);
    sb_free(&b);
    if (g->n_stacks > 1)
        sb_printf(o, "\n%zu more stack%s for this %s: `lockprof report` shows them.\n", g->n_stacks - 1,
                  g->n_stacks == 2 ? "" : "s", group_by_name(ro->by));
    sb_puts(o, "\n</details>\n");
}

static void md_processes(struct strbuf *o, const struct model *m)
{
    size_t lim = m->n_procs < 20 ? m->n_procs : 20;
    sb_printf(o, "\n<details><summary>Profiled process%s (%zu)</summary>\n\n", m->n_procs == 1 ? "" : "es",
              m->n_procs);
    for (size_t i = 0; i < lim; i++) {
        const struct m_proc *p = &m->procs[i];
        sb_printf(o, "- pid %llu: ", (unsigned long long)p->pid);
        md_code(o, *p->cmdline ? p->cmdline : p->exe, 0);
        sb_printf(o, " — %.3f s, %llu thread%s that waited", (double)p->duration_ns / 1e9,
                  (unsigned long long)p->threads, p->threads == 1 ? "" : "s");
        if (p->python) {
            struct strbuf v = {0}, b = {0};
            sb_printf(o, ", Python %s (%s)", text_esc(&v, p->python),
                      p->python_build ? text_esc(&b, p->python_build) : "?");
            sb_free(&v);
            sb_free(&b);
        }
        sb_puts(o, "\n");
    }
    if (lim < m->n_procs)
        sb_printf(o, "- … %zu more\n", m->n_procs - lim);
    sb_puts(o, "\n</details>\n");
}

static void md_notes(struct strbuf *o, const struct model *m)
{
    int header = 0;
#define MD_NOTE(...)                                                                                          \
    do {                                                                                                       \
        if (!header++)                                                                                         \
            sb_puts(o, "\n**Notes**\n\n");                                                                     \
        sb_printf(o, "- " __VA_ARGS__);                                                                        \
    } while (0)
    size_t ng;
    struct grp *g = group_rows(m, BY_LOCK, ROWS_CONTENTION, &ng);
    uint64_t est = 0;
    for (size_t i = 0; i < ng; i++)
        est = sat_add(est, g[i].est_ns);
    if (est)
        MD_NOTE("`~`: estimated in part. %.3f ms of the contention are mutexes re-acquired after a condition-variable "
                "wake-up, which glibc does where lockprof cannot time it (docs/DESIGN.md, \"Re-acquiring the mutex "
                "after a condition wait\").\n", ms(est));
    groups_free(g, ng);
    g = group_rows(m, BY_LOCK, ROWS_WAITS, &ng);
    if (ng)
        MD_NOTE("Not lock contention, so left out: %.3f ms of waits on condition variables, semaphores, "
                "Event/Queue/join notifications and locks held by the waiter itself.\n",
                ms(sum_wait(g, ng)));
    groups_free(g, ng);
    for (size_t i = 0; i < m->n_procs; i++) {
        const struct m_proc *p = &m->procs[i];
        unsigned long long pid = (unsigned long long)p->pid;
        if (p->sample_every > 1)
            MD_NOTE("pid %llu: sampled 1 wait in %llu; counts and waits are scaled by %llu.\n", pid,
                    (unsigned long long)p->sample_every, (unsigned long long)p->sample_every);
        if (p->min_wait_ns)
            MD_NOTE("pid %llu: waits shorter than %llu ns were counted but not recorded: %llu waits, %.3f ms.\n", pid,
                    (unsigned long long)p->min_wait_ns, (unsigned long long)p->events_below_min_wait,
                    ms(p->wait_below_min_wait_ns));
        if (p->events_unblocked)
            MD_NOTE("pid %llu: %llu CPython lock acquisitions entered the slow path and took the lock before blocking: "
                    "counted, not waits.\n", pid, (unsigned long long)p->events_unblocked);
        if (p->events_dropped)
            MD_NOTE("pid %llu: %llu events dropped (the collector ran out of memory).\n", pid,
                    (unsigned long long)p->events_dropped);
        if (p->self_contentions)
            MD_NOTE("pid %llu: the profiler's own internal lock was contended %llu times.\n", pid,
                    (unsigned long long)p->self_contentions);
        if (p->self_waits)
            MD_NOTE("pid %llu: lockprof itself waited %llu time%s, %.3f ms in all, not counted in these waits (for "
                    "libunwind's internal locks while threads captured stacks, or for libunwind's start-up).\n", pid,
                    (unsigned long long)p->self_waits, p->self_waits == 1 ? "" : "s", ms(p->self_wait_ns));
        if (p->holder_reused)
            MD_NOTE("pid %llu: holder stacks are sampled: %llu of %llu releases made while a thread waited captured "
                    "one; the others show the releasing thread's last one for the same lock (at most one capture per "
                    "thread and lock every %.3f ms).\n", pid, (unsigned long long)p->holder_captured,
                    (unsigned long long)(p->holder_captured + p->holder_reused), ms(p->holder_interval_ns));
        if (p->holder_skipped)
            MD_NOTE("pid %llu: on hot locks, %llu releases made while a thread waited were not told to the waiters "
                    "(each thread tells them of a few releases of a lock every %.3f ms): those waits show an earlier "
                    "release's holder, or none.\n", pid, (unsigned long long)p->holder_skipped,
                    ms(p->holder_interval_ns));
        for (size_t w = 0; w < p->n_warnings; w++) {
            MD_NOTE("pid %llu: collector warning: ", pid);
            md_code(o, p->warnings[w], 0);
            sb_puts(o, "\n");
        }
    }
#undef MD_NOTE
}

/* A deadlock in the waits in progress: a warning with each member's wait as a code span. */
static void md_deadlocks(struct strbuf *o, const struct model *m)
{
    struct m_deadlock *d;
    size_t n = model_deadlocks(m, &d);
    for (size_t i = 0; i < n; i++) {
        sb_printf(o, "> [!CAUTION]\n> **Deadlock** in pid %llu: %zu threads, each waiting for a lock the next one "
                     "holds:\n", (unsigned long long)m->procs[d[i].proc].pid, d[i].n);
        for (size_t j = 0; j < d[i].n; j++) {
            const struct m_waiting *w = &m->waiting[d[i].waiting[j]];
            sb_printf(o, "> - tid %llu waits for %s ", (unsigned long long)w->tid,
                      lp_kind_name(m->locks[w->lock].kind));
            md_code(o, m->locks[w->lock].name, 0);
            sb_printf(o, ", held by tid %llu\n", (unsigned long long)w->owner_tid);
        }
        sb_puts(o, "\n");
        free(d[i].waiting);
    }
    free(d);
}

static void md_holds(struct strbuf *o, const struct model *m, const struct ropts *ro)
{
    struct hold_row *rows;
    size_t n = hold_rows(m, &rows);
    if (n) {
        sb_printf(o, "\n**Hold times of the contended locks** (sampled: 1 in %llu acquisitions per thread; "
                     "acquisitions and total hold are estimates)\n\n", hold_every(m, rows, n));
        sb_puts(o, "| # | kind | lock | acquisitions | contended | avg hold [us] | max hold [ms] | total hold [ms] |\n"
                   "|--:|------|------|---:|---:|---:|---:|---:|\n");
        size_t lim = shown_rows(ro, n);
        for (size_t i = 0; i < lim; i++) {
            const struct m_lock *l = &m->locks[rows[i].lock];
            sb_printf(o, "| %zu | %s | ", i + 1, lp_kind_name(l->kind));
            md_code(o, l->name, 1);
            sb_printf(o, " | %llu | %.1f%% | %.3f | %.3f | %.3f |\n", (unsigned long long)l->hold.acquired,
                      hold_contended_pct(&rows[i], &l->hold), hold_avg_us(&l->hold), ms(l->hold.max_ns),
                      rows[i].total_ns / 1e6);
        }
        if (lim < n)
            sb_printf(o, "\n%zu more not shown (`--top 0` lists all).\n", n - lim);
    }
    free(rows);
}

static void render_markdown(struct strbuf *o, const struct model *m, const struct ropts *ro)
{
    size_t n;
    struct grp *g = group_rows(m, ro->by, ROWS_CONTENTION, &n);
    uint64_t total = sum_wait(g, n);
    md_summary(o, m, g, n, total, ro->by);
    md_gil_warning(o, m);
    md_deadlocks(o, m);
    if (!n) {
        sb_puts(o, "No thread waited for a lock that another thread held.\n");
    } else {
        md_table(o, m, g, n, ro, total);
        if (g[0].n_stacks)
            md_top_stack(o, m, &g[0], ro);
        md_holds(o, m, ro);
    }
    groups_free(g, n);
    md_processes(o, m);
    md_notes(o, m);
}

/* ---- command ------------------------------------------------------------------------------------------ */

int cmd_report(int argc, char **argv)
{
    enum { O_LABEL = 256 };
    static const struct option lo[] = {{"format", 1, 0, 'f'}, {"by", 1, 0, 'b'},     {"top", 1, 0, 't'},
                                       {"depth", 1, 0, 'd'},  {"frames", 1, 0, 'F'}, {"output", 1, 0, 'o'},
                                       {"label", 1, 0, O_LABEL}, {"help", 0, 0, 'h'},   {0, 0, 0, 0}};
    const char *format = "text", *out = NULL;
    struct ropts ro = {BY_LOCK, 10, 16, 0};
    struct label_filters lf = {0};
    int c, rc = EXIT_OK;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":f:b:t:d:F:o:h", lo, NULL)) != -1) {
        switch (c) {
        case 'f': format = optarg; break;
        case 'b':
            if (group_by_parse(optarg, &ro.by)) {
                die_msg("report: --by must be lock, type, stack, thread or label, not '%s'", optarg);
                rc = EXIT_USAGE;
            }
            break;
        case O_LABEL:
            if (label_filter_add(&lf, "report", optarg))
                rc = EXIT_USAGE;
            break;
        case 't': if (parse_count("--top", optarg, &ro.top)) rc = EXIT_USAGE; break;
        case 'd': if (parse_count("--depth", optarg, &ro.depth)) rc = EXIT_USAGE; break;
        case 'F': if (parse_frames("report", optarg, &ro.all_frames)) rc = EXIT_USAGE; break;
        case 'o': out = optarg; break;
        case 'h': fputs(usage, stdout); label_filters_free(&lf); return EXIT_OK;
        default: rc = bad_option("report", c, argv); break;
        }
        if (rc != EXIT_OK) {
            label_filters_free(&lf);
            return rc;
        }
    }
    if (strcmp(format, "text") && strcmp(format, "json") && strcmp(format, "markdown")) {
        die_msg("report: --format must be text, json or markdown, not '%s'", format);
        label_filters_free(&lf);
        return EXIT_USAGE;
    }
    if (optind >= argc) {
        die_msg("report: no profile given");
        fputs(usage, stderr);
        label_filters_free(&lf);
        return EXIT_USAGE;
    }
    struct model m;
    if (model_load(&m, argv + optind, argc - optind)) {
        label_filters_free(&lf);
        return EXIT_USAGE;
    }
    label_filters_apply(&m, &lf);
    label_filters_free(&lf);
    struct strbuf o = {0};
    if (!strcmp(format, "json"))
        render_json(&o, &m);
    else if (!strcmp(format, "markdown"))
        render_markdown(&o, &m, &ro);
    else
        render_text(&o, &m, &ro);
    model_free(&m);
    struct out f;
    if (out_open(&f, out)) {
        rc = EXIT_USAGE;
    } else {
        fwrite(o.s, 1, o.len, f.f);
        if (out_commit(&f))
            rc = EXIT_USAGE;
    }
    sb_free(&o);
    return rc;
}

void report_summary(char **paths, int n, int top)
{
    struct model m;
    if (model_load(&m, paths, n))
        return;
    size_t ng;
    struct grp *g = group_rows(&m, BY_LOCK, ROWS_CONTENTION, &ng);
    fprintf(stderr, "lockprof: top contended locks (%zu profile%s):\n", (size_t)n, n == 1 ? "" : "s");
    if (!ng)
        fputs("  no lock contention recorded\n", stderr);
    size_t shown = ng < (size_t)top ? ng : (size_t)top;
    int wl = 36, wt = 16;
    name_widths(g, shown, 1, &wl, &wt);
    if (ng)
        fprintf(stderr, "  %-15s %-*s %-*s %11s %11s %9s\n", "kind", wl, "lock", wt, "object type", "contentions",
                "wait[ms]", "max[ms]");
    struct strbuf label = {0}, type = {0};
    int est = 0;
    for (size_t i = 0; i < shown; i++) {
        char wait[32]; /* "~": estimated in part (re-acquisitions after a condition wait) */
        snprintf(wait, sizeof wait, "%s%.3f", g[i].est_ns ? "~" : "", ms(g[i].wait_ns));
        est |= g[i].est_ns != 0;
        fprintf(stderr, "  %-15s %-*s %-*s %11llu %11s %9.3f\n", lp_kind_name(g[i].kind), wl,
                text_esc(&label, g[i].label), wt, text_esc(&type, g[i].type ? g[i].type : "-"),
                (unsigned long long)g[i].count, wait, ms(g[i].max_ns));
    }
    if (est)
        fputs("  ~ estimated in part: mutexes re-acquired after a condition-variable wake-up\n", stderr);
    sb_free(&label);
    sb_free(&type);
    groups_free(g, ng);
    size_t deadlocks = waiting_deadlock_count(&m);
    if (deadlocks)
        fprintf(stderr, "lockprof: DEADLOCK: %zu cycle%s of threads each waiting for a lock the next one holds "
                        "(lockprof report shows them)\n", deadlocks, deadlocks == 1 ? "" : "s");
    else if (m.n_waiting)
        fprintf(stderr, "lockprof: %zu wait%s in progress when the last profile was written (lockprof report shows "
                        "them)\n", m.n_waiting, m.n_waiting == 1 ? " was" : "s were");
    model_free(&m);
}
