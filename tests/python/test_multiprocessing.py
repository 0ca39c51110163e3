"""shmd.multiprocessing in one process: multiprocessing.sharedctypes' semantics over shmd segments."""

import array
import ctypes
import multiprocessing as std_multiprocessing
import pickle
import threading

import pytest

import shmd
import shmd.multiprocessing as multiprocessing
from shmd.multiprocessing import sharedctypes

from multiprocessing_support import daemon_segments, eventually, segment_name

@pytest.fixture(autouse=True)
def socket(daemon, monkeypatch):
    """The test's own daemon (conftest.py), which new objects find through $SHMD_SOCKET."""
    monkeypatch.setenv('SHMD_SOCKET', daemon.socket)
    return daemon.socket


# Every typecode of multiprocessing.sharedctypes.typecode_to_type, with a value that is not zero.
TYPECODE_VALUES = [
    ('c', b'x'), ('u', '\u00e9'), ('b', -5), ('B', 250), ('h', -1234), ('H', 60000), ('i', -70000),
    ('I', 4000000000), ('l', -2 ** 40), ('L', 2 ** 63), ('q', -2 ** 62), ('Q', 2 ** 64 - 1),
    ('f', 1.5), ('d', 2.678),
]


def test_the_drop_in_takes_every_other_name_from_multiprocessing():
    assert multiprocessing.Process is std_multiprocessing.Process
    assert multiprocessing.Lock == std_multiprocessing.Lock
    assert multiprocessing.Queue == std_multiprocessing.Queue
    assert multiprocessing.set_start_method == std_multiprocessing.set_start_method
    assert multiprocessing.pool is std_multiprocessing.pool
    assert multiprocessing.SUBDEBUG == std_multiprocessing.SUBDEBUG
    assert set(multiprocessing.__all__) == set(std_multiprocessing.__all__)
    with pytest.raises(AttributeError, match="no attribute 'no_such_thing'"):
        multiprocessing.no_such_thing


def test_the_typecode_table_is_multiprocessings():
    assert sharedctypes.typecode_to_type == std_multiprocessing.sharedctypes.typecode_to_type
    assert {code for code, _ in TYPECODE_VALUES} == set(sharedctypes.typecode_to_type)


@pytest.mark.parametrize("typecode,value", TYPECODE_VALUES)
def test_every_typecode_makes_a_value_of_its_ctypes_type(typecode, value):
    v = multiprocessing.Value(typecode, value)
    type_ = sharedctypes.typecode_to_type[typecode]
    assert type(v.get_obj()) is type_
    assert v.value == type_(value).value
    info = shmd.Client().info(segment_name(v))
    assert (info.typecode, info.kind, info.length) == (typecode, 'value', 1)
    raw = multiprocessing.RawValue(typecode)
    assert raw.value == type_().value


@pytest.mark.parametrize("typecode,value", TYPECODE_VALUES)
def test_every_typecode_makes_an_array_of_its_ctypes_type(typecode, value):
    a = multiprocessing.RawArray(typecode, 3)
    type_ = sharedctypes.typecode_to_type[typecode]
    assert type(a) is type_ * 3
    a[1] = value
    assert a[1] == type_(value).value
    assert a[0] == a[2] == type_().value
    info = shmd.Client().info(segment_name(a))
    assert (info.typecode, info.kind, info.length) == (typecode, 'array', 3)


@pytest.mark.parametrize("type_", sorted(set(sharedctypes.typecode_to_type.values()), key=lambda t: t.__name__))
def test_ctypes_types_are_accepted_in_place_of_typecodes(type_):
    v = multiprocessing.Value(type_)
    assert type(v.get_obj()) is type_
    assert shmd.Client().info(segment_name(v)).typecode == type_._type_


def test_values_are_the_segments_memory():
    v = multiprocessing.Value(ctypes.c_double, 1.25)
    other = shmd.Client().attach_value(segment_name(v), 'd')
    assert other.value == 1.25
    v.value = 2.678
    assert other.value == 2.678
    other.value = -3.5
    assert v.value == -3.5


