"""Values and Arrays inherited by fork(), and what happens when the daemon goes away."""

import os
import signal

import pytest

import shmd
from multiprocessing_support import eventually


def run_in_child(fn):
    """Runs fn() in a fork()ed child; returns its exit code (0 when fn returned normally)."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            fn()
            code = 0
        finally:
            os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def test_inherited_value_and_array_work_in_a_forked_child(client):
    v = client.create_value("py.fv", "i", 1)
    a = client.create_array("py.fa", "d", 3)

    def child():
        assert v.value == 1 and a[:] == [0.0, 0.0, 0.0]
        v.value = 2
        with a.get_lock():
            a[1] = 2.5
        assert v.fetch_add(1) == 2
        # The inherited client works too (a connection of the child's own).
        assert client.info("py.fv").refcount == 1
        w = client.create_value("py.child", "q", 9)
        assert w.value == 9

    assert run_in_child(child) == 0
    assert v.value == 3 and a[:] == [0.0, 2.5, 0.0]
    assert client.info("py.fv").refcount == 1  # the child's copy never held the parent's reference
    # The child's own Value goes with its connection, once the daemon has seen that close.
    eventually(lambda: client.info("py.child").refcount == 0, "the child's Value to be released")


def test_a_child_detaching_its_copy_leaves_the_parents_reference(client):
    v = client.create_value("py.fd", "i", 5)
    assert run_in_child(lambda: v.detach()) == 0
    assert client.info("py.fd").refcount == 1 and v.value == 5


def test_a_daemon_that_went_away_raises_connection_errors_and_mappings_stay(make_daemon):
    d = make_daemon()
    c = shmd.Client(d.socket)
    v = c.create_value("py.gone", "i", 7)
    a = c.create_array("py.gonea", "i", [1, 2])
    d.kill()
    for call in (lambda: c.info("py.gone"), lambda: c.list(), lambda: c.create_value("py.new", "i"),
                 lambda: c.attach_value("py.gone"), lambda: c.remove("py.gone"), lambda: c.chmod("py.gone", 0o644),
                 lambda: c.create_detached("py.x", "i")):
        with pytest.raises(ConnectionError) as err:
            call()
        assert isinstance(err.value, shmd.Error), err.value
        assert d.socket in str(err.value) or err.value.code in ("connection_lost", "daemon_unavailable")
    assert v.value == 7 and a[:] == [1, 2]
    v.value = 8
    with v.get_lock():
        a[0] = 10
    assert v.value == 8 and a[0] == 10
    v.detach()  # the reference died with the daemon: nothing left to drop
    assert v.closed
    with pytest.raises(ConnectionError):
        shmd.Client(d.socket)


def test_a_restarted_daemon_is_reached_again(make_daemon):
    d = make_daemon()
    c = shmd.Client(d.socket)
    d.kill()
    with pytest.raises(ConnectionError):
        c.list()
    os.unlink(d.socket)
    d2 = make_daemon(socket=d.socket)
    assert c.list() == [] and c.create_value("py.again", "i", 3).value == 3
    assert d2.alive()
