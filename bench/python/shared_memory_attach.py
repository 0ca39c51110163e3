#!/usr/bin/env python3
"""attach_detach reference: ITERS times open an existing
multiprocessing.shared_memory.SharedMemory by name, write its first byte, close it.
Prints the cost per cycle in nanoseconds."""
import sys
import time
from multiprocessing import shared_memory

# The same size as a shmd Value<int> mapping: 128-byte header + one int.
SIZE = 132


def main():
    iters = int(sys.argv[1])
    owner = shared_memory.SharedMemory(create=True, size=SIZE)
    try:
        start = time.monotonic_ns()
        for _ in range(iters):
            seg = shared_memory.SharedMemory(name=owner.name)
            seg.buf[0] = 1
            seg.close()
        elapsed = time.monotonic_ns() - start
    finally:
        owner.close()
        owner.unlink()
    print(elapsed / iters)


if __name__ == "__main__":
    main()
