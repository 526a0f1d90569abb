/* patch.c — see patch.h. Runs only at start-up (malloc would be fine here; Zydis does not allocate). */
#define _GNU_SOURCE 1
#include "patch.h"

#include <Zydis/Zydis.h>
#include <dlfcn.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../real.h"

#define PAGE 4096
#define SLOT 128 /* bytes per patched function in the near page: relay (14) + trampoline (<= 15*5 + 14) */

struct near_page {
    uintptr_t base;
    size_t used;
};
static struct near_page pages[8];
static int n_pages;
static uintptr_t range_lo, range_hi;

void lp_patch_range(uintptr_t *lo, uintptr_t *hi)
{
    *lo = range_lo;
    *hi = range_hi;
}

/* Zydis (a decoder only, a few thousand relocations) is opened on first use, not linked: only a process with CPython
 * functions to patch needs a disassembler, and loading one is time added to the start of that process
 * (docs/PERFORMANCE.md, row 7). LP_ZYDIS_SONAME (meson.build) is the soname of the version whose header we
 * compiled against. */
static struct {
    void *lib;
    ZyanStatus (*init)(ZydisDecoder *, ZydisMachineMode, ZydisStackWidth);
    ZyanStatus (*decode)(const ZydisDecoder *, const void *, ZyanUSize, ZydisDecodedInstruction *,
                         ZydisDecodedOperand *);
} zy;

