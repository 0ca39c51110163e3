"""shmd.multiprocessing objects without a name leave nothing behind, however their program ends;
each process has one connection to shmd, which a fork()ed child keeps using."""

import os
import signal
import subprocess
import textwrap

import pytest

import shmd
import shmd.multiprocessing as multiprocessing
from shmd.multiprocessing import _connection

from multiprocessing_support import PYTHON, daemon_segments, eventually, run_python

@pytest.fixture(autouse=True)
def socket(daemon, monkeypatch):
    """The test's own daemon (conftest.py), which new objects find through $SHMD_SOCKET."""
    monkeypatch.setenv('SHMD_SOCKET', daemon.socket)
    return daemon.socket


PROGRAM = """
    import os
    import signal
    import sys
    import shmd.multiprocessing as multiprocessing

    def child(v, a, ready):
        v.value = 1.0
        a[0] = 1
        ready.set()
        if sys.argv[2] == 'kill':
            signal.pause()

    if __name__ == '__main__':
        multiprocessing.set_start_method(sys.argv[1])
        v = multiprocessing.Value('d', 0.0)
        a = multiprocessing.RawArray('i', 1000)
        ready = multiprocessing.Event()
        p = multiprocessing.Process(target=child, args=(v, a, ready))
        p.start()
        ready.wait()
        print(len(a), flush=True)
        if sys.argv[2] == 'kill':
            signal.pause()
        p.join()
        if sys.argv[2] == 'raise':
            raise RuntimeError('the program failed')
"""


def _program(tmp_path):
    path = tmp_path / 'program.py'
    path.write_text(textwrap.dedent(PROGRAM))
    return str(path)


@pytest.mark.parametrize('method', ['fork', 'spawn'])
@pytest.mark.parametrize('end', ['exit', 'raise'])
def test_nothing_is_left_when_the_program_ends(socket, tmp_path, method, end):
    result = run_python([_program(tmp_path), method, end], socket)
    assert result.stdout == '1000\n'
    assert result.returncode == (0 if end == 'exit' else 1), result.stderr
    eventually(lambda: daemon_segments(socket) == set(), "the program's segments to go")


@pytest.mark.parametrize('method', ['fork', 'spawn'])
def test_nothing_is_left_when_the_program_and_its_children_are_killed(socket, tmp_path, method):
    env = dict(os.environ, SHMD_SOCKET=socket)
    proc = subprocess.Popen([PYTHON, _program(tmp_path), method, 'kill'], env=env, stdout=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        assert proc.stdout.readline() == '1000\n'
        infos = shmd.Client(socket).list()
        assert sorted((i.typecode, i.length, i.ephemeral) for i in infos) == [('d', 1, True), ('i', 1000, True)]
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(60)
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    eventually(lambda: daemon_segments(socket) == set(), "the killed program's segments to go")


def test_one_client_per_process_which_a_forked_child_keeps_using():
    client = _connection.client()
    assert _connection.client() is client
    v = multiprocessing.Value('i', 3)
    pid = os.fork()
    if pid == 0:
        # Only os._exit leaves the child: pytest must not go on running in it.
        status = 1
        try:
            mine = multiprocessing.Value('i', 4)
            if _connection.client() is client and v.value == 3 and mine.value == 4:
                status = 0
        finally:
            os._exit(status)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert multiprocessing.Value('i', 5).value == 5
    assert v.value == 3


def test_each_daemon_socket_has_its_own_client(socket, make_daemon, monkeypatch):
    other = make_daemon()
    here = multiprocessing.Value('i', 1)
    monkeypatch.setenv('SHMD_SOCKET', other.socket)
    there = multiprocessing.Value('i', 2)
    assert _connection.client() is _connection.client(other.socket) is not _connection.client(socket)
    assert {i.name for i in shmd.Client(other.socket).list()} == {there.get_obj()._wrapper.name}
    assert here.get_obj()._wrapper.name not in {i.name for i in shmd.Client(other.socket).list()}
