/* symbolize.c — see symbolize.h. One libdwfl session (Dwfl) per module file, opened on first use and kept;
 * addresses in a session are the ELF file's own (the module is reported at its link-time addresses), which is
 * what the profile's offsets are. Results are cached per (module, address); every string lives in the
 * symbolizer's pool until sym_free. */
#define _GNU_SOURCE 1
#include "symbolize.h"

#include <dlfcn.h>
#include <dwarf.h>
#include <elfutils/debuginfod.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <libiberty/demangle.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uthash.h>

#include "util.h"

struct var {
    uint64_t addr, size;
    Dwarf_Off die;  /* of the variable, in the module's Dwarf */
    Dwarf_Off spec; /* of its declaration (DW_AT_specification), whose place names it, else 0 */
    const char *name;
};

/* A variable's declaration inside a namespace, and its qualified name. */
struct decl {
    UT_hash_handle hh;
    Dwarf_Off die;
    const char *name;
};

struct smod {
    UT_hash_handle hh;
    const char *key; /* path NUL build-id */
    size_t key_len;
    const char *path, *build_id;
    Dwfl *dwfl;
    Dwfl_Module *mod; /* NULL: nothing names this module's addresses */
    int vars_depth;   /* variables indexed: 0 none yet, 1 outside functions, 2 also functions' statics */
    struct var *vars;
    size_t n_vars, cap_vars;
    struct decl *decls;
};

struct cached {
    UT_hash_handle hh;
    struct {
        struct smod *m;
        uint64_t addr;
    } key;
    struct sym_frame *frames;
    size_t n;
};

struct pool {
    struct pool *next;
    char data[];
};

/* The debuginfod client library, opened only when a file's recorded build is to be fetched (linking it would load
 * libcurl and some thirty libraries into every run of the CLI, `lockprof run` included). */
struct debuginfod {
    void *lib;
    debuginfod_client *client;
    debuginfod_client *(*begin)(void);
    int (*find_debuginfo)(debuginfod_client *, const unsigned char *, int, char **);
    void (*end)(debuginfod_client *);
};

struct symbolizer {
    struct smod *mods;
    struct cached *frames;
    struct pool *pool;
    struct debuginfod dbgd;
};

static char *keep(struct symbolizer *s, const char *str, size_t n)
{
    struct pool *p = xmalloc(sizeof *p + n + 1);
    p->next = s->pool;
    s->pool = p;
    memcpy(p->data, str, n);
    p->data[n] = 0;
    return p->data;
}

static char *keep_str(struct symbolizer *s, const char *str) { return str ? keep(s, str, strlen(str)) : NULL; }

struct symbolizer *sym_new(void) { return xcalloc(1, sizeof(struct symbolizer)); }

void sym_free(struct symbolizer *s)
{
    if (!s)
        return;
    struct smod *m, *mt;
    HASH_ITER(hh, s->mods, m, mt)
    {
        HASH_DEL(s->mods, m);
        if (m->dwfl)
            dwfl_end(m->dwfl);
        free(m->vars);
        struct decl *d, *dt;
        HASH_ITER(hh, m->decls, d, dt)
        {
            HASH_DEL(m->decls, d);
            free(d);
        }
        free(m);
    }
    struct cached *c, *ct;
    HASH_ITER(hh, s->frames, c, ct)
    {
        HASH_DEL(s->frames, c);
        free(c->frames);
        free(c);
    }
    for (struct pool *p = s->pool, *n; p; p = n) {
        n = p->next;
        free(p);
    }
    if (s->dbgd.client)
        s->dbgd.end(s->dbgd.client);
    /* (the library stays loaded: libcurl's global state, which it initialised, lives in its dependencies) */
    free(s);
}

/* A demangled C++ name (kept), or the name itself. The demangler is libiberty's (GNU binutils' and GCC's). */
static const char *demangle(struct symbolizer *s, const char *name)
{
    if (!name || name[0] != '_' || name[1] != 'Z')
        return name;
    char *d = cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI);
    if (!d)
        return name;
    const char *k = keep_str(s, d);
    free(d);
    return k;
}

