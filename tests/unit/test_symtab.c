/* Unit tests of modules.c and symtab.c in this test's own process: the module holding a function (path, bias,
 * build-id as the file's section headers say), a module unloaded by dlclose still found afterwards, and the
 * start-up lookups by name (a local symbol from .symtab, an exported one through the loader, a local symbol of
 * stripped libc from its build-id debug file when libc6-dbg is installed).
 * usage: test_symtab LIBRARY (a shared library this test may load and unload: tests/data/plugin.c) */
#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <elf.h>
#include <gnu/libc-version.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "modules.h"
#include "symtab.h"

_Atomic unsigned lp_fork_gen; /* thread.c's (safe.c renews its pid cache by it), not linked here */

__attribute__((noinline)) static int local_probe(int x) { return x * 3 + 1; }
int (*volatile keep)(int) = local_probe;

/* The build-id of a file, read the other way: from its .note.gnu.build-id section (section headers). */
static size_t file_build_id(const char *path, unsigned char *out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    Elf64_Ehdr eh;
    size_t n = 0;
    if (fread(&eh, sizeof eh, 1, f) == 1) {
        Elf64_Shdr *sh = calloc(eh.e_shnum, sizeof *sh);
        fseek(f, (long)eh.e_shoff, SEEK_SET);
        if (fread(sh, sizeof *sh, eh.e_shnum, f) == eh.e_shnum) {
            for (unsigned i = 0; i < eh.e_shnum && !n; i++) {
                if (sh[i].sh_type != SHT_NOTE || sh[i].sh_size > 4096)
                    continue;
                unsigned char buf[4096];
                fseek(f, (long)sh[i].sh_offset, SEEK_SET);
                if (fread(buf, 1, sh[i].sh_size, f) != sh[i].sh_size)
                    continue;
                Elf64_Nhdr *nh = (Elf64_Nhdr *)buf;
                if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4) {
                    memcpy(out, buf + sizeof *nh + 4, nh->n_descsz);
                    n = nh->n_descsz;
                }
            }
        }
        free(sh);
    }
    fclose(f);
    return n;
}

static void check_own_module(void)
{
    struct lp_arena a = {0};
    struct lp_modlist ml;
    CHECK(lp_modules_scan(&ml, &a) == 0);
    const struct lp_mod *m = lp_modules_find(&ml, (uintptr_t)local_probe);
    CHECK(m != NULL);
    if (!m)
        return;
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    CHECK(!strcmp(m->path, exe));
    Dl_info info;
    CHECK(dladdr((void *)local_probe, &info) && m->bias == (uintptr_t)info.dli_fbase); /* a PIE: first vaddr 0 */
    unsigned char id[64];
    size_t idn = file_build_id(exe, id);
    CHECK(idn > 0 && m->build_id_len == idn && !memcmp(m->build_id, id, idn));
    CHECK(!m->unloaded);
    /* a global in .bss (past the file's mappings) lies in the module too; the stack does not */
    static char in_bss[64 << 10];
    CHECK(lp_modules_find(&ml, (uintptr_t)&in_bss[60 << 10]) == m);
    int on_stack;
    CHECK(lp_modules_find(&ml, (uintptr_t)&on_stack) == NULL);

    /* the same module from the loader (start-up: no /proc/self/maps) */
    struct lp_mod viald;
    char vpath[4096];
    CHECK(lp_symtab_module_of((void *)local_probe, &viald, vpath, sizeof vpath) == 0 && !strcmp(vpath, m->path) &&
          viald.bias == m->bias && viald.lo == m->lo && viald.hi == m->hi && viald.build_id_len == m->build_id_len &&
          !memcmp(viald.build_id, m->build_id, m->build_id_len));
    const struct lp_mod *lc = lp_modules_find(&ml, (uintptr_t)gnu_get_libc_version);
    CHECK(lc && lp_symtab_module_of((void *)gnu_get_libc_version, &viald, vpath, sizeof vpath) == 0 &&
          !strcmp(vpath, lc->path) && viald.bias == lc->bias && viald.hi == lc->hi);
    CHECK(lp_symtab_module_of(&on_stack, &viald, vpath, sizeof vpath) == -1);

    /* start-up lookups */
    struct lp_symq q[] = {{.name = "local_probe"}, {.name = "no_such_symbol_anywhere"}};
    CHECK(lp_symtab_find(m, q, 2) == 1);
    CHECK(q[0].found && q[0].addr == (uintptr_t)local_probe && q[0].size > 0);
    CHECK(!q[1].found);

    /* (gnu_get_libc_version: a libc function no sanitizer runtime intercepts) */
    const struct lp_mod *libc = lp_modules_find(&ml, (uintptr_t)gnu_get_libc_version);
    CHECK(libc && strstr(libc->path, "libc.so"));
    if (libc) {
        struct lp_symq e = {.name = "gnu_get_libc_version"};
        CHECK(lp_symtab_find(libc, &e, 1) == 1 && e.addr == (uintptr_t)gnu_get_libc_version);
        /* a local symbol of stripped libc: only from its debug file */
        char dbg[256];
        int o = snprintf(dbg, sizeof dbg, "/usr/lib/debug/.build-id/%02x/", libc->build_id[0]);
        for (unsigned k = 1; k < libc->build_id_len; k++)
            o += snprintf(dbg + o, sizeof dbg - (size_t)o, "%02x", libc->build_id[k]);
        snprintf(dbg + o, sizeof dbg - (size_t)o, ".debug");
        struct lp_symq l = {.name = "__pthread_mutex_lock_full"};
        size_t got = lp_symtab_find(libc, &l, 1);
        if (access(dbg, R_OK) == 0)
            CHECK(got == 1 && l.addr >= libc->lo && l.addr < libc->hi && l.size > 0);
        else
            fprintf(stderr, "test_symtab: %s not installed (libc6-dbg): the debug-file lookup is not checked\n", dbg);
    }
    lp_arena_release(&a);
}

