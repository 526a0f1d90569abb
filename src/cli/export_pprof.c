/* export_pprof.c — `lockprof export --format pprof`: a gzip-compressed profile.proto (github.com/google/pprof,
 * proto/profile.proto) that `go tool pprof` and `pprof` read, shaped like Go's mutex/block profiles.
 *
 * Sample types are contentions/count and delay/nanoseconds (the default); values are already scaled by each
 * process's sample_every, as Go scales its mutex profile, and `period` is that sampling period. A sample is one
 * (lock, waiter stack after --frames, process, thread, holder thread, class, flags, label set) combination: rows
 * that differ only in frames the filter hid or in the holder's stack are summed. Its locations are the
 * waiter stack, leaf first, followed by one synthetic root location per lock class (export_lock_label:
 * "pthread_mutex:hot_lock", "pymutex:dict"), so `pprof -top` lists the lock classes by cumulative delay and
 * flame graphs start with one tower per lock class. Labels: lock_kind, lock, object_type (object locks),
 * wait_class, flags (when set), thread (name, when known), tid, pid and holder_tid (when known), then the
 * program's own labels (lockprof.label): each under its key, or under "label:KEY" when KEY is one of lockprof's
 * names above (so `pprof -tagfocus=request=/api` and `-tagroot=test` work as with Go's labels).
 *
 * Functions are (name, file): Python frames carry their file and each location its line; native frames their
 * source file and line when the CLI found line information (symbolize.c), else the module path as the file, and
 * each module is a Mapping whose addresses are the ELF-file addresses of the profile (memory_start 0,
 * file_offset 0), so a location's address is what `addr2line -e MODULE` takes. Mappings say has_functions:
 * lockprof symbolized already and pprof must not try again. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "export.h"
#include "protobuf.h"

/* Field numbers of profile.proto. */
enum {
    PROFILE_SAMPLE_TYPE = 1, PROFILE_SAMPLE = 2, PROFILE_MAPPING = 3, PROFILE_LOCATION = 4, PROFILE_FUNCTION = 5,
    PROFILE_STRING_TABLE = 6, PROFILE_TIME_NANOS = 9, PROFILE_DURATION_NANOS = 10, PROFILE_PERIOD_TYPE = 11,
    PROFILE_PERIOD = 12, PROFILE_COMMENT = 13, PROFILE_DEFAULT_SAMPLE_TYPE = 14,
    VALUE_TYPE_TYPE = 1, VALUE_TYPE_UNIT = 2,
    SAMPLE_LOCATION_ID = 1, SAMPLE_VALUE = 2, SAMPLE_LABEL = 3,
    LABEL_KEY = 1, LABEL_STR = 2, LABEL_NUM = 3,
    MAPPING_ID = 1, MAPPING_MEMORY_START = 2, MAPPING_MEMORY_LIMIT = 3, MAPPING_FILE_OFFSET = 4,
    MAPPING_FILENAME = 5, MAPPING_HAS_FUNCTIONS = 7,
    LOCATION_ID = 1, LOCATION_MAPPING_ID = 2, LOCATION_ADDRESS = 3, LOCATION_LINE = 4,
    LINE_FUNCTION_ID = 1, LINE_LINE = 2,
    FUNCTION_ID = 1, FUNCTION_NAME = 2, FUNCTION_SYSTEM_NAME = 3, FUNCTION_FILENAME = 4,
};

struct mapping {
    uint64_t file, limit; /* string id; highest address seen + 1 */
};

struct sample {
    size_t row;           /* the first row: the labels come from it */
    size_t locs, n_locs;  /* slice of pp.loc_pool */
    uint64_t count, wait_ns;
};

