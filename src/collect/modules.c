/* modules.c — see modules.h. Only system calls and our own code: no stdio, no malloc, no loader calls. A module's
 * headers are read with lp_safe_read (a module may be unloaded by another thread while we look at it). */
#define _GNU_SOURCE 1
#include "modules.h"

#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lp.h"
#include "safe.h"

/* ---- /proc/self/maps ---------------------------------------------------------------------------------- */

static char *read_maps(struct lp_arena *a, size_t *len)
{
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = lp_arena_alloc(a, cap);
    while (buf) {
        if (n + 1 >= cap) {
            char *nb = lp_arena_alloc(a, cap * 2);
            if (nb)
                memcpy(nb, buf, n);
            buf = nb;
            cap *= 2;
            continue;
        }
        ssize_t r = read(fd, buf + n, cap - n - 1);
        if (r <= 0) {
            if (r < 0)
                buf = NULL;
            break;
        }
        n += (size_t)r;
    }
    close(fd);
    if (buf) {
        buf[n] = 0;
        *len = n;
    }
    return buf;
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

static const char *skip_field(const char *p)
{
    while (*p && *p != ' ')
        p++;
    while (*p == ' ')
        p++;
    return p;
}

int lp_modules_scan(struct lp_modlist *ml, struct lp_arena *a)
{
    memset(ml, 0, sizeof *ml);
    size_t len;
    char *text = read_maps(a, &len);
    if (!text)
        return -1;
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    ml->mods = lp_arena_alloc(a, lines * sizeof *ml->mods);
    if (!ml->mods)
        return -1;
    for (char *line = text; line && *line;) {
        char *eol = strchr(line, '\n');
        if (eol)
            *eol = 0;
        /* start-end perms offset dev inode   path */
        const char *p = line;
        uintptr_t start = parse_hex(&p);
        p = skip_field(p);
        char readable = *p;
        p = skip_field(p);
        uintptr_t off = parse_hex(&p);
        p = skip_field(skip_field(skip_field(p))); /* to dev, inode, path */
        /* a file mapped from its start: a module when it is an ELF file (devices are never read) */
        if (off == 0 && readable == 'r' && *p == '/' && strncmp(p, "/dev/", 5) != 0) {
            char *del = strstr(p, " (deleted)"); /* replaced or removed since it was loaded */
            if (del && !del[10])
                *del = 0;
            struct lp_mod *m = &ml->mods[ml->n++];
            memset(m, 0, sizeof *m);
            m->path = p;
            m->map_start = start;
        }
        line = eol ? eol + 1 : NULL;
    }
    return 0;
}

/* ---- a module's headers, from memory ------------------------------------------------------------------ */

/* mapped: the notes are known to be there (the loader lists the module), a plain copy; else a safe read. */
static void read_build_id(struct lp_mod *m, uintptr_t at, size_t size, int mapped)
{
    unsigned char buf[1024];
    if (size > sizeof buf)
        size = sizeof buf;
    if (size < sizeof(Elf64_Nhdr))
        return;
    if (mapped)
        memcpy(buf, (const void *)at, size);
    else if (lp_safe_read(buf, at, size))
        return;
    for (size_t o = 0; o + sizeof(Elf64_Nhdr) <= size;) {
        Elf64_Nhdr nh;
        memcpy(&nh, buf + o, sizeof nh);
        size_t name = o + sizeof nh, desc = name + ((nh.n_namesz + 3) & ~3u);
        if (desc > size || nh.n_descsz > size - desc)
            return;
        if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && !memcmp(buf + name, "GNU", 4) &&
            nh.n_descsz >= 1 && nh.n_descsz <= LP_BUILD_ID_MAX) {
            memcpy(m->build_id, buf + desc, nh.n_descsz);
            m->build_id_len = nh.n_descsz;
            return;
        }
        o = desc + ((nh.n_descsz + 3) & ~3u);
    }
}

