/* patch.h — redirects a function's entry to a hook, keeping the original callable through a trampoline.
 * x86-64 only. The first instructions are decoded with Zydis (opened on first use), copied to a trampoline
 * near the function (RIP-relative operands re-targeted), followed by a jump back; the entry gets a 5-byte jump to
 * a relay that jumps to the hook. Refused (function left alone, reason returned) when the prologue holds a
 * branch, when any branch in the function lands inside the overwritten bytes, or when memory cannot be made
 * writable. Must run before other threads execute the function (lockprof patches in its constructor). */
#ifndef LP_PY_PATCH_H
#define LP_PY_PATCH_H

#include <stddef.h>
#include <stdint.h>

/* On success returns the trampoline (call it as the original function) and leaves *why NULL. */
void *lp_patch(uintptr_t fn, size_t fn_size, void *hook, const char **why);
/* Whether patching is possible at all (the disassembler loads). */
int lp_patch_ready(void);
/* Unloads the disassembler once every function is patched (the trampolines do not need it). */
void lp_patch_done(void);
/* [lo, hi) of the memory holding relays and trampolines (hidden from stacks), 0/0 when none. */
void lp_patch_range(uintptr_t *lo, uintptr_t *hi);

#endif
