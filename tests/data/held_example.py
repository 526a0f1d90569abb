"""Runs the functions of one of examples/python's scripts in two waiter threads that must wait for the example's
shared object: a holder thread keeps the object locked until both are blocked on it (held.py). The first waiter is
handed the lock by the holder, the second by the first, while it runs the example's own line.

The waiters run, in this order, the functions test_python.py's OBJECT_EXAMPLES lists for the example: the second
one's wait must end in the first one's code.

Usage: python held_example.py examples/python/<name>.py [rlock]
(rlock: lock_hotspot's stats_lock becomes a threading.RLock.) Prints the address of the shared object."""
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import held  # noqa: E402

ex = held.load(sys.argv[1])
name = ex.__name__
armed = False


class Slow:
    """Busy in __eq__ / __del__ while armed: the lock the interpreter holds around that call stays held."""
    def __init__(self, h=1 << 40):
        self.h = h

    def __hash__(self):
        return self.h

    def __eq__(self, other):
        if armed:
            held.hold_spin()
        return self is other

    def __del__(self):
        if armed:
            held.hold_spin()


def armed_call(fn, *args, **kw):
    global armed
    armed = True
    try:
        fn(*args, **kw)
    finally:
        armed = False


if name == "list_queue":  # list.sort keeps the list locked while it calls the key function
    obj = ex.queue
    obj.extend([0, 1])
    hold = lambda: obj.sort(key=held.spin_once)  # noqa: E731
    waiters = [lambda: ex.put(1), ex.take]
elif name == "deque_work":  # deque.count compares the items with the deque locked
    obj = ex.work
    obj.append(Slow())
    ex.start = threading.Barrier(1)  # the example's start line (set by its main)
    hold = lambda: armed_call(obj.count, None)  # noqa: E731
    waiters = [lambda: ex.push(1), lambda: ex.pop(1)]
elif name == "dict_cache":  # a key colliding with one in the dict is compared with the dict locked
    obj = ex.cache
    obj[Slow()] = 0
    hold = lambda: armed_call(obj.__setitem__, Slow(), 1)  # noqa: E731
    waiters = [lambda: ex.store(1, 1), lambda: ex.lookup(1)]
elif name == "shared_set":  # likewise for a set
    obj = ex.seen
    obj.add(Slow())
    hold = lambda: armed_call(obj.add, Slow())  # noqa: E731
    waiters = [lambda: ex.mark(1), lambda: ex.unmark(1)]
elif name == "order_counter":  # an attribute store drops the old value with the instance locked (__del__)
    obj = ex.order

    def hold():
        obj.total = Slow()  # only referenced by the instance, owned by this thread: freed by the next store
        armed_call(setattr, obj, "total", 0)
    waiters = [lambda: ex.add_item(1), lambda: ex.add_item(2)]
elif name == "lock_hotspot":  # a threading.Lock: held across sleeps, inside the example's own update()
    if sys.argv[2:] == ["rlock"]:
        ex.stats_lock = threading.RLock()
    obj = ex.stats_lock
    slow_sum = ex.slow_sum

    def patched(k):
        if armed:  # the holder's update(); a waiter's returns at once (after the holder let go)
            held.hold_sleep()
        return slow_sum(k)
    ex.slow_sum = patched
    hold = lambda: armed_call(ex.update)  # noqa: E731
    waiters = [lambda: ex.worker(1), lambda: ex.worker(1)]
else:
    sys.exit(f"held_example.py: no recipe for {name}")

held.run(hold, waiters, obj=None if name == "lock_hotspot" else obj)
print(hex(id(obj)))
