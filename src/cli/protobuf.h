/* protobuf.h — a minimal Protocol Buffers encoder (wire format only) for `lockprof export --format pprof`:
 * varint and length-delimited fields appended to a strbuf. Nested messages are written in place: pb_open()
 * marks where a message body starts, pb_close() inserts the field key and the body length in front of it, so
 * messages nest to any depth without scratch buffers. Zero-valued scalar fields are omitted, as proto3
 * writers do (a reader treats an absent field as 0). Nothing here fails: memory comes from xrealloc. */
#ifndef LP_PROTOBUF_H
#define LP_PROTOBUF_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* A varint field (uint64, int64 as its two's complement, bool); omitted when v is 0. */
void pb_uint(struct strbuf *b, uint32_t field, uint64_t v);
/* A length-delimited field: string or bytes (written even when empty: a repeated string may be ""). */
void pb_bytes(struct strbuf *b, uint32_t field, const void *data, size_t len);
/* A packed repeated varint field; omitted when n is 0. */
void pb_packed(struct strbuf *b, uint32_t field, const uint64_t *v, size_t n);
/* Starts an embedded message: returns the mark to give pb_close(). */
size_t pb_open(const struct strbuf *b);
/* Ends the embedded message begun at `mark` as field `field` (an empty message is still written). */
void pb_close(struct strbuf *b, uint32_t field, size_t mark);

#endif
