/* cmd_diff.c — `lockprof diff`: compares the contention of two sets of profiles (a base and a new one, each
 * merged) per lock, object type or waiter stack, and lists what changed most first; `--format folded` writes
 * FlameGraph's differential folded format (`stack base new`) from the folded stacks of folded.h.
 *
 * Matching across runs (docs/DIFF.md): profiles of different runs share no ids or addresses, so entities are
 * matched by text that survives a rerun, a rebuild and an edit elsewhere in the file:
 *   lock   kind + name + object type, where an address in a name (`@0x7f3a...`, the anonymous locks: heap
 *          mutexes, object locks `dict@0x...`, runtime locks `pymutex@0x... taken in F`) is replaced by `@0x*`:
 *          anonymous locks therefore match by kind + object type (+ the function that took a runtime lock);
 *   type   kind + object type;
 *   stack  the lock as above + the waiter stack, frame by frame as folded.h writes them (Python
 *          `func (file.py)`, native `func (module)`: base names, no native offsets) but without Python line
 *          numbers, and without the interpreter/libc frames `report --frames user` hides (the leaf stays).
 * Only contention counts (model_row_is_wait() rows — condition variables, semaphores, notifications, self-held
 * locks — are left out), as in the report's main table and in `lockprof check`. */
#include <ctype.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "cli.h"
#include "folded.h"
#include "group.h"
#include "model.h"
#include "output.h"
#include "util.h"

static const char usage[] =
    "usage: lockprof diff [--format text|json|folded] [--by lock|type|stack] [--top N] [-o OUT]\n"
    "                     [--base BASE]... [BASE] NEW...\n"
    "\n"
    "Compares lock contention between BASE and NEW profiles: contentions and wait before and after, per\n"
    "lock (default), object type or lock + waiter stack, the largest change in wait first. Without --base\n"
    "the first profile is the base; with --base (repeatable) every positional profile is new. Each side's\n"
    "profiles are merged (summed).\n"
    "\n"
    "  --format F   text (default), json, or folded: FlameGraph's differential format, `stack base new`\n"
    "               with wait in microseconds (for difffolded-style flame graphs)\n"
    "  --by K       lock (default), type, or stack (lock + waiter stack)\n"
    "  --top N      rows in text (default 20; 0 = all); json and folded list everything\n"
    "  -o OUT       write to OUT instead of standard output: a regular file, put in place only when\n"
    "               complete; a symbolic link, FIFO, socket, directory or device at OUT is refused (/dev/null\n"
    "               discards)\n"
    "\n"
    "Matching: runs share no addresses, so a lock is matched by kind + name + object type with any\n"
    "`@0x...` address in its name replaced by `@0x*` (anonymous locks match by kind + object type), and a\n"
    "stack by its frames' function and file/module base names, without Python line numbers, native offsets\n"
    "or interpreter/libc frames (docs/DIFF.md). Only contention counts, as in the report's main table.\n"
    "\n"
    HELP_FOOTER;

enum { BASE = 0, NEW = 1 };

/* One compared entity: a lock, an object type, or a lock + waiter stack. */
struct dent {
    char *key;       /* identity, unique, also the final sort tie-break: KIND US LOCK US TYPE [US FRAME RS...]
                      * (US = \x1f, RS = \x1e; none of the parts contains a control character) */
    unsigned kind;
    char *lock;      /* masked name (BY_LOCK, BY_STACK) */
    char *type;      /* object type or NULL */
    char *top_frame; /* the most telling waiter frame of the entity's stack with the most wait ("" if none) */
    uint64_t count[2], wait_ns[2];
    int64_t change_ns, change_count;
};

struct dent_idx {
    UT_hash_handle hh;
    size_t idx;
    char key[];
};

/* Wait per (entity, side, model stack): to find each entity's heaviest stack. */
struct stack_key {
    size_t ent;
    uint32_t side;
    int32_t stack;
};
struct stack_acc {
    UT_hash_handle hh;
    struct stack_key k;
    uint64_t wait_ns;
};