void lp_modules_read_headers(struct lp_mod *m)
{
    m->state = -1;
    Elf64_Ehdr eh;
    if (lp_safe_read(&eh, m->map_start, sizeof eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
        eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr) || !eh.e_phnum ||
        eh.e_phnum > 256)
        return;
    uint64_t first = UINT64_MAX, lo = UINT64_MAX, hi = 0;
    uint64_t note_at[8], note_size[8];
    unsigned n_notes = 0;
    long pg = sysconf(_SC_PAGESIZE);
    Elf64_Phdr ph[8];
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        unsigned k = i % 8;
        if (k == 0) {
            unsigned n = eh.e_phnum - i < 8 ? eh.e_phnum - i : 8;
            if (lp_safe_read(ph, m->map_start + eh.e_phoff + i * sizeof *ph, n * sizeof *ph))
                return;
        }
        if (ph[k].p_type == PT_NOTE && n_notes < 8) {
            note_at[n_notes] = ph[k].p_vaddr;
            note_size[n_notes++] = ph[k].p_filesz;
        }
        if (ph[k].p_type != PT_LOAD)
            continue;
        if (first == UINT64_MAX)
            first = ph[k].p_vaddr & ~(uint64_t)(pg - 1);
        if (ph[k].p_vaddr < lo)
            lo = ph[k].p_vaddr;
        if (ph[k].p_vaddr + ph[k].p_memsz > hi)
            hi = ph[k].p_vaddr + ph[k].p_memsz;
    }
    if (first == UINT64_MAX)
        return;
    m->bias = m->map_start - (uintptr_t)first;
    m->lo = m->bias + (uintptr_t)lo;
    m->hi = m->bias + (uintptr_t)hi;
    for (unsigned i = 0; i < n_notes && !m->build_id_len; i++)
        read_build_id(m, m->bias + (uintptr_t)note_at[i], (size_t)note_size[i], 0);
    m->state = 1;
}

static int holds(struct lp_mod *m, uintptr_t addr)
{
    if (!m->state)
        lp_modules_read_headers(m);
    return m->state == 1 && addr >= m->lo && addr < m->hi;
}

/* ---- modules dlclose unloaded ------------------------------------------------------------------------- */

struct unloaded {
    struct unloaded *next;
    struct lp_mod mod;
};
static _Atomic(struct unloaded *) unloaded_head;
static _Atomic unsigned n_unloaded;

const struct lp_mod *lp_modules_find(struct lp_modlist *ml, uintptr_t addr)
{
    if (ml && ml->n) {
        /* the last module starting at or below addr, or one a few before it (a small library in a gap of a
         * big one's reservation) */
        size_t lo = 0, hi = ml->n;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (ml->mods[mid].map_start <= addr)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (size_t i = lo, tries = 0; i-- > 0 && tries < 8; tries++)
            if (holds(&ml->mods[i], addr))
                return &ml->mods[i];
    }
    for (struct unloaded *u = atomic_load_explicit(&unloaded_head, memory_order_acquire); u; u = u->next)
        if (addr >= u->mod.lo && addr < u->mod.hi)
            return &u->mod;
    return NULL;
}

static int same_module(const struct lp_mod *a, const struct lp_mod *b)
{
    return a->lo == b->lo && a->hi == b->hi && a->build_id_len == b->build_id_len &&
           !memcmp(a->build_id, b->build_id, a->build_id_len) && !strcmp(a->path, b->path);
}

static int known_unloaded(const struct lp_mod *m)
{
    for (struct unloaded *u = atomic_load_explicit(&unloaded_head, memory_order_acquire); u; u = u->next)
        if (same_module(&u->mod, m))
            return 1;
    return 0;
}

/* The loader's list of loaded objects, through dl_iterate_phdr: called on the program's own thread, just before
 * and after its dlclose takes the same lock, never from a signal handler. Their program headers and notes are
 * mapped while the loader lists them: read in place. */
static int count_subs(struct dl_phdr_info *info, size_t size, void *arg)
{
    if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs)
        *(unsigned long long *)arg = info->dlpi_subs;
    return 1; /* the counter is the same in every entry: one is enough */
}