def test_arrays_are_the_segments_memory_and_slice_as_ctypes_arrays():
    seq = [680, 626, 934, 821, 150, 233, 548, 982, 714, 831]
    arr = multiprocessing.Array('i', seq)
    other = shmd.Client().attach_array(segment_name(arr), 'i')
    assert other[:] == seq
    arr[4:8] = array.array('i', [1, 2, 3, 4])
    assert other[4:8] == [1, 2, 3, 4]
    other[-1] = 7
    assert arr[-1] == 7
    assert arr[::3] == [680, 821, 3, 7]
    assert len(arr) == 10
    with pytest.raises(IndexError):
        arr[10]


def test_integers_wrap_as_ctypes_does():
    v = multiprocessing.RawValue('b', 0)
    v.value = 130
    assert v.value == ctypes.c_byte(130).value == -126
    a = multiprocessing.RawArray('B', [255, 256])
    assert a[:] == [255, 0]


def test_constructor_arguments_are_checked_by_ctypes():
    with pytest.raises(TypeError):
        multiprocessing.Value('i', 'text')
    with pytest.raises(TypeError):
        multiprocessing.RawValue('i', 1, 2)
    with pytest.raises(TypeError):
        multiprocessing.RawArray('i', [1, 'x'])
    with pytest.raises(TypeError):
        multiprocessing.RawArray('i', (n for n in range(3)))  # a generator has no len()
    with pytest.raises(ValueError, match="Array length must be >= 0"):
        multiprocessing.Array('i', -1)


def test_an_empty_array_is_refused_clearly():
    with pytest.raises(ValueError, match="empty Array"):
        multiprocessing.RawArray('i', 0)
    with pytest.raises(ValueError, match="empty Array"):
        multiprocessing.Array('d', [])


def test_char_arrays_have_value_and_raw():
    s = multiprocessing.Array('c', b'hello')
    assert isinstance(s, sharedctypes.SynchronizedString)
    assert s.value == b'hello' and s.raw == b'hello'
    s.value = b'hi'
    assert s.raw == b'hi\x00lo'
    assert s.value == b'hi'
    s.raw = b'abcde'
    assert s[:] == b'abcde'
    raw = multiprocessing.RawArray(ctypes.c_char, 4)
    assert raw.raw == b'\x00' * 4


def test_wchar_values_and_arrays():
    u = multiprocessing.Value('u', 'x')
    assert u.value == 'x'
    a = multiprocessing.RawArray('u', 'shmd')
    assert a[:] == 'shmd'
    assert a.value == 'shmd'


@pytest.mark.parametrize("bad", ['z', 'ii', '', 5, None, [1], b'i'])
def test_a_bad_typecode_is_a_type_error(bad):
    for make in (lambda: multiprocessing.Value(bad), lambda: multiprocessing.RawArray(bad, 2)):
        with pytest.raises(TypeError, match="bad typecode"):
            make()


class Point(ctypes.Structure):
    _fields_ = [('x', ctypes.c_double), ('y', ctypes.c_double)]


@pytest.mark.parametrize("type_", [Point, ctypes.c_bool, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_longdouble,
                                   ctypes.c_int * 2, ctypes.POINTER(ctypes.c_int)])
def test_unsupported_ctypes_types_are_refused_clearly(type_):
    with pytest.raises(TypeError, match="cannot share ctypes type %s" % type_.__name__.replace('*', r'\*')):
        multiprocessing.Value(type_)


def test_nothing_is_created_for_refused_arguments(socket):
    before = daemon_segments(socket)
    with pytest.raises(AttributeError):
        multiprocessing.Value('i', 5, lock='navalue', name='lab.refused')
    with pytest.raises(TypeError):
        multiprocessing.Value('i', 'text', name='lab.refused')
    with pytest.raises(TypeError):
        multiprocessing.Array('q', [1.5], name='lab.refused')
    assert daemon_segments(socket) == before