struct diff {
    enum group_by by;
    struct dent *v;
    size_t n, cap;
    struct dent_idx *idx;
    struct stack_acc *stacks;
    uint64_t count[2], wait_ns[2];
};

/* ---- matching texts ------------------------------------------------------------------------------------ */

/* s with control characters replaced by '?' (as folded.h does), so a text never contains a key separator. */
static void add_clean(struct strbuf *o, const char *s, size_t n) { sb_text(o, s, n, TEXT_QUESTION); }

/* s (cleaned) with every "@0x<hex>" turned into "@0x*". */
static void add_masked(struct strbuf *o, const char *s)
{
    for (;;) {
        const char *at = strstr(s, "@0x");
        if (!at) {
            add_clean(o, s, strlen(s));
            return;
        }
        add_clean(o, s, (size_t)(at - s) + 3);
        s = at + 3;
        if (isxdigit((unsigned char)*s)) {
            sb_add(o, "*", 1);
            while (isxdigit((unsigned char)*s))
                s++;
        }
    }
}

/* Removes a trailing ":LINE" before the closing parenthesis of a Python frame's text "func (file.py:LINE)"
 * that starts at o->s + start. */
static void strip_line(struct strbuf *o, size_t start)
{
    size_t e = o->len;
    if (e - start < 4 || o->s[e - 1] != ')')
        return;
    size_t d = e - 1;
    while (d > start && isdigit((unsigned char)o->s[d - 1]))
        d--;
    if (d == e - 1 || d <= start || o->s[d - 1] != ':')
        return;
    o->s[d - 1] = ')';
    o->len = d;
    o->s[o->len] = 0;
}

/* A frame as diff matches it. */
static void add_frame(struct strbuf *o, const struct model *m, uint32_t frame)
{
    size_t start = o->len;
    folded_frame_text(m, frame, o);
    if (m->frames[frame].kind == 'p')
        strip_line(o, start);
}

/* The frames of a waiter stack that take part in matching: those `report --frames user` shows (interpreter,
 * libc and lockprof frames hidden, except the leaf), leaf first. Sets *n and returns an array of frame ids. */
static uint32_t *user_frames(const struct model *m, int32_t stack, uint32_t *n)
{
    *n = 0;
    if (stack < 0 || !m->stacks[stack].n)
        return NULL;
    const struct m_stack *s = &m->stacks[stack];
    uint32_t *v = xmalloc(s->n * sizeof *v);
    for (uint32_t i = 0; i < s->n; i++)
        if (model_frame_shown(m, s, i, 0))
            v[(*n)++] = s->frames[i];
    return v;
}

/* ---- collecting ----------------------------------------------------------------------------------------- */

/* The frames part of a BY_STACK key (after the third US), or NULL. */
static const char *key_frames(const char *key)
{
    for (int i = 0; i < 3 && key; i++) {
        key = strchr(key, '\x1f');
        if (key)
            key++;
    }
    return key;
}

static size_t entity(struct diff *d, const struct model *m, const struct m_row *r, struct strbuf *key)
{
    const struct m_lock *l = &m->locks[r->lock];
    sb_reset(key);
    sb_printf(key, "%s\x1f", lp_kind_name(l->kind));
    size_t lock_at = key->len;
    if (d->by != BY_TYPE)
        add_masked(key, l->name);
    size_t lock_len = key->len - lock_at;
    sb_puts(key, "\x1f");
    if (l->type)
        add_clean(key, l->type, strlen(l->type));
    else
        sb_puts(key, "-"); /* an object type is never "-": the format writes a missing type that way */
    if (d->by == BY_STACK) {
        uint32_t n;
        uint32_t *f = user_frames(m, r->stack, &n);
        sb_puts(key, "\x1f");
        for (uint32_t i = 0; i < n; i++) {
            add_frame(key, m, f[i]);
            sb_add(key, "\x1e", 1);
        }
        free(f);
    }
    struct dent_idx *e;
    HASH_FIND(hh, d->idx, key->s, key->len, e);
    if (e)
        return e->idx;
    e = xmalloc(sizeof *e + key->len + 1);
    memcpy(e->key, key->s, key->len + 1);
    e->idx = d->n;
    HASH_ADD_KEYPTR(hh, d->idx, e->key, key->len, e);
    GROWV(d->v, d->cap, d->n + 1);
    struct dent *x = &d->v[d->n++];
    memset(x, 0, sizeof *x);
    x->key = xstrdup(key->s);
    x->kind = l->kind;
    x->lock = xmalloc(lock_len + 1);
    memcpy(x->lock, key->s + lock_at, lock_len);
    x->lock[lock_len] = 0;
    x->type = l->type ? xstrdup(l->type) : NULL;
    return e->idx;
}

