"""The kernel's view of a run, for bench/run.py's real-program rows: how long each thread slept in the kernel on
each futex address (bpftrace: sys_enter_futex / sys_exit_futex of FUTEX_WAIT, WAIT_BITSET, LOCK_PI and
WAIT_REQUEUE_PI, summed per process and address, in the kernel, for the traced command and every process and
thread it starts), and lockprof's figures for the same addresses, read from the profiles of the same run.

What maps to what: a mutex (pthread_mutex_t) waits on its first word, its own address; a condition variable
(glibc 2.36 pthread_cond_t) on one of its two __g_signals words, at offsets 40 and 44; a semaphore (sem_t, and so
CPython 3.11's threading.Lock) on its address. lockprof's lock records carry these addresses (docs/FORMAT.md).
"""
import collections
import os
import re
import shutil
import subprocess
import tempfile
import time

FUTEX_BT = r"""
BEGIN { @tids[cpid] = 1; }
tracepoint:sched:sched_process_fork /@tids[args->parent_pid]/ { @tids[args->child_pid] = 1; }
tracepoint:syscalls:sys_enter_futex /@tids[tid]/ {
  $op = args->op & 0x7f;
  if ($op == 0 || $op == 9 || $op == 6 || $op == 11) { @t[tid] = nsecs; @a[tid] = args->uaddr; @o[tid] = $op; }
}
tracepoint:syscalls:sys_exit_futex /@t[tid]/ {
  @ns[pid, @a[tid], @o[tid]] = sum(nsecs - @t[tid]); @n[pid, @a[tid], @o[tid]] = count();
  delete(@t[tid]); delete(@a[tid]); delete(@o[tid]);
}
END { clear(@tids); clear(@t); clear(@a); clear(@o); }
"""

COND_FUTEX_OFFSETS = (40, 44)  # glibc 2.36: __g_signals[0], __g_signals[1] in struct __pthread_cond_s


def available():
    """None when bpftrace can run here, else why not."""
    if not shutil.which("bpftrace"):
        return "bpftrace not installed (scripts/setup.sh --test installs it)"
    if os.geteuid() != 0:
        return "bpftrace needs root"
    if not os.path.isdir("/sys/kernel/tracing/events/syscalls"):
        subprocess.run(["mount", "-t", "tracefs", "nodev", "/sys/kernel/tracing"], stderr=subprocess.DEVNULL)
        if not os.path.isdir("/sys/kernel/tracing/events/syscalls"):
            return "no syscall tracepoints (tracefs not mounted at /sys/kernel/tracing)"
    return None


def traced(cmd, env=None, stdout=None, by_cmd=False):
    """Runs cmd under bpftrace's futex accounting. Returns (wall seconds of the whole traced run, {(pid, address):
    [ns, calls]}, or with by_cmd {(pid, address, futex command): [ns, calls]}). bpftrace -c splits its command at
    spaces, so cmd goes through a small script."""
    with tempfile.TemporaryDirectory(prefix="lockprof-kref-") as d:
        script, prog = os.path.join(d, "futex.bt"), os.path.join(d, "cmd.sh")
        with open(script, "w") as f:
            f.write(FUTEX_BT)
        with open(prog, "w") as f:
            f.write("#!/bin/sh\nexec " + " ".join("'" + a.replace("'", "'\\''") + "'" for a in cmd)
                    + (" > " + stdout if stdout else "") + "\n")
        e = dict(os.environ)
        e.update(env or {})
        t0 = time.monotonic()
        p = subprocess.run(["bpftrace", "-c", "/bin/sh " + prog, script], env=e, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        wall = time.monotonic() - t0
    if p.returncode != 0:
        raise RuntimeError(f"bpftrace -c {' '.join(cmd)} failed: {p.stderr[-500:]}")
    futex = collections.defaultdict(lambda: [0, 0])
    for line in p.stdout.splitlines():
        m = re.match(r"@(ns|n)\[(\d+), (0x[0-9a-f]+), (\d+)\]: (\d+)", line)
        if m:
            key = (int(m.group(2)), int(m.group(3), 16)) + ((int(m.group(4)),) if by_cmd else ())
            futex[key][0 if m.group(1) == "ns" else 1] += int(m.group(5))
    return wall, futex


def profile_locks(path):
    """(pid, {(kind, address): {"name", "wait_ns", "est_ns", "count"}}) of one profile, from its `l` and `a`
    records (docs/FORMAT.md); est_ns is the part flagged reacquire (estimated)."""
    strs, locks, pid = {}, {}, None
    out = collections.defaultdict(lambda: {"name": "", "wait_ns": 0, "est_ns": 0, "count": 0})
    with open(path) as fh:
        for line in fh:
            f = line.rstrip("\n").split(" ")
            if f[0] == "m" and f[1] == "pid":
                pid = int(f[2])
            elif f[0] == "s":
                strs[int(f[1])] = " ".join(f[2:])
            elif f[0] == "l":
                locks[int(f[1])] = (f[2], int(f[3], 16), strs.get(int(f[4]), "?"))
            elif f[0] == "a":
                kind, addr, name = locks[int(f[1])]
                e = out[(kind, addr)]
                e["name"] = name
                e["count"] += int(f[7])
                e["wait_ns"] += int(f[8])
                if int(f[6], 16) & 0x04:
                    e["est_ns"] += int(f[8])
    return pid, dict(out)


def kernel_ns(futex, pid, kind, addr):
    """The kernel's wait on lock (kind, addr) of process pid."""
    if kind == "pthread_cond":
        return sum(futex.get((pid, addr + o), [0])[0] for o in COND_FUTEX_OFFSETS)
    return futex.get((pid, addr), [0])[0]


def compare(futex, profiles, kinds=("pthread_mutex",)):
    """[(kind, name, address, lockprof ns, estimated ns, kernel ns)] for the locks of `kinds` in the profiles,
    the most kernel time first."""
    rows = []
    for path in profiles:
        pid, locks = profile_locks(path)
        for (kind, addr), e in locks.items():
            if kind in kinds:
                rows.append((kind, e["name"], addr, e["wait_ns"], e["est_ns"], kernel_ns(futex, pid, kind, addr)))
    rows.sort(key=lambda r: (-r[5], -r[3], r[2]))
    return rows