def test_lock_true_is_the_segments_robust_recursive_mutex():
    v = multiprocessing.Value('i', 5)
    lock = v.get_lock()
    assert isinstance(lock, shmd.Lock)
    assert v.get_lock() is lock
    assert type(v.get_obj()) is ctypes.c_int
    with lock:
        with lock:  # recursive
            v.value += 1
    assert v.value == 6
    # It is the segment's own mutex: another thread locking it through another attachment waits.
    other = shmd.Client().attach_value(segment_name(v), 'i')
    taken = []
    with lock:
        thread = threading.Thread(target=lambda: taken.append(other.get_lock().acquire(timeout=0.05)))
        thread.start()
        thread.join()
    assert taken == [False]
    assert other.get_lock().acquire(block=False)
    other.get_lock().release()


def test_lock_none_is_like_lock_true():
    v = multiprocessing.Array('i', 3, lock=None)
    assert isinstance(v.get_lock(), shmd.Lock)
    assert isinstance(v, sharedctypes.SynchronizedArray)


def test_lock_false_gives_the_raw_ctypes_object():
    v = multiprocessing.Value('d', 1.0, lock=False)
    assert type(v) is ctypes.c_double
    assert not hasattr(v, 'get_lock') and not hasattr(v, 'get_obj')
    a = multiprocessing.Array('i', range(3), lock=False)
    assert type(a) is ctypes.c_int * 3
    assert not hasattr(a, 'get_lock') and not hasattr(a, 'get_obj')


def test_a_lock_object_is_used_as_the_lock():
    lock = std_multiprocessing.RLock()
    v = multiprocessing.Value('i', 1, lock=lock)
    assert v.get_lock() is lock
    with v:
        assert lock._semlock._is_mine()
    assert not lock._semlock._is_mine()


def test_anything_else_as_lock_is_an_attribute_error():
    with pytest.raises(AttributeError, match="'notalock' has no method 'acquire'"):
        multiprocessing.Array('i', range(10), lock='notalock')
    with pytest.raises(AttributeError, match="has no method 'acquire'"):
        multiprocessing.Value('i', lock=0)


def test_synchronized_wrappers_are_multiprocessings_classes():
    v = multiprocessing.Value('i', 5)
    assert isinstance(v, std_multiprocessing.sharedctypes.Synchronized)
    assert repr(v) == '<Synchronized wrapper for c_int(5)>'
    a = multiprocessing.Array('i', 2)
    assert isinstance(a, std_multiprocessing.sharedctypes.SynchronizedArray)


def test_synchronized_takes_other_ctypes_objects_to_multiprocessing():
    plain = ctypes.c_int(3)
    wrapped = sharedctypes.synchronized(plain, std_multiprocessing.RLock())
    assert type(wrapped) is std_multiprocessing.sharedctypes.Synchronized
    raw = multiprocessing.RawValue('i', 4)
    assert isinstance(sharedctypes.synchronized(raw), sharedctypes.Synchronized)
    assert isinstance(sharedctypes.synchronized(raw).get_lock(), shmd.Lock)


def test_copy_is_a_new_segment_with_the_same_contents():
    a = multiprocessing.RawArray('d', [1.5, 2.5])
    b = sharedctypes.copy(a)
    assert type(b) is type(a) and b[:] == [1.5, 2.5]
    assert segment_name(b) != segment_name(a)
    b[0] = 9.0
    assert a[0] == 1.5


def test_objects_without_a_name_are_ephemeral_and_go_with_their_last_holder(socket):
    v = multiprocessing.Value('d', 1.0)
    name = segment_name(v)
    info = shmd.Client().info(name)
    assert info.ephemeral and not info.removed
    del v
    eventually(lambda: name not in daemon_segments(socket), "the dropped Value's segment to go")