static void collect(struct diff *d, const struct model *m, int side)
{
    struct strbuf key = {0};
    for (size_t i = 0; i < m->n_rows; i++) {
        const struct m_row *r = &m->rows[i];
        if (model_row_is_wait(r, m))
            continue;
        size_t ei = entity(d, m, r, &key);
        d->v[ei].count[side] = sat_add(d->v[ei].count[side], r->count);
        d->v[ei].wait_ns[side] = sat_add(d->v[ei].wait_ns[side], r->wait_ns);
        d->count[side] = sat_add(d->count[side], r->count);
        d->wait_ns[side] = sat_add(d->wait_ns[side], r->wait_ns);
        struct stack_key k;
        memset(&k, 0, sizeof k); /* padding takes part in the hash */
        k.ent = ei;
        k.side = (uint32_t)side;
        k.stack = r->stack;
        struct stack_acc *a;
        HASH_FIND(hh, d->stacks, &k, sizeof k, a);
        if (!a) {
            a = xcalloc(1, sizeof *a);
            a->k = k;
            HASH_ADD(hh, d->stacks, k, sizeof k, a);
        }
        a->wait_ns = sat_add(a->wait_ns, r->wait_ns);
    }
    sb_free(&key);
}

/* Each entity's top waiter frame: from its stack with the most wait on the new side (the base side for removed
 * entities); ties go to the lower stack id, so the choice is deterministic. */
static void top_frames(struct diff *d, const struct model *models[2])
{
    struct stack_acc **best[2];
    for (int s = 0; s < 2; s++)
        best[s] = xcalloc(d->n + 1, sizeof *best[s]);
    struct stack_acc *a, *tmp;
    HASH_ITER(hh, d->stacks, a, tmp)
    {
        struct stack_acc **b = &best[a->k.side][a->k.ent];
        if (!*b || a->wait_ns > (*b)->wait_ns || (a->wait_ns == (*b)->wait_ns && a->k.stack < (*b)->k.stack))
            *b = a;
    }
    for (size_t i = 0; i < d->n; i++) {
        int s = best[NEW][i] ? NEW : BASE;
        struct strbuf t = {0};
        int64_t f = best[s][i] ? model_top_frame(models[s], best[s][i]->k.stack) : -1;
        if (f >= 0)
            folded_frame_text(models[s], (uint32_t)f, &t);
        d->v[i].top_frame = t.s ? t.s : xstrdup("");
    }
    free(best[0]);
    free(best[1]);
}

static uint64_t abs64(int64_t v) { return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v; }

/* Largest absolute change in wait first, then in contentions, then by key. */
static int cmp_dent(const void *a, const void *b)
{
    const struct dent *x = a, *y = b;
    uint64_t ax = abs64(x->change_ns), ay = abs64(y->change_ns);
    if (ax != ay)
        return ax > ay ? -1 : 1;
    ax = abs64(x->change_count);
    ay = abs64(y->change_count);
    if (ax != ay)
        return ax > ay ? -1 : 1;
    return strcmp(x->key, y->key);
}

