/* modules.c — see modules.h. Only system calls and our own code: no stdio, no malloc, no loader calls. A module's
 * headers are read with lp_safe_read (a module may be unloaded by another thread while we look at it). */
#define _GNU_SOURCE 1
#include "modules.h"

#include <elf.h>
#include <fcntl.h>
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

static void read_build_id(struct lp_mod *m, uintptr_t at, size_t size)
{
    unsigned char buf[1024];
    if (size > sizeof buf)
        size = sizeof buf;
    if (size < sizeof(Elf64_Nhdr) || lp_safe_read(buf, at, size))
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
        read_build_id(m, m->bias + (uintptr_t)note_at[i], (size_t)note_size[i]);
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

static int still_mapped(const struct lp_modlist *after, const struct lp_mod *m)
{
    for (size_t i = 0; i < after->n; i++)
        if (after->mods[i].map_start == m->map_start && !strcmp(after->mods[i].path, m->path))
            return 1;
    return 0;
}

static int known_unloaded(const struct lp_mod *m)
{
    for (struct unloaded *u = atomic_load_explicit(&unloaded_head, memory_order_acquire); u; u = u->next)
        if (same_module(&u->mod, m))
            return 1;
    return 0;
}

void lp_modules_unload_begin(struct lp_unload *u)
{
    memset(u, 0, sizeof *u);
    if (atomic_load_explicit(&n_unloaded, memory_order_relaxed) >= LP_UNLOADED_MAX)
        return;
    if (lp_modules_scan(&u->before, &u->arena))
        return;
    for (size_t i = 0; i < u->before.n; i++)
        lp_modules_read_headers(&u->before.mods[i]); /* while they are still there */
    u->ok = 1;
}

void lp_modules_unload_end(struct lp_unload *u)
{
    struct lp_modlist after;
    if (!u->ok || lp_modules_scan(&after, &u->arena)) {
        lp_arena_release(&u->arena);
        return;
    }
    /* one mapping for the nodes of this call: sized first */
    size_t bytes = 0, gone = 0;
    for (size_t i = 0; i < u->before.n; i++) {
        struct lp_mod *m = &u->before.mods[i];
        m->unloaded = m->state == 1 && !still_mapped(&after, m) && !known_unloaded(m);
        if (m->unloaded) {
            bytes += ((sizeof(struct unloaded) + strlen(m->path) + 1) + 15) & ~(size_t)15;
            gone++;
        }
    }
    char *mem = gone ? mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) : MAP_FAILED;
    for (size_t i = 0; mem != MAP_FAILED && i < u->before.n; i++) {
        struct lp_mod *m = &u->before.mods[i];
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
    lp_arena_release(&u->arena);
}
