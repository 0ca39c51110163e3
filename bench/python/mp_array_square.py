#!/usr/bin/env python3
"""bulk_square reference: the lab sheet's exercise 2 loop (a[i] = a[i] ** 2) over a
multiprocessing.Array('i', N), split between PROCS processes.
Prints the cost per element in nanoseconds: (last finish - common start) / N."""
import multiprocessing as mp
import sys
import time


def square(array, lo, hi, barrier, finished):
    barrier.wait()
    for i in range(lo, hi):
        array[i] = array[i] ** 2
    finished.put(time.monotonic_ns())


def main():
    procs, n = int(sys.argv[1]), int(sys.argv[2])
    array = mp.Array("i", [i & 0x3FFF for i in range(n)])
    barrier = mp.Barrier(procs + 1)
    finished = mp.Queue()
    bounds = [n * p // procs for p in range(procs + 1)]
    workers = [mp.Process(target=square, args=(array, bounds[p], bounds[p + 1], barrier, finished))
               for p in range(procs)]
    for w in workers:
        w.start()
    barrier.wait()
    start = time.monotonic_ns()
    last = max(finished.get() for _ in workers)
    for w in workers:
        w.join()
    assert array[n - 1] == ((n - 1) & 0x3FFF) ** 2
    print((last - start) / n)


if __name__ == "__main__":
    main()