static void diff_build(struct diff *d, const struct model *models[2])
{
    collect(d, models[BASE], BASE);
    collect(d, models[NEW], NEW);
    top_frames(d, models);
    for (size_t i = 0; i < d->n; i++) {
        struct dent *x = &d->v[i];
        x->change_ns = sat_diff(x->wait_ns[NEW], x->wait_ns[BASE]);
        x->change_count = sat_diff(x->count[NEW], x->count[BASE]);
    }
    if (d->n)
        qsort(d->v, d->n, sizeof *d->v, cmp_dent);
}

static void diff_free(struct diff *d)
{
    struct dent_idx *e, *t1;
    HASH_ITER(hh, d->idx, e, t1)
    {
        HASH_DEL(d->idx, e);
        free(e);
    }
    struct stack_acc *a, *t2;
    HASH_ITER(hh, d->stacks, a, t2)
    {
        HASH_DEL(d->stacks, a);
        free(a);
    }
    for (size_t i = 0; i < d->n; i++) {
        free(d->v[i].key);
        free(d->v[i].lock);
        free(d->v[i].type);
        free(d->v[i].top_frame);
    }
    free(d->v);
}

/* ---- text --------------------------------------------------------------------------------------------- */

static const char *status(const struct dent *x)
{
    if (!x->count[BASE] && !x->wait_ns[BASE])
        return "added";
    if (!x->count[NEW] && !x->wait_ns[NEW])
        return "removed";
    if (x->change_ns)
        return x->change_ns > 0 ? "up" : "down";
    if (x->change_count)
        return x->change_count > 0 ? "up" : "down";
    return "same";
}

/* Relative change of wait in percent; +inf when only the new side waited; 0 when neither did. */
static double change_pct(uint64_t before, uint64_t after)
{
    if (!before)
        return after ? HUGE_VAL : 0.0;
    return 100.0 * ((double)after - (double)before) / (double)before;
}

static const char *pct_text(double p, char *buf, size_t cap)
{
    if (isinf(p))
        snprintf(buf, cap, "new");
    else
        snprintf(buf, cap, "%+.1f%%", p);
    return buf;
}

static void text_label(struct strbuf *o, const struct diff *d, const struct dent *x)
{
    if (d->by == BY_TYPE) {
        if (x->type)
            add_clean(o, x->type, strlen(x->type));
        else
            sb_puts(o, "(not an object)");
        return;
    }
    sb_puts(o, x->lock); /* cleaned by add_masked */
    if (x->type) {
        sb_puts(o, " [");
        add_clean(o, x->type, strlen(x->type));
        sb_puts(o, "]");
    }
}

/* Ends a table line: no trailing blanks (an empty last column leaves them). */
static void end_line(struct strbuf *o)
{
    while (o->len && o->s[o->len - 1] == ' ')
        o->len--;
    o->s[o->len] = 0;
    sb_puts(o, "\n");
}

