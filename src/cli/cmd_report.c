/* cmd_report.c — `lockprof report`: text, JSON and Markdown reports of one or more profiles. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "group.h"
#include "model.h"
#include "util.h"

static const char usage[] =
    "usage: lockprof report [--format text|json|markdown] [--by lock|type|stack|thread] [--top N]\n"
    "                       [--depth N] [--frames user|all] [-o OUT] PROFILE...\n"
    "\n"
    "Merges the profiles and prints where threads waited for locks.\n"
    "\n"
    "  --format F   text (default), json (schema: docs/report-schema.json) or markdown (for PR comments)\n"
    "  --by K       group the tables by lock (default), object type, waiter stack or thread\n"
    "  --top N      rows per table (default 10; 0 = all)\n"
    "  --depth N    frames shown per stack in text/markdown (default 16; 0 = all)\n"
    "  --frames F   user (default): hide native frames of the interpreter, libc and lockprof between\n"
    "               the leaf and the first user frame; all: show every frame\n"
    "  -o OUT       write to OUT instead of standard output (atomically)\n"
    "\n"
    "Exit status: 0 ok, 2 bad option or unreadable/malformed profile.\n";

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

/* ---- text --------------------------------------------------------------------------------------------- */

static void print_stack(struct strbuf *o, const struct model *m, int32_t stack, const struct ropts *ro,
                        const char *indent)
{
    if (stack < 0) {
        sb_printf(o, "%s(no stack recorded)\n", indent);
        return;
    }
    const struct m_stack *s = &m->stacks[stack];
    char buf[1024];
    long shown = 0;
    int hidden = 0;
    for (uint32_t i = 0; i < s->n; i++) {
        const struct m_frame *f = &m->frames[s->frames[i]];
        if (!ro->all_frames && i > 0 && f->interp) {
            hidden++;
            continue;
        }
        if (ro->depth && shown >= ro->depth) {
            sb_printf(o, "%s... %u more frames\n", indent, s->n - i);
            return;
        }
        if (hidden) {
            sb_printf(o, "%s  (%d interpreter/libc frames)\n", indent, hidden);
            hidden = 0;
        }
        sb_printf(o, "%s#%-2u %s\n", indent, i, model_frame_str(m, s->frames[i], buf, sizeof buf));
        shown++;
    }
    if (hidden)
        sb_printf(o, "%s  (%d interpreter/libc frames)\n", indent, hidden);
}

static void text_table(struct strbuf *o, const struct model *m, struct grp *g, size_t n, const struct ropts *ro,
                       uint64_t total)
{
    const char *col = ro->by == BY_LOCK ? "lock" : ro->by == BY_TYPE ? "object type" : ro->by == BY_STACK
                                                                                           ? "top waiter frame"
                                                                                           : "thread";
    sb_printf(o, "  %-3s %-15s %-32s %-18s %11s %11s %9s %9s %9s %6s  %s\n", "#", "kind", col,
              ro->by == BY_LOCK ? "object type" : "", "contentions", "wait[ms]", "avg[ms]", "max[ms]", "p99[ms]",
              "share", ro->by == BY_STACK ? "" : "top waiter frame");
    size_t lim = ro->top && (size_t)ro->top < n ? (size_t)ro->top : n;
    for (size_t i = 0; i < lim; i++) {
        char buf[1024] = "", p[16];
        if (ro->by != BY_STACK && g[i].n_stacks) {
            int64_t f = model_top_frame(m, g[i].stacks[0].stack);
            if (f >= 0)
                model_frame_str(m, (uint32_t)f, buf, sizeof buf);
        }
        sb_printf(o, "  %-3zu %-15s %-32s %-18s %11llu %11.3f %9.3f %9.3f %9.3f %6s  %s\n", i + 1,
                  lp_kind_name(g[i].kind), g[i].label,
                  ro->by == BY_LOCK ? (g[i].type ? g[i].type : "-") : "", (unsigned long long)g[i].count,
                  ms(g[i].wait_ns), g[i].count ? ms(g[i].wait_ns) / (double)g[i].count : 0.0, ms(g[i].max_ns),
                  ms(model_hist_quantile_max(g[i].hist, 0.99, g[i].max_ns)), pct(g[i].wait_ns, total, p), buf);
    }
    if (lim < n)
        sb_printf(o, "  ... %zu more (use --top 0 to see all)\n", n - lim);
}