static int zy_load(void)
{
    if (zy.lib)
        return 0;
    void *lib = dlopen(LP_ZYDIS_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        return -1;
    *(void **)&zy.init = dlsym(lib, "ZydisDecoderInit");
    *(void **)&zy.decode = dlsym(lib, "ZydisDecoderDecodeFull");
    if (!zy.init || !zy.decode) {
        lp_real_dlclose(lib); /* (lockprof's own: not through the dlclose it interposes) */
        memset(&zy, 0, sizeof zy);
        return -1;
    }
    zy.lib = lib;
    return 0;
}

int lp_patch_ready(void) { return zy_load() == 0; }

void lp_patch_done(void)
{
    if (zy.lib)
        lp_real_dlclose(zy.lib);
    memset(&zy, 0, sizeof zy);
}

static int64_t dist(uintptr_t a, uintptr_t b) { return (int64_t)a - (int64_t)b; }
static int near(uintptr_t a, uintptr_t b) { int64_t d = dist(a, b); return d > -0x7ff00000ll && d < 0x7ff00000ll; }

/* A writable+executable page within ±2 GiB of `addr`, or 0. */
static uintptr_t near_slot(uintptr_t addr)
{
    for (int i = 0; i < n_pages; i++)
        if (near(pages[i].base, addr) && pages[i].used + SLOT <= PAGE) {
            uintptr_t s = pages[i].base + pages[i].used;
            pages[i].used += SLOT;
            return s;
        }
    if (n_pages == (int)(sizeof pages / sizeof pages[0]))
        return 0;
    uintptr_t start = addr & ~(uintptr_t)(PAGE - 1);
    for (uintptr_t step = 1ull << 20; step < (1ull << 31); step += 1ull << 20) {
        for (int dir = -1; dir <= 1; dir += 2) {
            uintptr_t hint = dir < 0 ? start - step : start + step;
            if (dir < 0 && step > start)
                continue;
            void *p = mmap((void *)hint, PAGE, PROT_READ | PROT_WRITE | PROT_EXEC,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
            if (p == MAP_FAILED)
                continue;
            if (!near((uintptr_t)p, addr)) {
                munmap(p, PAGE);
                continue;
            }
            pages[n_pages].base = (uintptr_t)p;
            pages[n_pages].used = SLOT;
            n_pages++;
            if (!range_lo || (uintptr_t)p < range_lo)
                range_lo = (uintptr_t)p;
            if ((uintptr_t)p + PAGE > range_hi)
                range_hi = (uintptr_t)p + PAGE;
            return (uintptr_t)p;
        }
    }
    return 0;
}

static void put_abs_jmp(uint8_t *p, uintptr_t to)
{
    p[0] = 0xff; /* jmp *0(%rip) */
    p[1] = 0x25;
    memset(p + 2, 0, 4);
    memcpy(p + 6, &to, 8);
}

/* One decoded instruction, as much as patching needs. */
struct insn {
    uintptr_t addr;
    uint8_t len;
    uint8_t bytes[ZYDIS_MAX_INSTRUCTION_LENGTH];
    int branch;          /* any jump, call, return or interrupt, or a relative branch target */
    int has_target;      /* a relative branch: its target */
    uintptr_t target;
    int rip;             /* a RIP-relative memory operand ... */
    uint8_t disp_offset; /* ... whose displacement is here, */
    uint8_t disp_bits;   /* this wide */
};

/* Decodes the instruction at addr (at most avail bytes). Returns 0, or -1 when it is not a valid instruction. */
static int decode(const ZydisDecoder *d, uintptr_t addr, size_t avail, struct insn *out)
{
    ZydisDecodedInstruction in;
    ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
    if (!avail || ZYAN_FAILED(zy.decode(d, (const void *)addr, avail, &in, ops)))
        return -1;
    memset(out, 0, sizeof *out);
    out->addr = addr;
    out->len = in.length;
    memcpy(out->bytes, (const void *)addr, in.length);
    switch (in.meta.category) {
    case ZYDIS_CATEGORY_COND_BR: case ZYDIS_CATEGORY_UNCOND_BR: case ZYDIS_CATEGORY_CALL: case ZYDIS_CATEGORY_RET:
    case ZYDIS_CATEGORY_INTERRUPT: case ZYDIS_CATEGORY_SYSCALL: case ZYDIS_CATEGORY_SYSRET:
        out->branch = 1;
        break;
    default:
        break;
    }
    for (unsigned i = 0; i < in.operand_count; i++) {
        if (ops[i].type == ZYDIS_OPERAND_TYPE_IMMEDIATE && ops[i].imm.is_relative) {
            out->branch = out->has_target = 1;
            out->target = addr + in.length + (uintptr_t)ops[i].imm.value.s;
        } else if (ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY && ops[i].mem.base == ZYDIS_REGISTER_RIP) {
            out->rip = 1;
            out->disp_offset = in.raw.disp.offset;
            out->disp_bits = in.raw.disp.size;
        }
    }
    return 0;
}

/* Whether any relative branch in [fn, fn+size) targets (fn, fn+len); also when part of the function does not
 * decode (then nothing can be said about its branches). */
static int branches_into(const ZydisDecoder *d, uintptr_t fn, size_t size, size_t len)
{
    struct insn in;
    for (size_t off = 0; off < size; off += in.len) {
        if (decode(d, fn + off, size - off, &in))
            return 1;
        if (in.has_target && in.target > fn && in.target < fn + len)
            return 1;
    }
    return 0;
}

void *lp_patch(uintptr_t fn, size_t fn_size, void *hook, const char **why)
{
    *why = NULL;
    ZydisDecoder d;
    if (zy_load() || ZYAN_FAILED(zy.init(&d, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64))) {
        *why = "Zydis (" LP_ZYDIS_SONAME ") unavailable";
        return NULL;
    }
    /* the instructions the 5-byte jump overwrites */
    struct insn insn[5];
    size_t len = 0, used = 0, avail = fn_size < 64 ? fn_size : 64;
    while (used < 5 && len < 5 && decode(&d, fn + len, avail - len, &insn[used]) == 0)
        len += insn[used++].len;
    if (len < 5 || (fn_size && fn_size < len)) {
        *why = "function too short to patch";
        return NULL;
    }
    for (size_t i = 0; i < used; i++)
        if (insn[i].branch) {
            *why = "prologue contains a branch";
            return NULL;
        }
    if (!fn_size) {
        *why = "function size unknown";
        return NULL;
    }
    if (branches_into(&d, fn, fn_size, len)) {
        *why = "a branch targets the prologue";
        return NULL;
    }
    uintptr_t slot = near_slot(fn);
    if (!slot) {
        *why = "no memory near the function";
        return NULL;
    }
    /* slot: [relay: jmp *hook][trampoline: relocated prologue; jmp *fn+len] */
    uint8_t *relay = (uint8_t *)slot, *tramp = relay + 16, *p = tramp;
    put_abs_jmp(relay, (uintptr_t)hook);
    for (size_t i = 0; i < used; i++) {
        memcpy(p, insn[i].bytes, insn[i].len);
        if (insn[i].rip) {
            if (insn[i].disp_bits != 32 || !insn[i].disp_offset) {
                *why = "RIP-relative operand that cannot be relocated";
                return NULL;
            }
            int32_t disp;
            memcpy(&disp, insn[i].bytes + insn[i].disp_offset, 4);
            int64_t target = (int64_t)insn[i].addr + insn[i].len + disp;
            int64_t nd = target - (int64_t)((uintptr_t)p + insn[i].len);
            if (nd < INT32_MIN || nd > INT32_MAX) {
                *why = "RIP-relative operand out of reach";
                return NULL;
            }
            disp = (int32_t)nd;
            memcpy(p + insn[i].disp_offset, &disp, 4);
        }
        p += insn[i].len;
    }
    put_abs_jmp(p, fn + len);
    __builtin___clear_cache((char *)relay, (char *)p + 14);

    uintptr_t pg = fn & ~(uintptr_t)(PAGE - 1);
    size_t span = ((fn + len + PAGE - 1) & ~(uintptr_t)(PAGE - 1)) - pg;
    if (mprotect((void *)pg, span, PROT_READ | PROT_WRITE | PROT_EXEC)) {
        *why = "cannot make the code writable";
        return NULL;
    }
    uint8_t jmp[16];
    int32_t rel = (int32_t)((int64_t)slot - (int64_t)(fn + 5));
    jmp[0] = 0xe9;
    memcpy(jmp + 1, &rel, 4);
    memset(jmp + 5, 0xcc, sizeof jmp - 5); /* the rest of the replaced instructions is never executed */
    memcpy((void *)fn, jmp, len);
    mprotect((void *)pg, span, PROT_READ | PROT_EXEC);
    __builtin___clear_cache((char *)fn, (char *)fn + len);
    return tramp;
}
