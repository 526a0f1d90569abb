/* reader.c — implementation of reader.h. Single pass over an owned copy of the text; escaped strings are decoded
 * in place. Every record must reference only records defined before it, so no fix-up pass is needed. Records are
 * dispatched through one table (record_types, at the end): a new record type is one parse function and one line
 * there, with the first format version that has it. */
#include "reader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct pool_chunk { struct pool_chunk *next; size_t used, cap; char data[]; };

struct parser {
    struct lp_profile *p;
    size_t lineno;
    char *err;
    size_t errlen;
    size_t cap_meta, cap_strings, cap_frames, cap_stacks, cap_locks, cap_threads, cap_aggs, cap_events, cap_inflight, cap_holds;
    size_t cap_labelsets, cap_modules;
    int32_t *str_module; /* string id → the `o` record whose path it is, -1 (for version 2 files) */
    size_t cap_str_module;
};

static int fail(struct parser *ps, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (ps->lineno)
        snprintf(ps->err, ps->errlen, "line %zu: %s", ps->lineno, msg);
    else
        snprintf(ps->err, ps->errlen, "%s", msg);
    return -1;
}

static void *pool_alloc(struct lp_profile *p, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    struct pool_chunk *c = p->pool;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > (1u << 20) ? n : (1u << 20);
        struct pool_chunk *nc = malloc(sizeof *nc + cap);
        if (!nc)
            return NULL;
        nc->next = c;
        nc->used = 0;
        nc->cap = cap;
        p->pool = c = nc;
    }
    void *r = c->data + c->used;
    c->used += n;
    return r;
}