struct pp {
    const struct model *m;
    const struct export_opts *o;
    struct strbuf strtab, functions, locations; /* encoded Profile fields, appended as ids are assigned */
    struct export_index *strs, *funcs, *maps, *roots, *samples;
    uint64_t n_locations;
    uint64_t *frame_loc; /* model frame → location id, 0 = none yet */
    uint64_t *root_loc;  /* lock-class root (index in roots) → location id */
    size_t cap_root_loc;
    struct mapping *mappings;
    size_t n_mappings, cap_mappings;
    struct sample *smp;
    size_t n_smp, cap_smp;
    uint64_t *loc_pool;
    size_t n_pool, cap_pool;
};

/* String table index; "" is index 0. */
static uint64_t str_id(struct pp *p, const char *s)
{
    if (!s || !*s)
        return 0;
    size_t n = strlen(s);
    int fresh;
    uint32_t id = export_index_get(&p->strs, s, n, &fresh);
    if (fresh)
        pb_bytes(&p->strtab, PROFILE_STRING_TABLE, s, n);
    return (uint64_t)id + 1;
}

/* A function. Only native symbols get a system_name: pprof demangles those, and "simplifies" a name equal to
 * its system_name that looks like C++ (contains <>, [] or ::) by deleting (...) and <...>, which would turn
 * "<module>" or "GIL (gil->mutex)" into nonsense. */
static uint64_t function_id(struct pp *p, const char *name, const char *file, int native)
{
    struct strbuf key = {0};
    sb_add(&key, native ? "n" : "-", 1);
    sb_puts(&key, name);
    sb_add(&key, "", 1); /* the NUL separates name and file */
    sb_puts(&key, file);
    int fresh;
    uint64_t id = (uint64_t)export_index_get(&p->funcs, key.s, key.len, &fresh) + 1;
    sb_free(&key);
    if (fresh) {
        size_t mk = pb_open(&p->functions);
        pb_uint(&p->functions, FUNCTION_ID, id);
        uint64_t nm = str_id(p, name);
        pb_uint(&p->functions, FUNCTION_NAME, nm);
        if (native)
            pb_uint(&p->functions, FUNCTION_SYSTEM_NAME, nm);
        pb_uint(&p->functions, FUNCTION_FILENAME, str_id(p, file));
        pb_close(&p->functions, PROFILE_FUNCTION, mk);
    }
    return id;
}

static uint64_t mapping_id(struct pp *p, const char *module, uint64_t address)
{
    int fresh;
    uint32_t i = export_index_get(&p->maps, module, strlen(module), &fresh);
    if (fresh) {
        GROWV(p->mappings, p->cap_mappings, p->n_mappings + 1);
        p->mappings[p->n_mappings++] = (struct mapping){str_id(p, module), 0};
    }
    if (address + 1 > p->mappings[i].limit)
        p->mappings[i].limit = address + 1;
    return (uint64_t)i + 1;
}

static uint64_t add_location(struct pp *p, uint64_t mapping, uint64_t address, uint64_t function, uint64_t line)
{
    uint64_t id = ++p->n_locations;
    size_t mk = pb_open(&p->locations);
    pb_uint(&p->locations, LOCATION_ID, id);
    pb_uint(&p->locations, LOCATION_MAPPING_ID, mapping);
    pb_uint(&p->locations, LOCATION_ADDRESS, address);
    size_t ml = pb_open(&p->locations);
    pb_uint(&p->locations, LINE_FUNCTION_ID, function);
    pb_uint(&p->locations, LINE_LINE, line);
    pb_close(&p->locations, LOCATION_LINE, ml);
    pb_close(&p->locations, PROFILE_LOCATION, mk);
    return id;
}

static uint64_t frame_location(struct pp *p, uint32_t frame)
{
    if (p->frame_loc[frame])
        return p->frame_loc[frame];
    const struct m_frame *f = &p->m->frames[frame];
    struct strbuf name = {0};
    export_func_name(&name, p->m, frame);
    uint64_t map = 0, address = 0;
    const char *file = f->file;
    if (f->kind == 'n') {
        address = f->offset;
        if (*f->module) {
            map = mapping_id(p, f->module, address);
            if (!*file)
                file = f->module;
        }
    }
    uint64_t fn = function_id(p, name.s, file, f->kind == 'n');
    sb_free(&name);
    return p->frame_loc[frame] = add_location(p, map, address, fn, f->line);
}

