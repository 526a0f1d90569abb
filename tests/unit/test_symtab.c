/* Unit tests of symbol tables: lp_sym_sort against a reference (order, stability, nothing lost) on both of its
 * paths (radix keys, and the merge sort when address and index do not fit one key), and an address lookup in
 * this test's own executable through /proc/self/maps, which sorts a real table. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "symtab.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Sorts n symbols whose addresses are next() & mask (few distinct values when mask is small: many ties); the
 * size field carries each symbol's original position, to check stability. */
static void check_sort(size_t n, uint64_t mask)
{
    struct lp_arena a = {0};
    struct lp_sym *s = malloc((n ? n : 1) * sizeof *s);
    uint64_t sum = 0, xsum = 0;
    for (size_t i = 0; i < n; i++) {
        s[i] = (struct lp_sym){.addr = next() & mask, .size = i, .name = "x", .type = 2};
        sum += s[i].addr;
        xsum ^= s[i].addr * 31 + i;
    }
    CHECK(lp_sym_sort(s, n, &a) == 0);
    uint64_t sum2 = 0, xsum2 = 0;
    int order = 1, stable = 1;
    for (size_t i = 0; i < n; i++) {
        sum2 += s[i].addr;
        xsum2 ^= s[i].addr * 31 + s[i].size;
        if (i && s[i - 1].addr > s[i].addr)
            order = 0;
        if (i && s[i - 1].addr == s[i].addr && s[i - 1].size > s[i].size)
            stable = 0;
    }
    CHECK(order);
    CHECK(stable);
    CHECK(sum == sum2 && xsum == xsum2); /* the same symbols, each once */
    free(s);
    lp_arena_release(&a);
}

__attribute__((noinline)) int symtab_probe_function(int x) { return x * 3 + 1; }

int main(void)
{
    check_sort(0, ~0ull);
    check_sort(1, ~0ull);
    check_sort(2, 0xffff);
    check_sort(20000, 0xffffffull);      /* radix: a library's link-time addresses */
    check_sort(20000, 0xfull);           /* radix, 16 distinct addresses: ties everywhere */
    check_sort(5000, 0xffffffffffffull); /* radix, 48-bit addresses with a 13-bit index: 61-bit keys */
    check_sort(5000, ~0ull);             /* 64-bit addresses: the merge sort */
    check_sort(3, ~0ull >> 1);

    struct lp_arena a = {0};
    struct lp_modmap mm;
    CHECK(lp_modmap_build(&mm, &a) == 0);
    uintptr_t fn = (uintptr_t)symtab_probe_function;
    struct lp_module *m = lp_modmap_find(&mm, fn);
    CHECK(m != NULL);
    const struct lp_sym *s = m ? lp_module_lookup(&mm, m, fn + 2, 0) : NULL;
    CHECK(s && !strcmp(s->name, "symtab_probe_function"));
    s = m ? lp_module_lookup(&mm, m, (uintptr_t)main, 0) : NULL;
    CHECK(s && !strcmp(s->name, "main"));
    lp_modmap_close(&mm);
    lp_arena_release(&a);
    return CHECK_DONE();
}
