"""SegmentBuffer: the shmd segment under one shmd.multiprocessing object.

It has the part that heap.BufferWrapper has in CPython's sharedctypes: the ctypes object is
`type_.from_buffer(buffer.create_memoryview())` and keeps the buffer as its `_wrapper`. What differs
is how it travels: a BufferWrapper pickles its arena's file descriptor, which only a child being
spawned can receive, while a SegmentBuffer pickles the segment's name, which any process can attach
to, at any time. For an ephemeral (unnamed) segment the pickle also carries a hold: the daemon keeps
one reference for the receiver, so the segment survives its sender letting go before the receiver
attaches (docs/python.md, "Pickling by name").
"""

import itertools
import os
import secrets

from . import _connection

#: How long the daemon keeps an ephemeral object's pickled reference for its receiver to claim,
#: counted from when the sending process's connection closes.
HOLD_SECONDS = 30

_serial = itertools.count(1)


def _unique_name():
    # The pid says whose it is in `shmctl list`; the random part keeps a reused pid from colliding.
    return "mp.%d.%d.%s" % (os.getpid(), next(_serial), secrets.token_hex(4))


class SegmentBuffer:
    """One attached shmd Value or Array, as the memory of a ctypes object."""

    def __init__(self, segment, socket, typecode, length, ephemeral):
        self._segment = segment  # shmd.Value (length None) or shmd.Array
        self._socket = socket
        self._typecode = typecode
        self._length = length
        self._ephemeral = ephemeral
        # Made now, so that every wrapper of this buffer has the one object is_own_lock() knows.
        self._lock = segment.get_lock()
        # The process whose connection holds `_referenced`'s reference; a fork()ed child inherits the
        # mapping but not the reference, and takes one of its own before it hands the segment on.
        self._pid = os.getpid()
        self._referenced = segment

    @classmethod
    def create(cls, typecode, length=None, name=None):
        """A new zeroed segment (a Value if length is None): ephemeral under a generated name, or
        the persistent segment `name`, opened if it exists with this typecode, kind and length."""
        socket = _connection.socket_path()
        client = _connection.client(socket)
        ephemeral = name is None
        for _ in range(3):
            segment_name = _unique_name() if ephemeral else name
            try:
                if length is None:
                    segment = client.create_value(segment_name, typecode, ephemeral=ephemeral,
                                                  open_existing=not ephemeral)
                else:
                    segment = client.create_array(segment_name, typecode, length, ephemeral=ephemeral,
                                                  open_existing=not ephemeral)
            except FileExistsError:
                if not ephemeral:
                    raise
                continue  # a generated name collided (a reused pid): draw another
            # A named segment someone made ephemeral stays so: its pickles must carry holds too.
            return cls(segment, socket, typecode, length, segment.info.ephemeral)
        raise FileExistsError("shmd: could not find an unused name for a new segment")

    @property
    def name(self):
        """The segment's name in the daemon (`shmctl list` shows it)."""
        return self._segment.name

    @property
    def segment(self):
        """The shmd.Value or shmd.Array underneath (for changes, wait and notify)."""
        return self._segment

    @property
    def ephemeral(self):
        """True when the segment goes with its last holder (no name was given)."""
        return self._ephemeral

    def create_memoryview(self):
        """A writable view of the segment's elements, straight on the mapping."""
        return memoryview(self._segment)

    def lock(self):
        """The segment's robust recursive process-shared mutex (one object per buffer)."""
        return self._lock

    def is_own_lock(self, lock):
        """True if `lock` is this segment's own mutex, which a receiver finds in the segment itself."""
        return lock is self._lock

    def __reduce__(self):
        token = self._hold() if self._ephemeral else 0
        return _rebuild, (self._socket, self._segment.name, self._typecode, self._length, self._ephemeral, token)

    def __repr__(self):
        return "<SegmentBuffer %r on %s>" % (self._segment.name, self._socket)

    def _hold(self):
        client = _connection.client(self._socket)
        if self._pid != os.getpid():
            name = self._segment.name
            try:
                self._referenced = _attach(client, name, self._typecode, self._length, 0)
            except FileNotFoundError as e:
                raise FileNotFoundError(
                    "shmd.multiprocessing object %r cannot be passed on from this process: it is gone, "
                    "every process that held it has let go (this one inherited only its memory through "
                    "fork)" % name) from e
            self._pid = os.getpid()
        # Counted from the close of this process's connection: while the sender lives, what it sent
        # stays claimable however long it waits (in a Pool's task queue, say); once it is gone, the
        # receiver has HOLD_SECONDS more.
        return client.hold(self._referenced, HOLD_SECONDS, from_close=True)


def _attach(client, name, typecode, length, token):
    if length is None:
        if token:
            return client.claim_value(name, token, typecode)
        return client.attach_value(name, typecode)
    if token:
        return client.claim_array(name, token, typecode)
    return client.attach_array(name, typecode)


def _rebuild(socket, name, typecode, length, ephemeral, token):
    """Unpickles a SegmentBuffer: attaches by name, claiming the sender's hold if there is one."""
    client = _connection.client(socket)
    try:
        segment = _attach(client, name, typecode, length, token)
    except FileNotFoundError as e:
        if ephemeral:
            raise FileNotFoundError(
                "shmd.multiprocessing object %r is gone: every process that held it let go before this "
                "one attached, and the reference its pickle carried was claimed already or had expired. "
                "Keep the object alive in the sender until the receiver has it (docs/python.md, "
                "\"Pickling by name\")" % name) from e
        raise FileNotFoundError("shmd segment %r no longer exists: it was removed after this object was "
                                "pickled" % name) from e
    if length is not None and len(segment) != length:
        raise TypeError("shmd segment %r now has %d elements, not the %d this object was pickled with: the "
                        "name was removed and reused" % (name, len(segment), length))
    return SegmentBuffer(segment, socket, typecode, length, segment.info.ephemeral)
