# Exercise 2 of the lab sheet: "Generate 10 random numbers between 0 and 10, and calculate square of
# each number such that process#1 calculates square of first five numbers and process#2 calculates
# square of remaining five numbers. Store the square results in an array (shared memory region)."
#
# As in shm-lab's exercise2: prints the numbers, then the squares. An optional SEED argument makes
# the numbers repeatable. The children get the numbers through the shared Array and square them in
# place, each knowing its half only by index; the halves never overlap, so no lock is needed.
import random
import sys

import shmd.multiprocessing as multiprocessing


def square(a, begin, end):
    for i in range(begin, end):
        a[i] = a[i] * a[i]


if __name__ == '__main__':
    if len(sys.argv) > 1:
        random.seed(int(sys.argv[1]))
    numbers = [random.randint(0, 10) for _ in range(10)]
    arr = multiprocessing.Array('i', numbers)
    p1 = multiprocessing.Process(target=square, args=(arr, 0, 5))
    p2 = multiprocessing.Process(target=square, args=(arr, 5, 10))
    p1.start()
    p2.start()
    p1.join()
    p2.join()
    print(numbers)
    print(arr[:])
