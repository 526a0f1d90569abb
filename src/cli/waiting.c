/* waiting.c — what `lockprof report` says about the waits in progress when a profile was written (`w` records):
 * first any deadlock (a cycle of threads each waiting for a lock the next one holds, model_deadlocks), with every
 * member's stack; then every thread that was waiting, the longest waits for a lock first, then those waiting for
 * an event (a condition, a semaphore, a notification), each with how long it had waited, the lock, its holder
 * where the lock records one, and its stack. Text, JSON and Markdown; names from profiles are escaped like every
 * other text output (util.h). */
#include "waiting.h"

#include <stdlib.h>
#include <string.h>

#include "textstack.h"

/* Contention first (a lock held by someone), then waits for events; longest first; stable. */
static const struct model *sort_model;
static int cmp_waiting(const void *a, const void *b)
{
    const struct m_waiting *x = &sort_model->waiting[*(const uint32_t *)a];
    const struct m_waiting *y = &sort_model->waiting[*(const uint32_t *)b];
    int ex = waiting_is_event(sort_model, x), ey = waiting_is_event(sort_model, y);
    if (ex != ey)
        return ex - ey;
    if (x->waited_ns != y->waited_ns)
        return x->waited_ns < y->waited_ns ? 1 : -1;
    return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

int waiting_is_event(const struct model *m, const struct m_waiting *w)
{
    return lp_kind_is_wait_class(m->locks[w->lock].kind) || (w->flags & LP_AGG_NOTIFY);
}

static void thread_text(struct strbuf *o, const struct model *m, uint32_t proc, uint64_t tid)
{
    const char *name = model_thread_name(m, proc, tid);
    struct strbuf esc = {0};
    if (name)
        sb_printf(o, "%s (tid %llu)", text_esc(&esc, name), (unsigned long long)tid);
    else
        sb_printf(o, "tid %llu", (unsigned long long)tid);
    sb_free(&esc);
}

static void lock_text(struct strbuf *o, const struct model *m, uint32_t lock)
{
    const struct m_lock *l = &m->locks[lock];
    struct strbuf esc = {0};
    sb_printf(o, "%s %s", lp_kind_name(l->kind), text_esc(&esc, l->name));
    sb_free(&esc);
}

/* "thread A (tid 1) has waited 2.500 s for pthread_mutex b, held by thread B (tid 2)" */
static void waiting_line(struct strbuf *o, const struct model *m, const struct m_waiting *w)
{
    sb_puts(o, "thread ");
    thread_text(o, m, w->proc, w->tid);
    sb_printf(o, " has waited %.3f s for ", (double)w->waited_ns / 1e9);
    lock_text(o, m, w->lock);
    if (w->flags & LP_AGG_SELF)
        sb_puts(o, ", held by the waiter itself");
    else if (w->owner_tid) {
        sb_puts(o, ", held by thread ");
        thread_text(o, m, w->proc, w->owner_tid);
    }
    if (!w->innermost)
        sb_puts(o, " (inside a later wait)");
}

void waiting_text_deadlocks(struct strbuf *o, const struct model *m, long depth, int all_frames)
{
    struct m_deadlock *d;
    size_t n = model_deadlocks(m, &d);
    for (size_t i = 0; i < n; i++) {
        sb_printf(o, "\nDEADLOCK in pid %llu: %zu threads, each waiting for a lock the next one holds:\n",
                  (unsigned long long)m->procs[d[i].proc].pid, d[i].n);
        for (size_t j = 0; j < d[i].n; j++) {
            const struct m_waiting *w = &m->waiting[d[i].waiting[j]];
            sb_puts(o, "  ");
            waiting_line(o, m, w);
            sb_puts(o, "\n");
            text_stack(o, m, w->stack, depth, all_frames, "      ");
        }
        free(d[i].waiting);
    }
    free(d);
}

void waiting_text(struct strbuf *o, const struct model *m, long depth, int all_frames)
{
    if (!m->n_waiting)
        return;
    uint32_t *idx = xcalloc(m->n_waiting, sizeof *idx);
    for (size_t i = 0; i < m->n_waiting; i++)
        idx[i] = (uint32_t)i;
    sort_model = m;
    qsort(idx, m->n_waiting, sizeof *idx, cmp_waiting);
    sb_printf(o, "\nWaits in progress when the profile was written (%zu):\n", m->n_waiting);
    int events = 0;
    for (size_t i = 0; i < m->n_waiting; i++) {
        const struct m_waiting *w = &m->waiting[idx[i]];
        if (waiting_is_event(m, w) && !events) {
            sb_puts(o, "  waiting for an event (a condition, semaphore or notification), not a lock:\n");
            events = 1;
        }
        sb_printf(o, "  pid %llu: ", (unsigned long long)m->procs[w->proc].pid);
        waiting_line(o, m, w);
        sb_puts(o, "\n");
        text_stack(o, m, w->stack, depth, all_frames, "      ");
    }
    free(idx);
}

void waiting_json(struct strbuf *o, const struct model *m, void (*frames)(struct strbuf *, const struct model *,
                                                                           int32_t))
{
    sb_puts(o, "\"waiting\":[");
    for (size_t i = 0; i < m->n_waiting; i++) {
        const struct m_waiting *w = &m->waiting[i];
        const struct m_lock *l = &m->locks[w->lock];
        sb_printf(o, "%s{\"pid\":%llu,\"tid\":%llu,\"thread\":", i ? "," : "",
                  (unsigned long long)m->procs[w->proc].pid, (unsigned long long)w->tid);
        sb_json_str(o, model_thread_name(m, w->proc, w->tid));
        sb_printf(o, ",\"kind\":\"%s\",\"lock\":", lp_kind_name(l->kind));
        sb_json_str(o, l->name);
        sb_puts(o, ",\"object_type\":");
        sb_json_str(o, l->type);
        sb_printf(o, ",\"waited_ns\":%llu,\"event\":%s,\"self\":%s,\"innermost\":%s,\"owner\":",
                  (unsigned long long)w->waited_ns, waiting_is_event(m, w) ? "true" : "false",
                  w->flags & LP_AGG_SELF ? "true" : "false", w->innermost ? "true" : "false");
        if (w->owner_tid) {
            sb_printf(o, "{\"tid\":%llu,\"name\":", (unsigned long long)w->owner_tid);
            sb_json_str(o, model_thread_name(m, w->proc, w->owner_tid));
            sb_puts(o, "}");
        } else {
            sb_puts(o, "null");
        }
        sb_puts(o, ",\"frames\":");
        frames(o, m, w->stack);
        sb_puts(o, "}");
    }
    sb_puts(o, "],\"deadlocks\":[");
    struct m_deadlock *d;
    size_t n = model_deadlocks(m, &d);
    for (size_t i = 0; i < n; i++) {
        sb_printf(o, "%s{\"pid\":%llu,\"waiting\":[", i ? "," : "", (unsigned long long)m->procs[d[i].proc].pid);
        for (size_t j = 0; j < d[i].n; j++)
            sb_printf(o, "%s%u", j ? "," : "", d[i].waiting[j]);
        sb_puts(o, "]}");
        free(d[i].waiting);
    }
    free(d);
    sb_puts(o, "]");
}

size_t waiting_deadlock_count(const struct model *m)
{
    struct m_deadlock *d;
    size_t n = model_deadlocks(m, &d);
    for (size_t i = 0; i < n; i++)
        free(d[i].waiting);
    free(d);
    return n;
}
