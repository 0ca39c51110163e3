"""A drop-in for multiprocessing whose shared Values and Arrays are shmd segments.

    import shmd.multiprocessing as multiprocessing

Value, Array, RawValue and RawArray (and the contexts get_context() returns) come from shmd;
Process, Pool, Queue, Lock, set_start_method and everything else are the standard module's own
objects. The four functions take multiprocessing's arguments plus an optional `name=`: without it
an object is ephemeral and goes when the last process holding it lets go; with it, it is the
persistent segment of that name, which `shmctl` and other programs see. Objects pickle by name, so
they may be passed to children under every start method and through Queues and Pipes.
See docs/python.md, "shmd.multiprocessing".
"""

import importlib as _importlib
import multiprocessing as _std

from multiprocessing import *  # noqa: F401,F403 -- the standard module's public names, then ours over them

from . import sharedctypes
from ._context import wrap as _wrap
from .sharedctypes import Array, RawArray, RawValue, Value  # noqa: F401

__all__ = list(_std.__all__)


def get_context(method=None):
    '''The multiprocessing context for `method` (None: the default), with shmd's shared objects'''
    return _wrap(_std.get_context(method))


def __getattr__(name):
    # Whatever else `multiprocessing.X` names, such as its submodules (pool, managers, connection,
    # shared_memory, ...) and constants, is the standard module's.
    try:
        return getattr(_std, name)
    except AttributeError:
        pass
    try:
        return _importlib.import_module("multiprocessing." + name)
    except ModuleNotFoundError as e:
        if e.name != "multiprocessing." + name:
            raise
    raise AttributeError("module %r has no attribute %r" % (__name__, name))
