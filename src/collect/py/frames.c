/* frames.c — the calling thread's Python stack, read straight from the interpreter's memory.
 *
 * Only the calling thread's own frames are walked: they cannot change while it sits in a lock hook, so plain
 * loads are safe (given the right layout). Nothing here allocates from the heap, takes a lock or calls into the
 * interpreter except PyGILState_GetThisThreadState (a pthread_getspecific). Names are copied out of code
 * objects once per code object and thread (cache checked against the code object's fields on every hit, so a
 * freed-and-reused address is noticed); line numbers come from decoding co_linetable (Objects/locations.md,
 * identical in 3.11-3.14), cached per (code, instruction address). */
#include "frames.h"

#include <string.h>

#include "../config.h"
#include "../record.h"
#include "../stack.h"
#include "py.h"
#include "pyrt.h"
#include "../safe.h"

/* Per-thread caches of decoded code objects and line numbers, 4-way set-associative: direct-mapped, two hot code
 * objects sharing a slot would evict each other on every stack for the whole run (re-hashing file names each
 * time). */
#define CODE_CACHE 256
#define LINE_CACHE 512
#define WAYS 4

struct code_slot {
    uintptr_t code, qualname, filename, linetable;
    int firstlineno;
    uint64_t hash;
};
struct line_slot {
    uintptr_t code, linetable, instr;
    int firstlineno; /* the table holds deltas from it: functions compiled alike share one table's bytes */
    int line;
};
/* What the frame at each depth decoded to last time, checked against the same fields as the two caches above:
 * under contention a thread waits at the same few places, and its outer frames do not change at all
 * (bench/ft_list.py: 4 frames; a hit costs the loads and compares, a miss adds nothing to the caches' work). */
#define MEMO_DEPTH 32
struct frame_memo {
    uintptr_t code, qualname, filename, linetable, instr;
    int firstlineno;
    uint64_t w0, w1;
};
struct py_cache {
    struct code_slot codes[CODE_CACHE];
    struct line_slot lines[LINE_CACHE];
    uint8_t code_victim[CODE_CACHE / WAYS], line_victim[LINE_CACHE / WAYS]; /* round-robin replacement */
    struct frame_memo memo[MEMO_DEPTH];
};

/* First slot of the set for hash h in a cache of n slots. */
static unsigned set_of(uint64_t h, unsigned n) { return (unsigned)(h & (n / WAYS - 1)) * WAYS; }

struct lp_py_thread *lp_py_thread_of(struct lp_thread *t)
{
    struct lp_py_thread *p = atomic_load_explicit(&t->py, memory_order_relaxed);
    if (LP_LIKELY(p != NULL))
        return p;
    if ((p = lp_arena_alloc(&t->arena, sizeof *p)))
        atomic_store_explicit(&t->py, p, memory_order_release);
    return p;
}

static struct py_cache *cache_of(struct lp_thread *t)
{
    struct lp_py_thread *p = lp_py_thread_of(t);
    if (p && !p->cache)
        p->cache = lp_arena_alloc(&t->arena, sizeof(struct py_cache));
    return p ? p->cache : NULL;
}

uintptr_t lp_py_tstate(void)
{
    if (!lp_pyrt.active || !lp_pyrt.this_tstate)
        return 0;
    if (lp_pytls.tstate_cached) /* inside a CPython hook: looked up once per event (py/hooks.c) */
        return lp_pytls.tstate;
    uintptr_t ts = (uintptr_t)lp_pyrt.this_tstate();
    if (ts & 7)
        return 0;
    /* Py_Finalize frees the states (and frame stacks) of daemon threads while they still run or wait for the GIL:
     * from then on only the finalizing thread's own state is trusted (_PyRuntime._finalizing; its gilstate binding
     * is cleared before its state is freed: Python/pystate.c tstate_delete_common). */
    if (lp_pyrt.is_finalizing && lp_pyrt.is_finalizing()) {
        const struct lp_pylayout *L = &lp_pyrt.L;
        uintptr_t fin = L->rt_finalizing >= 0 ? LP_RD(uintptr_t, lp_pyrt.runtime, L->rt_finalizing) : 0;
        return ts && ts == fin ? ts : 0;
    }
    return ts;
}

/* ---- strings ------------------------------------------------------------------------------------------ */

static int rd(void *dst, uintptr_t src, size_t n, int safe)
{
    if (safe)
        return lp_safe_read(dst, src, n);
    if (!src)
        return -1;
    memcpy(dst, (const void *)src, n);
    return 0;
}