static void text_stacks(struct strbuf *o, const struct model *m, struct grp *g, size_t n, const struct ropts *ro)
{
    size_t locks = n < 5 ? n : 5;
    if (ro->top && (size_t)ro->top < locks)
        locks = (size_t)ro->top;
    for (size_t i = 0; i < locks; i++) {
        sb_printf(o, "\n  [%zu] %s %s%s%s — %llu contentions, %.3f ms\n", i + 1, lp_kind_name(g[i].kind), g[i].label,
                  g[i].type && ro->by == BY_LOCK ? " of type " : "", g[i].type && ro->by == BY_LOCK ? g[i].type : "",
                  (unsigned long long)g[i].count, ms(g[i].wait_ns));
        size_t ns = g[i].n_stacks < 3 ? g[i].n_stacks : 3;
        for (size_t j = 0; j < ns; j++) {
            const struct stack_stat *s = &g[i].stacks[j];
            char p[16];
            sb_printf(o, "    stack %zu: %llu contentions, %.3f ms (%s of this lock)%s\n", j + 1,
                      (unsigned long long)s->count, ms(s->wait_ns), pct(s->wait_ns, g[i].wait_ns, p),
                      s->flags & LP_AGG_SELF ? " [held by the waiter itself]" : "");
            sb_puts(o, "      waiter:\n");
            print_stack(o, m, s->stack, ro, "        ");
            if (s->holder_stack >= 0) {
                sb_puts(o, "      blocked by (holder at release):\n");
                print_stack(o, m, s->holder_stack, ro, "        ");
            }
            if (s->holder_tid) {
                const char *nm = model_thread_name(m, s->proc, s->holder_tid);
                sb_printf(o, "      holder thread: %s (tid %llu)\n", nm ? nm : "?", (unsigned long long)s->holder_tid);
            }
        }
        if (g[i].n_stacks > ns)
            sb_printf(o, "    ... %zu more stacks\n", g[i].n_stacks - ns);
    }
}

static uint64_t sum_wait(struct grp *g, size_t n)
{
    uint64_t t = 0;
    for (size_t i = 0; i < n; i++)
        t += g[i].wait_ns;
    return t;
}

static void text_header(struct strbuf *o, const struct model *m)
{
    uint64_t events = 0;
    for (size_t i = 0; i < m->n_rows; i++)
        events += m->rows[i].count;
    sb_printf(o, "lockprof report: %zu process%s, %zu thread%s, %llu recorded waits\n", m->n_procs,
              m->n_procs == 1 ? "" : "es", m->n_threads, m->n_threads == 1 ? "" : "s", (unsigned long long)events);
    for (size_t i = 0; i < m->n_procs; i++) {
        const struct m_proc *p = &m->procs[i];
        sb_printf(o, "  pid %llu: %.200s — %.3f s, %llu thread%s", (unsigned long long)p->pid,
                  *p->cmdline ? p->cmdline : p->exe, (double)p->duration_ns / 1e9, (unsigned long long)p->threads,
                  p->threads == 1 ? "" : "s");
        if (p->python)
            sb_printf(o, ", Python %s (%s)", p->python, p->python_build ? p->python_build : "?");
        if (p->sample_every > 1)
            sb_printf(o, ", sampled 1 in %llu (counts and waits scaled x%llu)", (unsigned long long)p->sample_every,
                      (unsigned long long)p->sample_every);
        sb_puts(o, "\n");
    }
}

static void text_notes(struct strbuf *o, const struct model *m)
{
    int header = 0;
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
        if (p->events_dropped)
            NOTE("pid %llu: %llu events dropped (collector out of memory)", (unsigned long long)p->pid,
                 (unsigned long long)p->events_dropped);
        if (p->self_contentions)
            NOTE("pid %llu: the profiler's own internal lock was contended %llu times", (unsigned long long)p->pid,
                 (unsigned long long)p->self_contentions);
        for (size_t w = 0; w < p->n_warnings; w++)
            NOTE("pid %llu: collector warning: %s", (unsigned long long)p->pid, p->warnings[w]);
    }
#undef NOTE
}