static uint64_t root_location(struct pp *p, uint32_t lock, enum export_class c)
{
    struct strbuf label = {0};
    export_lock_label(&label, p->m, lock, c);
    int fresh;
    uint32_t i = export_index_get(&p->roots, label.s, label.len, &fresh);
    if (fresh) {
        GROWV(p->root_loc, p->cap_root_loc, (size_t)i + 1);
        p->root_loc[i] = add_location(p, 0, 0, function_id(p, label.s, "", 0), 0);
    }
    sb_free(&label);
    return p->root_loc[i];
}

/* Adds a row to the sample with the same locations and labels, or to a new one. */
static void add_row(struct pp *p, size_t ri, uint32_t **frames, size_t *cap_frames, struct strbuf *key)
{
    const struct m_row *r = &p->m->rows[ri];
    enum export_class c = export_row_class(p->m, r);
    if (!export_class_wanted(p->o, c))
        return;
    uint32_t n = export_frames(p->m, r->stack, p->o, frames, cap_frames);
    size_t start = p->n_pool;
    GROWV(p->loc_pool, p->cap_pool, p->n_pool + n + 1);
    for (uint32_t i = 0; i < n; i++)
        p->loc_pool[p->n_pool++] = frame_location(p, (*frames)[i]);
    p->loc_pool[p->n_pool++] = root_location(p, r->lock, c);

    sb_reset(key);
    uint64_t ids[7] = {r->lock, (uint64_t)c, r->proc, r->tid, r->holder_tid, r->flags, (uint64_t)(int64_t)r->labels};
    sb_add(key, (const char *)ids, sizeof ids);
    sb_add(key, (const char *)(p->loc_pool + start), (p->n_pool - start) * sizeof *p->loc_pool);
    int fresh;
    uint32_t si = export_index_get(&p->samples, key->s, key->len, &fresh);
    if (fresh) {
        GROWV(p->smp, p->cap_smp, p->n_smp + 1);
        p->smp[p->n_smp++] = (struct sample){ri, start, p->n_pool - start, 0, 0};
    } else {
        p->n_pool = start;
    }
    p->smp[si].count = sat_add(p->smp[si].count, r->count);
    p->smp[si].wait_ns = sat_add(p->smp[si].wait_ns, r->wait_ns);
}

static void label_str(struct pp *p, struct strbuf *b, const char *key, const char *val)
{
    if (!val || !*val)
        return; /* an empty string label would read as an absent one */
    size_t mk = pb_open(b);
    pb_uint(b, LABEL_KEY, str_id(p, key));
    pb_uint(b, LABEL_STR, str_id(p, val));
    pb_close(b, SAMPLE_LABEL, mk);
}

static void label_num(struct pp *p, struct strbuf *b, const char *key, uint64_t val)
{
    if (!val)
        return; /* pprof drops numeric labels of 0 */
    size_t mk = pb_open(b);
    pb_uint(b, LABEL_KEY, str_id(p, key));
    pb_uint(b, LABEL_NUM, val);
    pb_close(b, SAMPLE_LABEL, mk);
}

static void flag_names(struct strbuf *b, uint32_t flags)
{
    static const char *const names[] = {"self", "write", "reacquire", "parked", "notify", "handoff", "failed"};
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
        if (flags & (1u << i))
            sb_printf(b, "%s%s", b->len ? "," : "", names[i]);
}

