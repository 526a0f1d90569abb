/* writer.h — emits the lockprof profile format (docs/FORMAT.md) into a caller-supplied buffer that is flushed
 * to a file descriptor with write(2). Async-signal-safe: no allocation, no stdio, no locks, so the collector can
 * call it from a signal handler or from _exit. Errors are sticky: after the first failed write every call is a
 * no-op and lpw_finish() reports the errno. */
#ifndef LP_WRITER_H
#define LP_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "lp_format.h"

struct lpw {
    int fd;
    char *buf;
    size_t cap, len;
    int err;          /* first errno seen, 0 while healthy */
    uint64_t records; /* records written after the header line */
};

void lpw_init(struct lpw *w, int fd, char *buf, size_t cap);

/* Low-level pieces (no newline is added). */
void lpw_raw(struct lpw *w, const char *s, size_t n);
void lpw_cstr(struct lpw *w, const char *s);
void lpw_escaped(struct lpw *w, const char *s, size_t n); /* backslash escapes as in FORMAT.md */
void lpw_u64(struct lpw *w, uint64_t v);
void lpw_hex(struct lpw *w, uint64_t v);
void lpw_ref(struct lpw *w, int64_t id); /* a record id, or "-" when id < 0 */

/* Whole records. Ids are chosen by the caller and must be defined before they are referenced. */
void lpw_header(struct lpw *w);
void lpw_meta(struct lpw *w, const char *key, const char *value);
void lpw_meta_u64(struct lpw *w, const char *key, uint64_t value);
void lpw_string(struct lpw *w, uint64_t id, const char *s, size_t n);
void lpw_frame(struct lpw *w, uint64_t id, char kind, int64_t func, int64_t file, uint64_t line, int64_t module,
               uint64_t offset);
void lpw_stack(struct lpw *w, uint64_t id, const uint64_t *frames, size_t n);
void lpw_lock(struct lpw *w, uint64_t id, unsigned kind, uint64_t addr, int64_t name, int64_t type);
/* A module (`o`, version 2): `path` a string id used by no other module; build_id_len 0 for none. */
void lpw_module(struct lpw *w, uint64_t id, uint64_t path, const unsigned char *build_id, size_t build_id_len,
                uint64_t start, uint64_t end, uint64_t bias, unsigned flags);
/* Where a lock lies and what took it (`v`, version 2): module id and ELF address in it (module -1: none), and the
 * frame id of the code that took it (-1: none). */
void lpw_lock_where(struct lpw *w, uint64_t lock, int64_t module, uint64_t offset, int64_t site);
void lpw_thread(struct lpw *w, uint64_t tid, int64_t name);
/* A label set: n pairs of string ids, keys[i] and values[i], already in canonical order (keys ascending). */
void lpw_labelset(struct lpw *w, uint64_t id, const uint64_t *keys, const uint64_t *values, size_t n);
/* `labels` is a label-set id or -1 (none). */
void lpw_agg(struct lpw *w, uint64_t lock, int64_t stack, int64_t holder_stack, uint64_t tid, uint64_t holder_tid,
             unsigned flags, uint64_t count, uint64_t wait_ns, uint64_t max_ns, const uint32_t *hist, int64_t labels);
void lpw_event(struct lpw *w, uint64_t start_ns, uint64_t dur_ns, uint64_t tid, uint64_t lock, int64_t stack);
/* A wait in progress when the profile was written (FORMAT.md `w`). */
void lpw_inflight(struct lpw *w, uint64_t tid, uint64_t lock, int64_t stack, uint64_t start_ns, uint64_t owner_tid,
                  unsigned flags);

/* Writes the trailer and flushes. Returns 0 or the first errno encountered. */
/* `h`: sampled acquisitions and hold times of a contended lock (docs/FORMAT.md). */
void lpw_hold(struct lpw *w, uint64_t lock, uint64_t acquired, uint64_t held, uint64_t hold_ns, uint64_t max_ns);
int lpw_finish(struct lpw *w);

#endif
