# Exercise 1 of the lab sheet: "Start five processes using multiprocessing.Process objects, each
# process will update shared memory Value object using their own target function. After execution
# of all child processes, parent process should display the value of the object."
#
# As in shm-lab's exercise1: each worker adds its own power of ten ITERATIONS times (default 1000),
# so the total, 11111 * ITERATIONS, is known whatever the scheduling, and its digits show each
# worker's share. Every update is a read-modify-write that only the Value's lock keeps whole.
import sys

import shmd.multiprocessing as multiprocessing


def add_ones(v, n):
    for _ in range(n):
        with v.get_lock():
            v.value += 1


def add_tens(v, n):
    # A separate read and write, which would lose updates without the lock.
    for _ in range(n):
        with v.get_lock():
            seen = v.value
            v.value = seen + 10


def add_hundreds(v, n):
    # Ten steps of 10; the lock keeps other workers from seeing the steps in between.
    for _ in range(n):
        with v.get_lock():
            for _ in range(10):
                v.value += 10


def add_thousands(v, n):
    # Overshoots by 500 and takes it back; no other lock holder sees the overshoot.
    for _ in range(n):
        with v.get_lock():
            v.value += 1500
            v.value -= 500


def add_ten_thousands(v, n):
    # Two halves of 5000.
    for _ in range(n):
        with v.get_lock():
            v.value = v.value + 5000
            v.value = v.value + 5000


if __name__ == '__main__':
    iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    v = multiprocessing.Value('l', 0)
    targets = [add_ones, add_tens, add_hundreds, add_thousands, add_ten_thousands]
    processes = [multiprocessing.Process(target=f, args=(v, iterations)) for f in targets]
    for p in processes:
        p.start()
    for p in processes:
        p.join()
    print(v.value)