/* "/a/b/../c/./d.c" -> "/a/c/d.c", lexically (for display; the file need not exist here). */
static const char *tidy_path(struct symbolizer *s, const char *path)
{
    if (!path || (!strstr(path, "/./") && !strstr(path, "/../") && strncmp(path, "./", 2)))
        return path ? keep_str(s, path) : NULL;
    size_t n = strlen(path);
    char *out = xmalloc(n + 1);
    size_t o = 0;
    const char *p = path;
    while (*p) {
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == 1 && p[0] == '.') {
            /* skip */
        } else if (len == 2 && p[0] == '.' && p[1] == '.' && o > 0 && !(o >= 2 && !strncmp(out + o - 2, "..", 2))) {
            while (o > 0 && out[o - 1] != '/')
                o--;
            if (o > 1)
                o--; /* the slash before the dropped component, unless it is the root */
            else if (o == 1 && out[0] != '/')
                o = 0;
        } else {
            if (o && out[o - 1] != '/')
                out[o++] = '/';
            memcpy(out + o, p, len);
            o += len;
        }
        if (!e)
            break;
        if (o == 0 && e == p)
            out[o++] = '/'; /* the root */
        p = e + 1;
    }
    out[o] = 0;
    const char *k = keep_str(s, out);
    free(out);
    return k;
}

/* A source file's path for display: made absolute with the compilation directory, then tidied. */
static const char *source_path(struct symbolizer *s, const char *comp_dir, const char *file)
{
    if (!file || file[0] == '/' || !comp_dir || !*comp_dir)
        return tidy_path(s, file);
    size_t cl = strlen(comp_dir), fl = strlen(file);
    char *j = xmalloc(cl + fl + 2);
    memcpy(j, comp_dir, cl);
    j[cl] = '/';
    memcpy(j + cl + 1, file, fl + 1);
    const char *k = tidy_path(s, j);
    free(j);
    return k;
}

/* ---- opening a module ----------------------------------------------------------------------------------- */

static char *debuginfo_path; /* NULL: elfutils' default (":.debug:/usr/lib/debug") */
static const Dwfl_Callbacks callbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = &debuginfo_path,
};

static void hex(const unsigned char *b, int n, char *out)
{
    for (int i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
    out[2 * (n > 0 ? n : 0)] = 0;
}

/* A session for the file at `file` (fd -1: opened by name), its module at link-time addresses, when the file's
 * build-id is `want` (or want is NULL). *found: the file's build-id ("" for none); *why: what failed otherwise. */
static int try_file(struct smod *m, const char *file, int fd, const char *want, char *found, const char **why)
{
    found[0] = 0;
    Dwfl *d = dwfl_begin(&callbacks);
    if (!d) {
        if (fd >= 0)
            close(fd);
        *why = "out of memory";
        return -1;
    }
    dwfl_report_begin(d);
    Dwfl_Module *mod = dwfl_report_elf(d, m->path, file, fd, 0, true);
    dwfl_report_end(d, NULL, NULL);
    if (!mod) {
        *why = dwfl_errmsg(-1);
        dwfl_end(d);
        return -1;
    }
    const unsigned char *bits;
    GElf_Addr vaddr;
    int n = dwfl_module_build_id(mod, &bits, &vaddr);
    if (n > 0 && n <= 64)
        hex(bits, n, found);
    if (want && strcmp(found, want)) {
        dwfl_end(d);
        return -1;
    }
    m->dwfl = d;
    m->mod = mod;
    return 0;
}

static void open_module(struct symbolizer *s, struct smod *m)
{
    char found[129] = "", other[129];
    const char *why = NULL;
    if (try_file(m, m->path, -1, m->build_id, found, &why) == 0)
        return;
    if (m->build_id && strlen(m->build_id) >= 4) {
        /* the recorded build's debug file: installed, or from debuginfod (only when DEBUGINFOD_URLS says where) */
        char dbg[512];
        snprintf(dbg, sizeof dbg, "/usr/lib/debug/.build-id/%.2s/%s.debug", m->build_id, m->build_id + 2);
        const char *w;
        if (access(dbg, R_OK) == 0 && try_file(m, dbg, -1, m->build_id, other, &w) == 0)
            return;
        const char *urls = getenv("DEBUGINFOD_URLS");
        if (urls && *urls) {
            struct debuginfod *c = &s->dbgd;
            if (!c->lib && (c->lib = dlopen("libdebuginfod.so.1", RTLD_NOW | RTLD_LOCAL))) {
                *(void **)&c->begin = dlsym(c->lib, "debuginfod_begin");
                *(void **)&c->find_debuginfo = dlsym(c->lib, "debuginfod_find_debuginfo");
                *(void **)&c->end = dlsym(c->lib, "debuginfod_end");
                c->client = c->begin && c->find_debuginfo && c->end ? c->begin() : NULL;
            }
            char *got = NULL;
            int fd = c->client ? c->find_debuginfo(c->client, (const unsigned char *)m->build_id, 0, &got) : -1;
            if (fd >= 0 && try_file(m, got, fd, m->build_id, other, &w) == 0) {
                free(got);
                return;
            }
            free(got);
        }
    }
    struct strbuf p = {0};
    text_esc(&p, m->path);
    if (why)
        fprintf(stderr, "lockprof: warning: %s: %s: its frames and locks are shown as module+offset\n", p.s, why);
    else
        fprintf(stderr, "lockprof: warning: %s has changed since the profile was written (build-id %s then, %s now): "
                "its frames and locks are shown as module+offset\n", p.s, m->build_id, *found ? found : "none");
    sb_free(&p);
}

static struct smod *module(struct symbolizer *s, const char *path, const char *build_id)
{
    size_t pl = strlen(path), bl = build_id ? strlen(build_id) : 0;
    char *key = xmalloc(pl + bl + 2);
    memcpy(key, path, pl + 1);
    memcpy(key + pl + 1, build_id ? build_id : "", bl + 1);
    struct smod *m;
    HASH_FIND(hh, s->mods, key, pl + bl + 1, m);
    if (m) {
        free(key);
        return m;
    }
    m = xcalloc(1, sizeof *m);
    m->key = keep(s, key, pl + bl + 1);
    m->key_len = pl + bl + 1;
    free(key);
    m->path = m->key;
    m->build_id = bl ? m->key + pl + 1 : NULL;
    HASH_ADD_KEYPTR(hh, s->mods, m->key, m->key_len, m);
    open_module(s, m);
    return m;
}

/* ---- functions ------------------------------------------------------------------------------------------ */

static const char *die_name(struct symbolizer *s, Dwarf_Die *die)
{
    Dwarf_Attribute a;
    const char *link = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &a));
    if (!link)
        link = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &a));
    if (link) {
        const char *d = demangle(s, link);
        if (d != link)
            return d;
    }
    const char *n = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &a));
    return n ? n : link;
}

