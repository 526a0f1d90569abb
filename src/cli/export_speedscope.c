/* export_speedscope.c — `lockprof export --format speedscope`: a speedscope JSON file
 * (https://www.speedscope.app/file-format-schema.json) of "sampled" profiles weighted in nanoseconds of wait.
 *
 * One profile per lock class (export_lock_label: "pthread_mutex:hot_lock", "pymutex:dict", and with --all
 * "pthread_cond:not_empty [condition]" ...), ordered by total wait, the most waited-for first and active on
 * load: speedscope shows one profile at a time, and "which lock, then from where" is the question a lock
 * profile answers, so each flame graph is the waiter stacks of one lock class (its name says how many waits
 * and milliseconds), and the profile menu is the ranking `lockprof report` prints. Per-thread profiles would
 * split every lock's stacks across threads instead. The weights of all profiles add up to the report's total.
 *
 * Every stack starts (root) with a frame named after the lock class, so the Left Heavy view has one root with
 * the profile's total. Frames are shared: Python frames are (function, file, line), native frames (function,
 * module) with the module path as file, "module+0xOFFSET" naming a native frame without a symbol. Samples of
 * identical stacks are merged and listed heaviest first (ties: stack order), so the output is deterministic.
 *
 * With --split-by-label KEY the profiles are the values of that label instead ("test=tests/a.py::t", and "KEY unset"
 * for waits without it), each holding every lock class as its own root frame: the menu then ranks what the
 * program was doing, and each flame graph shows where it waited for which lock. */
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "labelsets.h"

struct ss_profile {
    char *label;
    uint64_t count, wait_ns;
    size_t *samples; /* indices into ss.smp */
    size_t n_samples, cap_samples;
    enum export_class cls;
};

struct ss_sample {
    size_t stack, n; /* slice of ss.pool: frame ids, root first */
    uint64_t wait_ns;
};

struct ss {
    const struct model *m;
    struct strbuf frames; /* the shared frames, JSON objects separated by commas */
    struct export_index *frame_ix, *profile_ix, *sample_ix;
    uint32_t *frame_of;   /* model frame → speedscope frame + 1, 0 = not yet */
    struct ss_profile *prof;
    size_t n_prof, cap_prof;
    struct ss_sample *smp;
    size_t n_smp, cap_smp;
    uint32_t *pool;
    size_t n_pool, cap_pool;
};

/* The shared frame for (name, file, line); line 0 = none. */
static uint32_t frame_id(struct ss *s, const char *name, const char *file, uint64_t line)
{
    struct strbuf key = {0};
    sb_printf(&key, "%s%c%s%c%llu", name, 0, file ? file : "", 0, (unsigned long long)line);
    int fresh;
    uint32_t id = export_index_get(&s->frame_ix, key.s, key.len, &fresh);
    sb_free(&key);
    if (fresh) {
        sb_puts(&s->frames, id ? ",\n{\"name\":" : "{\"name\":");
        sb_json_str(&s->frames, name);
        if (file && *file) {
            sb_puts(&s->frames, ",\"file\":");
            sb_json_str(&s->frames, file);
        }
        if (line)
            sb_printf(&s->frames, ",\"line\":%llu", (unsigned long long)line);
        sb_puts(&s->frames, "}");
    }
    return id;
}

static uint32_t model_frame_id(struct ss *s, uint32_t frame)
{
    if (s->frame_of[frame])
        return s->frame_of[frame] - 1;
    const struct m_frame *f = &s->m->frames[frame];
    struct strbuf name = {0};
    export_func_name(&name, s->m, frame);
    uint32_t id = frame_id(s, name.s, *f->file ? f->file : f->module, f->line);
    sb_free(&name);
    s->frame_of[frame] = id + 1;
    return id;
}

