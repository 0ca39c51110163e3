"""One shmd Client per process and daemon socket, made on first use.

multiprocessing's objects are made without a client in sight, so this module keeps the one they
share. libshmclient's Client is fork-safe (a child's first call opens a connection of its own), so
a client inherited through fork() is kept and simply used; only the lock guarding the table is
made anew in the child, in case another thread held it at the fork.
"""

import os
import threading

import shmd

_clients = {}
_lock = threading.Lock()


def socket_path():
    """The socket a new object's daemon listens on: $SHMD_SOCKET, else /run/shmd/shmd.sock."""
    return os.path.abspath(shmd.default_socket_path())


def client(socket=None):
    """This process's Client for `socket` (None: socket_path()), connecting on first use."""
    path = socket or socket_path()
    with _lock:
        found = _clients.get(path)
        if found is None:
            found = _clients[path] = shmd.Client(path)
        return found


def _after_fork_in_child():
    global _lock
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)