static void push(struct sym_frame **v, size_t *n, size_t *cap, struct sym_frame f)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 4;
        *v = xrealloc(*v, *cap * sizeof **v);
    }
    (*v)[(*n)++] = f;
}

static size_t lookup_frames(struct symbolizer *s, struct smod *m, Dwarf_Addr addr, struct sym_frame **out)
{
    size_t n = 0, cap = 0;
    *out = NULL;
    if (!m->mod)
        return 0;
    const char *file = NULL;
    int line = 0;
    Dwarf_Addr bias;
    Dwarf_Die *cu = dwfl_module_addrdie(m->mod, addr, &bias);
    Dwarf_Attribute a;
    const char *comp_dir = cu ? dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &a)) : NULL;
    Dwfl_Line *l = dwfl_module_getsrc(m->mod, addr);
    if (l)
        file = source_path(s, dwfl_line_comp_dir(l), dwfl_lineinfo(l, NULL, &line, NULL, NULL, NULL));
    /* the innermost scope at addr, then the DIEs that hold it (dwarf_getscopes follows an inlined instance to its
     * abstract origin's scopes; the concrete nesting, caller after inlined callee, is dwarf_getscopes_die's) */
    Dwarf_Die *scopes = NULL, inner;
    int ns = cu ? dwarf_getscopes(cu, addr - bias, &scopes) : 0;
    if (ns > 0) {
        inner = scopes[0];
        free(scopes);
        scopes = NULL;
        ns = dwarf_getscopes_die(&inner, &scopes);
    }
    for (int i = 0; i < ns; i++) {
        int tag = dwarf_tag(&scopes[i]);
        if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram && tag != DW_TAG_entry_point)
            continue;
        const char *name = die_name(s, &scopes[i]);
        push(out, &n, &cap,
             (struct sym_frame){keep_str(s, name ? name : "??"), file, line > 0 ? (unsigned)line : 0,
                                tag == DW_TAG_inlined_subroutine});
        if (tag != DW_TAG_inlined_subroutine)
            break;
        /* the next frame is at this instance's call site */
        Dwarf_Word cf = 0, cl = 0;
        Dwarf_Files *files;
        size_t nf;
        file = NULL;
        line = 0;
        if (dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_file, &a), &cf) == 0 &&
            dwarf_getsrcfiles(cu, &files, &nf) == 0 && cf < nf)
            file = source_path(s, comp_dir, dwarf_filesrc(files, cf, NULL, NULL));
        if (dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_line, &a), &cl) == 0)
            line = (int)cl;
    }
    free(scopes);
    if (n && !(*out)[n - 1].inlined)
        return n;
    /* no DWARF (or no subprogram around the address): the ELF symbol, with the line if there is one */
    GElf_Off off;
    GElf_Sym sym;
    const char *name = dwfl_module_addrinfo(m->mod, addr, &off, &sym, NULL, NULL, NULL);
    if (!cu)
        file = NULL, line = 0; /* (a line of some other unit, found in a gap of the line tables) */
    if (name)
        push(out, &n, &cap, (struct sym_frame){keep_str(s, demangle(s, name)), n ? NULL : file,
                                                n ? 0 : (line > 0 ? (unsigned)line : 0), 0});
    return n;
}