static void write_sample(struct pp *p, struct strbuf *b, const struct sample *s)
{
    const struct model *m = p->m;
    const struct m_row *r = &m->rows[s->row];
    const struct m_lock *l = &m->locks[r->lock];
    size_t mk = pb_open(b);
    pb_packed(b, SAMPLE_LOCATION_ID, p->loc_pool + s->locs, s->n_locs);
    uint64_t v[2] = {s->count, s->wait_ns};
    pb_packed(b, SAMPLE_VALUE, v, 2);
    label_str(p, b, "lock_kind", lp_kind_name(l->kind));
    label_str(p, b, "lock", l->name);
    label_str(p, b, "object_type", l->type);
    label_str(p, b, "wait_class", export_class_name(export_row_class(m, r)));
    struct strbuf flags = {0};
    flag_names(&flags, r->flags);
    label_str(p, b, "flags", flags.s);
    sb_free(&flags);
    label_str(p, b, "thread", model_thread_name(m, r->proc, r->tid));
    label_num(p, b, "tid", r->tid);
    label_num(p, b, "pid", m->procs[r->proc].pid);
    label_num(p, b, "holder_tid", r->holder_tid);
    static const char *const own[] = {"lock_kind", "lock", "object_type", "wait_class", "flags", "thread", "tid",
                                      "pid", "holder_tid"};
    const struct m_labelset *ls = r->labels >= 0 ? &m->labelsets[r->labels] : NULL;
    struct strbuf key = {0};
    for (uint32_t i = 0; ls && i < ls->n; i++) {
        int clash = 0;
        for (size_t j = 0; j < sizeof own / sizeof own[0]; j++)
            clash |= !strcmp(ls->keys[i], own[j]);
        sb_reset(&key);
        sb_printf(&key, "%s%s", clash ? "label:" : "", ls->keys[i]);
        label_str(p, b, key.s, ls->values[i]);
    }
    sb_free(&key);
    pb_close(b, PROFILE_SAMPLE, mk);
}

static void value_type(struct pp *p, struct strbuf *b, uint32_t field, const char *type, const char *unit)
{
    size_t mk = pb_open(b);
    pb_uint(b, VALUE_TYPE_TYPE, str_id(p, type));
    pb_uint(b, VALUE_TYPE_UNIT, str_id(p, unit));
    pb_close(b, field, mk);
}

static void comment(struct pp *p, struct strbuf *b, const char *text)
{
    pb_uint(b, PROFILE_COMMENT, str_id(p, text));
}

/* Profile-level fields: time span, period, default sample type and comments (`pprof -comments`). */
static void write_header_fields(struct pp *p, struct strbuf *b)
{
    const struct model *m = p->m;
    uint64_t t0 = 0, t1 = 0, period = 0;
    int same_period = 1;
    for (size_t i = 0; i < m->n_procs; i++) {
        const struct m_proc *pr = &m->procs[i];
        if (pr->start_unix_ns && (!t0 || pr->start_unix_ns < t0))
            t0 = pr->start_unix_ns;
        if (pr->start_unix_ns + pr->duration_ns > t1)
            t1 = pr->start_unix_ns + pr->duration_ns;
        if (i && pr->sample_every != period)
            same_period = 0;
        period = pr->sample_every;
    }
    pb_uint(b, PROFILE_TIME_NANOS, t0);
    pb_uint(b, PROFILE_DURATION_NANOS, t0 && t1 > t0 ? t1 - t0 : 0);
    value_type(p, b, PROFILE_PERIOD_TYPE, "contentions", "count");
    pb_uint(b, PROFILE_PERIOD, same_period && period ? period : 1);
    struct strbuf c = {0};
    sb_printf(&c, "lockprof %s: %s, frames: %s", LOCKPROF_VERSION,
              p->o->all_waits ? "every wait (wait_class label: contention, condition, semaphore, notify, self)"
                              : "lock contention only (lockprof export --all adds the other waits)",
              p->o->all_frames ? "all" : "user");
    comment(p, b, c.s);
    for (size_t i = 0; i < m->n_procs; i++) {
        const struct m_proc *pr = &m->procs[i];
        sb_reset(&c);
        sb_printf(&c, "pid %llu: %.300s", (unsigned long long)pr->pid, *pr->cmdline ? pr->cmdline : pr->exe);
        if (pr->sample_every > 1)
            sb_printf(&c, " (sampled 1 in %llu: values scaled by %llu)", (unsigned long long)pr->sample_every,
                      (unsigned long long)pr->sample_every);
        comment(p, b, c.s);
    }
    sb_free(&c);
    pb_uint(b, PROFILE_DEFAULT_SAMPLE_TYPE, str_id(p, "delay"));
}

