/* symtab.c — see symtab.h. Only system calls and our own code: no stdio, no malloc, no qsort (glibc's may allocate),
 * no dl_iterate_phdr (takes the loader lock, which the interrupted thread may hold). */
#define _GNU_SOURCE 1
#include "symtab.h"

#include <elf.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lp.h"

/* ---- /proc/self/maps ---------------------------------------------------------------------------------- */

static int read_file(struct lp_arena *a, const char *path, char **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t cap = 1 << 16, n = 0;
    char *buf = lp_arena_alloc(a, cap);
    for (;;) {
        if (!buf) {
            close(fd);
            return -1;
        }
        if (n + 1 >= cap) {
            char *nb = lp_arena_alloc(a, cap * 2);
            if (nb)
                memcpy(nb, buf, n);
            buf = nb;
            cap *= 2;
            continue;
        }
        ssize_t r = read(fd, buf + n, cap - n - 1);
        if (r < 0) {
            close(fd);
            return -1;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = 0;
    *out = buf;
    *len = n;
    return 0;
}

static uintptr_t parse_hex(const char **p)
{
    uintptr_t v = 0;
    for (;; (*p)++) {
        char c = **p;
        if (c >= '0' && c <= '9')
            v = v * 16 + (uintptr_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v = v * 16 + (uintptr_t)(c - 'a' + 10);
        else
            return v;
    }
}

static const Elf64_Ehdr *check_elf(const void *map, size_t len)
{
    const Elf64_Ehdr *eh = map;
    if (len < sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64)
        return NULL;
    if (eh->e_phoff > len || eh->e_phnum > (len - eh->e_phoff) / sizeof(Elf64_Phdr))
        return NULL;
    if (eh->e_shoff > len || eh->e_shnum > (len - eh->e_shoff) / sizeof(Elf64_Shdr))
        return NULL;
    return eh;
}

static const void *map_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    void *m = MAP_FAILED;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
        m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED)
        return NULL;
    *len = (size_t)st.st_size;
    return m;
}

/* Fills bias and ranges from the program headers, given the runtime start of the mapping at file offset 0. */
static int layout(struct lp_module *m, uintptr_t base0)
{
    const Elf64_Ehdr *eh = check_elf(m->map, m->map_len);
    if (!eh)
        return -1;
    const Elf64_Phdr *ph = (const Elf64_Phdr *)((const char *)m->map + eh->e_phoff);
    uint64_t first = UINT64_MAX, lo = UINT64_MAX, hi = 0, tlo = UINT64_MAX, thi = 0;
    long pg = sysconf(_SC_PAGESIZE);
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type != PT_LOAD)
            continue;
        if (first == UINT64_MAX)
            first = ph[i].p_vaddr & ~(uint64_t)(pg - 1);
        if (ph[i].p_vaddr < lo)
            lo = ph[i].p_vaddr;
        if (ph[i].p_vaddr + ph[i].p_memsz > hi)
            hi = ph[i].p_vaddr + ph[i].p_memsz;
        if (ph[i].p_flags & PF_X) {
            if (ph[i].p_vaddr < tlo)
                tlo = ph[i].p_vaddr;
            if (ph[i].p_vaddr + ph[i].p_memsz > thi)
                thi = ph[i].p_vaddr + ph[i].p_memsz;
        }
    }
    if (first == UINT64_MAX)
        return -1;
    m->bias = base0 - (uintptr_t)first;
    m->lo = m->bias + (uintptr_t)lo;
    m->hi = m->bias + (uintptr_t)hi;
    m->text_lo = tlo == UINT64_MAX ? 0 : m->bias + (uintptr_t)tlo;
    m->text_hi = tlo == UINT64_MAX ? 0 : m->bias + (uintptr_t)thi;
    return 0;
}