static void render_text(struct strbuf *o, const struct diff *d, long top, int n_base, int n_new)
{
    char p[32];
    sb_printf(o, "lockprof diff: contention by %s, base (%d profile%s) -> new (%d profile%s)\n",
              group_by_name(d->by), n_base, n_base == 1 ? "" : "s", n_new, n_new == 1 ? "" : "s");
    sb_printf(o, "  wait %.3f -> %.3f ms (%+.3f ms, %s), contentions %llu -> %llu (%+lld)\n", ms(d->wait_ns[BASE]),
              ms(d->wait_ns[NEW]), (double)sat_diff(d->wait_ns[NEW], d->wait_ns[BASE]) / 1e6,
              pct_text(change_pct(d->wait_ns[BASE], d->wait_ns[NEW]), p, sizeof p),
              (unsigned long long)d->count[BASE], (unsigned long long)d->count[NEW],
              (long long)sat_diff(d->count[NEW], d->count[BASE]));
    if (n_base != n_new)
        sb_printf(o, "  note: the sides have different numbers of profiles; values are sums, not averages\n");
    if (!d->n) {
        sb_puts(o, "\n  no contention on either side\n");
        return;
    }
    size_t lim = top && (size_t)top < d->n ? (size_t)top : d->n;
    const char *what = d->by == BY_TYPE ? "object type" : "lock [object type]";
    size_t lw = strlen(what);
    struct strbuf label = {0};
    for (size_t i = 0; i < lim; i++) {
        sb_reset(&label);
        text_label(&label, d, &d->v[i]);
        if (label.len > lw)
            lw = label.len;
    }
    if (lw > 48)
        lw = 48;
    sb_printf(o, "\n  %-3s %-7s %10s %10s %10s %13s %13s %13s %9s  %-15s %-*s  %s", "#", "status", "cont.base",
              "cont.new", "cont.diff", "wait.base[ms]", "wait.new[ms]", "wait.diff[ms]", "diff[%]", "kind", (int)lw,
              what, d->by == BY_STACK ? "" : "top waiter frame");
    end_line(o);
    for (size_t i = 0; i < lim; i++) {
        const struct dent *x = &d->v[i];
        sb_reset(&label);
        text_label(&label, d, x);
        sb_printf(o, "  %-3zu %-7s %10llu %10llu %+10lld %13.3f %13.3f %+13.3f %9s  %-15s %-*s  %s", i + 1,
                  status(x), (unsigned long long)x->count[BASE], (unsigned long long)x->count[NEW],
                  (long long)x->change_count, ms(x->wait_ns[BASE]), ms(x->wait_ns[NEW]),
                  (double)x->change_ns / 1e6, pct_text(change_pct(x->wait_ns[BASE], x->wait_ns[NEW]), p, sizeof p),
                  lp_kind_name(x->kind), (int)lw, label.s, d->by == BY_STACK ? "" : x->top_frame);
        end_line(o);
        if (d->by == BY_STACK) {
            const char *f = key_frames(x->key);
            sb_puts(o, "        waiter: ");
            if (!*f)
                sb_puts(o, "(no stack recorded)");
            for (const char *e; (e = strchr(f, '\x1e')); f = e + 1) {
                sb_add(o, f, (size_t)(e - f));
                if (e[1])
                    sb_puts(o, " <- ");
            }
            sb_puts(o, "\n");
        }
    }
    sb_free(&label);
    if (lim < d->n)
        sb_printf(o, "  ... %zu more (use --top 0 to see all)\n", d->n - lim);
    sb_puts(o, "\nLegend: sorted by the absolute change in wait, then in contentions; added = only in new, removed = "
               "only in base; diff[%] = change of wait relative to base (new: base had none). Locks named "
               "TYPE@0x... are matched by kind and object type (address shown as 0x*); frames by function and "
               "file/module, without line numbers or offsets.\n");
}

/* ---- JSON --------------------------------------------------------------------------------------------- */

static void json_side(struct strbuf *o, const char *name, char **paths, int n, uint64_t count, uint64_t wait)
{
    sb_printf(o, "\"%s\":{\"profiles\":[", name);
    for (int i = 0; i < n; i++) {
        if (i)
            sb_puts(o, ",");
        sb_json_str(o, paths[i]);
    }
    sb_printf(o, "],\"contentions\":%llu,\"wait_ns\":%llu}", (unsigned long long)count, (unsigned long long)wait);
}

