#!/usr/bin/env python3
"""locked_increment reference: PROCS processes each add ITERS times to one
multiprocessing.Value('i') under its get_lock(), as the lab sheet does.
Prints the cost per increment in nanoseconds: (last finish - common start) / total."""
import multiprocessing as mp
import sys
import time


def work(value, iters, barrier, finished):
    barrier.wait()
    for _ in range(iters):
        with value.get_lock():
            value.value += 1
    finished.put(time.monotonic_ns())


def main():
    procs, iters = int(sys.argv[1]), int(sys.argv[2])
    value = mp.Value("i", 0)
    barrier = mp.Barrier(procs + 1)
    finished = mp.Queue()
    workers = [mp.Process(target=work, args=(value, iters, barrier, finished)) for _ in range(procs)]
    for w in workers:
        w.start()
    barrier.wait()
    start = time.monotonic_ns()
    last = max(finished.get() for _ in workers)
    for w in workers:
        w.join()
    assert value.value == procs * iters, value.value
    print((last - start) / (procs * iters))


if __name__ == "__main__":
    main()
