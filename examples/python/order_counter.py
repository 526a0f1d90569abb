"""Every thread updates attributes of one shared object of a user class. On a free-threaded build the instance
is locked for each attribute store; lockprof names the object type `Order`.

Usage: python order_counter.py [threads] [updates per thread]
"""
import sys
import threading


class Order:
    def __init__(self):
        self.items = 0
        self.total = 0


order = Order()


def add_item(price):
    order.items = order.items + 1  # contended: stores to the shared instance
    order.total = order.total + price


def worker(n):
    start.wait()  # all threads begin together, so they overlap
    for i in range(n):
        add_item(i % 10)


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 200_000
    global start
    start = threading.Barrier(threads)
    ts = [threading.Thread(target=worker, args=(n,)) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(f"items={order.items}")


if __name__ == "__main__":
    main()
