/* writer.c — implementation of writer.h. Every function here must stay async-signal-safe: it runs inside the
 * collector's SIGUSR2 handler and its _exit hook. */
#include "writer.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

void lpw_init(struct lpw *w, int fd, char *buf, size_t cap)
{
    w->fd = fd;
    w->buf = buf;
    w->cap = cap;
    w->len = 0;
    w->err = 0;
    w->records = 0;
}

static void flush(struct lpw *w)
{
    size_t off = 0;
    while (off < w->len && !w->err) {
        ssize_t n = write(w->fd, w->buf + off, w->len - off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            w->err = errno;
        } else if (n == 0) {
            w->err = EIO;
        } else {
            off += (size_t)n;
        }
    }
    w->len = 0;
}

void lpw_raw(struct lpw *w, const char *s, size_t n)
{
    while (n && !w->err) {
        size_t room = w->cap - w->len;
        if (!room) {
            flush(w);
            continue;
        }
        size_t k = n < room ? n : room;
        memcpy(w->buf + w->len, s, k);
        w->len += k;
        s += k;
        n -= k;
    }
}

static void put(struct lpw *w, char c) { lpw_raw(w, &c, 1); }

void lpw_cstr(struct lpw *w, const char *s) { lpw_raw(w, s, strlen(s)); }

void lpw_escaped(struct lpw *w, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\\') {
            lpw_raw(w, "\\\\", 2);
        } else if (c == '\n') {
            lpw_raw(w, "\\n", 2);
        } else if (c < 0x20 || c == 0x7f) {
            char e[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
            lpw_raw(w, e, 4);
        } else {
            put(w, (char)c);
        }
    }
}

void lpw_u64(struct lpw *w, uint64_t v)
{
    char tmp[24];
    int i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    lpw_raw(w, tmp + i, sizeof tmp - (size_t)i);
}

void lpw_hex(struct lpw *w, uint64_t v)
{
    static const char hex[] = "0123456789abcdef";
    char tmp[20];
    int i = sizeof tmp;
    do {
        tmp[--i] = hex[v & 15];
        v >>= 4;
    } while (v);
    lpw_raw(w, tmp + i, sizeof tmp - (size_t)i);
}

void lpw_ref(struct lpw *w, int64_t id)
{
    if (id < 0)
        put(w, '-');
    else
        lpw_u64(w, (uint64_t)id);
}

static void begin(struct lpw *w, const char *tag)
{
    lpw_cstr(w, tag);
    w->records++;
}

static void sp(struct lpw *w) { put(w, ' '); }
static void nl(struct lpw *w) { put(w, '\n'); }

void lpw_header(struct lpw *w)
{
    lpw_cstr(w, LP_FORMAT_MAGIC " ");
    lpw_u64(w, LP_FORMAT_VERSION);
    nl(w);
}

void lpw_meta(struct lpw *w, const char *key, const char *value)
{
    begin(w, "m ");
    lpw_cstr(w, key);
    sp(w);
    lpw_escaped(w, value, strlen(value));
    nl(w);
}

void lpw_meta_u64(struct lpw *w, const char *key, uint64_t value)
{
    begin(w, "m ");
    lpw_cstr(w, key);
    sp(w);
    lpw_u64(w, value);
    nl(w);
}

void lpw_string(struct lpw *w, uint64_t id, const char *s, size_t n)
{
    begin(w, "s ");
    lpw_u64(w, id);
    sp(w);
    lpw_escaped(w, s, n);
    nl(w);
}

void lpw_frame(struct lpw *w, uint64_t id, char kind, int64_t func, int64_t file, uint64_t line, int64_t module,
               uint64_t offset)
{
    begin(w, "f ");
    lpw_u64(w, id);
    sp(w);
    put(w, kind);
    sp(w);
    lpw_ref(w, func);
    sp(w);
    lpw_ref(w, file);
    sp(w);
    lpw_u64(w, line);
    sp(w);
    lpw_ref(w, module);
    sp(w);
    lpw_hex(w, offset);
    nl(w);
}

void lpw_stack(struct lpw *w, uint64_t id, const uint64_t *frames, size_t n)
{
    begin(w, "k ");
    lpw_u64(w, id);
    for (size_t i = 0; i < n; i++) {
        sp(w);
        lpw_u64(w, frames[i]);
    }
    nl(w);
}

void lpw_lock(struct lpw *w, uint64_t id, unsigned kind, uint64_t addr, int64_t name, int64_t type)
{
    begin(w, "l ");
    lpw_u64(w, id);
    sp(w);
    lpw_cstr(w, lp_kind_name(kind));
    sp(w);
    lpw_hex(w, addr);
    sp(w);
    lpw_ref(w, name);
    sp(w);
    lpw_ref(w, type);
    nl(w);
}

