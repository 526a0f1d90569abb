"""logging_queue.py — the Python row of bench/run.py's real programs: threads log through the standard library's
logging into a bounded queue.Queue (QueueHandler), and a QueueListener thread formats the records to /dev/null.
What contends: the queue's lock and its conditions (threading.Lock and Condition, semaphores on 3.11), the
handlers' locks (threading.RLock), and the GIL. Usage: logging_queue.py [threads, default 4] [records per thread,
default 20000]; prints nothing."""
import logging
import logging.handlers
import os
import queue
import sys
import threading


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 4
    records = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    q = queue.Queue(maxsize=1000)
    sink = logging.StreamHandler(open(os.devnull, "w"))
    sink.setFormatter(logging.Formatter("%(asctime)s %(threadName)s %(levelname)s %(message)s"))
    listener = logging.handlers.QueueListener(q, sink)
    log = logging.getLogger("bench")
    log.addHandler(logging.handlers.QueueHandler(q))
    log.setLevel(logging.INFO)
    log.propagate = False
    listener.start()

    def work(i):
        for k in range(records):
            log.info("worker %d record %d", i, k)

    ts = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    listener.stop()


if __name__ == "__main__":
    main()
