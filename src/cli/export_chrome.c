/* export_chrome.c — `lockprof export --format chrome`: the profiles' timeline (`e` records, written with
 * `lockprof run --timeline` / LOCKPROF_TIMELINE=1) as a Chrome trace event file (JSON object format) that
 * Perfetto (ui.perfetto.dev) and chrome://tracing load.
 *
 * Each wait is a complete event ("ph":"X") on its thread's track: pid and tid are the OS ids (several
 * processes are several pids), name the lock's name, cat "KIND,CLASS" (e.g. "pthread_mutex,contention"),
 * args the lock, kind, object type, wait class, wait_ns, the top frame (as `lockprof report` picks it) and
 * the waiter stack, leaf first, as strings ("func (file:line)", after --frames). ts and dur are microseconds
 * with three decimals (exact nanoseconds); ts counts from the earliest collector start among the exported
 * processes (otherData.time_origin_unix_ns is that instant), so processes share one time axis. Metadata
 * events name every process (its command line) and every thread with waits ("ph":"M", process_name and
 * thread_name). Events are sorted by time, longer first on ties, so enclosing waits precede nested ones
 * (a condition wait encloses the mutex re-acquisition that ends it).
 *
 * An `e` record carries no flags, so its class (contention, or with --all condition, semaphore, notify, self)
 * is that of the aggregate rows with the same process, thread, lock and waiter stack: the class with the most
 * waits there. A profile recorded without the timeline is an error (exit 2); a timeline whose ring overwrote
 * older waits is exported with a warning, as the trace then lacks them. */
#include <stdlib.h>
#include <string.h>

#include "export.h"

struct ch_event {
    const struct m_event *e;
    uint64_t ts_ns; /* from the time origin */
    enum export_class cls;
};

struct ch_class_count {
    uint64_t n[EXPORT_SELF + 1];
};

static int cmp_event(const void *a, const void *b)
{
    const struct ch_event *x = a, *y = b;
    if (x->ts_ns != y->ts_ns)
        return x->ts_ns < y->ts_ns ? -1 : 1;
    if (x->e->dur_ns != y->e->dur_ns)
        return x->e->dur_ns > y->e->dur_ns ? -1 : 1;
    if (x->e->proc != y->e->proc)
        return x->e->proc < y->e->proc ? -1 : 1;
    if (x->e->tid != y->e->tid)
        return x->e->tid < y->e->tid ? -1 : 1;
    if (x->e->lock != y->e->lock)
        return x->e->lock < y->e->lock ? -1 : 1;
    return x->e->stack < y->e->stack ? -1 : x->e->stack > y->e->stack;
}

struct ch_thread {
    uint32_t proc;
    uint64_t tid;
};

