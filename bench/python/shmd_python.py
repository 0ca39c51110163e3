#!/usr/bin/env python3
"""The python/ figures: one sample of one side of one figure per run.

    shmd_python.py FIGURE SIDE SOCKET DAEMON_PID ARGS...

FIGURE is locked_increment, attach, array_slice_read or numpy_square; SIDE is shmd or
reference (attach also has reference_tracked). Prints the wall-clock cost per operation in
nanoseconds, then this process's CPU time per operation, then the daemon's CPU time per
operation (0 for the references), separated by spaces. shmd_bench interleaves the runs of the
two sides round after round and takes the medians (bench/python_figures.cpp, docs/performance.md).
Runs with the interpreter the shmd extension was built for, with the built package on PYTHONPATH.
"""
import multiprocessing as mp
import os
import sys
import time

PROCS = 5  # locked_increment's processes, as in the C++ figure


def daemon_cpu_ns(pid):
    """The daemon's user + system CPU time so far (from /proc, in clock ticks)."""
    if pid <= 0:
        return 0
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of stat(5)
    return ticks * 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def locked_shmd_worker(socket, name, iters, barrier, finished):
    import shmd

    value = shmd.Client(socket).attach_value(name, "i")
    barrier.wait()
    start = time.monotonic_ns()
    for _ in range(iters):
        with value.get_lock():
            value.value += 1
    finished.put((start, time.monotonic_ns()))


def locked_reference_worker(value, iters, barrier, finished):
    barrier.wait()
    start = time.monotonic_ns()
    for _ in range(iters):
        with value.get_lock():  # as the multiprocessing docs show
            value.value += 1
    finished.put((start, time.monotonic_ns()))


def locked_increment(side, socket, iters):
    """PROCS processes each add `iters` times under the lock; (last finish - first start) / total.
    Each worker reads the clock as it leaves the barrier: on a loaded machine the parent may be
    scheduled long after the barrier opened, and its clock would miss most of the run."""
    ctx = mp.get_context("fork")  # the same start method for both sides (3.11's default here)
    barrier = ctx.Barrier(PROCS + 1)
    finished = ctx.Queue()
    if side == "shmd":
        import shmd

        holder = shmd.Client(socket).create_value(f"bench.py.locked.{os.getpid()}", "i", 0, ephemeral=True)
        args = (socket, holder.name, iters, barrier, finished)
        target = locked_shmd_worker
    else:
        holder = ctx.Value("i", 0)
        args = (holder, iters, barrier, finished)
        target = locked_reference_worker
    workers = [ctx.Process(target=target, args=args) for _ in range(PROCS)]
    for w in workers:
        w.start()
    barrier.wait()
    times = [finished.get() for _ in workers]
    for w in workers:
        w.join()
    start, last = min(t[0] for t in times), max(t[1] for t in times)
    assert holder.value == PROCS * iters, holder.value
    return (last - start) / (PROCS * iters), None


def attach(side, socket, iters):
    """Attach an existing segment by name, write it, detach; `iters` times on one connection."""
    if side == "shmd":
        import shmd

        client = shmd.Client(socket)
        holder = client.create_value(f"bench.py.attach.{os.getpid()}", "i", 0, ephemeral=True)
        name = holder.name

        def cycle():
            v = client.attach_value(name, "i")
            v.value = 1
            # Dropped, as the C++ figure drops its handle: unmapped, and a one-way Detach sent.
            # v.detach() waits for the daemon's answer: a second round trip (docs/performance.md).
            del v
    else:
        from multiprocessing import resource_tracker, shared_memory

        # The same size as a shmd Value('i') mapping: 128-byte header + one int.
        holder = shared_memory.SharedMemory(create=True, size=132)
        name = holder.name
        if side == "reference":
            # Python 3.11 registers every SharedMemory it opens with the resource tracker (one
            # write to the tracker's pipe, which also wakes the tracker process); 3.13's
            # track=False leaves that out, and so does this reference: the best SharedMemory
            # can do. reference_tracked keeps it, as 3.11 ships it.
            shared_memory.resource_tracker = type("NoTracker", (), {
                "register": staticmethod(lambda *a: None), "unregister": staticmethod(lambda *a: None)})

        def cycle():
            seg = shared_memory.SharedMemory(name=name)
            seg.buf[0] = 1
            seg.close()
    for _ in range(min(iters, 1000)):  # warm up: the first connection's and pages' costs are not the figure
        cycle()
    cpu0, daemon0 = time.process_time_ns(), daemon_cpu_ns(DAEMON_PID)
    start = time.monotonic_ns()
    for _ in range(iters):
        cycle()
    elapsed = time.monotonic_ns() - start
    cpu, daemon = time.process_time_ns() - cpu0, daemon_cpu_ns(DAEMON_PID) - daemon0
    if side != "shmd":
        shared_memory.resource_tracker = resource_tracker
        holder.close()
        holder.unlink()
    return elapsed / iters, (cpu / iters, daemon / iters)


def array_slice_read(side, socket, n, reads):
    """a[:] of n 'i' elements, `reads` times; cost per element."""
    if side == "shmd":
        import shmd

        a = shmd.Client(socket).create_array(f"bench.py.slice.{os.getpid()}", "i", n, ephemeral=True)
    else:
        a = mp.Array("i", n, lock=False)  # a[:] reads under no lock on either side
    a[:] = range(n)  # values past the small-int cache, so every element is a new int on both sides
    first = a[:]
    assert first[n - 1] == n - 1
    del first
    start = time.monotonic_ns()
    for _ in range(reads):
        got = a[:]
        del got
    return (time.monotonic_ns() - start) / (n * reads), None


def numpy_square(side, socket, n, repeats):
    """numpy.square in place over n 'i' elements, `repeats` times; cost per element."""
    import numpy

    if side == "shmd":
        import shmd

        a = shmd.Client(socket).create_array(f"bench.py.square.{os.getpid()}", "i", n, ephemeral=True)
        x = numpy.frombuffer(a, dtype=numpy.int32)
    else:
        x = numpy.empty(n, dtype=numpy.int32)
    x[:] = numpy.arange(n, dtype=numpy.int32) & 0x3FFF  # every page touched before the clock starts
    elapsed = 0
    for _ in range(repeats):
        start = time.monotonic_ns()
        numpy.square(x, out=x)
        elapsed += time.monotonic_ns() - start
        x &= 0x3FFF  # keep the values small (outside the clock): the same work every repeat
    return elapsed / (n * repeats), None


DAEMON_PID = 0


def main():
    global DAEMON_PID
    figure, side, socket, DAEMON_PID = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    args = [int(a) for a in sys.argv[5:]]
    run = {"locked_increment": locked_increment, "attach": attach, "array_slice_read": array_slice_read,
           "numpy_square": numpy_square}[figure]
    wall, cpu = run(side, socket, *args)
    cpu_per_op, daemon_per_op = cpu if cpu else (float("nan"), float("nan"))
    print(wall, cpu_per_op, daemon_per_op)


if __name__ == "__main__":
    main()
