/* export_common.c — see export.h. */
#include "export.h"

#include <stdlib.h>
#include <string.h>
#include <uthash.h>

const char *export_class_name(enum export_class c)
{
    static const char *const names[] = {"contention", "condition", "semaphore", "notify", "self"};
    return names[c];
}

enum export_class export_class_of(unsigned kind, uint32_t flags)
{
    if (kind == LP_KIND_PTHREAD_COND)
        return EXPORT_CONDITION;
    if (kind == LP_KIND_SEMAPHORE)
        return EXPORT_SEMAPHORE;
    if (kind == LP_KIND_PTHREAD_JOIN)
        return EXPORT_NOTIFY; /* waiting for a thread to end, like Thread.join */
    if (flags & LP_AGG_SELF)
        return EXPORT_SELF;
    if (flags & LP_AGG_NOTIFY)
        return EXPORT_NOTIFY;
    return EXPORT_CONTENTION;
}

enum export_class export_row_class(const struct model *m, const struct m_row *r)
{
    return export_class_of(m->locks[r->lock].kind, r->flags);
}

int export_class_wanted(const struct export_opts *o, enum export_class c)
{
    return o->all_waits || c == EXPORT_CONTENTION;
}

void export_lock_label(struct strbuf *b, const struct model *m, uint32_t lock, enum export_class c)
{
    const struct m_lock *l = &m->locks[lock];
    const char *kind = lp_kind_name(l->kind);
    size_t kn = strlen(kind);
    if (l->type)
        sb_printf(b, "%s:%s", kind, l->type);
    else if (!strncmp(l->name, kind, kn) && (l->name[kn] == ' ' || l->name[kn] == '@'))
        sb_puts(b, l->name);
    else
        sb_printf(b, "%s:%s", kind, l->name);
    if (c != EXPORT_CONTENTION)
        sb_printf(b, " [%s]", export_class_name(c));
}

void export_func_name(struct strbuf *b, const struct model *m, uint32_t frame)
{
    const struct m_frame *f = &m->frames[frame];
    if (f->kind == 'p' || strcmp(f->func, "??")) {
        sb_puts(b, f->func);
    } else if (*f->module) {
        const char *base = strrchr(f->module, '/');
        sb_printf(b, "%s+0x%llx", base ? base + 1 : f->module, (unsigned long long)f->offset);
    } else {
        sb_printf(b, "0x%llx", (unsigned long long)f->offset);
    }
}

uint32_t export_frames(const struct model *m, int32_t stack, const struct export_opts *o, uint32_t **buf,
                       size_t *cap)
{
    if (stack < 0 || (size_t)stack >= m->n_stacks)
        return 0;
    const struct m_stack *s = &m->stacks[stack];
    GROWV(*buf, *cap, (size_t)s->n + 1);
    uint32_t n = 0;
    for (uint32_t i = 0; i < s->n; i++)
        if (model_frame_shown(m, s, i, o->all_frames))
            (*buf)[n++] = s->frames[i];
    return n;
}

struct export_index {
    UT_hash_handle hh;
    uint32_t id;
    size_t len;
    char key[];
};

uint32_t export_index_get(struct export_index **ix, const void *key, size_t len, int *fresh)
{
    struct export_index *e;
    HASH_FIND(hh, *ix, key, len, e);
    if (fresh)
        *fresh = !e;
    if (e)
        return e->id;
    e = xmalloc(sizeof *e + len + 1);
    e->id = (uint32_t)HASH_COUNT(*ix);
    e->len = len;
    memcpy(e->key, key, len);
    e->key[len] = 0;
    HASH_ADD_KEYPTR(hh, *ix, e->key, e->len, e);
    return e->id;
}

int64_t export_index_find(struct export_index *ix, const void *key, size_t len)
{
    struct export_index *e;
    HASH_FIND(hh, ix, key, len, e);
    return e ? (int64_t)e->id : -1;
}

void export_index_free(struct export_index **ix)
{
    struct export_index *e, *tmp;
    HASH_ITER(hh, *ix, e, tmp)
    {
        HASH_DEL(*ix, e);
        free(e);
    }
}
