"""multiprocessing.sharedctypes over shmd: the same functions, with memory that shmd serves.

This is CPython's Lib/multiprocessing/sharedctypes.py with one change of allocator: each object is
a ctypes object made by `type_.from_buffer()` over a shmd segment (SegmentBuffer) instead of over a
block of multiprocessing's heap, so reading and writing it is exactly ctypes (`value`, `raw`,
slices, the truncation of out-of-range integers). The lock of a synchronized wrapper is the
segment's own robust recursive mutex, and every object pickles by the name of its segment, so it
may travel to any process at any time, not only to a child being spawned.
"""

import ctypes
import pickle
from multiprocessing import reduction
from multiprocessing import sharedctypes as _std

from ._segment_buffer import SegmentBuffer

_ForkingPickler = reduction.ForkingPickler

__all__ = ['RawValue', 'RawArray', 'Value', 'Array', 'copy', 'synchronized']

#: The typecodes multiprocessing accepts, and their ctypes types: CPython's own table.
typecode_to_type = dict(_std.typecode_to_type)

# The ctypes types that may be given instead of a typecode. A type maps to its own `_type_` letter
# because aliases are one object: on LP64 Linux c_longlong is c_long, so it makes an 'l' segment.
_type_to_typecode = {type_: type_._type_ for type_ in typecode_to_type.values()}

_CTYPES_BASES = (ctypes._SimpleCData, ctypes.Structure, ctypes.Union, ctypes.Array, ctypes._Pointer)

# Kept before shmd.run puts this module's functions into multiprocessing.sharedctypes.
_std_synchronized = _std.synchronized
_std_reduce_ctype = _std.reduce_ctype


def _resolve(typecode_or_type):
    """(typecode, ctypes type) of a typecode or ctypes type; TypeError for anything else."""
    if isinstance(typecode_or_type, str):
        type_ = typecode_to_type.get(typecode_or_type)
        if type_ is not None:
            return typecode_or_type, type_
    elif isinstance(typecode_or_type, type):
        typecode = _type_to_typecode.get(typecode_or_type)
        if typecode is not None:
            return typecode, typecode_or_type
        if issubclass(typecode_or_type, _CTYPES_BASES):
            raise TypeError(
                "shmd.multiprocessing cannot share ctypes type %s: a shmd segment holds elements of one "
                "simple type, one of ctypes.%s (or its typecode %s); share a structure as one Value or "
                "Array per field" % (typecode_or_type.__name__,
                                     ", ".join(t.__name__ for t in _type_to_typecode),
                                     " ".join(typecode_to_type)))
    raise TypeError("bad typecode %r: shmd.multiprocessing takes one of %s, or the matching ctypes type"
                    % (typecode_or_type, " ".join(typecode_to_type)))


def _check_length(length):
    if length < 0:
        raise ValueError("Array length must be >= 0, not %d" % length)
    if length == 0:
        raise ValueError("shmd.multiprocessing cannot make an empty Array: a shmd segment holds at least "
                         "one element")


def _new_object(typecode, type_, length, initial, name):
    """The raw ctypes object over a new segment (a Value if length is None), holding `initial`'s bytes."""
    buffer = SegmentBuffer.create(typecode, length, name)
    obj = rebuild_ctype(type_, buffer, length)
    if initial is not None:
        if buffer.ephemeral:
            ctypes.memmove(ctypes.addressof(obj), ctypes.addressof(initial), ctypes.sizeof(obj))
        else:
            # A named segment may be open elsewhere already: nobody sees it half written.
            with buffer.lock():
                ctypes.memmove(ctypes.addressof(obj), ctypes.addressof(initial), ctypes.sizeof(obj))
    return obj


def RawValue(typecode_or_type, *args, name=None):
    '''
    Returns a ctypes object allocated from shmd shared memory

    With `name`, the segment is that persistent one, opened if it exists (then `args`, if given,
    are written into it); without, it is ephemeral and goes with the last process holding it.
    '''
    typecode, type_ = _resolve(typecode_or_type)
    # Built privately first, as CPython's obj.__init__(*args): ctypes converts and checks the args.
    initial = type_(*args) if args else None
    return _new_object(typecode, type_, None, initial, name)


def RawArray(typecode_or_type, size_or_initializer, *, name=None):
    '''
    Returns a ctypes array allocated from shmd shared memory

    `name` as for RawValue; an initializer sequence is written into an existing named segment, a
    size keeps what it holds.
    '''
    typecode, type_ = _resolve(typecode_or_type)
    if isinstance(size_or_initializer, int):
        _check_length(size_or_initializer)
        return _new_object(typecode, type_, size_or_initializer, None, name)
    length = len(size_or_initializer)
    _check_length(length)
    initial = (type_ * length)(*size_or_initializer)
    return _new_object(typecode, type_, length, initial, name)


def _lock_argument(lock):
    """False, None (the segment's own lock) or a lock object; checked before anything is created."""
    if lock is False:
        return False
    if lock in (True, None):
        return None
    if not hasattr(lock, 'acquire'):
        raise AttributeError("%r has no method 'acquire'" % lock)
    return lock


