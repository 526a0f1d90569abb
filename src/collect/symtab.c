/* symtab.c — see symtab.h. Runs only at start-up, in the constructor (the loader calls are fine there). */
#define _GNU_SOURCE 1
#include "symtab.h"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lp.h"

static int inside(const struct lp_mod *m, uintptr_t a) { return a >= m->lo && a < m->hi; }

/* Exported symbols: dlsym walks the loader's hash tables; the definition must be the module's own. */
static void from_loader(const struct lp_mod *m, struct lp_symq *q)
{
    void *p = dlsym(RTLD_DEFAULT, q->name);
    Dl_info info;
    const Elf64_Sym *sym = NULL;
    if (!p || !inside(m, (uintptr_t)p) || !dladdr1(p, &info, (void **)&sym, RTLD_DL_SYMENT) || !sym)
        return;
    q->addr = (uintptr_t)p;
    q->size = sym->st_size;
    q->found = 1;
}

int lp_symtab_module_of(const void *addr, struct lp_mod *m, char *path, size_t cap)
{
    Dl_info info;
    struct link_map *lm = NULL;
    memset(m, 0, sizeof *m);
    if (!dladdr1(addr, &info, (void **)&lm, RTLD_DL_LINKMAP) || !info.dli_fbase || !lm)
        return -1;
    if (!lm->l_name[0]) {
        /* the executable (the loader knows it by argv[0]) */
        ssize_t n = readlink("/proc/self/exe", path, cap - 1);
        if (n <= 0)
            return -1;
        path[n] = 0;
        const char *del = n > 10 ? path + n - 10 : NULL;
        if (del && !strcmp(del, " (deleted)"))
            path[n - 10] = 0;
    } else if (!realpath(lm->l_name, path)) {
        return -1;
    }
    m->path = path;
    m->map_start = (uintptr_t)info.dli_fbase;
    lp_modules_read_headers(m);
    return m->state == 1 && (uintptr_t)addr >= m->lo && (uintptr_t)addr < m->hi ? 0 : -1;
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

/* The file's .symtab section header, or NULL. */
static const Elf64_Shdr *symtab_of(const void *map, size_t len)
{
    const Elf64_Ehdr *eh = map;
    if (len < sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
        eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shoff > len ||
        eh->e_shnum > (len - eh->e_shoff) / sizeof(Elf64_Shdr))
        return NULL;
    const Elf64_Shdr *sh = (const Elf64_Shdr *)((const char *)map + eh->e_shoff);
    for (unsigned i = 0; i < eh->e_shnum; i++)
        if (sh[i].sh_type == SHT_SYMTAB && sh[i].sh_entsize == sizeof(Elf64_Sym) && sh[i].sh_offset <= len &&
            sh[i].sh_size <= len - sh[i].sh_offset && sh[i].sh_link < eh->e_shnum) {
            const Elf64_Shdr *str = &sh[sh[i].sh_link];
            if (str->sh_offset <= len && str->sh_size && str->sh_size <= len - str->sh_offset &&
                ((const char *)map)[str->sh_offset + str->sh_size - 1] == 0)
                return &sh[i];
        }
    return NULL;
}

/* One pass over the table, stopping when nothing is missing. Returns how many it found. */
static size_t scan(const void *map, const Elf64_Shdr *st, const struct lp_mod *m, struct lp_symq *q, size_t n,
                   size_t missing)
{
    const Elf64_Ehdr *eh = map;
    const Elf64_Shdr *str = &((const Elf64_Shdr *)((const char *)map + eh->e_shoff))[st->sh_link];
    const char *names = (const char *)map + str->sh_offset;
    const Elf64_Sym *sym = (const Elf64_Sym *)((const char *)map + st->sh_offset);
    size_t count = st->sh_size / sizeof *sym, found = 0;
    for (size_t i = 0; i < count && found < missing; i++) {
        unsigned t = ELF64_ST_TYPE(sym[i].st_info);
        if ((t != STT_FUNC && t != STT_OBJECT) || sym[i].st_shndx == SHN_UNDEF || !sym[i].st_value ||
            sym[i].st_name >= str->sh_size)
            continue;
        const char *s = names + sym[i].st_name;
        for (size_t k = 0; k < n; k++) {
            if (q[k].found || s[0] != q[k].name[0] || strcmp(s, q[k].name))
                continue;
            uintptr_t a = m->bias + (uintptr_t)sym[i].st_value;
            if (!inside(m, a))
                continue;
            q[k].addr = a;
            q[k].size = sym[i].st_size;
            q[k].found = 1;
            found++;
        }
    }
    return found;
}

/* /usr/lib/debug/.build-id/ab/cdef....debug */
static void debug_path(const struct lp_mod *m, char *path)
{
    static const char hx[] = "0123456789abcdef";
    size_t o = lp_strlcpy(path, "/usr/lib/debug/.build-id/", 64);
    path[o++] = hx[m->build_id[0] >> 4];
    path[o++] = hx[m->build_id[0] & 15];
    path[o++] = '/';
    for (unsigned k = 1; k < m->build_id_len; k++) {
        path[o++] = hx[m->build_id[k] >> 4];
        path[o++] = hx[m->build_id[k] & 15];
    }
    memcpy(path + o, ".debug", 7);
}

size_t lp_symtab_find(const struct lp_mod *m, struct lp_symq *q, size_t n)
{
    size_t found = 0;
    for (size_t k = 0; k < n; k++) {
        q[k].found = 0;
        from_loader(m, &q[k]);
        found += (size_t)q[k].found;
    }
    if (found == n)
        return found;
    size_t len;
    const void *map = map_file(m->path, &len);
    const Elf64_Shdr *st = map ? symtab_of(map, len) : NULL;
    if (map && !st && m->build_id_len >= 2) {
        /* stripped: its debug file, when one is installed (its .symtab has the same addresses) */
        char path[64 + 2 * LP_BUILD_ID_MAX + 8];
        debug_path(m, path);
        munmap((void *)map, len);
        map = map_file(path, &len);
        st = map ? symtab_of(map, len) : NULL;
    }
    if (st)
        found += scan(map, st, m, q, n, n - found);
    if (map)
        munmap((void *)map, len);
    return found;
}
