/* modules.h — the ELF modules (the executable and its shared libraries) of this process, as the profile's `o`
 * records describe them: path, GNU build-id, load range and bias. At dump time read from /proc/self/maps and from
 * each module's own headers in memory (safe reads), never from its file and never through the loader
 * (dl_iterate_phdr takes a lock the interrupted thread may hold): async-signal-safe, system calls and arena memory
 * only. Also keeps the modules that dlclose unloaded (noted around the program's dlclose, through the loader), so
 * that a profile written later still says where their frames and locks were: the CLI names them from the files
 * (docs/DESIGN.md, "Names of locks and frames"). */
#ifndef LP_MODULES_H
#define LP_MODULES_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"

#define LP_BUILD_ID_MAX 64 /* bytes; GNU build-ids are 20 (SHA-1) or 16 (MD5, UUID) */

struct lp_mod {
    const char *path;
    uintptr_t map_start;       /* the mapping at file offset 0 (from /proc/self/maps) */
    int state;                 /* 0: headers not read yet, 1: an ELF module, -1: not one (or unreadable) */
    int unloaded;              /* from the list of modules dlclose unloaded */
    uintptr_t lo, hi;          /* runtime range of its PT_LOAD segments (.bss included) */
    uintptr_t bias;            /* runtime address = ELF address + bias */
    unsigned build_id_len;     /* 0: no build-id note */
    unsigned char build_id[LP_BUILD_ID_MAX];
};

/* The modules mapped now, in address order. Headers are read lazily, by lp_modules_find. */
struct lp_modlist {
    struct lp_mod *mods;
    size_t n;
};

/* Reads /proc/self/maps into ml (memory from a). Returns 0, or -1 (ml is then empty). */
int lp_modules_scan(struct lp_modlist *ml, struct lp_arena *a);

/* Reads m's range, bias and build-id from its headers in memory (m->map_start: where its file's start is mapped);
 * m->state says whether it is an ELF module. */
void lp_modules_read_headers(struct lp_mod *m);

/* The module whose loaded range holds addr: one mapped now (ml may be NULL), else one unloaded earlier; NULL when
 * none. A module unloaded and another loaded at the same place since: the one mapped now. */
const struct lp_mod *lp_modules_find(struct lp_modlist *ml, uintptr_t addr);

/* dlclose: lp_modules_unload_begin notes the shared objects loaded before it (from the dynamic linker's list: path,
 * range, build-id read in place while they are mapped), lp_modules_unload_end, after it, keeps those that are gone
 * (nothing to do when the loader unloaded nothing). Both run on the program's thread around its dlclose, never in
 * a signal handler; memory for the note is the caller's u (released by lp_modules_unload_end). At most
 * LP_UNLOADED_MAX modules are kept for the process's lifetime (the same module unloaded again at the same place
 * counts once). */
#define LP_UNLOADED_MAX 4096
struct lp_unload {
    struct lp_arena arena;
    struct lp_mod *mods;
    size_t n, cap;
    unsigned long long subs; /* the loader's count of objects unloaded so far */
    int ok;
};
void lp_modules_unload_begin(struct lp_unload *u);
void lp_modules_unload_end(struct lp_unload *u);

#endif