def Value(typecode_or_type, *args, lock=True, ctx=None, name=None):
    '''
    Return a synchronization wrapper for a Value

    lock=True (or None) locks with the segment's robust recursive mutex, lock=False returns the
    raw object, any object with acquire/release is used as the lock.
    '''
    lock = _lock_argument(lock)
    obj = RawValue(typecode_or_type, *args, name=name)
    if lock is False:
        return obj
    return synchronized(obj, lock, ctx=ctx)


def Array(typecode_or_type, size_or_initializer, *, lock=True, ctx=None, name=None):
    '''
    Return a synchronization wrapper for a RawArray (lock= as for Value)
    '''
    lock = _lock_argument(lock)
    obj = RawArray(typecode_or_type, size_or_initializer, name=name)
    if lock is False:
        return obj
    return synchronized(obj, lock, ctx=ctx)


def copy(obj):
    '''
    Returns a new ephemeral shmd object of obj's type holding a copy of its contents
    '''
    type_ = type(obj)
    if issubclass(type_, ctypes.Array):
        typecode, element_type = _resolve(type_._type_)
        length = type_._length_
        _check_length(length)
    else:
        typecode, element_type = _resolve(type_)
        length = None
    return _new_object(typecode, element_type, length, obj, None)


def _is_shmd(obj):
    return isinstance(getattr(obj, '_wrapper', None), SegmentBuffer)


def synchronized(obj, lock=None, ctx=None):
    '''
    Wraps a raw shmd object so that every access takes `lock` (None: the segment's own mutex);
    any other ctypes object goes to multiprocessing's own synchronized()
    '''
    if not _is_shmd(obj):
        return _std_synchronized(obj, lock, ctx)
    if lock is None:
        lock = obj._wrapper.lock()
    if isinstance(obj, ctypes._SimpleCData):
        return Synchronized(obj, lock, ctx)
    if obj._type_ is ctypes.c_char:
        return SynchronizedString(obj, lock, ctx)
    return SynchronizedArray(obj, lock, ctx)


#
# Functions for pickling/unpickling
#

def reduce_ctype(obj):
    '''Pickles a shmd object by its segment's name, in or outside spawning'''
    wrapper = getattr(obj, '_wrapper', None)
    if not isinstance(wrapper, SegmentBuffer):
        # The reducer is registered per ctypes type, which other objects share: a block of
        # multiprocessing's heap goes its own way, and any other ctypes object pickles as usual.
        if wrapper is not None:
            return _std_reduce_ctype(obj)
        return obj.__reduce_ex__(pickle.DEFAULT_PROTOCOL)
    if isinstance(obj, ctypes.Array):
        return rebuild_ctype, (obj._type_, wrapper, obj._length_)
    return rebuild_ctype, (type(obj), wrapper, None)


def rebuild_ctype(type_, wrapper, length):
    '''The ctypes object over a SegmentBuffer, as CPython's rebuild_ctype over a heap block'''
    if length is not None:
        type_ = type_ * length
    _ForkingPickler.register(type_, reduce_ctype)
    buf = wrapper.create_memoryview()
    obj = type_.from_buffer(buf)
    obj._wrapper = wrapper
    return obj


def _rebuild_synchronized(ctype_args, lock):
    return synchronized(rebuild_ctype(*ctype_args), lock)


#
# Synchronized wrappers: multiprocessing's own, pickled by name
#

class _PickledByName:
    # Pickles with any pickler, not only multiprocessing's: the segment travels by name, and its
    # own lock with it; another lock object pickles as that lock allows (a multiprocessing.Lock
    # only while spawning, as in multiprocessing).
    def __reduce__(self):
        _, ctype_args = reduce_ctype(self._obj)
        lock = None if self._obj._wrapper.is_own_lock(self._lock) else self._lock
        return _rebuild_synchronized, (ctype_args, lock)


class _Waitable:
    # The segment's change count, waits and notify, on the wrapper: every write through it holds
    # the lock, whose release wakes the waiters, so only raw writes (get_obj()) need notify().
    @property
    def changes(self):
        """The change count now, to pass to wait() as `seen`."""
        return self._obj._wrapper.segment.changes

    def notify(self):
        """Wakes the waiters after writes that did not go through this wrapper."""
        self._obj._wrapper.segment.notify()

    def wait(self, seen, timeout=None):
        """Sleeps until the segment changes after `seen` was read, is removed, or timeout passes:
        shmd.Value.wait. Returns a shmd.WaitResult, true when it changed."""
        return self._obj._wrapper.segment.wait(seen, timeout)

    def wait_for(self, predicate, timeout=None):
        """Waits until predicate(self.value) (a SynchronizedArray: predicate(self)) is true, now or
        after a change; returns a shmd.WaitResult, true when it held."""
        subject = (lambda: self.value) if isinstance(self, Synchronized) else (lambda: self)
        return self._obj._wrapper.segment.wait_for(lambda _: predicate(subject()), timeout)


class Synchronized(_Waitable, _PickledByName, _std.Synchronized):
    '''A shmd Value behind a lock: multiprocessing.sharedctypes.Synchronized, pickled by name'''


class SynchronizedArray(_Waitable, _PickledByName, _std.SynchronizedArray):
    '''A shmd Array behind a lock: multiprocessing.sharedctypes.SynchronizedArray, pickled by name'''


class SynchronizedString(_Waitable, _PickledByName, _std.SynchronizedString):
    '''A shmd 'c' Array behind a lock, with value and raw: multiprocessing's SynchronizedString'''