const struct sym_frame *sym_frames(struct symbolizer *s, const char *path, const char *build_id, uint64_t addr,
                                   size_t *n_out)
{
    *n_out = 0;
    struct smod *m = module(s, path, build_id);
    if (!m->mod || !addr)
        return NULL;
    struct cached probe, *c;
    memset(&probe.key, 0, sizeof probe.key);
    probe.key.m = m;
    probe.key.addr = addr;
    HASH_FIND(hh, s->frames, &probe.key, sizeof probe.key, c);
    if (!c) {
        c = xcalloc(1, sizeof *c);
        c->key = probe.key;
        c->n = lookup_frames(s, m, addr - 1, &c->frames); /* the call before the return address */
        HASH_ADD(hh, s->frames, key, sizeof c->key, c);
    }
    *n_out = c->n;
    return c->n ? c->frames : NULL;
}

/* ---- variables ------------------------------------------------------------------------------------------ */

static int die_type(Dwarf_Die *die, Dwarf_Die *type)
{
    Dwarf_Attribute a;
    return dwarf_formref_die(dwarf_attr_integrate(die, DW_AT_type, &a), type) ? 0 : -1;
}

static uint64_t type_size(Dwarf_Die *type)
{
    Dwarf_Word n;
    return dwarf_aggregate_size(type, &n) == 0 ? n : 0;
}

static const char *join(struct symbolizer *s, const char *prefix, const char *name)
{
    size_t pl = strlen(prefix), nl = strlen(name);
    char *full = xmalloc(pl + nl + 1);
    memcpy(full, prefix, pl);
    memcpy(full + pl, name, nl + 1);
    const char *k = keep_str(s, full);
    free(full);
    return k;
}

static void add_var(struct symbolizer *s, struct smod *m, Dwarf_Die *die, const char *prefix, Dwarf_Addr bias)
{
    bool decl = false;
    Dwarf_Attribute a;
    if (dwarf_formflag(dwarf_attr(die, DW_AT_declaration, &a), &decl) == 0 && decl) {
        /* a declaration in a namespace: a definition elsewhere (DW_AT_specification) takes its qualified name */
        const char *n = dwarf_diename(die);
        if (n && *prefix) {
            struct decl *d = xcalloc(1, sizeof *d);
            d->die = dwarf_dieoffset(die);
            d->name = join(s, prefix, n);
            struct decl *old;
            HASH_FIND(hh, m->decls, &d->die, sizeof d->die, old);
            if (old)
                free(d);
            else
                HASH_ADD(hh, m->decls, die, sizeof d->die, d);
        }
        return;
    }
    Dwarf_Op *ops;
    size_t nops;
    if (!dwarf_attr(die, DW_AT_location, &a) || dwarf_getlocation(&a, &ops, &nops) || nops != 1 ||
        ops[0].atom != DW_OP_addr)
        return; /* not a variable at a fixed address (thread-local, on the stack, optimised out) */
    Dwarf_Die type;
    uint64_t size = die_type(die, &type) == 0 ? type_size(&type) : 0;
    const char *name = NULL;
    const char *link = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &a));
    if (link && demangle(s, link) != link)
        name = demangle(s, link);
    Dwarf_Off spec = 0;
    Dwarf_Die sd;
    if (!name) {
        const char *n = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &a));
        if (!n)
            return;
        name = join(s, prefix, n);
        if (dwarf_formref_die(dwarf_attr(die, DW_AT_specification, &a), &sd))
            spec = dwarf_dieoffset(&sd);
    }
    if (m->n_vars == m->cap_vars) {
        m->cap_vars = m->cap_vars ? 2 * m->cap_vars : 64;
        m->vars = xrealloc(m->vars, m->cap_vars * sizeof *m->vars);
    }
    m->vars[m->n_vars++] = (struct var){ops[0].number + bias, size, dwarf_dieoffset(die), spec, name};
}

