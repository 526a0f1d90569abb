/* symbolize.h — names for the native frames and global locks of a profile, found at read time in the modules'
 * files (format version 2 records where each lies: module path, build-id, offset; docs/FORMAT.md), with
 * elfutils (libdwfl, libdw): function names with their inline chains (an inlined function is a frame of its own,
 * at its call site's file and line in the next one), file and line, C++ names demangled (libiberty's
 * cplus_demangle, GNU binutils' and GCC's), and global or static variables by their DWARF name with array index and struct member
 * (`lru_locks[18]`, `stats_state.mutex`), else by their ELF symbol (`table+0x40`).
 *
 * Debug information comes from the file itself, its .gnu_debuglink or build-id debug file (under /usr/lib/debug),
 * or, when DEBUGINFOD_URLS is set, a debuginfod server; nothing is fetched when it is not set. A file whose
 * build-id differs from the one the profile recorded (rebuilt, upgraded or gone since) is never used for names:
 * the debug file of the recorded build-id is, when one is found, else its frames and locks keep module+offset, and
 * stderr gets one warning per such file. */
#ifndef LP_SYMBOLIZE_H
#define LP_SYMBOLIZE_H

#include <stddef.h>
#include <stdint.h>

struct sym_frame {
    const char *func; /* never NULL when returned */
    const char *file; /* NULL when the module has no line information for it */
    unsigned line;
    int inlined;      /* inlined into the next frame (which has the same address) */
};

struct symbolizer;

struct symbolizer *sym_new(void);
/* Frees the symbolizer and every string it returned. */
void sym_free(struct symbolizer *s);

/* The frames at ELF address `addr` of the module (path, build-id in lowercase hex or NULL), innermost first: the
 * inlined functions, then the function that holds them; n_out of them. NULL (n_out 0) when nothing names it.
 * `addr` is a return address (what stacks hold): the call before it is what is looked up. */
const struct sym_frame *sym_frames(struct symbolizer *s, const char *path, const char *build_id, uint64_t addr,
                                   size_t *n_out);

/* The name of the object of `size` bytes at ELF address `addr` of the module (a lock in a global or static
 * variable), or NULL. */
const char *sym_data(struct symbolizer *s, const char *path, const char *build_id, uint64_t addr, uint64_t size);

#endif