void lpw_module(struct lpw *w, uint64_t id, uint64_t path, const unsigned char *build_id, size_t build_id_len,
                uint64_t start, uint64_t end, uint64_t bias, unsigned flags)
{
    static const char hex[] = "0123456789abcdef";
    begin(w, "o ");
    lpw_u64(w, id);
    sp(w);
    lpw_u64(w, path);
    sp(w);
    if (!build_id_len)
        put(w, '-');
    for (size_t i = 0; i < build_id_len; i++) {
        char b[2] = {hex[build_id[i] >> 4], hex[build_id[i] & 15]};
        lpw_raw(w, b, 2);
    }
    sp(w);
    lpw_hex(w, start);
    sp(w);
    lpw_hex(w, end);
    sp(w);
    lpw_hex(w, bias);
    sp(w);
    lpw_hex(w, flags);
    nl(w);
}

void lpw_lock_where(struct lpw *w, uint64_t lock, int64_t module, uint64_t offset, int64_t site)
{
    begin(w, "v ");
    lpw_u64(w, lock);
    sp(w);
    lpw_ref(w, module);
    sp(w);
    lpw_hex(w, offset);
    sp(w);
    lpw_ref(w, site);
    nl(w);
}

void lpw_thread(struct lpw *w, uint64_t tid, int64_t name)
{
    begin(w, "t ");
    lpw_u64(w, tid);
    sp(w);
    lpw_ref(w, name);
    nl(w);
}

void lpw_labelset(struct lpw *w, uint64_t id, const uint64_t *keys, const uint64_t *values, size_t n)
{
    begin(w, "g ");
    lpw_u64(w, id);
    for (size_t i = 0; i < n; i++) {
        sp(w);
        lpw_u64(w, keys[i]);
        sp(w);
        lpw_u64(w, values[i]);
    }
    nl(w);
}

void lpw_agg(struct lpw *w, uint64_t lock, int64_t stack, int64_t holder_stack, uint64_t tid, uint64_t holder_tid,
             unsigned flags, uint64_t count, uint64_t wait_ns, uint64_t max_ns, const uint32_t *hist, int64_t labels)
{
    begin(w, "a ");
    lpw_u64(w, lock);
    sp(w);
    lpw_ref(w, stack);
    sp(w);
    lpw_ref(w, holder_stack);
    sp(w);
    lpw_u64(w, tid);
    sp(w);
    lpw_u64(w, holder_tid);
    sp(w);
    lpw_hex(w, flags);
    sp(w);
    lpw_u64(w, count);
    sp(w);
    lpw_u64(w, wait_ns);
    sp(w);
    lpw_u64(w, max_ns);
    sp(w);
    int any = 0;
    for (unsigned b = 0; hist && b < LP_HIST_BUCKETS; b++) {
        if (!hist[b])
            continue;
        if (any)
            put(w, ',');
        lpw_u64(w, b);
        put(w, ':');
        lpw_u64(w, hist[b]);
        any = 1;
    }
    if (!any)
        put(w, '-');
    sp(w);
    lpw_ref(w, labels);
    nl(w);
}

void lpw_event(struct lpw *w, uint64_t start_ns, uint64_t dur_ns, uint64_t tid, uint64_t lock, int64_t stack)
{
    begin(w, "e ");
    lpw_u64(w, start_ns);
    sp(w);
    lpw_u64(w, dur_ns);
    sp(w);
    lpw_u64(w, tid);
    sp(w);
    lpw_u64(w, lock);
    sp(w);
    lpw_ref(w, stack);
    nl(w);
}

int lpw_finish(struct lpw *w)
{
    lpw_cstr(w, "end ");
    lpw_u64(w, w->records);
    nl(w);
    flush(w);
    return w->err;
}

void lpw_hold(struct lpw *w, uint64_t lock, uint64_t acquired, uint64_t held, uint64_t hold_ns, uint64_t max_ns)
{
    begin(w, "h ");
    lpw_u64(w, lock);
    sp(w);
    lpw_u64(w, acquired);
    sp(w);
    lpw_u64(w, held);
    sp(w);
    lpw_u64(w, hold_ns);
    sp(w);
    lpw_u64(w, max_ns);
    nl(w);
}

void lpw_inflight(struct lpw *w, uint64_t tid, uint64_t lock, int64_t stack, uint64_t start_ns, uint64_t owner_tid,
                  unsigned flags)
{
    begin(w, "w ");
    lpw_u64(w, tid);
    sp(w);
    lpw_u64(w, lock);
    sp(w);
    lpw_ref(w, stack);
    sp(w);
    lpw_u64(w, start_ns);
    sp(w);
    lpw_u64(w, owner_tid);
    sp(w);
    lpw_hex(w, flags);
    nl(w);
}
