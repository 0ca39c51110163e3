"""python3 -m shmd.run: programs that import the standard multiprocessing, unchanged, get shmd's
shared objects, in their children too, under every start method."""

import ast
import os
import subprocess
import textwrap

import pytest

import shmd

from multiprocessing_support import PYTHON, daemon_segments, eventually, run_python

@pytest.fixture(autouse=True)
def socket(daemon, monkeypatch):
    """The test's own daemon (conftest.py), which new objects find through $SHMD_SOCKET."""
    monkeypatch.setenv('SHMD_SOCKET', daemon.socket)
    return daemon.socket


def _program(tmp_path, text, name='program.py'):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def _shmd_run(socket, *args, **kwargs):
    return run_python(['-m', 'shmd.run'] + [str(a) for a in args], socket, **kwargs)


def _nothing_left(socket):
    eventually(lambda: daemon_segments(socket) == set(), "the program's segments to go")


CHILDREN = """
    import multiprocessing
    import sys

    def child(v, a, q):
        v.value = 2.678
        for i in range(len(a)):
            a[i] = a[i] * a[i]
        # Made in the child by the standard function: shmd's too, so it may even cross a Queue.
        mine = multiprocessing.Value('i', 7)
        q.put((type(mine).__module__, mine))

    def grandchild(q):
        q.put(type(multiprocessing.RawArray('d', 2)._wrapper).__name__)

    def child_starting_a_grandchild(q):
        p = multiprocessing.Process(target=grandchild, args=(q,))
        p.start()
        p.join()

    if __name__ == '__main__':
        multiprocessing.set_start_method(sys.argv[1])
        v = multiprocessing.Value('d', 0.0)
        a = multiprocessing.Array('i', range(5))
        q = multiprocessing.Queue()
        p = multiprocessing.Process(target=child, args=(v, a, q))
        p.start()
        module, mine = q.get()
        p.join()
        print(type(v).__module__, type(v).__name__)
        print(module, mine.value)
        print(v.value, a[:])
        ctx = multiprocessing.get_context('spawn')
        print(type(ctx.Value('i')).__module__, type(multiprocessing.sharedctypes.RawValue('i'))._type_)
        p = multiprocessing.Process(target=child_starting_a_grandchild, args=(q,))
        p.start()
        print(q.get())
        p.join()
"""


@pytest.mark.parametrize('method', ['fork', 'spawn', 'forkserver'])
def test_an_unchanged_program_and_its_children_get_shmds_objects(socket, tmp_path, method):
    result = _shmd_run(socket, _program(tmp_path, CHILDREN), method)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        'shmd.multiprocessing.sharedctypes Synchronized',
        'shmd.multiprocessing.sharedctypes 7',
        '2.678 [0, 1, 4, 9, 16]',
        'shmd.multiprocessing.sharedctypes i',
        'SegmentBuffer',
    ]
    _nothing_left(socket)


def test_without_shmd_run_the_same_program_uses_multiprocessings_own(socket, tmp_path):
    program = _program(tmp_path, """
        import multiprocessing
        print(type(multiprocessing.Value('d', 1.0)).__module__)
    """)
    result = run_python([program], socket)
    assert result.stdout == 'multiprocessing.sharedctypes\n'


def test_the_programs_segments_show_in_the_list_while_it_runs(socket, tmp_path):
    program = _program(tmp_path, """
        import multiprocessing
        import sys
        v = multiprocessing.Value('d', 2.5)
        a = multiprocessing.Array('i', range(4))
        print('ready', flush=True)
        sys.stdin.readline()
        print(v.value, a[:])
    """)
    env = dict(os.environ, SHMD_SOCKET=socket)
    with subprocess.Popen([PYTHON, '-m', 'shmd.run', program], env=env, stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout.readline() == 'ready\n'
            infos = {info.typecode: info for info in shmd.Client(socket).list()}
            assert set(infos) == {'d', 'i'}
            assert infos['i'].length == 4 and all(info.ephemeral for info in infos.values())
            assert shmd.Client(socket).attach_value(infos['d'].name).value == 2.5
            out, _ = proc.communicate('\n', timeout=60)
        finally:
            proc.kill()
    assert out == '2.5 [0, 1, 2, 3]\n'
    _nothing_left(socket)


def test_the_program_runs_as_main_with_its_own_argv_and_path(socket, tmp_path):
    (tmp_path / 'sibling.py').write_text('WHERE = "beside the program"\n')
    program = _program(tmp_path, """
        import sys
        import sibling
        print(__name__, sys.argv[1:], sibling.WHERE)
        print(sys.argv[0] == __file__)
    """)
    result = _shmd_run(socket, program, 'a', '--b', cwd='/')
    assert result.returncode == 0, result.stderr
    assert result.stdout == "__main__ ['a', '--b'] beside the program\nTrue\n"


def test_the_exit_status_is_the_programs(socket, tmp_path):
    assert _shmd_run(socket, _program(tmp_path, "raise SystemExit(3)\n")).returncode == 3
    assert _shmd_run(socket, _program(tmp_path, "import sys; sys.exit('bye')\n")).returncode == 1
    failing = _shmd_run(socket, _program(tmp_path, """
        import multiprocessing
        v = multiprocessing.Value('i', 1)
        raise ValueError('the program failed')
    """))
    assert failing.returncode == 1
    assert 'ValueError: the program failed' in failing.stderr
    _nothing_left(socket)


def test_a_module_runs_with_dash_m(socket, tmp_path):
    (tmp_path / 'lab_module.py').write_text(textwrap.dedent("""
        import multiprocessing
        import sys
        if __name__ == '__main__':
            print(type(multiprocessing.RawArray('i', 3)._wrapper).__name__, sys.argv[1:])
    """))
    result = _shmd_run(socket, '-m', 'lab_module', 'x', cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "SegmentBuffer ['x']\n"


def test_usage_errors(socket, tmp_path):
    missing = _shmd_run(socket, tmp_path / 'missing.py')
    assert missing.returncode == 2 and "can't open file" in missing.stderr
    assert _shmd_run(socket).returncode == 2
    assert _shmd_run(socket, '-m').returncode == 2
    helped = _shmd_run(socket, '--help')
    assert helped.returncode == 0 and 'usage: python3 -m shmd.run PROGRAM.py' in helped.stdout


def test_a_pool_in_an_unchanged_program(socket, tmp_path):
    program = _program(tmp_path, """
        import multiprocessing
        import sys

        def square(args):
            arr, i = args
            arr[i] = arr[i] * arr[i]

        if __name__ == '__main__':
            arr = multiprocessing.Array('i', range(6))
            with multiprocessing.get_context(sys.argv[1]).Pool(2) as pool:
                pool.map(square, [(arr, i) for i in range(6)])
            print(arr[:])
    """)
    for method in ('fork', 'spawn'):
        result = _shmd_run(socket, program, method)
        assert result.returncode == 0, result.stderr
        assert ast.literal_eval(result.stdout) == [i * i for i in range(6)]
    _nothing_left(socket)