static int cmp_thread(const void *a, const void *b)
{
    const struct ch_thread *x = a, *y = b;
    if (x->proc != y->proc)
        return x->proc < y->proc ? -1 : 1;
    return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static void class_key(struct strbuf *k, uint32_t proc, uint64_t tid, uint32_t lock, int32_t stack)
{
    uint64_t v[4] = {proc, tid, lock, (uint64_t)(int64_t)stack};
    sb_reset(k);
    sb_add(k, (const char *)v, sizeof v);
}

/* Refuses profiles recorded without the timeline. A process with the timeline on may have no event at all
 * (it never waited): that is fine. */
static int check_timeline(const struct model *m)
{
    char *has = xcalloc(m->n_procs + 1, 1);
    for (size_t i = 0; i < m->n_events; i++)
        has[m->events[i].proc] = 1;
    int rc = 0;
    for (size_t i = 0; i < m->n_procs && !rc; i++)
        if (!has[i] && !m->procs[i].timeline_capacity) {
            die_msg("export: %s has no timeline: the Chrome trace needs per-wait timestamps; record with "
                    "`lockprof run --timeline` (or LOCKPROF_TIMELINE=1)",
                    m->procs[i].path);
            rc = -1;
        }
    free(has);
    return rc;
}

static void ts_us(struct strbuf *b, uint64_t ns)
{
    sb_printf(b, "%llu.%03llu", (unsigned long long)(ns / 1000), (unsigned long long)(ns % 1000));
}

static void write_other_data(struct strbuf *out, const struct model *m, const struct export_opts *o, uint64_t t0)
{
    sb_printf(out, "\"otherData\":{\"generator\":\"lockprof %s\",\"time_origin_unix_ns\":\"%llu\",", LOCKPROF_VERSION,
              (unsigned long long)t0);
    sb_puts(out, "\"timestamps\":\"ts and dur in microseconds; ts from time_origin_unix_ns, the earliest collector "
                 "start of the exported processes\",\"waits\":");
    sb_json_str(out, o->all_waits ? "every wait (args.wait_class: contention, condition, semaphore, notify, self)"
                                  : "lock contention only (lockprof export --all adds the other waits)");
    sb_printf(out, ",\"frames\":\"%s\"", o->all_frames ? "all" : "user");
    struct strbuf v = {0};
    for (size_t i = 0; i < m->n_procs; i++) {
        const struct m_proc *p = &m->procs[i];
        sb_reset(&v);
        sb_printf(&v, "%.300s; timeline: the last %llu waits per thread kept, %llu older ones overwritten",
                  *p->cmdline ? p->cmdline : p->exe, (unsigned long long)p->timeline_capacity,
                  (unsigned long long)p->timeline_dropped);
        if (p->sample_every > 1)
            sb_printf(&v, "; sampled: 1 wait in %llu recorded", (unsigned long long)p->sample_every);
        sb_printf(out, ",\"pid %llu\":", (unsigned long long)p->pid);
        sb_json_str(out, v.s);
    }
    sb_free(&v);
    sb_puts(out, "}");
}

/* Separates the items of traceEvents. */
static void item(struct strbuf *out, int *first)
{
    sb_puts(out, *first ? "\n" : ",\n");
    *first = 0;
}

static void write_metadata(struct strbuf *out, const struct model *m, const struct ch_event *ev, size_t n,
                           int *first)
{
    for (size_t i = 0; i < m->n_procs; i++) {
        const struct m_proc *p = &m->procs[i];
        item(out, first);
        sb_printf(out, "{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":%llu,\"tid\":0,\"args\":{\"name\":",
                  (unsigned long long)p->pid);
        struct strbuf name = {0};
        sb_printf(&name, "%.200s", *p->cmdline ? p->cmdline : *p->exe ? p->exe : "?");
        sb_json_str(out, name.s);
        sb_free(&name);
        sb_puts(out, "}}");
    }
    struct ch_thread *th = xmalloc((n + 1) * sizeof *th);
    for (size_t i = 0; i < n; i++)
        th[i] = (struct ch_thread){ev[i].e->proc, ev[i].e->tid};
    if (n)
        qsort(th, n, sizeof *th, cmp_thread);
    for (size_t i = 0; i < n; i++) {
        if (i && !cmp_thread(&th[i], &th[i - 1]))
            continue;
        const char *nm = model_thread_name(m, th[i].proc, th[i].tid);
        item(out, first);
        sb_printf(out, "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%llu,\"tid\":%llu,\"args\":{\"name\":",
                  (unsigned long long)m->procs[th[i].proc].pid, (unsigned long long)th[i].tid);
        if (nm && *nm) {
            sb_json_str(out, nm);
        } else {
            sb_printf(out, "\"thread %llu\"", (unsigned long long)th[i].tid);
        }
        sb_puts(out, "}}");
    }
    free(th);
}

static void write_event(struct strbuf *out, const struct model *m, const struct export_opts *o,
                        const struct ch_event *ev, uint32_t **frames, size_t *cap_frames)
{
    const struct m_event *e = ev->e;
    const struct m_lock *l = &m->locks[e->lock];
    const char *kind = lp_kind_name(l->kind);
    char buf[1024];
    sb_puts(out, "{\"ph\":\"X\",\"name\":");
    sb_json_str(out, l->name);
    sb_printf(out, ",\"cat\":\"%s,%s\",\"ts\":", kind, export_class_name(ev->cls));
    ts_us(out, ev->ts_ns);
    sb_puts(out, ",\"dur\":");
    ts_us(out, e->dur_ns);
    sb_printf(out, ",\"pid\":%llu,\"tid\":%llu,\"args\":{\"lock\":", (unsigned long long)m->procs[e->proc].pid,
              (unsigned long long)e->tid);
    sb_json_str(out, l->name);
    sb_printf(out, ",\"kind\":\"%s\"", kind);
    if (l->type) {
        sb_puts(out, ",\"object_type\":");
        sb_json_str(out, l->type);
    }
    sb_printf(out, ",\"wait_class\":\"%s\",\"wait_ns\":%llu", export_class_name(ev->cls),
              (unsigned long long)e->dur_ns);
    int64_t top = model_top_frame(m, e->stack);
    if (top >= 0) {
        sb_puts(out, ",\"top_frame\":");
        sb_json_str(out, model_frame_str(m, (uint32_t)top, buf, sizeof buf));
    }
    uint32_t n = export_frames(m, e->stack, o, frames, cap_frames);
    sb_puts(out, ",\"stack\":[");
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            sb_puts(out, ",");
        sb_json_str(out, model_frame_str(m, (*frames)[i], buf, sizeof buf));
    }
    sb_puts(out, "]}}");
}

