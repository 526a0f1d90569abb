/* group.h — groups the model's rows for reports: by lock, object type, waiter stack, thread or label set, each
 * group with its totals, histogram and its (waiter stack, holder stack) breakdown. Sorting is deterministic: wait
 * descending, then contentions descending, then label ascending. */
#ifndef LP_GROUP_H
#define LP_GROUP_H

#include "model.h"

enum group_by { BY_LOCK, BY_TYPE, BY_STACK, BY_THREAD, BY_LABEL };

/* Which rows to take: contention between threads, everything that is not (ROWS_WAITS: self-held slow paths and
 * waits for events), only the self-held slow paths, only the waits for events, or all. */
enum row_class { ROWS_CONTENTION, ROWS_WAITS, ROWS_ALL, ROWS_SELF, ROWS_EVENTS };

struct stack_stat {
    int32_t stack, holder_stack;
    uint64_t count, wait_ns, max_ns;
    uint64_t holder_tid; /* holder thread of the largest contributing row (0 unknown) */
    uint32_t proc;
    uint32_t flags;      /* union of the rows' flags */
    uint64_t est_ns;     /* the part of wait_ns that is estimated, not measured (LP_AGG_REACQUIRE rows) */
};

struct grp {
    char *label;
    unsigned kind;        /* of the first row (BY_LOCK/BY_TYPE: the group's kind) */
    const char *type;     /* object type (may be NULL) */
    uint32_t lock;        /* BY_LOCK: the lock */
    uint32_t proc;        /* BY_THREAD */
    uint64_t tid;         /* BY_THREAD */
    int32_t labels;       /* BY_LABEL: the label set (-1: rows without labels) */
    uint32_t flags;       /* union of the rows' flags */
    int is_wait;          /* the rows are not contention (model_row_is_wait) */
    enum row_kind cls;    /* model_row_class of the rows (BY_LOCK groups never mix classes) */
    uint64_t count, wait_ns, max_ns;
    uint64_t est_ns;      /* the part of wait_ns that is estimated, not measured (LP_AGG_REACQUIRE rows) */
    uint64_t hist[LP_HIST_BUCKETS];
    struct stack_stat *stacks;
    size_t n_stacks, cap_stacks;
};

struct grp *group_rows(const struct model *m, enum group_by by, enum row_class cls, size_t *n);
void groups_free(struct grp *g, size_t n);
int group_by_parse(const char *s, enum group_by *out);
const char *group_by_name(enum group_by by);

#endif