int lp_modmap_build(struct lp_modmap *mm, struct lp_arena *arena)
{
    memset(mm, 0, sizeof *mm);
    mm->arena = arena;
    char *text;
    size_t len;
    if (read_file(arena, "/proc/self/maps", &text, &len))
        return -1;
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    mm->mods = lp_arena_alloc(arena, lines * sizeof *mm->mods);
    if (!mm->mods)
        return -1;
    for (char *line = text; line && *line;) {
        char *eol = strchr(line, '\n');
        if (eol)
            *eol = 0;
        const char *p = line;
        uintptr_t start = parse_hex(&p);
        p++; /* '-' */
        parse_hex(&p);
        p++;
        p += 5; /* perms + space */
        uintptr_t off = parse_hex(&p);
        const char *path = strchr(p, '/');
        if (path && off == 0 && !strstr(path, " (deleted)")) {
            int seen = 0;
            for (size_t i = 0; i < mm->n; i++)
                if (strcmp(mm->mods[i].path, path) == 0)
                    seen = 1;
            if (!seen) {
                struct lp_module *m = &mm->mods[mm->n];
                memset(m, 0, sizeof *m);
                m->path = path;
                m->map = map_file(path, &m->map_len);
                if (m->map && layout(m, start) == 0) {
                    mm->n++;
                } else if (m->map) {
                    munmap((void *)m->map, m->map_len);
                }
            }
        }
        line = eol ? eol + 1 : NULL;
    }
    return 0;
}

void lp_modmap_close(struct lp_modmap *mm)
{
    for (size_t i = 0; i < mm->n; i++) {
        if (mm->mods[i].map)
            munmap((void *)mm->mods[i].map, mm->mods[i].map_len);
        if (mm->mods[i].dbg_map)
            munmap((void *)mm->mods[i].dbg_map, mm->mods[i].dbg_len);
        mm->mods[i].map = mm->mods[i].dbg_map = NULL;
    }
}

struct lp_module *lp_modmap_find(struct lp_modmap *mm, uintptr_t addr)
{
    for (size_t i = 0; i < mm->n; i++)
        if (addr >= mm->mods[i].lo && addr < mm->mods[i].hi)
            return &mm->mods[i];
    return NULL;
}

struct lp_module *lp_modmap_by_suffix(struct lp_modmap *mm, const char *suffix)
{
    size_t sl = strlen(suffix);
    for (size_t i = 0; i < mm->n; i++) {
        size_t pl = strlen(mm->mods[i].path);
        if (pl >= sl && strcmp(mm->mods[i].path + pl - sl, suffix) == 0)
            return &mm->mods[i];
    }
    return NULL;
}

/* ---- symbols ------------------------------------------------------------------------------------------ */

static const Elf64_Shdr *find_section(const void *map, size_t len, uint32_t type)
{
    const Elf64_Ehdr *eh = check_elf(map, len);
    if (!eh)
        return NULL;
    const Elf64_Shdr *sh = (const Elf64_Shdr *)((const char *)map + eh->e_shoff);
    for (unsigned i = 0; i < eh->e_shnum; i++)
        if (sh[i].sh_type == type && sh[i].sh_offset <= len && sh[i].sh_size <= len - sh[i].sh_offset)
            return &sh[i];
    return NULL;
}

/* The build-id debug file for a stripped module: /usr/lib/debug/.build-id/ab/cdef....debug */
static const void *debug_file(const void *map, size_t len, size_t *dlen)
{
    const Elf64_Ehdr *eh = check_elf(map, len);
    if (!eh)
        return NULL;
    const Elf64_Phdr *ph = (const Elf64_Phdr *)((const char *)map + eh->e_phoff);
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type != PT_NOTE || ph[i].p_offset > len || ph[i].p_filesz > len - ph[i].p_offset)
            continue;
        const char *p = (const char *)map + ph[i].p_offset, *end = p + ph[i].p_filesz;
        while (p + sizeof(Elf64_Nhdr) <= end) {
            const Elf64_Nhdr *nh = (const Elf64_Nhdr *)p;
            const char *name = p + sizeof *nh;
            const unsigned char *desc = (const unsigned char *)name + ((nh->n_namesz + 3) & ~3u);
            if ((const char *)desc + nh->n_descsz > end)
                break;
            if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && memcmp(name, "GNU", 4) == 0 &&
                nh->n_descsz >= 2 && nh->n_descsz <= 64) {
                static const char hx[] = "0123456789abcdef";
                char path[200] = "/usr/lib/debug/.build-id/";
                size_t o = strlen(path);
                path[o++] = hx[desc[0] >> 4];
                path[o++] = hx[desc[0] & 15];
                path[o++] = '/';
                for (unsigned k = 1; k < nh->n_descsz; k++) {
                    path[o++] = hx[desc[k] >> 4];
                    path[o++] = hx[desc[k] & 15];
                }
                memcpy(path + o, ".debug", 7);
                return map_file(path, dlen);
            }
            p = (const char *)desc + ((nh->n_descsz + 3) & ~3u);
        }
    }
    return NULL;
}

