/* symtab.h — address → symbol resolution for the running process, built only on system calls (open, read, mmap)
 * so it can run inside a signal handler: /proc/self/maps gives the modules, each module's ELF file is mapped
 * read-only and its .symtab (or a build-id debug file's, else .dynsym) gives function and variable names.
 * Used at dump time (frame and lock names) and at start-up (locating CPython functions, including local
 * ones that dlsym cannot see). Everything is allocated from the caller's arena. */
#ifndef LP_SYMTAB_H
#define LP_SYMTAB_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"

struct lp_sym {
    uint64_t addr, size; /* link-time address */
    const char *name;
    unsigned char type;  /* STT_FUNC, STT_OBJECT, ... */
};

struct lp_module {
    const char *path;
    uintptr_t bias;      /* runtime address = link-time address + bias */
    uintptr_t lo, hi;    /* runtime range covered by the PT_LOAD segments (including .bss) */
    uintptr_t text_lo, text_hi; /* runtime range of executable segments */
    int loaded;          /* symbols read (0 = not yet, 1 = ok, -1 = failed) */
    int sorted;          /* syms sorted by address (done on the first address lookup) */
    struct lp_sym *syms; /* sorted by addr */
    size_t n_syms;
    const void *map;     /* the mapped file (and its debug file) */
    size_t map_len;
    const void *dbg_map;
    size_t dbg_len;
};

struct lp_modmap {
    struct lp_module *mods;
    size_t n;
    struct lp_arena *arena;
};

/* Reads /proc/self/maps. Returns 0 or -1. */
int lp_modmap_build(struct lp_modmap *mm, struct lp_arena *arena);
/* Unmaps the files mapped by lookups (the arena is the caller's). */
void lp_modmap_close(struct lp_modmap *mm);

/* The module whose loaded range contains addr, or NULL. */
struct lp_module *lp_modmap_find(struct lp_modmap *mm, uintptr_t addr);
/* The module whose path ends with `suffix` (e.g. "/liblockprof.so"), or NULL. */
struct lp_module *lp_modmap_by_suffix(struct lp_modmap *mm, const char *suffix);

/* Symbol covering the runtime address (functions when want_object is 0, variables otherwise), or NULL. */
const struct lp_sym *lp_module_lookup(struct lp_modmap *mm, struct lp_module *m, uintptr_t addr, int want_object);
/* Sorts symbols by address, stably (ties keep their order); scratch memory from the arena. 0, or -1 (no memory). */
int lp_sym_sort(struct lp_sym *a, size_t n, struct lp_arena *arena);
/* Symbol by name (function or variable, any binding, .symtab first). No sorting needed. */
const struct lp_sym *lp_module_find_name(struct lp_modmap *mm, struct lp_module *m, const char *name);

#endif
