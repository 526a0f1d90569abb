/* reader.h — strict parser for the lockprof profile format (docs/FORMAT.md). Used by the CLI and the fuzz
 * target. Any violation of the grammar is an error with a one-line message naming the line; a file without its
 * `end` trailer (or with a wrong record count) is reported as truncated. Every format version from 1 up to
 * LP_FORMAT_VERSION is read; `version` says which one a file had. */
#ifndef LP_READER_H
#define LP_READER_H

#include <stddef.h>
#include <stdint.h>

#include "lp_format.h"

struct lpr_meta { const char *key, *value; };
struct lpr_frame {
    char kind; /* 'n' native, 'p' python, 'x' frames cut at the depth limit */
    const char *func, *file, *module; /* NULL when absent */
    uint64_t line;
    uint64_t offset;
    int32_t mod; /* native frames: the `o` record (index into modules) whose path is `module`, else -1 */
};
/* A module (`o`, version 2): the ELF file native frames and global locks lie in. */
struct lpr_module {
    const char *path;
    const char *build_id; /* lowercase hex, NULL when the module had none */
    uint64_t start, end, bias;
    uint32_t flags;       /* LP_MODULE_* */
};
struct lpr_stack { uint32_t n; uint32_t *frames; }; /* indices into frames[], leaf first */
struct lpr_lock {
    unsigned kind;
    uint64_t addr;
    const char *name;
    const char *type;
    /* from its `v` record (version 2), else -1, 0, -1: the module it lies in and its ELF address there, and the
     * frame of the code that took it */
    int32_t module;
    uint64_t module_offset;
    int32_t site;
};
struct lpr_thread { uint64_t tid; const char *name; };
/* A label set (`g`, version 2): n pairs, keys sorted bytewise and distinct. */
struct lpr_labelset { uint32_t n; const char **keys, **values; };
struct lpr_agg {
    uint32_t lock;
    int32_t stack, holder_stack; /* -1 when absent */
    int32_t labels;              /* label set, -1 when none (always in version 1 files) */
    uint64_t tid, holder_tid;
    uint32_t flags;
    uint64_t count, wait_ns, max_ns;
    uint32_t hist[LP_HIST_BUCKETS];
};
struct lpr_event { uint64_t start_ns, dur_ns, tid; uint32_t lock; int32_t stack; };
/* A wait in progress when the profile was written (`w`, version 2): thread tid on lock since start_ns (after the
 * profile's start_unix_ns), held by owner_tid (0 = unknown). */
struct lpr_inflight { uint64_t tid, start_ns, owner_tid; uint32_t lock, flags; int32_t stack; };
/* Sampled acquisitions and hold times of a contended lock (`h`, version 2): acquired sampled acquisitions, of which
 * `held` were timed until their release, in hold_ns total, max_ns the longest. */
struct lpr_hold { uint32_t lock; uint64_t acquired, held, hold_ns, max_ns; };

struct lp_profile {
    char *path;
    uint64_t dev, ino; /* the file's, when read by lp_profile_load (0 after lp_profile_parse) */
    int version;
    struct lpr_meta *meta; size_t n_meta;
    const char **strings; size_t n_strings;
    struct lpr_module *modules; size_t n_modules;
    struct lpr_frame *frames; size_t n_frames;
    struct lpr_stack *stacks; size_t n_stacks;
    struct lpr_lock *locks; size_t n_locks;
    struct lpr_thread *threads; size_t n_threads;
    struct lpr_labelset *labelsets; size_t n_labelsets;
    struct lpr_agg *aggs; size_t n_aggs;
    struct lpr_event *events; size_t n_events;
    struct lpr_inflight *inflight; size_t n_inflight;
    struct lpr_hold *holds; size_t n_holds;
    char *text; /* owned copy of the file; strings point into it */
    void *pool; /* allocations owned by the profile */
};

/* Parses `len` bytes. On success returns 0 and fills *out. On error returns -1, leaves *out empty and writes a
 * one-line message (without the file name) into err. */
int lp_profile_parse(const char *data, size_t len, struct lp_profile *out, char *err, size_t errlen);

/* Opens `path` for reading when it is a regular file (following symbolic links), without ever blocking on a FIFO
 * or opening a device: returns the descriptor (close-on-exec) and fills *st, or returns -1 with "PATH: message"
 * in err ("PATH: is a FIFO, not a regular file"). */
struct stat;
int lp_open_regular(const char *path, struct stat *st, char *err, size_t errlen);
/* What a file of this st_mode is, for messages: "a FIFO", "a directory", "a character device", ... */
const char *lp_file_kind(unsigned mode);

/* Reads and parses a file (lp_open_regular: regular files only). Errors are "PATH: message". */
int lp_profile_load(const char *path, struct lp_profile *out, char *err, size_t errlen);

void lp_profile_free(struct lp_profile *p);

/* First value of a meta key, or NULL. */
const char *lp_profile_meta(const struct lp_profile *p, const char *key);

/* Kind token → enum value, -1 when unknown. */
int lp_kind_parse(const char *s, size_t n);

#endif