static size_t add_syms(struct lp_sym *out, size_t n, const void *map, size_t len, uint32_t type)
{
    const Elf64_Shdr *st = find_section(map, len, type);
    if (!st || st->sh_entsize != sizeof(Elf64_Sym))
        return n;
    const Elf64_Ehdr *eh = map;
    const Elf64_Shdr *sh = (const Elf64_Shdr *)((const char *)map + eh->e_shoff);
    if (st->sh_link >= eh->e_shnum)
        return n;
    const Elf64_Shdr *strs = &sh[st->sh_link];
    if (strs->sh_offset > len || strs->sh_size > len - strs->sh_offset || strs->sh_size == 0)
        return n;
    const char *strtab = (const char *)map + strs->sh_offset;
    if (strtab[strs->sh_size - 1] != 0)
        return n;
    const Elf64_Sym *sym = (const Elf64_Sym *)((const char *)map + st->sh_offset);
    size_t cnt = st->sh_size / sizeof *sym;
    for (size_t i = 0; i < cnt; i++) {
        unsigned t = ELF64_ST_TYPE(sym[i].st_info);
        if ((t != STT_FUNC && t != STT_OBJECT && t != STT_GNU_IFUNC) || sym[i].st_shndx == SHN_UNDEF ||
            sym[i].st_value == 0 || sym[i].st_name >= strs->sh_size || !strtab[sym[i].st_name])
            continue;
        if (out)
            out[n] = (struct lp_sym){sym[i].st_value, sym[i].st_size, strtab + sym[i].st_name,
                                     (unsigned char)(t == STT_OBJECT ? STT_OBJECT : STT_FUNC)};
        n++;
    }
    return n;
}

/* Bottom-up merge sort by address, stable (glibc's qsort may allocate; heapsort was too slow on 20k-symbol
 * tables). The fallback of lp_sym_sort. */
static void merge_sort(struct lp_sym *a, size_t n, struct lp_sym *tmp)
{
    struct lp_sym *src = a, *dst = tmp;
    for (size_t w = 1; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                dst[k++] = src[j].addr < src[i].addr ? src[j++] : src[i++];
            while (i < mid)
                dst[k++] = src[i++];
            while (j < hi)
                dst[k++] = src[j++];
        }
        struct lp_sym *t = src;
        src = dst;
        dst = t;
    }
    if (src != a)
        memcpy(a, src, n * sizeof *a);
}

static unsigned bits_of(uint64_t v) { return v ? 64u - (unsigned)__builtin_clzll(v) : 0; }

#define RADIX_BITS 11

/* Sorts a by address, stably. Each symbol becomes one 64-bit key, address << ib | index, sorted by an LSD radix
 * sort (passes whose digit is the same everywhere are skipped), and the symbols are then gathered in key order:
 * the 24-byte records move once instead of once per merge pass (tables of ten thousand symbols and more are
 * common: an interpreter's, libc's). When address and index do not fit one key together, merge sort.
 * Scratch memory (counts included: the dump may run in a signal handler, on a small stack) comes from the arena.
 * Returns 0, or -1 when the arena has no memory for it (a is then unchanged). */