static void render_json(struct strbuf *o, const struct diff *d, char **base, int n_base, char **nw, int n_new)
{
    sb_printf(o, "{\"format_version\":1,\"generator\":\"lockprof %s\",\"by\":\"%s\",", LOCKPROF_VERSION,
              group_by_name(d->by));
    json_side(o, "base", base, n_base, d->count[BASE], d->wait_ns[BASE]);
    sb_puts(o, ",");
    json_side(o, "new", nw, n_new, d->count[NEW], d->wait_ns[NEW]);
    sb_puts(o, ",\"entries\":[");
    for (size_t i = 0; i < d->n; i++) {
        const struct dent *x = &d->v[i];
        sb_printf(o, "%s{\"status\":\"%s\",\"kind\":\"%s\",\"lock\":", i ? "," : "", status(x), lp_kind_name(x->kind));
        sb_json_str(o, d->by == BY_TYPE ? NULL : x->lock);
        sb_puts(o, ",\"object_type\":");
        sb_json_str(o, x->type);
        sb_puts(o, ",\"stack\":");
        if (d->by == BY_STACK) {
            sb_puts(o, "[");
            struct strbuf frame = {0};
            const char *f = key_frames(x->key);
            for (const char *e; (e = strchr(f, '\x1e')); f = e + 1) {
                sb_reset(&frame);
                sb_add(&frame, f, (size_t)(e - f));
                sb_json_str(o, frame.s);
                if (e[1])
                    sb_puts(o, ",");
            }
            sb_free(&frame);
            sb_puts(o, "]");
        } else {
            sb_puts(o, "null");
        }
        sb_puts(o, ",\"top_frame\":");
        sb_json_str(o, *x->top_frame ? x->top_frame : NULL);
        double p = change_pct(x->wait_ns[BASE], x->wait_ns[NEW]);
        sb_printf(o, ",\"base\":{\"contentions\":%llu,\"wait_ns\":%llu},"
                     "\"new\":{\"contentions\":%llu,\"wait_ns\":%llu},"
                     "\"contentions_change\":%lld,\"wait_ns_change\":%lld,\"wait_change_pct\":",
                  (unsigned long long)x->count[BASE], (unsigned long long)x->wait_ns[BASE],
                  (unsigned long long)x->count[NEW], (unsigned long long)x->wait_ns[NEW], (long long)x->change_count,
                  (long long)x->change_ns);
        if (isinf(p))
            sb_puts(o, "null}");
        else
            sb_printf(o, "%.3f}", p);
    }
    sb_puts(o, "]}\n");
}

/* ---- folded (differential) ---------------------------------------------------------------------------- */

/* A folded stack (folded.h) made comparable across runs: the root's addresses masked, the Python frames'
 * line numbers removed. */
static void stable_folded(struct strbuf *o, const char *stack)
{
    const char *semi = strchr(stack, ';');
    size_t rl = semi ? (size_t)(semi - stack) : strlen(stack);
    char *root = xmalloc(rl + 1);
    memcpy(root, stack, rl);
    root[rl] = 0;
    add_masked(o, root);
    free(root);
    while (semi) {
        const char *s = semi + 1;
        semi = strchr(s, ';');
        size_t len = semi ? (size_t)(semi - s) : strlen(s);
        sb_add(o, ";", 1);
        size_t start = o->len;
        sb_add(o, s, len);
        /* folded.h: a frame ending in ":LINE)" is a Python frame; native frames never end that way */
        strip_line(o, start);
    }
}

struct fl {
    size_t off; /* in the text buffer */
    uint64_t v[2];
};

static int cmp_fl(const void *a, const void *b, void *text)
{
    const struct fl *x = a, *y = b;
    int c = strcmp((const char *)text + x->off, (const char *)text + y->off);
    return c ? c : (x->off < y->off ? -1 : x->off > y->off);
}

static void render_folded(struct strbuf *o, const struct model *models[2])
{
    struct folded_opts fo = {FOLDED_WAIT_US, 0, ROWS_CONTENTION, 0, NULL};
    struct strbuf text = {0};
    struct fl *v = NULL;
    size_t n = 0, cap = 0;
    for (int s = 0; s < 2; s++) {
        struct folded f;
        folded_build(models[s], &fo, &f);
        for (size_t i = 0; i < f.n; i++) {
            GROWV(v, cap, n + 1);
            v[n] = (struct fl){text.len, {0, 0}};
            v[n++].v[s] = f.lines[i].value;
            stable_folded(&text, f.lines[i].stack);
            sb_add(&text, "", 1);
        }
        folded_free(&f);
    }
    if (n)
        qsort_r(v, n, sizeof *v, cmp_fl, text.s);
    for (size_t i = 0; i < n;) {
        uint64_t b = 0, a = 0;
        size_t j = i;
        for (; j < n && !strcmp(text.s + v[i].off, text.s + v[j].off); j++) {
            b = sat_add(b, v[j].v[BASE]);
            a = sat_add(a, v[j].v[NEW]);
        }
        sb_printf(o, "%s %llu %llu\n", text.s + v[i].off, (unsigned long long)b, (unsigned long long)a);
        i = j;
    }
    free(v);
    sb_free(&text);
}