static void render_text(struct strbuf *o, const struct model *m, const struct ropts *ro)
{
    text_header(o, m);
    size_t n;
    struct grp *g = group_rows(m, ro->by, ROWS_CONTENTION, &n);
    uint64_t total = sum_wait(g, n);
    sb_printf(o, "\nLock contention by %s (time threads waited for a lock another thread held): %.3f ms total\n",
              group_by_name(ro->by), ms(total));
    if (!n)
        sb_puts(o, "  no contention recorded\n");
    else {
        text_table(o, m, g, n, ro, total);
        sb_puts(o, "\nTop stacks (waiter, and the holder's stack when it released the lock):\n");
        text_stacks(o, m, g, n, ro);
    }
    groups_free(g, n);

    g = group_rows(m, ro->by, ROWS_WAITS, &n);
    if (n) {
        total = sum_wait(g, n);
        sb_printf(o, "\nWaits that are not contention (condition variables, semaphores, Event/Queue/join "
                     "notifications, locks held by the waiter itself): %.3f ms total\n",
                  ms(total));
        text_table(o, m, g, n, ro, total);
    }
    groups_free(g, n);
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
            sb_printf(o, ",\"kind\":\"%s\"}", f->kind == 'p' ? "python" : "native");
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
        sb_printf(o, ",\"self_contentions\":%llu,\"warnings\":[", (unsigned long long)p->self_contentions);
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
        sb_printf(o, ",\"contention\":%s,\"flags\":", gr->is_wait ? "false" : "true");
        json_flags(o, gr->flags);
        sb_printf(o, ",\"contentions\":%llu,\"wait_ns\":%llu,\"max_wait_ns\":%llu,\"p50_wait_ns\":%llu,"
                     "\"p99_wait_ns\":%llu,\"histogram\":[",
                  (unsigned long long)gr->count, (unsigned long long)gr->wait_ns, (unsigned long long)gr->max_ns,
                  (unsigned long long)model_hist_quantile_max(gr->hist, 0.5, gr->max_ns),
                  (unsigned long long)model_hist_quantile_max(gr->hist, 0.99, gr->max_ns));
        for (int b = 0; b < LP_HIST_BUCKETS; b++)
            sb_printf(o, "%s%llu", b ? "," : "", (unsigned long long)gr->hist[b]);
        sb_puts(o, "],\"stacks\":[");
        for (size_t j = 0; j < gr->n_stacks; j++) {
            const struct stack_stat *s = &gr->stacks[j];
            sb_printf(o, "%s{\"contentions\":%llu,\"wait_ns\":%llu,\"max_wait_ns\":%llu,\"flags\":", j ? "," : "",
                      (unsigned long long)s->count, (unsigned long long)s->wait_ns, (unsigned long long)s->max_ns);
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
        sb_printf(o, "%s{\"pid\":%llu,\"tid\":%llu,\"name\":", i ? "," : "", (unsigned long long)m->procs[g[i].proc].pid,
                  (unsigned long long)g[i].tid);
        sb_json_str(o, model_thread_name(m, g[i].proc, g[i].tid));
        sb_printf(o, ",\"contentions\":%llu,\"wait_ns\":%llu}", (unsigned long long)g[i].count,
                  (unsigned long long)g[i].wait_ns);
    }
    groups_free(g, n);
    sb_puts(o, "]}\n");
}

/* ---- Markdown ----------------------------------------------------------------------------------------- */

static void md_escape(struct strbuf *o, const char *s)
{
    for (; *s; s++) {
        if (strchr("|*_`[]<>\\", *s))
            sb_add(o, "\\", 1);
        sb_add(o, s, 1);
    }
}

