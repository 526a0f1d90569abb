"""A free-threaded thread that waits for a lock it holds itself, on every CPython that has critical sections.

`d[K()] = i` holds d's critical section while it compares the new key with the colliding one (K.__eq__); that
sorts `lst`, and list.sort holds lst's critical section while it calls the key function, which stores into d.
So the thread enters a critical section on d while d's lock is held by its own critical section *below the top
one* (lst's): 3.13 and 3.14 both call PyMutex_Lock on it, spin, and park until the park's detach suspends the
thread's own critical sections (3.14 only skips the re-lock when the *top* critical section holds the mutex).

Usage: python nested_self_held.py [rounds]. Prints id(d) in hex."""
import sys

d = {}
lst = [3, 1, 2]


class K:
    def __hash__(self):
        return 1

    def __eq__(self, other):
        lst.sort(key=lambda x: d.__setitem__("z", x) or x)  # the self-held line
        return False


d[K()] = 0
for i in range(int(sys.argv[1]) if len(sys.argv) > 1 else 50):
    d[K()] = i
print(hex(id(d)))
