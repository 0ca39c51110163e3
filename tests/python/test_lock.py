"""Lock: the segment's robust recursive process-shared mutex, used as threading.RLock:
recursion, timeouts, release by a non-holder, exclusion across processes, owner_died after a
holder dies, and waits that release the GIL."""

import gc
import os
import signal
import subprocess
import sys
import threading
import time
import weakref

import pytest

import shmd
from conftest import python_child


@pytest.fixture
def value(client):
    return client.create_value("py.lock", "i", 0)


def test_acquire_release_and_recursion(value):
    lock = value.get_lock()
    assert lock.acquire() is True
    assert lock.acquire(timeout=0.01) is True
    assert lock.acquire(block=False) is True
    assert "held by this process" in repr(lock)
    for _ in range(3):
        lock.release()
    with pytest.raises(RuntimeError, match="un-acquired"):
        lock.release()
    assert repr(lock) == "<shmd.Lock of Value 'py.lock'>"


def test_every_lock_of_a_value_is_the_same_lock(value):
    a, b = value.get_lock(), value.get_lock()
    a.acquire()
    b.release()
    with pytest.raises(RuntimeError):
        a.release()


def test_context_manager(value):
    lock = value.get_lock()
    with lock:
        with lock:
            value.value += 1
    with pytest.raises(RuntimeError):
        lock.release()


def test_release_by_a_thread_that_does_not_hold_it_raises_runtime_error(value):
    lock = value.get_lock()
    lock.acquire()
    errors = []

    def other():
        try:
            lock.release()
        except RuntimeError as e:
            errors.append(e)

    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert len(errors) == 1
    lock.release()


def test_another_thread_waits_and_times_out(value):
    lock = value.get_lock()
    lock.acquire()
    results = []

    def other():
        results.append(lock.acquire(block=False))
        start = time.monotonic()
        results.append(lock.acquire(timeout=0.2))
        results.append(time.monotonic() - start)

    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert results[0] is False and results[1] is False and results[2] >= 0.19
    lock.release()


def test_a_waiting_thread_gets_the_lock_when_it_is_released_and_does_not_hold_the_gil(value):
    lock = value.get_lock()
    lock.acquire()
    got = threading.Event()

    def other():
        with lock:
            got.set()

    t = threading.Thread(target=other)
    t.start()
    ticks = 0
    deadline = time.monotonic() + 0.3
    while time.monotonic() < deadline:
        ticks += 1  # the waiting thread lets this one run
    assert ticks > 1000 and not got.is_set()
    lock.release()
    assert got.wait(30)
    t.join()


def test_bad_timeouts(value):
    lock = value.get_lock()
    with pytest.raises(ValueError):
        lock.acquire(block=False, timeout=1)
    with pytest.raises(ValueError):
        lock.acquire(timeout=-2)
    with pytest.raises(ValueError):
        lock.acquire(timeout=float("nan"))
    with pytest.raises(TypeError):
        lock.acquire(timeout="1")
    assert lock.acquire(timeout=-1)  # -1 means no limit, as threading's
    lock.release()


def test_detach_refuses_while_the_lock_is_held(value):
    lock = value.get_lock()
    lock.acquire()
    with pytest.raises(ValueError, match="lock"):
        value.detach()
    assert value.value == 0
    lock.release()
    value.detach()


def test_lock_excludes_other_processes(client, daemon):
    v = client.create_value("py.excl", "q", 0)
    code = f"""
import shmd
v = shmd.Client({daemon.socket!r}).attach_value("py.excl")
for _ in range(2000):
    with v.get_lock():
        v.value = v.value + 1
"""
    procs = [__import__("subprocess").Popen([__import__("sys").executable, "-c", code]) for _ in range(3)]
    for _ in range(2000):
        with v.get_lock():
            v.value = v.value + 1
    for p in procs:
        assert p.wait(120) == 0
    assert v.value == 8000


def test_owner_died_after_a_holder_is_killed(client, daemon):
    v = client.create_value("py.dead", "i", 0)
    lock = v.get_lock()
    r_fd, w_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r_fd)
            lock.acquire()
            v.value = 13  # half-way through an update
            os.write(w_fd, b"x")
            time.sleep(60)
        finally:
            os._exit(1)
    os.close(w_fd)
    assert os.read(r_fd, 1) == b"x"
    os.close(r_fd)
    assert lock.acquire(block=False) is False  # held by the child
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    assert lock.acquire(timeout=30) is True
    assert lock.owner_died is True and v.value == 13
    lock.release()
    assert lock.acquire() is True and lock.owner_died is False
    lock.release()


