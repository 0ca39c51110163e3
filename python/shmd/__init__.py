"""shmd: shared memory from the shmd daemon, for Python.

A Client talks to the daemon (shmd) over its Unix socket and creates, attaches, lists and
removes named segments. A Value holds one element, an Array a fixed number of them; both live
in shared memory that every attached process maps, and each segment has a robust recursive
process-shared lock. Arrays (and Values) support the buffer protocol, so memoryview() and
numpy.frombuffer() see the shared memory itself.

    import shmd
    c = shmd.Client()                       # $SHMD_SOCKET, else /run/shmd/shmd.sock
    total = c.create_value("lab.total", "d", 0.0)
    with total.get_lock():
        total.value += 1.5

The compiled part is shmd._core (libshmclient's public API); see docs/python.md.
"""

from shmd._core import (
    Array,
    Client,
    ConnectionLostError,
    CorruptSegmentError,
    DaemonUnavailableError,
    Error,
    Event,
    ExistsError,
    InternalError,
    InvalidArgumentError,
    LimitExceededError,
    Lock,
    LockUnrecoverableError,
    NotAttachedError,
    NotFoundError,
    PermissionDeniedError,
    ProtocolError,
    Segment,
    SegmentInfo,
    Subscription,
    SystemCallError,
    TypeMismatchError,
    Value,
    VersionMismatchError,
    WaitResult,
    __version__,
    default_socket_path,
    set_wait_busy_poll,
    typecodes,
    wait_busy_poll,
)

__all__ = [
    "Array",
    "Client",
    "ConnectionLostError",
    "CorruptSegmentError",
    "DaemonUnavailableError",
    "Error",
    "Event",
    "ExistsError",
    "InternalError",
    "InvalidArgumentError",
    "LimitExceededError",
    "Lock",
    "LockUnrecoverableError",
    "NotAttachedError",
    "NotFoundError",
    "PermissionDeniedError",
    "ProtocolError",
    "Segment",
    "SegmentInfo",
    "Subscription",
    "SystemCallError",
    "TypeMismatchError",
    "Value",
    "VersionMismatchError",
    "WaitResult",
    "default_socket_path",
    "set_wait_busy_poll",
    "typecodes",
    "wait_busy_poll",
]