static void add_row(struct ss *s, const struct export_opts *o, const struct m_row *r, uint32_t **frames,
                    size_t *cap_frames)
{
    enum export_class c = export_row_class(s->m, r);
    if (!export_class_wanted(o, c))
        return;
    struct strbuf label = {0}, split = {0};
    export_lock_label(&label, s->m, r->lock, c);
    if (o->split_label) {
        const char *v = labelset_value(s->m, r->labels, o->split_label);
        sb_printf(&split, v ? "%s=%s" : "%s unset", o->split_label, v);
    }
    const struct strbuf *pname = o->split_label ? &split : &label;
    int fresh;
    uint32_t pi = export_index_get(&s->profile_ix, pname->s, pname->len, &fresh);
    if (fresh) {
        /* a label's profile holds every class --all takes: its name counts waits unless it is contention only */
        enum export_class pc = !o->split_label ? c : o->all_waits ? EXPORT_NOTIFY : EXPORT_CONTENTION;
        GROWV(s->prof, s->cap_prof, s->n_prof + 1);
        s->prof[s->n_prof++] = (struct ss_profile){xstrdup(pname->s), 0, 0, NULL, 0, 0, pc};
    }
    sb_free(&split);
    struct ss_profile *p = &s->prof[pi];
    p->count = sat_add(p->count, r->count);
    p->wait_ns = sat_add(p->wait_ns, r->wait_ns);

    uint32_t n = export_frames(s->m, r->stack, o, frames, cap_frames);
    size_t start = s->n_pool;
    GROWV(s->pool, s->cap_pool, s->n_pool + n + 2);
    s->pool[s->n_pool++] = pi; /* part of the key only: a sample belongs to one profile */
    s->pool[s->n_pool++] = frame_id(s, label.s, NULL, 0);
    for (uint32_t i = n; i-- > 0;)
        s->pool[s->n_pool++] = model_frame_id(s, (*frames)[i]);
    sb_free(&label);
    uint32_t si = export_index_get(&s->sample_ix, s->pool + start, (s->n_pool - start) * sizeof *s->pool, &fresh);
    if (fresh) {
        GROWV(s->smp, s->cap_smp, s->n_smp + 1);
        s->smp[s->n_smp++] = (struct ss_sample){start + 1, s->n_pool - start - 1, 0};
        GROWV(p->samples, p->cap_samples, p->n_samples + 1);
        p->samples[p->n_samples++] = si;
    } else {
        s->n_pool = start;
    }
    s->smp[si].wait_ns = sat_add(s->smp[si].wait_ns, r->wait_ns);
}

static const struct ss *sort_ctx; /* qsort has no context argument */

static int cmp_sample(const void *a, const void *b)
{
    const struct ss_sample *x = &sort_ctx->smp[*(const size_t *)a], *y = &sort_ctx->smp[*(const size_t *)b];
    if (x->wait_ns != y->wait_ns)
        return x->wait_ns > y->wait_ns ? -1 : 1;
    for (size_t i = 0; i < x->n && i < y->n; i++) {
        uint32_t fx = sort_ctx->pool[x->stack + i], fy = sort_ctx->pool[y->stack + i];
        if (fx != fy)
            return fx < fy ? -1 : 1;
    }
    return x->n < y->n ? -1 : x->n > y->n;
}

static int cmp_profile(const void *a, const void *b)
{
    const struct ss_profile *x = a, *y = b;
    if (x->wait_ns != y->wait_ns)
        return x->wait_ns > y->wait_ns ? -1 : 1;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp(x->label, y->label);
}