/* Grows *arr (elements of size sz) so that index `need` fits. */
static int grow(void **arr, size_t *cap, size_t need, size_t sz)
{
    if (need < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 64;
    while (nc <= need)
        nc *= 2;
    void *na = realloc(*arr, nc * sz);
    if (!na)
        return -1;
    *arr = na;
    *cap = nc;
    return 0;
}
#define GROW(ps, field, capfield, need) \
    grow((void **)&(ps)->p->field, &(ps)->capfield, (need), sizeof *(ps)->p->field)

/* Tokenizer over one line (NUL-terminated, no newline). */
struct tok { char *cur; };

static char *next_field(struct tok *t)
{
    if (!t->cur)
        return NULL;
    char *s = t->cur;
    char *sp = strchr(s, ' ');
    if (sp) {
        *sp = 0;
        t->cur = sp + 1;
    } else {
        t->cur = NULL;
    }
    return s;
}

static int parse_u64(const char *s, int base, uint64_t *out)
{
    if (!s || !*s)
        return -1;
    uint64_t v = 0;
    for (const char *c = s; *c; c++) {
        unsigned d;
        if (*c >= '0' && *c <= '9')
            d = (unsigned)(*c - '0');
        else if (base == 16 && *c >= 'a' && *c <= 'f')
            d = (unsigned)(*c - 'a' + 10);
        else
            return -1;
        if (v > (UINT64_MAX - d) / (uint64_t)base)
            return -1;
        v = v * (uint64_t)base + d;
    }
    *out = v;
    return 0;
}

static int field_u64(struct parser *ps, struct tok *t, const char *what, int base, uint64_t *out)
{
    char *f = next_field(t);
    if (!f)
        return fail(ps, "missing %s", what);
    if (parse_u64(f, base, out))
        return fail(ps, "bad %s '%.40s'", what, f);
    return 0;
}

/* A reference to an earlier record: "-" (allowed when optional) or an index below `limit`. */
static int field_ref(struct parser *ps, struct tok *t, const char *what, size_t limit, int optional, int64_t *out)
{
    char *f = next_field(t);
    if (!f)
        return fail(ps, "missing %s", what);
    if (optional && strcmp(f, "-") == 0) {
        *out = -1;
        return 0;
    }
    uint64_t v;
    if (parse_u64(f, 10, &v))
        return fail(ps, "bad %s '%.40s'", what, f);
    if (v >= limit)
        return fail(ps, "%s %llu refers to an undefined record", what, (unsigned long long)v);
    *out = (int64_t)v;
    return 0;
}

static int field_str(struct parser *ps, struct tok *t, const char *what, const char **out)
{
    int64_t id;
    if (field_ref(ps, t, what, ps->p->n_strings, 1, &id))
        return -1;
    *out = id < 0 ? NULL : ps->p->strings[id];
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decodes the escaped text in place. */
static int unescape(struct parser *ps, char *s)
{
    char *o = s;
    for (char *i = s; *i; i++) {
        if (*i != '\\') {
            *o++ = *i;
            continue;
        }
        i++;
        if (*i == '\\') {
            *o++ = '\\';
        } else if (*i == 'n') {
            *o++ = '\n';
        } else if (*i == 'x' && hexval(i[1]) >= 0 && hexval(i[2]) >= 0) {
            int c = hexval(i[1]) * 16 + hexval(i[2]);
            if (c == 0)
                return fail(ps, "NUL byte in a string");
            *o++ = (char)c;
            i += 2;
        } else {
            return fail(ps, "bad escape in a string");
        }
    }
    *o = 0;
    return 0;
}

static int expect_end(struct parser *ps, struct tok *t)
{
    if (t->cur)
        return fail(ps, "unexpected extra field '%.40s'", t->cur);
    return 0;
}

static int rec_meta(struct parser *ps, struct tok *t)
{
    char *key = next_field(t);
    if (!key || !*key)
        return fail(ps, "missing meta key");
    for (char *c = key; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
            return fail(ps, "bad meta key '%.40s'", key);
    char *val = t->cur ? t->cur : key + strlen(key); /* rest of line, possibly empty */
    if (unescape(ps, val) || GROW(ps, meta, cap_meta, ps->p->n_meta))
        return -1;
    ps->p->meta[ps->p->n_meta++] = (struct lpr_meta){key, val};
    return 0;
}

static int check_id(struct parser *ps, struct tok *t, const char *what, size_t expected)
{
    uint64_t id;
    if (field_u64(ps, t, what, 10, &id))
        return -1;
    if (id != expected)
        return fail(ps, "%s id %llu out of sequence (expected %zu)", what, (unsigned long long)id, expected);
    return 0;
}

static int rec_string(struct parser *ps, struct tok *t)
{
    if (check_id(ps, t, "string", ps->p->n_strings))
        return -1;
    char *val = t->cur ? t->cur : (char *)"";
    if (t->cur && unescape(ps, val))
        return -1;
    if (GROW(ps, strings, cap_strings, ps->p->n_strings))
        return -1;
    ps->p->strings[ps->p->n_strings++] = val;
    return 0;
}

/* The `o` record whose path is string `id`, or -1. */
static int32_t module_of_string(struct parser *ps, int64_t id)
{
    return id >= 0 && (size_t)id < ps->cap_str_module ? ps->str_module[id] : -1;
}

static int rec_frame(struct parser *ps, struct tok *t)
{
    struct lpr_frame f;
    int64_t mod;
    if (check_id(ps, t, "frame", ps->p->n_frames))
        return -1;
    char *k = next_field(t);
    if (!k || (strcmp(k, "n") && strcmp(k, "p") && strcmp(k, "x")))
        return fail(ps, "frame kind must be 'n', 'p' or 'x'");
    f.kind = k[0];
    if (f.kind == 'x' && ps->p->version < 2)
        return fail(ps, "frame kind 'x' is not part of format version 1");
    if (field_str(ps, t, "function string", &f.func) || field_str(ps, t, "file string", &f.file) ||
        field_u64(ps, t, "line", 10, &f.line) || field_ref(ps, t, "module string", ps->p->n_strings, 1, &mod) ||
        field_u64(ps, t, "offset", 16, &f.offset) || expect_end(ps, t))
        return -1;
    if (f.kind == 'x' && (f.func || f.file || f.line || mod >= 0 || f.offset))
        return fail(ps, "a frame of kind 'x' (a stack cut at the depth limit) has no function, file, line, module or "
                        "offset");
    f.module = mod < 0 ? NULL : ps->p->strings[mod];
    f.mod = f.kind == 'n' ? module_of_string(ps, mod) : -1;
    if (GROW(ps, frames, cap_frames, ps->p->n_frames))
        return -1;
    ps->p->frames[ps->p->n_frames++] = f;
    return 0;
}

static int rec_stack(struct parser *ps, struct tok *t)
{
    if (check_id(ps, t, "stack", ps->p->n_stacks))
        return -1;
    /* Count the fields first so the frame array is allocated once. */
    uint32_t n = 0;
    for (const char *c = t->cur; c && *c; c++)
        if (*c == ' ')
            n++;
    if (t->cur && *t->cur)
        n++;
    if (t->cur && (!*t->cur || t->cur[strlen(t->cur) - 1] == ' '))
        return fail(ps, "empty field in stack");
    uint32_t *fr = n ? pool_alloc(ps->p, n * sizeof *fr) : NULL;
    if (n && !fr)
        return fail(ps, "out of memory");
    for (uint32_t i = 0; i < n; i++) {
        int64_t id;
        if (field_ref(ps, t, "frame", ps->p->n_frames, 0, &id))
            return -1;
        fr[i] = (uint32_t)id;
    }
    if (GROW(ps, stacks, cap_stacks, ps->p->n_stacks))
        return -1;
    ps->p->stacks[ps->p->n_stacks++] = (struct lpr_stack){n, fr};
    return 0;
}

int lp_kind_parse(const char *s, size_t n)
{
    for (unsigned k = 0; k < LP_KIND_COUNT; k++) {
        const char *name = lp_kind_name(k);
        if (strlen(name) == n && memcmp(name, s, n) == 0)
            return (int)k;
    }
    return -1;
}

static int rec_lock(struct parser *ps, struct tok *t)
{
    struct lpr_lock l;
    if (check_id(ps, t, "lock", ps->p->n_locks))
        return -1;
    char *k = next_field(t);
    int kind = k ? lp_kind_parse(k, strlen(k)) : -1;
    if (kind < 0)
        return fail(ps, "unknown lock kind '%.40s'", k ? k : "");
    l.kind = (unsigned)kind;
    if (field_u64(ps, t, "lock address", 16, &l.addr) || field_str(ps, t, "lock name string", &l.name) ||
        field_str(ps, t, "object type string", &l.type) || expect_end(ps, t))
        return -1;
    if (!l.name)
        return fail(ps, "lock without a name");
    l.module = l.site = -1;
    l.module_offset = 0;
    if (GROW(ps, locks, cap_locks, ps->p->n_locks))
        return -1;
    ps->p->locks[ps->p->n_locks++] = l;
    return 0;
}

/* o ID PATH BUILDID START END BIAS FLAGS */
static int rec_module(struct parser *ps, struct tok *t)
{
    struct lpr_module mo;
    int64_t path;
    uint64_t flags;
    size_t id = ps->p->n_modules;
    if (check_id(ps, t, "module", id) || field_ref(ps, t, "module path string", ps->p->n_strings, 0, &path))
        return -1;
    char *b = next_field(t);
    if (!b)
        return fail(ps, "missing build-id");
    size_t bn = strlen(b);
    if (strcmp(b, "-")) {
        if (bn % 2 || bn > 2 * 64)
            return fail(ps, "bad build-id '%.40s'", b);
        for (size_t i = 0; i < bn; i++)
            if (hexval(b[i]) < 0)
                return fail(ps, "bad build-id '%.40s'", b);
    }
    if (field_u64(ps, t, "module start", 16, &mo.start) || field_u64(ps, t, "module end", 16, &mo.end) ||
        field_u64(ps, t, "module bias", 16, &mo.bias) || field_u64(ps, t, "module flags", 16, &flags) ||
        expect_end(ps, t))
        return -1;
    if (mo.start > mo.end)
        return fail(ps, "module ends before it starts");
    if (flags & ~(uint64_t)LP_MODULE_FLAGS_KNOWN)
        return fail(ps, "unknown module flags %llx", (unsigned long long)flags);
    if (module_of_string(ps, path) >= 0)
        return fail(ps, "module path string %lld is already module %d's", (long long)path,
                    module_of_string(ps, path));
    size_t had = ps->cap_str_module;
    if (grow((void **)&ps->str_module, &ps->cap_str_module, (size_t)path, sizeof *ps->str_module))
        return fail(ps, "out of memory");
    for (size_t i = had; i < ps->cap_str_module; i++)
        ps->str_module[i] = -1;
    mo.path = ps->p->strings[path];
    mo.build_id = strcmp(b, "-") ? b : NULL;
    mo.flags = (uint32_t)flags;
    if (GROW(ps, modules, cap_modules, id))
        return -1;
    ps->p->modules[ps->p->n_modules++] = mo;
    ps->str_module[path] = (int32_t)id;
    return 0;
}

/* v LOCK MODULE OFFSET SITE */
static int rec_lock_where(struct parser *ps, struct tok *t)
{
    int64_t lock, mod, site;
    uint64_t off;
    if (field_ref(ps, t, "lock", ps->p->n_locks, 0, &lock) ||
        field_ref(ps, t, "module", ps->p->n_modules, 1, &mod) || field_u64(ps, t, "module offset", 16, &off) ||
        field_ref(ps, t, "site frame", ps->p->n_frames, 1, &site) || expect_end(ps, t))
        return -1;
    struct lpr_lock *l = &ps->p->locks[lock];
    if (l->module >= 0 || l->site >= 0)
        return fail(ps, "second location of lock %lld", (long long)lock);
    if (mod < 0 && site < 0)
        return fail(ps, "lock location without a module or a site");
    if (mod < 0 && off)
        return fail(ps, "module offset without a module");
    if (site >= 0 && ps->p->frames[site].kind != 'n')
        return fail(ps, "site frame %lld is not a native frame", (long long)site);
    l->module = (int32_t)mod;
    l->module_offset = off;
    l->site = (int32_t)site;
    return 0;
}

static int rec_thread(struct parser *ps, struct tok *t)
{
    struct lpr_thread th;
    if (field_u64(ps, t, "thread id", 10, &th.tid) || field_str(ps, t, "thread name string", &th.name) ||
        expect_end(ps, t))
        return -1;
    if (GROW(ps, threads, cap_threads, ps->p->n_threads))
        return -1;
    ps->p->threads[ps->p->n_threads++] = th;
    return 0;
}

/* g ID KEY VALUE [KEY VALUE ...]: keys non-empty, made of lp_label_key_byte_ok bytes, strictly ascending. */
static int rec_labelset(struct parser *ps, struct tok *t)
{
    if (check_id(ps, t, "label set", ps->p->n_labelsets))
        return -1;
    uint32_t fields = t->cur ? 1 : 0;
    for (const char *c = t->cur; c && *c; c++)
        fields += *c == ' ';
    if (!fields)
        return fail(ps, "label set without labels");
    if (fields % 2)
        return fail(ps, "label set with a key without a value");
    uint32_t n = fields / 2;
    const char **kv = pool_alloc(ps->p, 2 * n * sizeof *kv);
    if (!kv)
        return fail(ps, "out of memory");
    for (uint32_t i = 0; i < n; i++) {
        int64_t k, v;
        if (field_ref(ps, t, "label key string", ps->p->n_strings, 0, &k) ||
            field_ref(ps, t, "label value string", ps->p->n_strings, 0, &v))
            return -1;
        kv[i] = ps->p->strings[k];
        kv[n + i] = ps->p->strings[v];
        if (!*kv[i])
            return fail(ps, "empty label key");
        for (const char *c = kv[i]; *c; c++) /* (the key is not quoted: it may hold a newline) */
            if (!lp_label_key_byte_ok((unsigned char)*c))
                return fail(ps, "label key %u has a blank, a control character, '=', ',' or ':'", i + 1);
        if (i && strcmp(kv[i - 1], kv[i]) >= 0)
            return fail(ps, "label keys not in ascending order (or repeated): '%.40s'", kv[i]);
    }
    if (expect_end(ps, t) || GROW(ps, labelsets, cap_labelsets, ps->p->n_labelsets))
        return -1;
    ps->p->labelsets[ps->p->n_labelsets++] = (struct lpr_labelset){n, kv, kv + n};
    return 0;
}

static int parse_hist(struct parser *ps, char *s, struct lpr_agg *a)
{
    memset(a->hist, 0, sizeof a->hist);
    if (!s)
        return fail(ps, "missing histogram");
    if (strcmp(s, "-") == 0)
        return 0;
    uint64_t total = 0;
    while (*s) {
        char *comma = strchr(s, ',');
        if (comma)
            *comma = 0;
        char *colon = strchr(s, ':');
        uint64_t b, n;
        if (!colon)
            return fail(ps, "bad histogram entry '%.40s'", s);
        *colon = 0;
        if (parse_u64(s, 10, &b) || parse_u64(colon + 1, 10, &n) || b >= LP_HIST_BUCKETS || n > UINT32_MAX)
            return fail(ps, "bad histogram entry");
        a->hist[b] += (uint32_t)n;
        total += n;
        if (!comma)
            break;
        s = comma + 1;
        if (!*s)
            return fail(ps, "bad histogram entry");
    }
    if (total > a->count)
        return fail(ps, "histogram holds more waits than the count");
    return 0;
}

static int rec_agg(struct parser *ps, struct tok *t)
{
    struct lpr_agg a;
    int64_t lock, st, hst;
    uint64_t flags;
    if (field_ref(ps, t, "lock", ps->p->n_locks, 0, &lock) ||
        field_ref(ps, t, "stack", ps->p->n_stacks, 1, &st) ||
        field_ref(ps, t, "holder stack", ps->p->n_stacks, 1, &hst) ||
        field_u64(ps, t, "thread id", 10, &a.tid) || field_u64(ps, t, "holder thread id", 10, &a.holder_tid) ||
        field_u64(ps, t, "flags", 16, &flags) || field_u64(ps, t, "count", 10, &a.count) ||
        field_u64(ps, t, "wait", 10, &a.wait_ns) || field_u64(ps, t, "max wait", 10, &a.max_ns))
        return -1;
    if (flags & ~(uint64_t)LP_AGG_FLAGS_KNOWN)
        return fail(ps, "unknown aggregate flags %llx", (unsigned long long)flags);
    if (a.count == 0)
        return fail(ps, "aggregate with a zero count");
    if (a.max_ns > a.wait_ns)
        return fail(ps, "max wait larger than the total wait");
    a.lock = (uint32_t)lock;
    a.stack = (int32_t)st;
    a.holder_stack = (int32_t)hst;
    a.flags = (uint32_t)flags;
    int64_t labels = -1;
    if (parse_hist(ps, next_field(t), &a) ||
        (ps->p->version >= 2 && field_ref(ps, t, "label set", ps->p->n_labelsets, 1, &labels)) || expect_end(ps, t))
        return -1;
    a.labels = (int32_t)labels;
    if (GROW(ps, aggs, cap_aggs, ps->p->n_aggs))
        return -1;
    ps->p->aggs[ps->p->n_aggs++] = a;
    return 0;
}

static int rec_event(struct parser *ps, struct tok *t)
{
    struct lpr_event e;
    int64_t lock, st;
    if (field_u64(ps, t, "event start", 10, &e.start_ns) || field_u64(ps, t, "event duration", 10, &e.dur_ns) ||
        field_u64(ps, t, "thread id", 10, &e.tid) || field_ref(ps, t, "lock", ps->p->n_locks, 0, &lock) ||
        field_ref(ps, t, "stack", ps->p->n_stacks, 1, &st) || expect_end(ps, t))
        return -1;
    e.lock = (uint32_t)lock;
    e.stack = (int32_t)st;
    if (GROW(ps, events, cap_events, ps->p->n_events))
        return -1;
    ps->p->events[ps->p->n_events++] = e;
    return 0;
}

static int rec_inflight(struct parser *ps, struct tok *t)
{
    struct lpr_inflight w;
    int64_t lock, st;
    uint64_t flags;
    if (field_u64(ps, t, "thread id", 10, &w.tid) || field_ref(ps, t, "lock", ps->p->n_locks, 0, &lock) ||
        field_ref(ps, t, "stack", ps->p->n_stacks, 1, &st) || field_u64(ps, t, "wait start", 10, &w.start_ns) ||
        field_u64(ps, t, "owner thread id", 10, &w.owner_tid) || field_u64(ps, t, "flags", 16, &flags) ||
        expect_end(ps, t))
        return -1;
    if (flags & ~(uint64_t)LP_AGG_FLAGS_KNOWN)
        return fail(ps, "unknown wait flags %llx", (unsigned long long)flags);
    w.lock = (uint32_t)lock;
    w.stack = (int32_t)st;
    w.flags = (uint32_t)flags;
    if (GROW(ps, inflight, cap_inflight, ps->p->n_inflight))
        return -1;
    ps->p->inflight[ps->p->n_inflight++] = w;
    return 0;
}

static int rec_hold(struct parser *ps, struct tok *t)
{
    struct lpr_hold h;
    int64_t lock;
    if (field_ref(ps, t, "lock", ps->p->n_locks, 0, &lock) || field_u64(ps, t, "acquisitions", 10, &h.acquired) ||
        field_u64(ps, t, "timed holds", 10, &h.held) || field_u64(ps, t, "hold time", 10, &h.hold_ns) ||
        field_u64(ps, t, "max hold", 10, &h.max_ns) || expect_end(ps, t))
        return -1;
    if (h.acquired == 0)
        return fail(ps, "hold record with no acquisition");
    if (h.held > h.acquired)
        return fail(ps, "more timed holds than acquisitions");
    if (h.max_ns > h.hold_ns || (!h.held && h.hold_ns))
        return fail(ps, "max hold larger than the total hold time");
    h.lock = (uint32_t)lock;
    if (GROW(ps, holds, cap_holds, ps->p->n_holds))
        return -1;
    ps->p->holds[ps->p->n_holds++] = h;
    return 0;
}

/* Every record type: its tag, the first format version that has it, and its parser. */
static const struct record_type {
    const char *tag;
    int since;
    int (*parse)(struct parser *ps, struct tok *t);
} record_types[] = {
    {"m", 1, rec_meta},   {"s", 1, rec_string}, {"f", 1, rec_frame}, {"k", 1, rec_stack},
    {"l", 1, rec_lock},   {"t", 1, rec_thread}, {"a", 1, rec_agg},   {"e", 1, rec_event},
    {"g", 2, rec_labelset}, {"w", 2, rec_inflight}, {"h", 2, rec_hold},
    {"o", 2, rec_module},   {"v", 2, rec_lock_where},
};

static const struct record_type *record_type(const char *tag)
{
    for (size_t i = 0; i < sizeof record_types / sizeof record_types[0]; i++)
        if (!strcmp(record_types[i].tag, tag))
            return &record_types[i];
    return NULL;
}

int lp_profile_parse(const char *data, size_t len, struct lp_profile *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    struct parser ps = {.p = out, .err = err, .errlen = errlen};
    err[0] = 0;
    if (len == 0) {
        fail(&ps, "empty file (not a lockprof profile)");
        return -1;
    }
    if (memchr(data, 0, len)) {
        fail(&ps, "binary data (NUL byte): not a lockprof profile");
        return -1;
    }
    out->text = malloc(len + 1);
    if (!out->text) {
        fail(&ps, "out of memory");
        return -1;
    }
    memcpy(out->text, data, len);
    out->text[len] = 0;

    char *cur = out->text, *end = out->text + len;
    uint64_t records = 0;
    int seen_end = 0;
    while (cur < end) {
        char *nlp = memchr(cur, '\n', (size_t)(end - cur));
        ps.lineno++;
        if (!nlp) {
            fail(&ps, "truncated profile (last line has no newline)");
            goto bad;
        }
        *nlp = 0;
        char *line = cur;
        cur = nlp + 1;
        if (seen_end) {
            fail(&ps, "data after the end record");
            goto bad;
        }
        if (ps.lineno == 1) {
            size_t ml = strlen(LP_FORMAT_MAGIC);
            uint64_t v;
            if (strncmp(line, LP_FORMAT_MAGIC " ", ml + 1) != 0) {
                ps.lineno = 0;
                fail(&ps, "not a lockprof profile (bad magic)");
                goto bad;
            }
            if (parse_u64(line + ml + 1, 10, &v) || v == 0) {
                fail(&ps, "bad format version");
                goto bad;
            }
            if (v > LP_FORMAT_VERSION) {
                fail(&ps, "format version %llu is newer than this lockprof understands (%d)",
                     (unsigned long long)v, LP_FORMAT_VERSION);
                goto bad;
            }
            out->version = (int)v;
            continue;
        }
        struct tok t = {line};
        char *tag = next_field(&t);
        int rc;
        if (!tag || !*tag) {
            fail(&ps, "empty line");
            goto bad;
        }
        if (strcmp(tag, "end") == 0) {
            uint64_t n;
            if (field_u64(&ps, &t, "record count", 10, &n) || expect_end(&ps, &t))
                goto bad;
            if (n != records) {
                fail(&ps, "record count mismatch (trailer says %llu, file has %llu): truncated or edited",
                     (unsigned long long)n, (unsigned long long)records);
                goto bad;
            }
            seen_end = 1;
            continue;
        }
        const struct record_type *rt = record_type(tag);
        if (!rt)
            rc = fail(&ps, "unknown record type '%.20s'", tag);
        else if (out->version < rt->since)
            rc = fail(&ps, "record type '%s' is not part of format version %d (it is from version %d on)", tag,
                      out->version, rt->since);
        else
            rc = rt->parse(&ps, &t);
        if (rc)
            goto bad;
        records++;
    }
    if (!out->version) {
        fail(&ps, "empty file (not a lockprof profile)");
        goto bad;
    }
    if (!seen_end) {
        ps.lineno = 0;
        fail(&ps, "truncated profile (no end record)");
        goto bad;
    }
    free(ps.str_module);
    return 0;
bad:
    free(ps.str_module);
    lp_profile_free(out);
    return -1;
}

const char *lp_file_kind(unsigned mode)
{
    switch (mode & S_IFMT) {
    case S_IFREG: return "a regular file";
    case S_IFLNK: return "a symbolic link";
    case S_IFIFO: return "a FIFO";
    case S_IFSOCK: return "a socket";
    case S_IFCHR: return "a character device";
    case S_IFBLK: return "a block device";
    case S_IFDIR: return "a directory";
    default: return "not a regular file";
    }
}

int lp_open_regular(const char *path, struct stat *st, char *err, size_t errlen)
{
    /* stat first: opening a FIFO for reading blocks until a writer comes, and opening a device can have effects;
     * then O_NONBLOCK and fstat on the descriptor, in case the name was replaced in between */
    if (stat(path, st)) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st->st_mode)) {
        snprintf(err, errlen, "%s: is %s, not a regular file", path, lp_file_kind(st->st_mode));
        return -1;
    }
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, st) || !S_ISREG(st->st_mode)) {
        snprintf(err, errlen, "%s: is %s, not a regular file", path, lp_file_kind(st->st_mode));
        close(fd);
        return -1;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    return fd;
}