static int note_object(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct lp_unload *u = arg;
    (void)size;
    if (!info->dlpi_name || !strchr(info->dlpi_name, '/'))
        return 0; /* the executable (never unloaded), the vDSO */
    if (u->n == u->cap) {
        size_t cap = u->cap ? 2 * u->cap : 64;
        struct lp_mod *m = lp_arena_alloc(&u->arena, cap * sizeof *m);
        if (!m)
            return 1;
        if (u->n)
            memcpy(m, u->mods, u->n * sizeof *m);
        u->mods = m;
        u->cap = cap;
    }
    struct lp_mod *m = &u->mods[u->n];
    memset(m, 0, sizeof *m);
    uint64_t lo = UINT64_MAX, hi = 0;
    for (unsigned i = 0; i < info->dlpi_phnum; i++) {
        const Elf64_Phdr *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD) {
            lo = ph->p_vaddr < lo ? ph->p_vaddr : lo;
            hi = ph->p_vaddr + ph->p_memsz > hi ? ph->p_vaddr + ph->p_memsz : hi;
        }
    }
    if (lo >= hi)
        return 0;
    m->bias = (uintptr_t)info->dlpi_addr;
    m->lo = m->map_start = m->bias + (uintptr_t)lo;
    m->hi = m->bias + (uintptr_t)hi;
    for (unsigned i = 0; i < info->dlpi_phnum && !m->build_id_len; i++) {
        const Elf64_Phdr *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_NOTE)
            read_build_id(m, m->bias + (uintptr_t)ph->p_vaddr, (size_t)ph->p_filesz, 1);
    }
    /* its name as the loader has it (a relative one is completed from the current directory when it is kept) */
    m->path = lp_arena_strdup(&u->arena, info->dlpi_name, strlen(info->dlpi_name));
    m->state = m->path ? 1 : -1;
    u->n++;
    return 0;
}

void lp_modules_unload_begin(struct lp_unload *u)
{
    memset(u, 0, sizeof *u);
    u->arena.chunk_size = 16u << 10;
    if (atomic_load_explicit(&n_unloaded, memory_order_relaxed) >= LP_UNLOADED_MAX)
        return;
    dl_iterate_phdr(note_object, u);
    dl_iterate_phdr(count_subs, &u->subs);
    u->ok = u->n > 0;
}

static int still_loaded(const struct lp_unload *after, const struct lp_mod *m)
{
    for (size_t i = 0; i < after->n; i++)
        if (after->mods[i].lo == m->lo && !strcmp(after->mods[i].path, m->path))
            return 1;
    return 0;
}

void lp_modules_unload_end(struct lp_unload *u)
{
    unsigned long long subs = 0;
    struct lp_unload after;
    memset(&after, 0, sizeof after);
    if (u->ok)
        dl_iterate_phdr(count_subs, &subs);
    if (!u->ok || subs == u->subs) { /* nothing was unloaded (another handle keeps the library, say) */
        lp_arena_release(&u->arena);
        return;
    }
    after.arena.chunk_size = 16u << 10;
    dl_iterate_phdr(note_object, &after);
    /* the modules gone, with a full path (a relative name is completed from the current directory), and not
     * already kept (the same library unloaded again at the same place); one mapping for their nodes */
    char cwd[4096];
    size_t cwdn = 0, bytes = 0;
    for (size_t i = 0; i < u->n; i++) {
        struct lp_mod *m = &u->mods[i];
        m->unloaded = m->state == 1 && !still_loaded(&after, m);
        if (!m->unloaded)
            continue;
        if (m->path[0] != '/' && !cwdn && getcwd(cwd, sizeof cwd))
            cwdn = strlen(cwd);
        if (m->path[0] != '/' && cwdn) {
            size_t pl = strlen(m->path);
            char *full = lp_arena_alloc(&u->arena, cwdn + 1 + pl + 1);
            if (full) {
                memcpy(full, cwd, cwdn);
                full[cwdn] = '/';
                memcpy(full + cwdn + 1, m->path, pl + 1);
                m->path = full;
            }
        }
        m->unloaded = !known_unloaded(m);
        if (m->unloaded)
            bytes += ((sizeof(struct unloaded) + strlen(m->path) + 1) + 15) & ~(size_t)15;
    }
    char *mem = bytes ? mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) : MAP_FAILED;
    for (size_t i = 0; mem != MAP_FAILED && i < u->n; i++) {
        struct lp_mod *m = &u->mods[i];
        if (!m->unloaded)
            continue;
        if (atomic_fetch_add_explicit(&n_unloaded, 1, memory_order_relaxed) >= LP_UNLOADED_MAX)
            break;
        struct unloaded *node = (struct unloaded *)mem;
        size_t pl = strlen(m->path);
        char *path = (char *)(node + 1);
        memcpy(path, m->path, pl + 1);
        node->mod = *m;
        node->mod.path = path;
        mem += ((sizeof *node + pl + 1) + 15) & ~(size_t)15;
        node->next = atomic_load_explicit(&unloaded_head, memory_order_relaxed);
        while (!atomic_compare_exchange_weak_explicit(&unloaded_head, &node->next, node, memory_order_release,
                                                      memory_order_relaxed))
            ;
    }
    lp_arena_release(&after.arena);
    lp_arena_release(&u->arena);
}
