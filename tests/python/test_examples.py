"""examples/python: the lab sheet's programs with only their import changed, run against a real
daemon with their exact outputs, leaving nothing behind; and the sheet's unchanged programs under
`python3 -m shmd.run`."""

import ast
import os

import pytest

from multiprocessing_support import EXAMPLES, daemon_segments, eventually, run_python

SHEET_IMPORT = 'import multiprocessing\n'
SHMD_IMPORT = 'import shmd.multiprocessing as multiprocessing\n'


@pytest.fixture(autouse=True)
def socket(daemon, monkeypatch):
    """The test's own daemon (conftest.py), which new objects find through $SHMD_SOCKET."""
    monkeypatch.setenv('SHMD_SOCKET', daemon.socket)
    return daemon.socket


def _run(socket, name, *args, runner=()):
    result = run_python(list(runner) + [os.path.join(EXAMPLES, name)] + list(args), socket)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ''
    # The daemon drops a program's references when it sees its connection close.
    eventually(lambda: daemon_segments(socket) == set(), "the program's segments to go")
    return result.stdout


def _sheet_version(tmp_path, name):
    """The sheet's own program: the example with its one changed line changed back."""
    with open(os.path.join(EXAMPLES, name)) as f:
        text = f.read()
    assert text.count(SHMD_IMPORT) == 1
    path = tmp_path / name
    path.write_text(text.replace(SHMD_IMPORT, SHEET_IMPORT))
    return str(path)


def test_example1_prints_the_childs_value(socket):
    assert _run(socket, 'example1.py') == '2.678\n'


def test_example2_prints_the_squares(socket):
    assert _run(socket, 'example2.py') == '[0, 1, 4, 9, 16, 25, 36, 49, 64, 81]\n'


def test_exercise1_totals_every_workers_updates(socket):
    assert _run(socket, 'exercise1.py') == '11111000\n'
    assert _run(socket, 'exercise1.py', '3000') == '33333000\n'


@pytest.mark.parametrize('seed', ['7', '2024'])
def test_exercise2_prints_the_numbers_then_their_squares(socket, seed):
    numbers, squares = _run(socket, 'exercise2.py', seed).splitlines()
    numbers, squares = ast.literal_eval(numbers), ast.literal_eval(squares)
    assert len(numbers) == 10 and all(0 <= n <= 10 for n in numbers)
    assert squares == [n * n for n in numbers]
    # The seed makes a run repeatable.
    assert _run(socket, 'exercise2.py', seed).splitlines()[0] == str(numbers)


@pytest.mark.parametrize('name', ['example1.py', 'example2.py', 'exercise1.py', 'exercise2.py'])
def test_the_programs_take_multiprocessing_from_shmd_and_nothing_else(name):
    with open(os.path.join(EXAMPLES, name)) as f:
        lines = f.read().splitlines(keepends=True)
    imports = [line for line in lines if 'multiprocessing' in line and line.startswith(('import', 'from'))]
    assert imports == [SHMD_IMPORT]


def test_the_sheets_unchanged_example1_runs_under_shmd_run(socket, tmp_path):
    program = _sheet_version(tmp_path, 'example1.py')
    assert _run(socket, program, runner=['-m', 'shmd.run']) == '2.678\n'


def test_the_sheets_unchanged_example2_runs_under_shmd_run(socket, tmp_path):
    program = _sheet_version(tmp_path, 'example2.py')
    assert _run(socket, program, runner=['-m', 'shmd.run']) == '[0, 1, 4, 9, 16, 25, 36, 49, 64, 81]\n'


def test_the_unchanged_exercises_run_under_shmd_run(socket, tmp_path):
    assert _run(socket, _sheet_version(tmp_path, 'exercise1.py'), '200', runner=['-m', 'shmd.run']) == '2222200\n'
    numbers, squares = _run(socket, _sheet_version(tmp_path, 'exercise2.py'), '5',
                            runner=['-m', 'shmd.run']).splitlines()
    assert ast.literal_eval(squares) == [n * n for n in ast.literal_eval(numbers)]
