/* labels.c — see labels.h. */
#include "labels.h"

#include <errno.h>
#include <string.h>

#include "lp_format.h"
#include "thread.h"

LP_TLS const struct lp_labelset *lp_labels_cur;

uint32_t lp_labels_check(const char *pairs, size_t len)
{
    if (!len || len > LP_LABELS_MAX_BYTES || pairs[len - 1] != 0)
        return 0;
    const char *prev_key = NULL, *p = pairs, *end = pairs + len;
    uint32_t n = 0;
    while (p < end) {
        const char *key = p;
        size_t klen = strnlen(key, (size_t)(end - key));
        if (!klen || key + klen == end)
            return 0; /* empty key, or a key without a value */
        for (size_t i = 0; i < klen; i++)
            if (!lp_label_key_byte_ok((unsigned char)key[i]))
                return 0;
        if (prev_key && strcmp(prev_key, key) >= 0)
            return 0; /* not sorted, or repeated */
        const char *value = key + klen + 1;
        size_t vlen = strnlen(value, (size_t)(end - value));
        if (value + vlen == end)
            return 0; /* value without its NUL */
        prev_key = key;
        p = value + vlen + 1;
        n++;
    }
    return n;
}

int lp_labels_set(const char *pairs, size_t len)
{
    if (!len) {
        lp_labels_cur = NULL;
        return 0;
    }
    if (!pairs || len > LP_LABELS_MAX_BYTES)
        return EINVAL;
    uint64_t h = lp_hash_bytes(pairs, len) | 1;
    const struct lp_labelset *cur = lp_labels_cur;
    if (cur && cur->hash == h && cur->len == len && !memcmp(cur->data, pairs, len))
        return 0;
    uint32_t n = lp_labels_check(pairs, len);
    if (!n)
        return EINVAL;
    if (atomic_load_explicit(&lp_state, memory_order_relaxed) != LP_STATE_ON)
        return ENOTSUP;
    if (!lp_guard_enter())
        return EAGAIN;
    int saved = errno, rc = 0;
    struct lp_thread *t = lp_thread_self();
    struct lp_labelset *s = t ? lp_map_get(&t->labels, h) : NULL;
    if (t && !s) {
        s = lp_arena_alloc(&t->arena, sizeof *s + len);
        if (s) {
            s->hash = h;
            s->len = (uint32_t)len;
            s->n = n;
            memcpy(s->data, pairs, len);
            if (lp_map_put(&t->labels, &t->arena, h, s))
                s = NULL;
        }
    }
    if (s)
        lp_labels_cur = s;
    else
        rc = ENOMEM;
    lp_guard_leave();
    errno = saved;
    return rc;
}
