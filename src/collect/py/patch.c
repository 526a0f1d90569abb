/* patch.c — see patch.h. Runs only at start-up (malloc is fine here; Capstone allocates). */
#define _GNU_SOURCE 1
#include "patch.h"

#include <capstone/capstone.h>
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

/* Capstone is opened on first use, not linked: loading it applies tens of thousands of relocations (Debian's
 * libcapstone.so.4 carries every architecture), time added to the start of every profiled process, and only a
 * process with CPython functions to patch needs it (docs/PERFORMANCE.md, row 7). LP_CAPSTONE_SONAME (meson.build) is the soname of the version whose header we
 * compiled against. */
static struct {
    void *lib;
    cs_err (*open)(cs_arch, cs_mode, csh *);
    cs_err (*option)(csh, cs_opt_type, size_t);
    size_t (*disasm)(csh, const uint8_t *, size_t, uint64_t, size_t, cs_insn **);
    void (*free)(cs_insn *, size_t);
    cs_err (*close)(csh *);
} cs;

static int cs_load(void)
{
    if (cs.lib)
        return 0;
    void *lib = dlopen(LP_CAPSTONE_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        return -1;
    *(void **)&cs.open = dlsym(lib, "cs_open");
    *(void **)&cs.option = dlsym(lib, "cs_option");
    *(void **)&cs.disasm = dlsym(lib, "cs_disasm");
    *(void **)&cs.free = dlsym(lib, "cs_free");
    *(void **)&cs.close = dlsym(lib, "cs_close");
    if (!cs.open || !cs.option || !cs.disasm || !cs.free || !cs.close) {
        lp_real_dlclose(lib);
        memset(&cs, 0, sizeof cs);
        return -1;
    }
    cs.lib = lib;
    return 0;
}

int lp_patch_ready(void) { return cs_load() == 0; }

void lp_patch_done(void)
{
    if (cs.lib)
        lp_real_dlclose(cs.lib); /* (not through our own dlclose: nothing of it was recorded) */
    memset(&cs, 0, sizeof cs);
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

static int is_branch(const cs_insn *in)
{
    for (int i = 0; i < in->detail->groups_count; i++) {
        uint8_t g = in->detail->groups[i];
        if (g == CS_GRP_JUMP || g == CS_GRP_CALL || g == CS_GRP_RET || g == CS_GRP_IRET || g == CS_GRP_INT ||
            g == CS_GRP_BRANCH_RELATIVE)
            return 1;
    }
    return 0;
}

static int rip_relative(const cs_insn *in)
{
    const cs_x86 *x = &in->detail->x86;
    for (int i = 0; i < x->op_count; i++)
        if (x->operands[i].type == X86_OP_MEM && x->operands[i].mem.base == X86_REG_RIP)
            return 1;
    return 0;
}

/* Whether any relative branch in [fn, fn+size) targets (fn, fn+len). */
static int branches_into(csh h, uintptr_t fn, size_t size, size_t len)
{
    cs_insn *insn;
    size_t n = cs.disasm(h, (const uint8_t *)fn, size, fn, 0, &insn);
    int bad = 0;
    for (size_t i = 0; i < n && !bad; i++) {
        const cs_x86 *x = &insn[i].detail->x86;
        if (!is_branch(&insn[i]))
            continue;
        for (int k = 0; k < x->op_count; k++)
            if (x->operands[k].type == X86_OP_IMM) {
                uintptr_t target = (uintptr_t)x->operands[k].imm;
                if (target > fn && target < fn + len)
                    bad = 1;
            }
    }
    if (n)
        cs.free(insn, n);
    return bad;
}

void *lp_patch(uintptr_t fn, size_t fn_size, void *hook, const char **why)
{
    *why = NULL;
    csh h;
    if (cs_load() || cs.open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK) {
        *why = "capstone (" LP_CAPSTONE_SONAME ") unavailable";
        return NULL;
    }
    cs.option(h, CS_OPT_DETAIL, CS_OPT_ON);
    void *result = NULL;
    cs_insn *insn = NULL;
    size_t count = cs.disasm(h, (const uint8_t *)fn, fn_size < 64 ? fn_size : 64, fn, 0, &insn);
    size_t len = 0, used = 0;
    while (used < count && len < 5)
        len += insn[used++].size;
    if (len < 5 || (fn_size && fn_size < len)) {
        *why = "function too short to patch";
        goto out;
    }
    for (size_t i = 0; i < used; i++)
        if (is_branch(&insn[i])) {
            *why = "prologue contains a branch";
            goto out;
        }
    if (!fn_size) {
        *why = "function size unknown";
        goto out;
    }
    if (branches_into(h, fn, fn_size, len)) {
        *why = "a branch targets the prologue";
        goto out;
    }
    uintptr_t slot = near_slot(fn);
    if (!slot) {
        *why = "no memory near the function";
        goto out;
    }
    /* slot: [relay: jmp *hook][trampoline: relocated prologue; jmp *fn+len] */
    uint8_t *relay = (uint8_t *)slot, *tramp = relay + 16, *p = tramp;
    put_abs_jmp(relay, (uintptr_t)hook);
    for (size_t i = 0; i < used; i++) {
        memcpy(p, insn[i].bytes, insn[i].size);
        if (rip_relative(&insn[i])) {
            const cs_x86_encoding *enc = &insn[i].detail->x86.encoding;
            if (enc->disp_size != 4 || !enc->disp_offset) {
                *why = "RIP-relative operand that cannot be relocated";
                goto out;
            }
            int32_t disp;
            memcpy(&disp, insn[i].bytes + enc->disp_offset, 4);
            int64_t target = (int64_t)insn[i].address + insn[i].size + disp;
            int64_t nd = target - (int64_t)((uintptr_t)p + insn[i].size);
            if (nd < INT32_MIN || nd > INT32_MAX) {
                *why = "RIP-relative operand out of reach";
                goto out;
            }
            disp = (int32_t)nd;
            memcpy(p + enc->disp_offset, &disp, 4);
        }
        p += insn[i].size;
    }
    put_abs_jmp(p, fn + len);
    __builtin___clear_cache((char *)relay, (char *)p + 14);

    uintptr_t pg = fn & ~(uintptr_t)(PAGE - 1);
    size_t span = ((fn + len + PAGE - 1) & ~(uintptr_t)(PAGE - 1)) - pg;
    if (mprotect((void *)pg, span, PROT_READ | PROT_WRITE | PROT_EXEC)) {
        *why = "cannot make the code writable";
        goto out;
    }
    uint8_t jmp[16];
    int32_t rel = (int32_t)((int64_t)slot - (int64_t)(fn + 5));
    jmp[0] = 0xe9;
    memcpy(jmp + 1, &rel, 4);
    memset(jmp + 5, 0xcc, sizeof jmp - 5); /* the rest of the replaced instructions is never executed */
    memcpy((void *)fn, jmp, len);
    mprotect((void *)pg, span, PROT_READ | PROT_EXEC);
    __builtin___clear_cache((char *)fn, (char *)fn + len);
    result = tramp;
out:
    if (count)
        cs.free(insn, count);
    cs.close(&h);
    return result;
}
