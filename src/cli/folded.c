/* folded.c — see folded.h. Two merges keep the work proportional to the distinct stacks rather than the rows:
 * rows are first summed per (lock, stack) on integers, then each distinct pair gets its text (frame and root
 * texts are formatted once each and cached), and pairs whose texts coincide (locks of one object type, stacks
 * that differ only in hidden frames or native offsets) are summed again after a sort by text. */
#include "folded.h"

#include <stdlib.h>
#include <string.h>

#include "labelsets.h"

/* Text without ';' and control characters: see folded.h. */
static void add_sanitised(struct strbuf *o, const char *s)
{
    sb_text(o, s, strlen(s), TEXT_QUESTION | TEXT_NO_SEMICOLON);
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

void folded_frame_text(const struct model *m, uint32_t frame, struct strbuf *o)
{
    const struct m_frame *f = &m->frames[frame];
    const char *func = *f->func ? f->func : "??";
    if (f->kind == 'x') {
        sb_puts(o, func);
    } else if (f->kind == 'p') {
        add_sanitised(o, func);
        sb_puts(o, " (");
        add_sanitised(o, *f->file ? base_name(f->file) : "?");
        if (f->line)
            sb_printf(o, ":%llu", (unsigned long long)f->line);
        sb_puts(o, ")");
    } else if (!*f->module) {
        add_sanitised(o, func);
        if (strcmp(func, "??"))
            sb_puts(o, " (?)");
        else
            sb_printf(o, " (0x%llx)", (unsigned long long)f->offset);
    } else {
        add_sanitised(o, func);
        sb_puts(o, " (");
        add_sanitised(o, base_name(f->module));
        if (!strcmp(func, "??"))
            sb_printf(o, "+0x%llx", (unsigned long long)f->offset);
        sb_puts(o, ")");
    }
}

void folded_root_text(const struct model *m, uint32_t lock, struct strbuf *o)
{
    const struct m_lock *l = &m->locks[lock];
    sb_puts(o, lp_kind_name(l->kind));
    sb_puts(o, ":");
    add_sanitised(o, l->type ? l->type : l->name);
}

/* ---- building ----------------------------------------------------------------------------------------- */

struct pair {
    uint32_t lock;
    int32_t stack;
    int32_t labels;  /* the row's label set with split_label, else -1 */
    uint64_t amount; /* ns or waits */
};

struct entry {
    size_t off; /* of the text in the key buffer */
    uint64_t amount;
};

struct cache {
    size_t *off; /* per frame/lock: offset in buf, SIZE_MAX until formatted */
    struct strbuf buf;
};

static const char *cached(struct cache *c, size_t id, const struct model *m, int root)
{
    if (c->off[id] == SIZE_MAX) {
        c->off[id] = c->buf.len;
        if (root)
            folded_root_text(m, (uint32_t)id, &c->buf);
        else
            folded_frame_text(m, (uint32_t)id, &c->buf);
        sb_add(&c->buf, "", 1); /* keep the NUL in the buffer */
    }
    return c->buf.s + c->off[id];
}

static int cmp_pair(const void *a, const void *b)
{
    const struct pair *x = a, *y = b;
    if (x->lock != y->lock)
        return x->lock < y->lock ? -1 : 1;
    if (x->labels != y->labels)
        return x->labels < y->labels ? -1 : 1;
    return x->stack < y->stack ? -1 : x->stack > y->stack;
}

static int cmp_entry(const void *a, const void *b, void *text)
{
    const struct entry *x = a, *y = b;
    int c = strcmp((const char *)text + x->off, (const char *)text + y->off);
    /* equal texts are merged, so the order among them does not show; the offset makes qsort deterministic */
    return c ? c : (x->off < y->off ? -1 : x->off > y->off);
}

static int row_selected(const struct model *m, const struct m_row *r, enum row_class cls)
{
    if (cls == ROWS_ALL)
        return 1;
    return model_row_is_wait(r, m) == (cls == ROWS_WAITS);
}

void folded_build(const struct model *m, const struct folded_opts *o, struct folded *out)
{
    memset(out, 0, sizeof *out);

    /* 1. sum the selected rows per (lock, stack) */
    struct pair *pairs = xmalloc((m->n_rows + 1) * sizeof *pairs);
    size_t np = 0;
    for (size_t i = 0; i < m->n_rows; i++) {
        const struct m_row *r = &m->rows[i];
        if (!row_selected(m, r, o->rows))
            continue;
        int32_t st = o->holders ? r->holder_stack : r->stack;
        if (st >= 0 && !m->stacks[st].n)
            st = -1;
        pairs[np++] = (struct pair){r->lock, st, o->split_label ? r->labels : -1,
                                    o->weight == FOLDED_COUNT ? r->count : r->wait_ns};
    }
    qsort(pairs, np, sizeof *pairs, cmp_pair);
    size_t nu = 0;
    for (size_t i = 0; i < np; i++) {
        if (nu && pairs[nu - 1].lock == pairs[i].lock && pairs[nu - 1].stack == pairs[i].stack &&
            pairs[nu - 1].labels == pairs[i].labels)
            pairs[nu - 1].amount = sat_add(pairs[nu - 1].amount, pairs[i].amount);
        else
            pairs[nu++] = pairs[i];
    }

    /* 2. the text of each distinct pair */
    struct cache frames = {xmalloc((m->n_frames + 1) * sizeof(size_t)), {0}};
    struct cache roots = {xmalloc((m->n_locks + 1) * sizeof(size_t)), {0}};
    memset(frames.off, 0xff, (m->n_frames + 1) * sizeof(size_t));
    memset(roots.off, 0xff, (m->n_locks + 1) * sizeof(size_t));
    struct strbuf keys = {0};
    struct entry *ent = xmalloc((nu + 1) * sizeof *ent);
    for (size_t i = 0; i < nu; i++) {
        ent[i] = (struct entry){keys.len, pairs[i].amount};
        if (o->split_label) {
            const char *v = labelset_value(m, pairs[i].labels, o->split_label);
            add_sanitised(&keys, o->split_label);
            if (v) {
                sb_add(&keys, "=", 1);
                add_sanitised(&keys, v);
            } else {
                sb_puts(&keys, " unset");
            }
            sb_add(&keys, ";", 1);
        }
        sb_puts(&keys, cached(&roots, pairs[i].lock, m, 1));
        if (pairs[i].stack < 0) {
            sb_puts(&keys, ";[no stack recorded]");
        } else {
            const struct m_stack *s = &m->stacks[pairs[i].stack];
            for (uint32_t k = s->n; k-- > 0;) {
                if (!model_frame_shown(m, s, k, o->all_frames))
                    continue;
                sb_add(&keys, ";", 1);
                sb_puts(&keys, cached(&frames, s->frames[k], m, 0));
            }
        }
        sb_add(&keys, "", 1);
    }
    free(pairs);
    free(frames.off);
    free(roots.off);
    sb_free(&frames.buf);
    sb_free(&roots.buf);

    /* 3. sort by text, merge equal texts, convert to the unit and drop zeros */
    if (nu)
        qsort_r(ent, nu, sizeof *ent, cmp_entry, keys.s);
    size_t ne = 0;
    for (size_t i = 0; i < nu; i++) {
        if (ne && !strcmp(keys.s + ent[ne - 1].off, keys.s + ent[i].off))
            ent[ne - 1].amount = sat_add(ent[ne - 1].amount, ent[i].amount);
        else
            ent[ne++] = ent[i];
    }
    /* the lines point into the key buffer, trimmed to its length: no second copy of the texts (the texts of
     * merged duplicates and of zero values stay behind, unused) */
    out->text = keys.len ? xrealloc(keys.s, keys.len) : keys.s;
    out->lines = xmalloc((ne + 1) * sizeof *out->lines);
    for (size_t i = 0; i < ne; i++) {
        if (o->weight == FOLDED_WAIT_US)
            ent[i].amount = ent[i].amount / 1000 + (ent[i].amount % 1000 >= 500);
        if (!ent[i].amount)
            continue;
        out->lines[out->n++] = (struct folded_line){out->text + ent[i].off, ent[i].amount};
        out->total = sat_add(out->total, ent[i].amount);
    }
    free(ent);
}

void folded_free(struct folded *f)
{
    free(f->lines);
    free(f->text);
    memset(f, 0, sizeof *f);
}

void folded_write(const struct folded *f, struct strbuf *o)
{
    for (size_t i = 0; i < f->n; i++) {
        sb_puts(o, f->lines[i].stack);
        sb_printf(o, " %llu\n", (unsigned long long)f->lines[i].value);
    }
}