/* gzip (RFC 1952, no file name, mtime 0: the output depends on the input only). */
static int gzip_into(const struct strbuf *in, struct strbuf *out)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        die_msg("export: zlib: cannot initialise the compressor");
        return -1;
    }
    uLong bound = deflateBound(&zs, (uLong)in->len);
    sb_reset(out);
    GROWV(out->s, out->cap, (size_t)bound + 1);
    zs.next_in = (Bytef *)in->s;
    zs.avail_in = (uInt)in->len;
    zs.next_out = (Bytef *)out->s;
    zs.avail_out = (uInt)bound;
    int rc = deflate(&zs, Z_FINISH);
    out->len = zs.total_out;
    deflateEnd(&zs);
    if (rc != Z_STREAM_END || (uLong)in->len != zs.total_in) {
        die_msg("export: zlib: compression failed");
        return -1;
    }
    return 0;
}

int export_pprof(const struct model *m, const struct export_opts *o, struct strbuf *out)
{
    struct pp p = {0};
    p.m = m;
    p.o = o;
    p.frame_loc = xcalloc(m->n_frames + 1, sizeof *p.frame_loc);
    pb_bytes(&p.strtab, PROFILE_STRING_TABLE, "", 0);

    struct strbuf body = {0}, key = {0};
    uint32_t *frames = NULL;
    size_t cap_frames = 0;
    value_type(&p, &body, PROFILE_SAMPLE_TYPE, "contentions", "count");
    value_type(&p, &body, PROFILE_SAMPLE_TYPE, "delay", "nanoseconds");
    for (size_t i = 0; i < m->n_rows; i++)
        add_row(&p, i, &frames, &cap_frames, &key);
    for (size_t i = 0; i < p.n_smp; i++)
        write_sample(&p, &body, &p.smp[i]);
    for (size_t i = 0; i < p.n_mappings; i++) {
        size_t mk = pb_open(&body);
        pb_uint(&body, MAPPING_ID, i + 1);
        pb_uint(&body, MAPPING_MEMORY_START, 0);
        pb_uint(&body, MAPPING_MEMORY_LIMIT, p.mappings[i].limit);
        pb_uint(&body, MAPPING_FILE_OFFSET, 0);
        pb_uint(&body, MAPPING_FILENAME, p.mappings[i].file);
        pb_uint(&body, MAPPING_HAS_FUNCTIONS, 1);
        pb_close(&body, PROFILE_MAPPING, mk);
    }
    sb_add(&body, p.locations.s ? p.locations.s : "", p.locations.len);
    sb_add(&body, p.functions.s ? p.functions.s : "", p.functions.len);
    write_header_fields(&p, &body);
    sb_add(&body, p.strtab.s, p.strtab.len); /* last: every string is interned by now */

    int rc = gzip_into(&body, out);

    sb_free(&body);
    sb_free(&key);
    free(frames);
    sb_free(&p.strtab);
    sb_free(&p.functions);
    sb_free(&p.locations);
    export_index_free(&p.strs);
    export_index_free(&p.funcs);
    export_index_free(&p.maps);
    export_index_free(&p.roots);
    export_index_free(&p.samples);
    free(p.frame_loc);
    free(p.root_loc);
    free(p.mappings);
    free(p.smp);
    free(p.loc_pool);
    return rc;
}
