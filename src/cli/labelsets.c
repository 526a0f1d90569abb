/* labelsets.c — see labelsets.h. */
#include "labelsets.h"

#include <stdlib.h>
#include <string.h>

int label_filter_add(struct label_filters *f, const char *cmd, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg) {
        die_msg("%s: --label needs KEY=VALUE, not '%s'", cmd, arg);
        return -1;
    }
    for (const char *c = arg; c < eq; c++)
        if (!lp_label_key_byte_ok((unsigned char)*c)) {
            die_msg("%s: --label '%s': a label key has no blanks, control characters, ',' or ':'", cmd, arg);
            return -1;
        }
    f->v = xrealloc(f->v, (f->n + 1) * sizeof *f->v);
    struct label_filter *l = &f->v[f->n++];
    l->key = xmalloc((size_t)(eq - arg) + 1);
    memcpy(l->key, arg, (size_t)(eq - arg));
    l->key[eq - arg] = 0;
    l->value = xstrdup(eq + 1);
    return 0;
}

void label_filters_free(struct label_filters *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->v[i].key);
        free(f->v[i].value);
    }
    free(f->v);
    memset(f, 0, sizeof *f);
}

const char *labelset_value(const struct model *m, int32_t set, const char *key)
{
    if (set < 0 || (size_t)set >= m->n_labelsets)
        return NULL;
    const struct m_labelset *s = &m->labelsets[set];
    for (uint32_t i = 0; i < s->n; i++)
        if (!strcmp(s->keys[i], key))
            return s->values[i];
    return NULL;
}

void labelset_text(const struct model *m, int32_t set, struct strbuf *o)
{
    if (set < 0 || (size_t)set >= m->n_labelsets) {
        sb_puts(o, "(no labels)");
        return;
    }
    const struct m_labelset *s = &m->labelsets[set];
    for (uint32_t i = 0; i < s->n; i++)
        sb_printf(o, "%s%s=%s", i ? "," : "", s->keys[i], s->values[i]);
}

/* Whether label set `set` matches every key of the filters (one of its values). */
static int set_matches(const struct model *m, int32_t set, const struct label_filters *f)
{
    for (size_t i = 0; i < f->n; i++) {
        int seen = 0; /* key i handled at its first occurrence */
        for (size_t j = 0; j < i && !seen; j++)
            seen = !strcmp(f->v[j].key, f->v[i].key);
        if (seen)
            continue;
        const char *v = labelset_value(m, set, f->v[i].key);
        int ok = 0;
        for (size_t j = i; j < f->n && v && !ok; j++)
            ok = !strcmp(f->v[j].key, f->v[i].key) && !strcmp(f->v[j].value, v);
        if (!ok)
            return 0;
    }
    return 1;
}

void label_filters_apply(struct model *m, const struct label_filters *f)
{
    if (!f->n)
        return;
    /* per set (index set + 1): 0 unknown, 1 match, 2 no match */
    unsigned char *memo = xcalloc(m->n_labelsets + 1, 1);
    size_t k = 0;
    for (size_t i = 0; i < m->n_rows; i++) {
        int32_t s = m->rows[i].labels;
        unsigned char *c = &memo[s + 1];
        if (!*c)
            *c = s >= 0 && set_matches(m, s, f) ? 1 : 2;
        if (*c == 1)
            m->rows[k++] = m->rows[i];
    }
    m->n_rows = k;
    free(memo);
}