static void write_profile(struct strbuf *out, const struct ss *s, const struct ss_profile *p)
{
    struct strbuf name = {0};
    sb_printf(&name, "%s: %llu %s%s, %.3f ms", p->label, (unsigned long long)p->count,
              p->cls == EXPORT_CONTENTION ? "contention" : "wait", p->count == 1 ? "" : "s", ms(p->wait_ns));
    sb_puts(out, "{\"type\":\"sampled\",\"name\":");
    sb_json_str(out, name.s);
    sb_free(&name);
    sb_printf(out, ",\"unit\":\"nanoseconds\",\"startValue\":0,\"endValue\":%llu,\n\"samples\":[",
              (unsigned long long)p->wait_ns);
    for (size_t i = 0; i < p->n_samples; i++) {
        const struct ss_sample *sm = &s->smp[p->samples[i]];
        sb_puts(out, i ? ",\n[" : "\n[");
        for (size_t j = 0; j < sm->n; j++)
            sb_printf(out, "%s%u", j ? "," : "", s->pool[sm->stack + j]);
        sb_puts(out, "]");
    }
    sb_puts(out, "],\n\"weights\":[");
    for (size_t i = 0; i < p->n_samples; i++)
        sb_printf(out, "%s%llu", i ? "," : "", (unsigned long long)s->smp[p->samples[i]].wait_ns);
    sb_puts(out, "]}");
}

int export_speedscope(const struct model *m, const struct export_opts *o, struct strbuf *out)
{
    struct ss s = {0};
    s.m = m;
    s.frame_of = xcalloc(m->n_frames + 1, sizeof *s.frame_of);
    uint32_t *frames = NULL;
    size_t cap_frames = 0;
    for (size_t i = 0; i < m->n_rows; i++)
        add_row(&s, o, &m->rows[i], &frames, &cap_frames);
    sort_ctx = &s;
    for (size_t i = 0; i < s.n_prof; i++)
        qsort(s.prof[i].samples, s.prof[i].n_samples, sizeof *s.prof[i].samples, cmp_sample);
    sort_ctx = NULL;
    if (s.n_prof)
        qsort(s.prof, s.n_prof, sizeof *s.prof, cmp_profile);

    struct strbuf name = {0};
    sb_puts(&name, "lockprof");
    if (m->n_procs)
        sb_printf(&name, ": %.200s", *m->procs[0].cmdline ? m->procs[0].cmdline : m->procs[0].exe);
    if (m->n_procs > 1)
        sb_printf(&name, " (+%zu more process%s)", m->n_procs - 1, m->n_procs == 2 ? "" : "es");
    sb_puts(out, "{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\",\n\"exporter\":");
    struct strbuf exporter = {0};
    sb_printf(&exporter, "lockprof %s", LOCKPROF_VERSION);
    sb_json_str(out, exporter.s);
    sb_free(&exporter);
    sb_puts(out, ",\n\"name\":");
    sb_json_str(out, name.s);
    sb_free(&name);
    sb_puts(out, ",\n\"activeProfileIndex\":0,\n\"shared\":{\"frames\":[\n");
    sb_add(out, s.frames.s ? s.frames.s : "", s.frames.len);
    sb_puts(out, "]},\n\"profiles\":[\n");
    for (size_t i = 0; i < s.n_prof; i++) {
        if (i)
            sb_puts(out, ",\n");
        write_profile(out, &s, &s.prof[i]);
    }
    if (!s.n_prof) {
        /* speedscope wants a profile to show: an empty one that says why */
        sb_puts(out, "{\"type\":\"sampled\",\"name\":");
        sb_json_str(out, o->all_waits ? "no waits recorded" : "no lock contention recorded");
        sb_puts(out, ",\"unit\":\"nanoseconds\",\"startValue\":0,\"endValue\":0,\"samples\":[],\"weights\":[]}");
    }
    sb_puts(out, "\n]}\n");

    for (size_t i = 0; i < s.n_prof; i++) {
        free(s.prof[i].label);
        free(s.prof[i].samples);
    }
    free(s.prof);
    free(s.smp);
    free(s.pool);
    free(s.frame_of);
    free(frames);
    sb_free(&s.frames);
    export_index_free(&s.frame_ix);
    export_index_free(&s.profile_ix);
    export_index_free(&s.sample_ix);
    return 0;
}
