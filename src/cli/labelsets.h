/* labelsets.h — the labels of the model's rows (docs/FORMAT.md "Label sets") as the subcommands use them: a set's
 * text, one key's value, and `--label KEY=VALUE` filters (report, flamegraph, export), which keep only the rows
 * whose labels match. A row matches the filters when, for every key they name, its label set has that key with
 * one of the values given for it (the same key given twice means either value; different keys must all hold).
 * Rows without labels match no filter. */
#ifndef LP_LABELSETS_H
#define LP_LABELSETS_H

#include <stddef.h>

#include "model.h"
#include "util.h"

struct label_filter {
    char *key, *value;
};
struct label_filters {
    struct label_filter *v;
    size_t n;
};

/* Adds the filter "KEY=VALUE" (split at the first '='; VALUE may be empty and may contain '='). On a bad
 * argument prints "lockprof: CMD: --label ..." and returns -1. */
int label_filter_add(struct label_filters *f, const char *cmd, const char *arg);
void label_filters_free(struct label_filters *f);
/* Removes the rows that do not match (nothing when there are no filters). */
void label_filters_apply(struct model *m, const struct label_filters *f);

/* The value of `key` in label set `set`, or NULL (no such key, or set < 0). */
const char *labelset_value(const struct model *m, int32_t set, const char *key);
/* Appends "KEY=VALUE,KEY=VALUE" (keys in order), or "(no labels)" for set < 0. */
void labelset_text(const struct model *m, int32_t set, struct strbuf *o);

#endif
