"""What the shmd.multiprocessing, shmd.run and examples tests share: the segments a daemon has,
running programs against it, and waiting with a deadline instead of sleeping."""

import os
import subprocess
import sys
import time

import pytest

import shmd

#: The interpreter the package is built for (the tests run under it; so do their programs).
PYTHON = sys.executable

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(ROOT, 'examples', 'python')


def segment_name(obj):
    """The shmd segment under a shmd.multiprocessing object, raw or synchronized."""
    raw = obj.get_obj() if hasattr(obj, 'get_obj') else obj
    return raw._wrapper.name


def daemon_segments(socket):
    """The names of the live segments of the daemon at `socket`."""
    return {info.name for info in shmd.Client(socket).list()}


def eventually(predicate, what, timeout=20.0):
    """Waits until predicate() is true; fails naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail("timed out after %g s waiting for %s" % (timeout, what))
        time.sleep(0.01)


def run_python(args, socket, timeout=120, **kwargs):
    """Runs PYTHON with `args` against the daemon at `socket`; returns the CompletedProcess."""
    env = dict(os.environ, SHMD_SOCKET=socket)
    return subprocess.run([PYTHON] + list(args), env=env, capture_output=True, text=True, timeout=timeout,
                          **kwargs)
