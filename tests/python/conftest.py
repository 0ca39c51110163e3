"""Fixtures for the shmd Python tests: a real shmd per test on its own temporary socket,
awaited through its --ready-fd (never a sleep), plus helpers to run Python as another process
or, with setpriv, as another user.

ctest sets SHMD_TEST_DAEMON and SHMD_TEST_SHMCTL (the built binaries) and PYTHONPATH (the built
package); run by hand, export them the same way.
"""

import atexit
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

import shmd

DAEMON = os.environ.get("SHMD_TEST_DAEMON", "")
SHMCTL = os.environ.get("SHMD_TEST_SHMCTL", "")
READY_TIMEOUT_S = 30
STOP_TIMEOUT_S = 20
OTHER_USER = ("65534", "65534")  # nobody, nogroup


class Daemon:
    """One shmd process on a socket in a fresh directory of its own."""

    def __init__(self, *extra_args, socket=None):
        """With `socket`, listens there (a restart on a predecessor's socket) instead."""
        if not DAEMON:
            pytest.fail("SHMD_TEST_DAEMON is not set (ctest sets it)")
        self.dir = tempfile.mkdtemp(prefix="shmd-py-")
        os.chmod(self.dir, 0o755)  # another uid (setpriv tests) must reach the socket
        self.socket = socket or os.path.join(self.dir, "shmd.sock")
        self.log_path = os.path.join(self.dir, "shmd.log")
        env = dict(os.environ)
        # The interpreter may run with the ASan runtime preloaded; the daemon links its own.
        env.pop("LD_PRELOAD", None)
        if "SHMD_TEST_DAEMON_ASAN_OPTIONS" in env:
            env["ASAN_OPTIONS"] = env["SHMD_TEST_DAEMON_ASAN_OPTIONS"]
        ready_read, ready_write = os.pipe()
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [DAEMON, "--socket", self.socket, "--ready-fd", str(ready_write), "--log-level", "debug", *extra_args],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, pass_fds=(ready_write,), env=env)
        os.close(ready_write)  # else EOF never comes if the daemon dies
        try:
            got = self._await_ready(ready_read)
        finally:
            os.close(ready_read)
        if "READY" not in got:
            self.proc.kill()
            self.proc.wait(STOP_TIMEOUT_S)
            raise RuntimeError(f"shmd did not become ready (got {got!r}, exit {self.proc.returncode}):\n{self.log()}")

    @staticmethod
    def _await_ready(fd):
        got = b""
        deadline = time.monotonic() + READY_TIMEOUT_S
        while b"\n" not in got:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                break
            chunk = os.read(fd, 64)
            if not chunk:
                break
            got += chunk
        return got.decode(errors="replace")

    @property
    def pid(self):
        return self.proc.pid

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def alive(self):
        return self.proc.poll() is None

    def kill(self):
        """SIGKILL, as a crash would; waits for it."""
        self.proc.kill()
        self.proc.wait(STOP_TIMEOUT_S)

    def stop(self):
        """SIGTERM and wait; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(STOP_TIMEOUT_S)
                raise
        return self.proc.returncode

    def shmctl(self, *args, check=True):
        """Runs shmctl against this daemon; returns the CompletedProcess (text)."""
        r = subprocess.run([SHMCTL, "--socket", self.socket, *args], capture_output=True, text=True, timeout=60)
        if check and r.returncode != 0:
            raise AssertionError(f"shmctl {' '.join(args)} exited {r.returncode}: {r.stderr}")
        return r

    def shmctl_json(self, *args):
        return json.loads(self.shmctl(*args, "--json").stdout)

    def cleanup(self):
        try:
            code = self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
        return code


@pytest.fixture
def daemon():
    """A fresh shmd; at the end it must still be alive (no client may kill it) and exit cleanly."""
    d = Daemon()
    yield d
    was_alive = d.alive()
    log = d.log()
    code = d.cleanup()
    assert was_alive, f"shmd died during the test:\n{log}"
    assert code == 0, f"shmd exited {code}:\n{log}"


@pytest.fixture
def make_daemon():
    """Starts daemons with extra arguments; each is stopped at the end (dead ones are fine)."""
    started = []

    def make(*extra_args, socket=None):
        d = Daemon(*extra_args, socket=socket)
        started.append(d)
        return d

    yield make
    for d in started:
        if d.alive():
            d.cleanup()
        else:
            shutil.rmtree(d.dir, ignore_errors=True)


@pytest.fixture
def client(daemon):
    return shmd.Client(daemon.socket)


_package_for_other_users = None


def package_for_other_users():
    """A copy of the shmd package under test in a directory every uid can read, made once per
    session: the build tree may sit below a directory only its owner may enter (CI clones into
    one), as the C++ access tests copy their binaries for the same reason."""
    global _package_for_other_users
    if _package_for_other_users is None:
        top = tempfile.mkdtemp(prefix="shmd-py-pkg-")
        atexit.register(shutil.rmtree, top, True)
        os.chmod(top, 0o755)
        shutil.copytree(os.path.dirname(shmd.__file__), os.path.join(top, "shmd"),
                        ignore=shutil.ignore_patterns("__pycache__"))
        _package_for_other_users = top
    return _package_for_other_users


def python_child(code, *, user=None, env=None, timeout=60):
    """Runs `code` in a new interpreter (the one running the tests) with the same PYTHONPATH;
    with user=(uid, gid), as that user through setpriv, importing a copy of the package that
    user can read. Returns the CompletedProcess (text)."""
    argv = [sys.executable, "-c", code]
    child_env = dict(os.environ)
    if user is not None:
        argv = ["setpriv", f"--reuid={user[0]}", f"--regid={user[1]}", "--clear-groups", *argv]
        child_env["PYTHONPATH"] = package_for_other_users()
    if env:
        child_env.update(env)
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=child_env)


@pytest.fixture
def as_other_user():
    """Runs Python code as another uid (nobody) with setpriv; needs root, else the test is skipped."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run a client as another uid")

    def run(code, **kwargs):
        return python_child(code, user=OTHER_USER, **kwargs)

    return run