int lp_sym_sort(struct lp_sym *a, size_t n, struct lp_arena *arena)
{
    if (n < 2)
        return 0;
    uint64_t max = 0;
    for (size_t i = 0; i < n; i++)
        max = a[i].addr > max ? a[i].addr : max;
    unsigned ib = bits_of(n - 1), kb = bits_of(max) + ib;
    struct lp_sym *tmp = lp_arena_alloc(arena, n * sizeof *tmp);
    uint64_t *key = kb <= 64 ? lp_arena_alloc(arena, 2 * n * sizeof *key) : NULL;
    size_t *count = key ? lp_arena_alloc(arena, sizeof *count << RADIX_BITS) : NULL;
    if (!tmp)
        return -1;
    if (!count) {
        merge_sort(a, n, tmp);
        return 0;
    }
    uint64_t *src = key, *dst = key + n;
    for (size_t i = 0; i < n; i++)
        src[i] = a[i].addr << ib | i; /* kb <= 64: no bit of the address is lost */
    for (unsigned shift = 0; shift < kb; shift += RADIX_BITS) {
        memset(count, 0, sizeof *count << RADIX_BITS);
        for (size_t i = 0; i < n; i++)
            count[(src[i] >> shift) & ((1u << RADIX_BITS) - 1)]++;
        if (count[(src[0] >> shift) & ((1u << RADIX_BITS) - 1)] == n)
            continue; /* one digit everywhere: this pass would not move anything */
        for (size_t d = 0, sum = 0; d < (1u << RADIX_BITS); d++) {
            size_t c = count[d];
            count[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            dst[count[(src[i] >> shift) & ((1u << RADIX_BITS) - 1)]++] = src[i];
        uint64_t *t = src;
        src = dst;
        dst = t;
    }
    uint64_t mask = ((uint64_t)1 << ib) - 1;
    for (size_t i = 0; i < n; i++)
        tmp[i] = a[src[i] & mask];
    memcpy(a, tmp, n * sizeof *a);
    return 0;
}

static int load_syms(struct lp_modmap *mm, struct lp_module *m)
{
    if (m->loaded)
        return m->loaded;
    m->loaded = -1;
    const void *src = m->map;
    size_t len = m->map_len;
    if (!find_section(src, len, SHT_SYMTAB)) {
        m->dbg_map = debug_file(m->map, m->map_len, &m->dbg_len);
        if (m->dbg_map && find_section(m->dbg_map, m->dbg_len, SHT_SYMTAB)) {
            src = m->dbg_map;
            len = m->dbg_len;
        }
    }
    size_t n = add_syms(NULL, 0, src, len, SHT_SYMTAB);
    size_t nd = add_syms(NULL, 0, m->map, m->map_len, SHT_DYNSYM);
    struct lp_sym *s = lp_arena_alloc(mm->arena, (n + nd + 1) * sizeof *s);
    if (!s)
        return -1;
    n = add_syms(s, 0, src, len, SHT_SYMTAB);
    n = add_syms(s, n, m->map, m->map_len, SHT_DYNSYM);
    m->syms = s;
    m->n_syms = n;
    m->loaded = 1;
    return 1;
}

/* Address lookups need the table sorted; name lookups (start-up) do not, so sorting waits for the first. */
static int sorted_syms(struct lp_modmap *mm, struct lp_module *m)
{
    if (load_syms(mm, m) != 1)
        return 0;
    if (!m->sorted && m->n_syms > 1) {
        if (lp_sym_sort(m->syms, m->n_syms, mm->arena))
            return 0;
    }
    m->sorted = 1;
    return 1;
}

const struct lp_sym *lp_module_lookup(struct lp_modmap *mm, struct lp_module *m, uintptr_t addr, int want_object)
{
    if (!m || !sorted_syms(mm, m) || !m->n_syms)
        return NULL;
    uint64_t x = (uint64_t)(addr - m->bias);
    unsigned want = want_object ? STT_OBJECT : STT_FUNC;
    /* last symbol with sym.addr <= x */
    size_t lo = 0, hi = m->n_syms;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (m->syms[mid].addr <= x)
            lo = mid + 1;
        else
            hi = mid;
    }
    const struct lp_sym *sized_miss = NULL;
    for (size_t i = lo; i-- > 0 && lo - i < 64;) {
        const struct lp_sym *s = &m->syms[i];
        if (s->type != want)
            continue;
        if (x < s->addr + s->size)
            return s;
        if (s->size == 0 && !sized_miss)
            sized_miss = s; /* size-less symbol: accept only if nothing sized covers x */
    }
    return want_object ? NULL : sized_miss;
}

const struct lp_sym *lp_module_find_name(struct lp_modmap *mm, struct lp_module *m, const char *name)
{
    if (!m || load_syms(mm, m) != 1)
        return NULL;
    for (size_t i = 0; i < m->n_syms; i++)
        if (strcmp(m->syms[i].name, name) == 0)
            return &m->syms[i];
    return NULL;
}
