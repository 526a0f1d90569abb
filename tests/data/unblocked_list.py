"""Slow paths of a list's lock that block and slow paths that never do, both certain (free-threaded builds only).

 - never blocking: the main thread calls CPython's exported PyMutex_Lock, the slow path itself, on the list's
   unlocked ob_mutex UNBLOCKED times (and unlocks it) before any other thread exists;
 - blocking: two threads run worker() as bench/ft_list.py does (append and pop on the list); a holder thread keeps
   the list locked (list.sort with a busy key function) until both are blocked on it (held.py); then they go on
   for N iterations, contending as they happen to.

Usage: python unblocked_list.py [N]
Prints the list's address and UNBLOCKED."""
import ctypes
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import held  # noqa: E402

UNBLOCKED = 20
OB_MUTEX = held.OB_MUTEX
shared = [0, 1]


def worker(n):
    append, pop = shared.append, shared.pop
    for i in range(n):
        append(i)
        pop()


def lock_unlocked(times):
    lock, unlock = ctypes.pythonapi.PyMutex_Lock, ctypes.pythonapi.PyMutex_Unlock
    lock.argtypes = unlock.argtypes = [ctypes.c_void_p]
    bits = ctypes.c_uint8.from_address(id(shared) + OB_MUTEX)
    for _ in range(times):
        if bits.value != 0:
            sys.exit(f"unblocked_list.py: ob_mutex not at +{OB_MUTEX} (bits {bits.value})")
        lock(id(shared) + OB_MUTEX)
        if bits.value != 1:
            sys.exit(f"unblocked_list.py: PyMutex_Lock did not lock +{OB_MUTEX} (bits {bits.value})")
        unlock(id(shared) + OB_MUTEX)


n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
lock_unlocked(UNBLOCKED)
held.run(lambda: shared.sort(key=held.spin_once), [lambda: worker(n)] * 2, ordered=False, obj=shared)
print(hex(id(shared)), UNBLOCKED)