int lp_profile_load(const char *path, struct lp_profile *out, char *err, size_t errlen)
{
    char msg[256];
    memset(out, 0, sizeof *out);
    struct stat st;
    int fd = lp_open_regular(path, &st, err, errlen);
    if (fd < 0)
        return -1;
    size_t cap = (size_t)st.st_size + 1, len = 0;
    char *buf = malloc(cap);
    if (!buf) {
        snprintf(err, errlen, "%s: out of memory", path);
        close(fd);
        return -1;
    }
    for (;;) {
        if (len == cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) {
                free(buf);
                close(fd);
                snprintf(err, errlen, "%s: out of memory", path);
                return -1;
            }
            buf = nb;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            free(buf);
            close(fd);
            return -1;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    int rc = lp_profile_parse(buf, len, out, msg, sizeof msg);
    free(buf);
    if (rc) {
        snprintf(err, errlen, "%s: %s", path, msg);
        return -1;
    }
    out->path = strdup(path);
    out->dev = (uint64_t)st.st_dev;
    out->ino = (uint64_t)st.st_ino;
    return 0;
}

void lp_profile_free(struct lp_profile *p)
{
    free(p->path);
    free(p->meta);
    free(p->strings);
    free(p->frames);
    free(p->stacks);
    free(p->locks);
    free(p->threads);
    free(p->aggs);
    free(p->events);
    free(p->inflight);
    free(p->holds);
    free(p->labelsets);
    free(p->modules);
    free(p->text);
    for (struct pool_chunk *c = p->pool, *n; c; c = n) {
        n = c->next;
        free(c);
    }
    memset(p, 0, sizeof *p);
}

const char *lp_profile_meta(const struct lp_profile *p, const char *key)
{
    for (size_t i = 0; i < p->n_meta; i++)
        if (strcmp(p->meta[i].key, key) == 0)
            return p->meta[i].value;
    return NULL;
}
