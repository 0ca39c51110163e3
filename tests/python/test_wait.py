"""Waiting for changes from Python: changes, notify(), wait(seen, timeout) and wait_for(predicate,
timeout) on Value and Array (and the shmd.multiprocessing wrappers), against a real daemon, with
waiters in other processes; waits release the GIL."""

import os
import subprocess
import sys
import threading
import time

import pytest

import shmd
import shmd.multiprocessing as mp


def waiter(daemon, code):
    """A Python process that attaches as `code` says, prints 'waiting' once it holds its count,
    then prints what its wait returned."""
    env = dict(os.environ, SHMD_SOCKET=daemon.socket)
    return subprocess.Popen([sys.executable, "-c", "import shmd\nc = shmd.Client()\n" + code],
                            stdout=subprocess.PIPE, text=True, env=env)


def test_a_waiter_in_another_process_wakes_after_a_store(daemon, client):
    v = client.create_value("py.wait.store", "i", 0)
    p = waiter(daemon, """
v = c.attach_value("py.wait.store")
seen = v.changes
print("waiting", flush=True)
r = v.wait(seen)
print(r.status, v.value, r.changes != seen, flush=True)
""")
    assert p.stdout.readline() == "waiting\n"
    v.value = 42
    assert p.stdout.readline() == "changed 42 True\n"
    assert p.wait(30) == 0


def test_a_read_only_waiter_wakes_after_an_atomic_add_and_a_locked_update(daemon, client):
    v = client.create_value("py.wait.ro", "q", 0, mode=0o644)
    p = waiter(daemon, """
v = c.attach_value("py.wait.ro", read_only=True)
seen = v.changes
print("waiting", flush=True)
r = v.wait(seen, timeout=30)
print(r.status, v.value, flush=True)
r = v.wait(r.changes, timeout=30)
print(r.status, v.value, flush=True)
""")
    assert p.stdout.readline() == "waiting\n"
    v.fetch_add(5)
    assert p.stdout.readline() == "changed 5\n"
    with v.get_lock():
        v.value = 7
    assert p.stdout.readline() == "changed 7\n"
    assert p.wait(30) == 0


def test_wait_times_out_when_nothing_changes(client):
    v = client.create_value("py.wait.quiet", "d", 1.5)
    r = v.wait(v.changes, timeout=0.05)
    assert not r and r.timed_out and r.status == "timed_out"
    assert repr(r).startswith("<shmd.WaitResult timed_out changes=")


def test_array_wait_wakes_after_notify_and_wait_for_sees_the_elements(daemon, client):
    a = client.create_array("py.wait.array", "i", 3)
    p = waiter(daemon, """
a = c.attach_array("py.wait.array")
print("waiting", flush=True)
r = a.wait_for(lambda arr: sum(arr[:]) == 6, timeout=30)
print(r.status, a[:], flush=True)
""")
    assert p.stdout.readline() == "waiting\n"
    a[0] = 1  # a plain element write: no notify
    a[1] = 2
    a[2] = 3
    a.notify()
    assert p.stdout.readline() == "changed [1, 2, 3]\n"
    assert p.wait(30) == 0


def test_value_wait_for_returns_once_the_predicate_holds(client):
    v = client.create_value("py.wait.for", "i", 0)
    def bump():
        for i in range(1, 6):
            v.value = i

    t = threading.Thread(target=bump)
    t.start()
    r = v.wait_for(lambda x: x == 5, timeout=30)
    t.join()
    assert r and r.changed
    assert v.wait_for(lambda x: x == 6, timeout=0.05).timed_out


def test_a_removed_segment_wakes_its_waiter_with_the_news(client):
    v = client.create_value("py.wait.removed", "i", 0)
    seen = v.changes
    result = []
    t = threading.Thread(target=lambda: result.append(v.wait(seen, timeout=30)))
    t.start()
    client.remove("py.wait.removed")
    t.join(30)
    assert result and result[0].removed and result[0].status == "removed"


def test_a_waiting_thread_does_not_hold_the_gil(client):
    v = client.create_value("py.wait.gil", "i", 0)
    seen = v.changes
    got = []
    t = threading.Thread(target=lambda: got.append(v.wait(seen, timeout=30)))
    t.start()
    ticks = 0
    deadline = time.monotonic() + 0.3
    while time.monotonic() < deadline:
        ticks += 1  # the waiting thread lets this one run
    assert ticks > 1000 and not got
    v.value = 1
    t.join(30)
    assert got and got[0].changed


def test_bad_arguments_and_detached_segments(client):
    v = client.create_value("py.wait.args", "i", 0)
    with pytest.raises(ValueError, match="non-negative"):
        v.wait(v.changes, timeout=-1)
    with pytest.raises(TypeError):
        v.wait("zero")
    ro = client.attach_value("py.wait.args", read_only=True)
    with pytest.raises(shmd.PermissionDeniedError):
        ro.notify()
    v.detach()
    with pytest.raises(ValueError, match="detached"):
        v.wait(0)
    with pytest.raises(ValueError, match="detached"):
        v.changes


def test_multiprocessing_wrappers_wait_too(daemon, monkeypatch):
    monkeypatch.setenv("SHMD_SOCKET", daemon.socket)
    counter = mp.Value("i", 0)
    samples = mp.Array("d", 2)
    seen = counter.changes
    with counter.get_lock():
        counter.value += 1
    assert counter.wait(seen, timeout=0).changed
    assert counter.wait_for(lambda x: x == 1, timeout=0)
    seen = samples.changes
    samples[0] = 2.5  # the wrapper writes under the lock, whose release notifies
    assert samples.wait(seen, timeout=0).changed
    assert samples.wait_for(lambda arr: arr[0] == 2.5, timeout=0)
    seen = samples.changes
    samples.get_obj()[1] = 1.0  # a raw write: nobody hears of it until notify()
    assert samples.wait(seen, timeout=0).timed_out
    samples.notify()
    assert samples.wait(seen, timeout=0).changed
