// symbols_cpp.cpp — a C++ program for the CLI's demangling (tests/integration/test_symbols.py): a thread of
// ns::Worker::run waits once for ns::TerminateFlagMutex, a std::mutex with internal linkage in a namespace
// (its ELF symbol is _ZN2nsL18TerminateFlagMutexE), while main holds it.
#include <pthread.h>
#include <sched.h>

#include <cstdio>
#include <mutex>
#include <thread>

namespace ns {
static std::mutex TerminateFlagMutex;

struct Worker {
    long done = 0;
    __attribute__((noinline)) void run();
};

void Worker::run()
{
    std::lock_guard<std::mutex> guard(TerminateFlagMutex); // wait: run
    done++;
}
} // namespace ns

int main()
{
    ns::Worker w;
    pthread_mutex_t *m = ns::TerminateFlagMutex.native_handle();
    ns::TerminateFlagMutex.lock();
    std::thread t(&ns::Worker::run, &w);
    // until the thread sleeps on the mutex (glibc's lock word is 2 once a waiter is queued in the kernel)
    while (__atomic_load_n(&m->__data.__lock, __ATOMIC_ACQUIRE) != 2)
        sched_yield();
    ns::TerminateFlagMutex.unlock();
    t.join();
    std::puts(w.done == 1 ? "done" : "lost");
    return 0;
}