int export_chrome(const struct model *m, const struct export_opts *o, struct strbuf *out)
{
    if (check_timeline(m))
        return -1;

    /* the class of each (process, thread, lock, stack) from the aggregates */
    struct export_index *cix = NULL;
    struct ch_class_count *cc = NULL;
    size_t cap_cc = 0;
    struct strbuf key = {0};
    for (size_t i = 0; i < m->n_rows; i++) {
        const struct m_row *r = &m->rows[i];
        class_key(&key, r->proc, r->tid, r->lock, r->stack);
        int fresh;
        uint32_t id = export_index_get(&cix, key.s, key.len, &fresh);
        if (fresh) {
            GROWV(cc, cap_cc, (size_t)id + 1);
            memset(&cc[id], 0, sizeof cc[id]);
        }
        cc[id].n[export_row_class(m, r)] = sat_add(cc[id].n[export_row_class(m, r)], r->count);
    }

    uint64_t t0 = 0;
    for (size_t i = 0; i < m->n_procs; i++)
        if (m->procs[i].start_unix_ns && (!t0 || m->procs[i].start_unix_ns < t0))
            t0 = m->procs[i].start_unix_ns;
    struct ch_event *ev = xmalloc((m->n_events + 1) * sizeof *ev);
    size_t n = 0;
    for (size_t i = 0; i < m->n_events; i++) {
        const struct m_event *e = &m->events[i];
        class_key(&key, e->proc, e->tid, e->lock, e->stack);
        int64_t id = export_index_find(cix, key.s, key.len);
        enum export_class c = export_class_of(m->locks[e->lock].kind, 0); /* no aggregate: by kind alone */
        if (id >= 0) {
            int best = 0; /* the class with the most waits; ties go to the first (contention) */
            for (int k = 1; k <= EXPORT_SELF; k++)
                if (cc[id].n[k] > cc[id].n[best])
                    best = k;
            c = (enum export_class)best;
        }
        if (!export_class_wanted(o, c))
            continue;
        const struct m_proc *p = &m->procs[e->proc];
        uint64_t origin = p->start_unix_ns >= t0 ? p->start_unix_ns - t0 : 0;
        ev[n++] = (struct ch_event){e, origin + e->start_ns, c};
    }
    sb_free(&key);
    export_index_free(&cix);
    free(cc);
    if (n)
        qsort(ev, n, sizeof *ev, cmp_event);

    for (size_t i = 0; i < m->n_procs; i++)
        if (m->procs[i].timeline_dropped)
            die_msg("export: warning: pid %llu: the timeline kept the last %llu waits per thread; %llu older "
                    "waits are not in the trace (record with a larger `lockprof run --timeline=N`)",
                    (unsigned long long)m->procs[i].pid, (unsigned long long)m->procs[i].timeline_capacity,
                    (unsigned long long)m->procs[i].timeline_dropped);

    sb_puts(out, "{\"displayTimeUnit\":\"ns\",\n");
    write_other_data(out, m, o, t0);
    sb_puts(out, ",\n\"traceEvents\":[");
    int first = 1;
    write_metadata(out, m, ev, n, &first);
    uint32_t *frames = NULL;
    size_t cap_frames = 0;
    for (size_t i = 0; i < n; i++) {
        item(out, &first);
        write_event(out, m, o, &ev[i], &frames, &cap_frames);
    }
    sb_puts(out, "\n]}\n");
    free(frames);
    free(ev);
    return 0;
}