static size_t put_utf8(char *o, uint32_t c)
{
    if (c < 0x80) {
        o[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        o[0] = (char)(0xc0 | (c >> 6));
        o[1] = (char)(0x80 | (c & 0x3f));
        return 2;
    }
    if (c < 0x10000) {
        o[0] = (char)(0xe0 | (c >> 12));
        o[1] = (char)(0x80 | ((c >> 6) & 0x3f));
        o[2] = (char)(0x80 | (c & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (c >> 18));
    o[1] = (char)(0x80 | ((c >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((c >> 6) & 0x3f));
    o[3] = (char)(0x80 | (c & 0x3f));
    return 4;
}

int lp_py_str(uintptr_t str, char *buf, size_t cap, int safe)
{
    const struct lp_pylayout *L = &lp_pyrt.L;
    uint32_t state;
    int64_t length;
    if (!str || (str & 7) || cap < 8 || rd(&state, str + (uintptr_t)L->str_state, 4, safe) ||
        rd(&length, str + (uintptr_t)L->str_length, 8, safe) || length < 0)
        return -1;
    unsigned kind = (state >> L->str_kind_shift) & 7;
    int compact = (state >> L->str_compact_bit) & 1, ascii = (state >> L->str_ascii_bit) & 1;
    if (!compact)
        return -1;
    if (ascii) {
        size_t n = (size_t)length < cap - 1 ? (size_t)length : cap - 1;
        if (rd(buf, str + (uintptr_t)L->str_ascii_size, n, safe))
            return -1;
        buf[n] = 0;
        return (int)n;
    }
    /* PyCompactUnicodeObject: utf8_length, utf8 follow the ASCII header */
    uintptr_t utf8;
    int64_t utf8_len;
    if (!rd(&utf8, str + (uintptr_t)L->str_ascii_size + 8, 8, safe) && utf8 &&
        !rd(&utf8_len, str + (uintptr_t)L->str_ascii_size, 8, safe) && utf8_len >= 0) {
        size_t n = (size_t)utf8_len < cap - 1 ? (size_t)utf8_len : cap - 1;
        if (rd(buf, utf8, n, safe))
            return -1;
        buf[n] = 0;
        return (int)n;
    }
    if (kind != 1 && kind != 2 && kind != 4)
        return -1;
    size_t o = 0;
    uintptr_t data = str + (uintptr_t)L->str_compact_size;
    for (int64_t i = 0; i < length && o + 5 < cap; i++) {
        uint32_t c = 0;
        if (rd(&c, data + (uintptr_t)i * kind, kind, safe))
            return -1;
        o += put_utf8(buf + o, c);
    }
    buf[o] = 0;
    return (int)o;
}

/* ---- line numbers --------------------------------------------------------------------------------------- */

static const uint8_t *read_varint(const uint8_t *p, const uint8_t *lim, uint64_t *out)
{
    uint64_t v = 0;
    unsigned shift = 0;
    while (p < lim && shift < 60) {
        uint8_t b = *p++;
        v |= (uint64_t)(b & 63) << shift;
        shift += 6;
        if (!(b & 64))
            break;
    }
    *out = v;
    return p;
}

/* The line of the code unit at byte offset `addr` (Objects/locations.md): entries start with a byte whose bit 7
 * is set; bits 3-6 are the kind, bits 0-2 the length - 1 in code units; start lines are deltas from the
 * previous entry (first: co_firstlineno). Returns -1 when the table has no line for addr. */
static int decode_line(const uint8_t *p, size_t len, int firstlineno, int64_t addr)
{
    const uint8_t *lim = p + len;
    int64_t line = firstlineno, end = 0;
    while (p < lim) {
        uint8_t b = *p;
        if (!(b & 0x80))
            return -1;
        int code = (b >> 3) & 15;
        int64_t length = ((b & 7) + 1) * 2;
        if (code == 13 || code == 14) {
            uint64_t uv;
            read_varint(p + 1, lim, &uv);
            line += (uv & 1) ? -(int64_t)(uv >> 1) : (int64_t)(uv >> 1);
        } else if (code >= 10 && code <= 12) {
            line += code - 10;
        }
        if (addr < end + length)
            return code == 15 ? -1 : (int)line;
        end += length;
        p++;
        while (p < lim && !(*p & 0x80))
            p++;
    }
    return -1;
}

/* The first code unit of the copy of the bytecode the frame runs. Free-threaded 3.14 gives each thread its own
 * copy to specialise (thread-local bytecode: Include/cpython/code.h _PyCodeArray, Objects/codeobject.c
 * _PyCode_GetTLBC, 3.14.7): the frame's tlbc_index selects code->co_tlbc->entries[i], and entries[0] is the copy
 * at the end of the code object itself (co_code_adaptive), which every other version runs. Another thread may
 * replace co_tlbc by a larger array and free the old one once all threads passed a quiescent state (a detached,
 * waiting thread counts as one), so the array is read with safe reads; our own entry lives as long as our frame. */
static uintptr_t bytecode_of(uintptr_t frame, uintptr_t code)
{
    const struct lp_pylayout *L = &lp_pyrt.L;
    uintptr_t main = code + (uintptr_t)L->co_code_adaptive;
    if (L->fr_tlbc_index < 0 || L->co_tlbc < 0)
        return main;
    int32_t idx = LP_RD(int32_t, frame, L->fr_tlbc_index);
    if (idx <= 0)
        return main;
    uintptr_t arr = LP_RD(uintptr_t, code, L->co_tlbc), base;
    int64_t size;
    if (!arr || (arr & 7) || lp_safe_read(&size, arr, sizeof size) || idx >= size ||
        lp_safe_ptr(arr + 8 + 8 * (uintptr_t)idx, &base) || !base)
        return 0;
    return base;
}

static int line_of(struct py_cache *pc, uintptr_t frame, uintptr_t code, uintptr_t instr, int firstlineno)
{
    const struct lp_pylayout *L = &lp_pyrt.L;
    uintptr_t lt = LP_RD(uintptr_t, code, L->co_linetable);
    unsigned set = set_of(lp_mix(code, instr), LINE_CACHE);
    for (unsigned i = 0; i < WAYS; i++) {
        const struct line_slot *h = &pc->lines[set + i];
        if (h->code == code && h->instr == instr && h->linetable == lt && h->firstlineno == firstlineno)
            return h->line;
    }
    uintptr_t base = bytecode_of(frame, code);
    int64_t off = (int64_t)instr - (int64_t)base;
    if (!base || off < 0 || off > (1 << 26))
        return firstlineno;
    struct line_slot *s = &pc->lines[set + pc->line_victim[set / WAYS]++ % WAYS];
    int line = 0;
    if (lt && !(lt & 7)) {
        int64_t n = LP_RD(int64_t, lt, L->bytes_size);
        if (n > 0 && n < (1 << 24))
            line = decode_line((const uint8_t *)(lt + (uintptr_t)L->bytes_sval), (size_t)n, firstlineno, off);
    }
    if (line < 0)
        line = 0;
    s->code = code;
    s->instr = instr;
    s->linetable = lt;
    s->firstlineno = firstlineno;
    s->line = line;
    return line;
}

/* ---- code objects --------------------------------------------------------------------------------------- */

static const struct code_slot *code_of(struct lp_thread *t, struct py_cache *pc, uintptr_t code)
{
    const struct lp_pylayout *L = &lp_pyrt.L;
    uintptr_t qn = LP_RD(uintptr_t, code, L->co_qualname), fn = LP_RD(uintptr_t, code, L->co_filename);
    uintptr_t lt = LP_RD(uintptr_t, code, L->co_linetable);
    int first = LP_RD(int, code, L->co_firstlineno);
    unsigned set = set_of(lp_mix(0, code), CODE_CACHE);
    for (unsigned i = 0; i < WAYS; i++) {
        const struct code_slot *h = &pc->codes[set + i];
        if (h->code == code && h->qualname == qn && h->filename == fn && h->linetable == lt && h->firstlineno == first)
            return h;
    }
    struct code_slot *s = &pc->codes[set + pc->code_victim[set / WAYS]++ % WAYS];
    char q[256], f[1024];
    int ql = lp_py_str(qn, q, sizeof q, 0), fl = lp_py_str(fn, f, sizeof f, 0);
    if (ql < 0)
        ql = (int)lp_strlcpy(q, "<unknown>", sizeof q);
    if (fl < 0)
        fl = (int)lp_strlcpy(f, "<unknown>", sizeof f);
    uint64_t h = lp_mix(lp_mix(lp_hash_bytes(q, (size_t)ql), lp_hash_bytes(f, (size_t)fl)), (uint64_t)first) | 1;
    struct lp_map *codes = &lp_py_thread_of(t)->pycode; /* created with the cache */
    if (!lp_map_get(codes, h)) {
        struct lp_pycode_ent *e = lp_arena_alloc(&t->arena, sizeof *e);
        if (!e)
            return NULL;
        e->qualname = lp_intern(t, q, (size_t)ql);
        e->filename = lp_intern(t, f, (size_t)fl);
        if (!e->qualname || !e->filename || lp_map_put(codes, &t->arena, h, e))
            return NULL;
    }
    s->code = code;
    s->qualname = qn;
    s->filename = fn;
    s->linetable = lt;
    s->firstlineno = first;
    s->hash = h;
    return s;
}

static uintptr_t current_frame(uintptr_t ts)
{
    const struct lp_pylayout *L = &lp_pyrt.L;
    if (L->ts_current_frame >= 0)
        return LP_RD(uintptr_t, ts, L->ts_current_frame);
    uintptr_t cf = LP_RD(uintptr_t, ts, L->ts_cframe);
    return cf && !(cf & 7) ? LP_RD(uintptr_t, cf, L->cframe_current_frame) : 0;
}

/* The calling thread's Python frames (see frames.h). */
unsigned lp_py_stack(struct lp_thread *t, uint64_t *words, unsigned max, unsigned *seg_end, unsigned *n_seg)
{
    const struct lp_pylayout *L = &lp_pyrt.L;
    *n_seg = 0;
    uintptr_t ts = lp_py_tstate();
    struct py_cache *pc = ts ? cache_of(t) : NULL;
    if (!pc)
        return 0;
    unsigned n = 0, last = 0;
    uintptr_t f = current_frame(ts);
    for (unsigned guard = 0; f && !(f & 7) && n < max && guard < 4 * LP_MAX_PY_DEPTH; guard++) {
        uintptr_t prev = LP_RD(uintptr_t, f, L->fr_previous);
        if (L->fr_owner_skip_min && LP_RD(uint8_t, f, L->fr_owner) >= L->fr_owner_skip_min) {
            /* the eval loop's entry shim: the frames since the last boundary ran in one C activation */
            if (n > last)
                seg_end[(*n_seg)++] = last = n;
            f = prev;
            continue;
        }
        uintptr_t code = LP_RD(uintptr_t, f, L->fr_code) & ~L->fr_code_tag_mask;
        if (code && !(code & 7) && LP_RD(uintptr_t, code, L->ob_type) == lp_pyrt.code_type) {
            uintptr_t instr = LP_RD(uintptr_t, f, L->fr_instr);
            struct frame_memo *mo = n < MEMO_DEPTH ? &pc->memo[n] : NULL;
            if (mo && mo->code == code && mo->instr == instr &&
                mo->qualname == LP_RD(uintptr_t, code, L->co_qualname) &&
                mo->filename == LP_RD(uintptr_t, code, L->co_filename) &&
                mo->linetable == LP_RD(uintptr_t, code, L->co_linetable) &&
                mo->firstlineno == LP_RD(int, code, L->co_firstlineno)) {
                words[2 * n] = mo->w0;
                words[2 * n + 1] = mo->w1;
                n++;
            } else {
                const struct code_slot *cs = code_of(t, pc, code);
                if (cs) {
                    int line = line_of(pc, f, code, instr, cs->firstlineno);
                    words[2 * n] = LP_W_PY | (uint32_t)line;
                    words[2 * n + 1] = cs->hash;
                    if (mo)
                        *mo = (struct frame_memo){.code = code, .qualname = cs->qualname, .filename = cs->filename,
                                                  .linetable = cs->linetable, .instr = instr,
                                                  .firstlineno = cs->firstlineno, .w0 = words[2 * n],
                                                  .w1 = words[2 * n + 1]};
                    n++;
                }
            }
        }
        if (L->fr_is_entry >= 0 && LP_RD(uint8_t, f, L->fr_is_entry) && n > last)
            seg_end[(*n_seg)++] = last = n; /* 3.11: this frame started its C activation */
        f = prev;
    }
    if (n > last)
        seg_end[(*n_seg)++] = n;
    return n;
}

unsigned lp_py_frames(struct lp_thread *t, struct lp_pyframe *out, unsigned max)
{
    uint64_t w[2 * 16];
    unsigned seg[16], nseg, n = 0;
    if (max > 16)
        max = 16;
    unsigned got = lp_py_stack(t, w, max, seg, &nseg);
    for (unsigned i = 0; i < got; i++) {
        const struct lp_pycode_ent *e = lp_map_get(&lp_py_thread_of(t)->pycode, w[2 * i + 1]);
        if (!e)
            break;
        out[n++] = (struct lp_pyframe){e->qualname, e->filename, w[2 * i] & 0xffffffffu};
    }
    return n;
}

int lp_py_top_frame(struct lp_thread *t, const char **qualname, const char **filename, uint64_t *line)
{
    struct lp_pyframe f;
    if (!lp_py_frames(t, &f, 1))
        return 0;
    *qualname = f.qualname;
    *filename = f.filename;
    *line = f.line;
    return 1;
}

int lp_py_is_eval_pc(uintptr_t pc) { return pc > lp_pyrt.eval_lo && pc <= lp_pyrt.eval_hi; }
