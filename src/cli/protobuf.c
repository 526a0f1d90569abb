/* protobuf.c — see protobuf.h. Wire types: 0 = varint, 2 = length-delimited. */
#include "protobuf.h"

#include <string.h>

enum { WIRE_VARINT = 0, WIRE_LEN = 2 };

/* Encodes v into out (at most 10 bytes); returns the length. */
static size_t varint(uint8_t *out, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

static void put_varint(struct strbuf *b, uint64_t v)
{
    uint8_t tmp[10];
    sb_add(b, (const char *)tmp, varint(tmp, v));
}

static void put_key(struct strbuf *b, uint32_t field, unsigned wire)
{
    put_varint(b, (uint64_t)field << 3 | wire);
}

void pb_uint(struct strbuf *b, uint32_t field, uint64_t v)
{
    if (!v)
        return;
    put_key(b, field, WIRE_VARINT);
    put_varint(b, v);
}

void pb_bytes(struct strbuf *b, uint32_t field, const void *data, size_t len)
{
    put_key(b, field, WIRE_LEN);
    put_varint(b, len);
    sb_add(b, data, len);
}

void pb_packed(struct strbuf *b, uint32_t field, const uint64_t *v, size_t n)
{
    if (!n)
        return;
    size_t mark = pb_open(b);
    for (size_t i = 0; i < n; i++)
        put_varint(b, v[i]);
    pb_close(b, field, mark);
}

size_t pb_open(const struct strbuf *b) { return b->len; }

void pb_close(struct strbuf *b, uint32_t field, size_t mark)
{
    uint8_t head[20];
    size_t body = b->len - mark;
    size_t hn = varint(head, (uint64_t)field << 3 | WIRE_LEN);
    hn += varint(head + hn, body);
    sb_add(b, (const char *)head, hn); /* grows the buffer by hn; the bytes are moved into place below */
    memmove(b->s + mark + hn, b->s + mark, body);
    memcpy(b->s + mark, head, hn);
}