def test_owner_died_is_seen_by_another_process(client, daemon):
    v = client.create_value("py.dead2", "i", 0)
    r = python_child(f"""
import os, shmd
v = shmd.Client({daemon.socket!r}).attach_value("py.dead2")
v.get_lock().acquire()
os._exit(0)  # exits holding it
""")
    assert r.returncode == 0, r.stderr
    lock = v.get_lock()
    assert lock.acquire(timeout=30) and lock.owner_died
    lock.release()


def test_a_read_only_attachment_cannot_lock(client):
    client.create_value("py.rol", "i")
    ro = client.attach_value("py.rol", read_only=True)
    with pytest.raises(PermissionError):
        ro.get_lock().acquire()
    with pytest.raises(PermissionError):
        ro.get_lock().acquire(block=False)


def test_ctrl_c_interrupts_a_blocked_acquire(value):
    lock = value.get_lock()
    holder_ready = threading.Event()
    done = threading.Event()

    def holder():
        lock.acquire()
        holder_ready.set()
        done.wait(30)
        lock.release()

    t = threading.Thread(target=holder)
    t.start()
    holder_ready.wait(30)
    timer = threading.Timer(0.2, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            lock.acquire()
    finally:
        done.set()
        t.join()
        timer.cancel()
    assert lock.acquire(timeout=5)
    lock.release()


def test_get_lock_returns_the_same_lock_object_every_time(value):
    lock = value.get_lock()
    assert value.get_lock() is lock and value.get_lock() is value.get_lock()


def test_a_value_and_its_lock_are_freed_without_the_cycle_collector(client):
    v = client.create_value("py.lock.freed", "i", 0)
    lock = v.get_lock()
    with lock:
        v.value += 1
    value_ref, lock_ref = weakref.ref(v), weakref.ref(lock)
    gc.disable()  # freed by reference counting alone: no cycle between them
    try:
        del v, lock
        assert value_ref() is None and lock_ref() is None
    finally:
        gc.enable()
    gc.collect()
    assert value_ref() is None and lock_ref() is None


def test_a_held_lock_keeps_its_value_alive_until_released(client):
    v = client.create_value("py.lock.held", "i", 7)
    lock = v.get_lock()
    lock.acquire()
    lock.acquire()
    value_ref = weakref.ref(v)
    del v
    gc.collect()
    assert value_ref() is not None and value_ref().value == 7
    lock.release()
    assert value_ref() is not None
    lock.release()
    assert value_ref() is None
    assert repr(lock) == "<shmd.Lock of Value 'py.lock.held'>"


def test_a_lock_that_outlives_its_value_refuses_to_be_taken(client):
    v = client.create_value("py.lock.orphan", "i", 0)
    lock = v.get_lock()
    del v
    with pytest.raises(ValueError, match="gone"):
        lock.acquire()
    with pytest.raises(RuntimeError, match="un-acquired"):
        lock.release()


def test_uncontended_and_contended_acquires_exclude_other_threads(value):
    lock = value.get_lock()
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible, also inside the loop
    try:
        def work():
            for _ in range(3000):
                with lock:
                    x = value.value
                    value.value = x + 1

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    assert value.value == 12000
    assert lock.acquire(block=False)
    lock.release()


def test_timeout_while_another_process_holds_it(client, daemon):
    v = client.create_value("py.lock.other", "i", 0)
    code = f"""
import sys, shmd
v = shmd.Client({daemon.socket!r}).attach_value("py.lock.other")
v.get_lock().acquire()
print("held", flush=True)
sys.stdin.readline()
v.get_lock().release()
print("released", flush=True)
sys.stdin.readline()
"""
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "held\n"
        lock = v.get_lock()
        assert lock.acquire(block=False) is False
        assert lock.acquire(timeout=0.05) is False
        assert "held by this process" not in repr(lock)
        child.stdin.write("\n")
        child.stdin.flush()
        assert child.stdout.readline() == "released\n"
        assert lock.acquire(timeout=30) is True and lock.owner_died is False
        lock.release()
    finally:
        child.stdin.close()
        assert child.wait(60) == 0
