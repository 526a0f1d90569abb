/* safe.h — reading memory that may not be mapped (or may be freed under us) without crashing: the kernel does
 * the read (process_vm_readv on our own pid) and reports EFAULT instead of delivering SIGSEGV. A system call
 * per read, so used only where an address is not known to be valid: classifying a lock address, walking
 * another thread's state, validating a type object the first time it is seen. */
#ifndef LP_PY_SAFE_H
#define LP_PY_SAFE_H

#include <stddef.h>
#include <stdint.h>

/* Returns 0 when all n bytes were read. */
int lp_safe_read(void *dst, uintptr_t src, size_t n);
int lp_safe_ptr(uintptr_t src, uintptr_t *out);
/* Whether [a, a+n) lies within one page (then it is mapped if any byte of it is known to be). */
static inline int lp_same_page(uintptr_t a, size_t n) { return (a >> 12) == ((a + n - 1) >> 12); }

#endif