def test_named_objects_are_persistent_segments_that_shmctl_sees(socket, daemon):
    v = multiprocessing.Value('d', 0.0, name='lab.total')
    v.value = 2.678
    assert daemon.shmctl('get', 'lab.total').stdout == '2.678\n'
    info = shmd.Client().info('lab.total')
    assert not info.ephemeral
    del v
    # It outlives every holder, with its contents.
    again = multiprocessing.Value('d', name='lab.total')
    assert again.value == 2.678
    # An initial value given when opening is written, as Value() promises.
    reset = multiprocessing.Value('d', 0.5, name='lab.total')
    assert again.value == reset.value == 0.5
    shmd.Client().remove('lab.total')


def test_named_arrays_open_with_their_contents_or_are_rewritten(socket, daemon):
    a = multiprocessing.Array('i', range(4), name='lab.squares')
    assert daemon.shmctl('get', 'lab.squares').stdout == '[0, 1, 2, 3]\n'
    a[:] = [0, 1, 4, 9]
    kept = multiprocessing.RawArray('i', 4, name='lab.squares')
    assert kept[:] == [0, 1, 4, 9]
    multiprocessing.Array('i', [5, 6, 7, 8], name='lab.squares')
    assert a[:] == [5, 6, 7, 8]
    shmd.Client().remove('lab.squares')


def test_a_named_object_of_another_type_is_a_type_error(socket, daemon):
    keep = multiprocessing.Value('d', 1.0, name='lab.typed')
    with pytest.raises(TypeError):
        multiprocessing.Value('i', name='lab.typed')
    with pytest.raises(TypeError):
        multiprocessing.Array('d', 3, name='lab.typed')
    assert keep.value == 1.0
    shmd.Client().remove('lab.typed')


def test_a_bad_name_is_a_value_error():
    with pytest.raises(ValueError):
        multiprocessing.Value('i', name='not a valid name!')


def test_synchronized_objects_pickle_by_name_with_any_pickler():
    v = multiprocessing.Value('i', 41)
    w = pickle.loads(pickle.dumps(v))
    assert segment_name(w) == segment_name(v)
    w.value += 1
    assert v.value == 42
    assert isinstance(w.get_lock(), shmd.Lock)


def test_raw_objects_pickle_by_name_with_multiprocessings_pickler():
    a = multiprocessing.RawArray('i', [1, 2, 3])
    b = std_multiprocessing.reduction.ForkingPickler.loads(
        std_multiprocessing.reduction.ForkingPickler.dumps(a))
    assert type(b) is type(a)
    b[0] = 10
    assert a[0] == 10


def test_other_ctypes_objects_still_pickle_as_before():
    multiprocessing.RawValue('i', 1)  # registers the reducer for c_int
    plain = ctypes.c_int(7)
    copied = std_multiprocessing.reduction.ForkingPickler.loads(
        std_multiprocessing.reduction.ForkingPickler.dumps(plain))
    assert copied.value == 7


def test_get_context_gives_shmds_objects_and_multiprocessings_processes():
    ctx = multiprocessing.get_context('spawn')
    assert ctx.Process is std_multiprocessing.get_context('spawn').Process
    assert ctx.get_start_method() == 'spawn'
    v = ctx.Value('i', 3)
    assert isinstance(v, sharedctypes.Synchronized) and isinstance(v.get_lock(), shmd.Lock)
    assert type(ctx.RawArray('d', 2)) is ctypes.c_double * 2
    assert isinstance(ctx.get_context('fork').Array('i', 2), sharedctypes.SynchronizedArray)
    assert isinstance(multiprocessing.get_context().Value('i'), sharedctypes.Synchronized)


def test_an_unreachable_daemon_is_a_connection_error_naming_the_socket(monkeypatch, tmp_path):
    missing = str(tmp_path / 'nobody.sock')
    monkeypatch.setenv('SHMD_SOCKET', missing)
    with pytest.raises(ConnectionError, match=missing):
        multiprocessing.Value('i')