static void check_unloaded(const char *lib)
{
    void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    CHECK(h != NULL);
    if (!h)
        return;
    void *fn = dlsym(h, "plugin_run"), *var = dlsym(h, "plugin_lock");
    CHECK(fn && var);
    struct lp_arena a = {0};
    struct lp_modlist ml;
    CHECK(lp_modules_scan(&ml, &a) == 0);
    const struct lp_mod *m = lp_modules_find(&ml, (uintptr_t)fn);
    CHECK(m && strstr(m->path, "plugin") && m == lp_modules_find(&ml, (uintptr_t)var));
    struct lp_mod before = m ? *m : (struct lp_mod){0};
    char path[4096];
    snprintf(path, sizeof path, "%s", m ? m->path : "");
    before.path = path;
    lp_arena_release(&a);

    struct lp_unload u;
    lp_modules_unload_begin(&u);
    CHECK(dlclose(h) == 0);
    lp_modules_unload_end(&u);
    CHECK(dlopen(lib, RTLD_NOW | RTLD_NOLOAD) == NULL); /* really gone */

    CHECK(lp_modules_scan(&ml, &a) == 0);
    const struct lp_mod *g = lp_modules_find(&ml, (uintptr_t)fn);
    CHECK(g && g->unloaded && !strcmp(g->path, before.path) && g->bias == before.bias && g->lo == before.lo &&
          g->build_id_len == before.build_id_len && !memcmp(g->build_id, before.build_id, before.build_id_len));
    CHECK(g && g == lp_modules_find(NULL, (uintptr_t)var));
    lp_arena_release(&a);

    /* a dlclose that unloads nothing (another handle keeps the library) adds nothing */
    void *h1 = dlopen(lib, RTLD_NOW), *h2 = dlopen(lib, RTLD_NOW);
    lp_modules_unload_begin(&u);
    dlclose(h2);
    lp_modules_unload_end(&u);
    fn = dlsym(h1, "plugin_run");
    CHECK(lp_modules_scan(&ml, &a) == 0);
    g = lp_modules_find(&ml, (uintptr_t)fn);
    CHECK(g && !g->unloaded);
    lp_arena_release(&a);
    dlclose(h1);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_symtab LIBRARY\n");
        return 2;
    }
    check_own_module();
    check_unloaded(argv[1]);
    return CHECK_DONE();
}