static void render_markdown(struct strbuf *o, const struct model *m, const struct ropts *ro)
{
    size_t n;
    struct grp *g = group_rows(m, ro->by, ROWS_CONTENTION, &n);
    uint64_t total = sum_wait(g, n), count = 0;
    for (size_t i = 0; i < n; i++)
        count += g[i].count;
    sb_printf(o, "### lockprof: %.3f ms of lock contention in %llu waits\n\n", ms(total), (unsigned long long)count);
    for (size_t i = 0; i < m->n_procs; i++)
        if (m->procs[i].python_build && !strcmp(m->procs[i].python_build, "free-threaded") &&
            m->procs[i].gil_enabled == 1)
            sb_printf(o, "> **Warning:** the GIL is enabled in free-threaded pid %llu.\n\n",
                      (unsigned long long)m->procs[i].pid);
    if (!n) {
        sb_puts(o, "No lock contention recorded.\n");
    } else {
        sb_printf(o, "| # | kind | %s | object type | contentions | wait [ms] | max [ms] | p99 [ms] | top waiter frame |\n",
                  group_by_name(ro->by));
        sb_puts(o, "|--:|------|------|-------------|------------:|----------:|---------:|---------:|------------------|\n");
        size_t lim = ro->top && (size_t)ro->top < n ? (size_t)ro->top : n;
        for (size_t i = 0; i < lim; i++) {
            char buf[1024] = "";
            int64_t f = g[i].n_stacks ? model_top_frame(m, g[i].stacks[0].stack) : -1;
            if (f >= 0)
                model_frame_str(m, (uint32_t)f, buf, sizeof buf);
            sb_printf(o, "| %zu | %s | ", i + 1, lp_kind_name(g[i].kind));
            md_escape(o, g[i].label);
            sb_puts(o, " | ");
            md_escape(o, g[i].type ? g[i].type : "—");
            sb_printf(o, " | %llu | %.3f | %.3f | %.3f | `%s` |\n", (unsigned long long)g[i].count, ms(g[i].wait_ns),
                      ms(g[i].max_ns), ms(model_hist_quantile_max(g[i].hist, 0.99, g[i].max_ns)), buf);
        }
        if (lim < n)
            sb_printf(o, "\n%zu more not shown.\n", n - lim);
        if (g[0].n_stacks) {
            sb_puts(o, "\n<details><summary>Top stack of the top lock</summary>\n\n```\n");
            print_stack(o, m, g[0].stacks[0].stack, ro, "");
            if (g[0].stacks[0].holder_stack >= 0) {
                sb_puts(o, "--- blocked by ---\n");
                print_stack(o, m, g[0].stacks[0].holder_stack, ro, "");
            }
            sb_puts(o, "```\n\n</details>\n");
        }
    }
    groups_free(g, n);
}

/* ---- command ------------------------------------------------------------------------------------------ */

int cmd_report(int argc, char **argv)
{
    static const struct option lo[] = {{"format", 1, 0, 'f'}, {"by", 1, 0, 'b'},     {"top", 1, 0, 't'},
                                       {"depth", 1, 0, 'd'},  {"frames", 1, 0, 'F'}, {"output", 1, 0, 'o'},
                                       {"help", 0, 0, 'h'},   {0, 0, 0, 0}};
    const char *format = "text", *out = NULL;
    struct ropts ro = {BY_LOCK, 10, 16, 0};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+f:b:t:d:F:o:h", lo, NULL)) != -1) {
        switch (c) {
        case 'f': format = optarg; break;
        case 'b':
            if (group_by_parse(optarg, &ro.by)) {
                die_msg("report: --by must be lock, type, stack or thread, not '%s'", optarg);
                return EXIT_USAGE;
            }
            break;
        case 't': if (parse_count("--top", optarg, &ro.top)) return EXIT_USAGE; break;
        case 'd': if (parse_count("--depth", optarg, &ro.depth)) return EXIT_USAGE; break;
        case 'F':
            if (strcmp(optarg, "user") && strcmp(optarg, "all")) {
                die_msg("report: --frames must be user or all, not '%s'", optarg);
                return EXIT_USAGE;
            }
            ro.all_frames = !strcmp(optarg, "all");
            break;
        case 'o': out = optarg; break;
        case 'h': fputs(usage, stdout); return EXIT_OK;
        default: fputs(usage, stderr); return EXIT_USAGE;
        }
    }
    if (strcmp(format, "text") && strcmp(format, "json") && strcmp(format, "markdown")) {
        die_msg("report: --format must be text, json or markdown, not '%s'", format);
        return EXIT_USAGE;
    }
    if (optind >= argc) {
        die_msg("report: no profile given");
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    struct model m;
    if (model_load(&m, argv + optind, argc - optind))
        return EXIT_USAGE;
    struct strbuf o = {0};
    if (!strcmp(format, "json"))
        render_json(&o, &m);
    else if (!strcmp(format, "markdown"))
        render_markdown(&o, &m, &ro);
    else
        render_text(&o, &m, &ro);
    model_free(&m);
    struct out f;
    int rc = EXIT_OK;
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
    else
        fprintf(stderr, "  %-15s %-36s %-16s %11s %11s %9s\n", "kind", "lock", "object type", "contentions",
                "wait[ms]", "max[ms]");
    for (size_t i = 0; i < ng && (int)i < top; i++)
        fprintf(stderr, "  %-15s %-36.36s %-16.16s %11llu %11.3f %9.3f\n", lp_kind_name(g[i].kind), g[i].label,
                g[i].type ? g[i].type : "-", (unsigned long long)g[i].count, ms(g[i].wait_ns), ms(g[i].max_ns));
    groups_free(g, ng);
    model_free(&m);
}