/* The variables among `die` and its siblings, and inside namespaces (and with deep, functions and blocks). */
static void walk(struct symbolizer *s, struct smod *m, Dwarf_Die *first, const char *prefix, int deep,
                 Dwarf_Addr bias, int level)
{
    Dwarf_Die die = *first, child;
    if (level > 64)
        return;
    do {
        int tag = dwarf_tag(&die);
        const char *inner = NULL;
        if (tag == DW_TAG_variable) {
            add_var(s, m, &die, prefix, bias);
        } else if (tag == DW_TAG_namespace) {
            const char *n = dwarf_diename(&die);
            inner = n ? n : "(anonymous namespace)";
        } else if (deep && (tag == DW_TAG_subprogram || tag == DW_TAG_lexical_block)) {
            const char *n = tag == DW_TAG_subprogram ? die_name(s, &die) : NULL;
            inner = n ? n : "";
            if (n && strchr(n, '(')) /* a demangled C++ name with its parameters: its name without them */
                inner = keep(s, n, (size_t)(strchr(n, '(') - n));
        }
        if (inner && dwarf_child(&die, &child) == 0) {
            size_t pl = strlen(prefix), il = strlen(inner);
            char *p = xmalloc(pl + il + 3);
            memcpy(p, prefix, pl);
            memcpy(p + pl, inner, il);
            memcpy(p + pl + il, il ? "::" : "", il ? 3 : 1);
            walk(s, m, &child, p, deep, bias, level + 1);
            free(p);
        }
    } while (dwarf_siblingof(&die, &die) == 0);
}

static int by_addr(const void *a, const void *b)
{
    const struct var *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr ? 1 : x->die < y->die ? -1 : x->die > y->die;
}

static void index_vars(struct symbolizer *s, struct smod *m, int depth)
{
    m->n_vars = 0;
    m->vars_depth = depth;
    Dwarf_Die *cu = NULL, child;
    Dwarf_Addr bias;
    while ((cu = dwfl_module_nextcu(m->mod, cu, &bias)))
        if (dwarf_child(cu, &child) == 0)
            walk(s, m, &child, "", depth > 1, bias, 0);
    for (size_t i = 0; i < m->n_vars; i++) {
        struct decl *d = NULL;
        if (m->vars[i].spec)
            HASH_FIND(hh, m->decls, &m->vars[i].spec, sizeof m->vars[i].spec, d);
        if (d)
            m->vars[i].name = d->name;
    }
    if (m->n_vars)
        qsort(m->vars, m->n_vars, sizeof *m->vars, by_addr);
}

static const struct var *var_at(struct smod *m, uint64_t addr)
{
    size_t lo = 0, hi = m->n_vars;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (m->vars[mid].addr <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i-- > 0 && lo - i <= 8;)
        if (addr < m->vars[i].addr + (m->vars[i].size ? m->vars[i].size : 1))
            return &m->vars[i];
    return NULL;
}

/* Where a member starts in its struct, or -1. */
static int64_t member_offset(Dwarf_Die *member)
{
    Dwarf_Attribute a;
    Dwarf_Word w;
    if (!dwarf_attr(member, DW_AT_data_member_location, &a))
        return dwarf_tag(member) == DW_TAG_member ? 0 : -1; /* (union members have none) */
    if (dwarf_formudata(&a, &w) == 0)
        return (int64_t)w;
    Dwarf_Op *ops;
    size_t n;
    if (dwarf_getlocation(&a, &ops, &n) == 0 && n == 1 && ops[0].atom == DW_OP_plus_uconst)
        return (int64_t)ops[0].number;
    return -1;
}

/* Appends ".member" and "[index]" to `name` while the object at offset `d` of `type` lies inside a part larger
 * than the lock (an array element, a struct member), then "+0x.." for what is left. */