/* ---- command ------------------------------------------------------------------------------------------ */

int cmd_diff(int argc, char **argv)
{
    static const struct option lo[] = {{"format", 1, 0, 'f'}, {"by", 1, 0, 'b'},   {"top", 1, 0, 't'},
                                       {"output", 1, 0, 'o'}, {"base", 1, 0, 'B'}, {"help", 0, 0, 'h'},
                                       {0, 0, 0, 0}};
    const char *format = "text", *out = NULL;
    long top = 20;
    enum group_by by = BY_LOCK;
    char **base = NULL;
    int n_base = 0, c, rc = EXIT_USAGE;
    optind = 1;
    opterr = 0; /* our own messages: "lockprof: diff: ..." */
    while ((c = getopt_long(argc, argv, ":f:b:t:o:h", lo, NULL)) != -1) {
        switch (c) {
        case 'f': format = optarg; break;
        case 'b':
            if (group_by_parse(optarg, &by) || by >= BY_THREAD) {
                die_msg("diff: --by must be lock, type or stack, not '%s'", optarg);
                goto done;
            }
            break;
        case 't':
            if (parse_count("--top", optarg, &top))
                goto done;
            break;
        case 'o': out = optarg; break;
        case 'B':
            base = xrealloc(base, (size_t)(n_base + 1) * sizeof *base);
            base[n_base++] = optarg;
            break;
        case 'h': fputs(usage, stdout); rc = EXIT_OK; goto done;
        default:
            die_msg("diff: %s %s (lockprof diff --help)", c == ':' ? "missing value for option" : "unknown option",
                    argv[optind - 1]);
            goto done;
        }
    }
    if (strcmp(format, "text") && strcmp(format, "json") && strcmp(format, "folded")) {
        die_msg("diff: --format must be text, json or folded, not '%s'", format);
        goto done;
    }
    if (!n_base && optind < argc) {
        base = xmalloc(sizeof *base);
        base[n_base++] = argv[optind++];
    }
    if (!n_base || optind >= argc) {
        die_msg("diff: %s (lockprof diff --help)", !n_base ? "no profile given" : "no NEW profile given");
        goto done;
    }
    char **nw = argv + optind;
    int n_new = argc - optind;
    struct model mb, mn;
    if (model_load(&mb, base, n_base))
        goto done;
    if (model_load(&mn, nw, n_new)) {
        model_free(&mb);
        goto done;
    }
    const struct model *models[2] = {&mb, &mn};
    struct strbuf o = {0};
    if (!strcmp(format, "folded")) {
        render_folded(&o, models);
    } else {
        struct diff d = {0};
        d.by = by;
        diff_build(&d, models);
        if (!strcmp(format, "json"))
            render_json(&o, &d, base, n_base, nw, n_new);
        else
            render_text(&o, &d, top, n_base, n_new);
        diff_free(&d);
    }
    model_free(&mb);
    model_free(&mn);
    struct out f;
    rc = EXIT_OK;
    if (out_open(&f, out)) {
        rc = EXIT_USAGE;
    } else {
        fwrite(o.s ? o.s : "", 1, o.len, f.f);
        if (out_commit(&f))
            rc = EXIT_USAGE;
    }
    sb_free(&o);
done:
    free(base);
    return rc;
}