static void describe(struct strbuf *name, Dwarf_Die *type, uint64_t d, uint64_t lock_size)
{
    Dwarf_Die t = *type;
    for (int depth = 0; depth < 32; depth++) {
        if (dwarf_peel_type(&t, &t) != 0)
            break;
        uint64_t size = type_size(&t);
        if (size <= lock_size)
            break;
        int tag = dwarf_tag(&t);
        if (tag == DW_TAG_array_type) {
            Dwarf_Die elem, sub;
            uint64_t es;
            if (die_type(&t, &elem) || !(es = type_size(&elem)))
                break;
            /* the dimensions, outermost first; each index from the element count of those inside it */
            uint64_t dims[8];
            int nd = 0;
            if (dwarf_child(&t, &sub) == 0) {
                do {
                    if (dwarf_tag(&sub) != DW_TAG_subrange_type || nd == 8)
                        continue;
                    Dwarf_Attribute a;
                    Dwarf_Word c = 0, ub;
                    if (dwarf_formudata(dwarf_attr(&sub, DW_AT_count, &a), &c) != 0 &&
                        dwarf_formudata(dwarf_attr(&sub, DW_AT_upper_bound, &a), &ub) == 0)
                        c = ub + 1;
                    dims[nd++] = c;
                } while (dwarf_siblingof(&sub, &sub) == 0);
            }
            uint64_t idx = d / es, stride = 1;
            d %= es;
            for (int i = 1; i < nd; i++)
                stride *= dims[i] ? dims[i] : 1;
            for (int i = 0; i < (nd ? nd : 1); i++) {
                sb_printf(name, "[%llu]", (unsigned long long)(idx / stride));
                idx %= stride;
                if (i + 1 < nd)
                    stride /= dims[i + 1] ? dims[i + 1] : 1;
            }
            t = elem;
        } else if (tag == DW_TAG_structure_type || tag == DW_TAG_class_type || tag == DW_TAG_union_type) {
            /* the member holding [d, d + lock_size): the smallest one, for unions */
            Dwarf_Die mem, best;
            int64_t best_off = -1;
            uint64_t best_size = 0;
            if (dwarf_child(&t, &mem) != 0)
                break;
            do {
                int mt = dwarf_tag(&mem);
                if (mt != DW_TAG_member && mt != DW_TAG_inheritance)
                    continue;
                Dwarf_Die mty;
                int64_t off = member_offset(&mem);
                uint64_t ms = die_type(&mem, &mty) == 0 ? type_size(&mty) : 0;
                if (off < 0 || d < (uint64_t)off || d + lock_size > (uint64_t)off + ms)
                    continue;
                if (best_off < 0 || ms < best_size) {
                    best = mem;
                    best_off = off;
                    best_size = ms;
                }
            } while (dwarf_siblingof(&mem, &mem) == 0);
            if (best_off < 0)
                break;
            const char *mn = dwarf_tag(&best) == DW_TAG_member ? dwarf_diename(&best) : NULL;
            if (mn)
                sb_printf(name, ".%s", mn);
            d -= (uint64_t)best_off;
            if (die_type(&best, &t))
                break;
        } else {
            break;
        }
    }
    if (d)
        sb_printf(name, "+0x%llx", (unsigned long long)d);
}

const char *sym_data(struct symbolizer *s, const char *path, const char *build_id, uint64_t addr, uint64_t size)
{
    struct smod *m = module(s, path, build_id);
    if (!m->mod)
        return NULL;
    if (!m->vars_depth)
        index_vars(s, m, 1);
    const struct var *v = var_at(m, addr);
    if (!v && m->vars_depth == 1) {
        index_vars(s, m, 2); /* a function's static: the whole tree, once */
        v = var_at(m, addr);
    }
    Dwarf_Addr bias;
    Dwarf *dw = v ? dwfl_module_getdwarf(m->mod, &bias) : NULL;
    Dwarf_Die die, type;
    if (dw && dwarf_offdie(dw, v->die, &die)) {
        struct strbuf name = {0};
        sb_puts(&name, v->name);
        if (die_type(&die, &type) == 0)
            describe(&name, &type, addr - v->addr, size ? size : 1);
        else if (addr != v->addr)
            sb_printf(&name, "+0x%llx", (unsigned long long)(addr - v->addr));
        const char *k = keep_str(s, name.s);
        sb_free(&name);
        return k;
    }
    /* no DWARF for it: the ELF symbol holding it */
    GElf_Off off;
    GElf_Sym sym;
    const char *sn = dwfl_module_addrinfo(m->mod, addr, &off, &sym, NULL, NULL, NULL);
    if (!sn)
        return NULL;
    struct strbuf name = {0};
    sb_puts(&name, demangle(s, sn));
    if (off)
        sb_printf(&name, "+0x%llx", (unsigned long long)off);
    const char *k = keep_str(s, name.s);
    sb_free(&name);
    return k;
}
