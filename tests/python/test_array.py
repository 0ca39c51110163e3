"""shmd.Array: indexing, slices with steps, slice assignment from sequences and buffers,
iteration, ==, 'c' and 'u' arrays, read-only, detach and every bad input."""

import array
import gc

import pytest

import shmd


@pytest.fixture
def arr(client):
    return client.create_array("py.arr", "i", list(range(10)))


def test_len_index_and_negative_index(arr, daemon):
    assert len(arr) == 10
    assert arr[0] == 0 and arr[9] == 9 and arr[-1] == 9 and arr[-10] == 0
    arr[-1] = 99
    assert daemon.shmctl("get", "py.arr").stdout.strip() == "[0, 1, 2, 3, 4, 5, 6, 7, 8, 99]"


def test_index_errors(arr):
    for bad in (10, -11, 2**70, -2**70):
        with pytest.raises(IndexError):
            arr[bad]
        with pytest.raises(IndexError):
            arr[bad] = 1
    for bad in ("0", 1.0, None, (1,)):
        with pytest.raises(TypeError):
            arr[bad]
        with pytest.raises(TypeError):
            arr[bad] = 1
    with pytest.raises(TypeError):
        del arr[0]


def test_slices_with_steps_read_as_lists(arr):
    ref = list(range(10))
    for s in (slice(None), slice(2, 5), slice(None, None, 3), slice(8, 1, -2), slice(None, None, -1),
              slice(-3, None), slice(5, 2), slice(100, 200), slice(-100, 3)):
        assert arr[s] == ref[s], s
    with pytest.raises(ValueError):
        arr[::0]


def test_contiguous_slices_read_every_typecode_exactly(client):
    # a[:] and a[i:j] copy a contiguous run in one piece (the fast path); stepped slices do not.
    for typecode, values in {"b": [-128, 127, 0, -1], "i": [-2**31, 2**31 - 1, 7, -7],
                             "Q": [2**64 - 1, 0, 2**63, 5], "d": [1.5, -0.25, 1e300, -0.0]}.items():
        a = client.create_array(f"py.contig.{typecode}", typecode, values)
        assert a[:] == values and a[1:3] == values[1:3] and a[::-1] == values[::-1], typecode
        assert [type(x) for x in a[:]] == [type(x) for x in values], typecode
        assert a[len(values):] == [] and a[2:2] == []


def test_slice_assignment_from_any_sequence_of_the_right_length(arr):
    ref = list(range(10))
    arr[2:5] = (20, 30, 40)
    ref[2:5] = (20, 30, 40)
    arr[::3] = range(4)
    ref[::3] = range(4)
    arr[8:1:-3] = [-1, -2, -3]
    ref[8:1:-3] = [-1, -2, -3]
    assert arr[:] == ref
    for bad in ([1, 2], [1, 2, 3, 4], []):
        with pytest.raises(ValueError):
            arr[2:5] = bad
    assert arr[:] == ref


def test_slice_assignment_from_buffers(arr):
    arr[:3] = array.array("i", [7, 8, 9])
    assert arr[:3] == [7, 8, 9]
    arr[::5] = memoryview(array.array("i", [1, 2]))
    assert arr[0] == 1 and arr[5] == 2
    arr[0:2] = array.array("h", [11, 12])  # other element type: converted item by item
    assert arr[:2] == [11, 12]
    with pytest.raises(ValueError):
        arr[:3] = array.array("i", [1, 2])
    with pytest.raises(TypeError):
        arr[:2] = array.array("d", [1.0, 2.0])


def test_slice_assignment_is_all_or_nothing(arr):
    before = arr[:]
    with pytest.raises(OverflowError):
        arr[:3] = [1, 2, 2**40]
    with pytest.raises(TypeError):
        arr[:3] = [1, "2", 3]
    with pytest.raises(TypeError):
        arr[:3] = 5
    with pytest.raises(TypeError):
        arr[:3] = "abc"
    assert arr[:] == before


def test_element_range_and_types_are_checked(client):
    a = client.create_array("py.b", "B", 3)
    with pytest.raises(OverflowError):
        a[0] = 256
    with pytest.raises(OverflowError):
        a[0] = -1
    with pytest.raises(TypeError):
        a[0] = 1.0
    d = client.create_array("py.d", "d", 2)
    d[0] = 1
    with pytest.raises(TypeError):
        d[1] = "1"
    assert d[:] == [1.0, 0.0]


def test_iteration_membership_and_equality(arr, client):
    assert list(arr) == list(range(10))
    assert [x * 2 for x in arr][:3] == [0, 2, 4]
    assert 5 in arr and 50 not in arr
    assert list(reversed(arr)) == list(range(9, -1, -1))
    assert arr == list(range(10))
    assert arr == tuple(range(10))
    assert arr != list(range(9))
    assert arr != [0] * 10
    assert not (arr == 5)
    other = client.create_array("py.other", "i", list(range(10)))
    assert arr == other
    other[0] = 1
    assert arr != other


def test_c_arrays_have_value_and_raw_as_ctypes_char_arrays(client, daemon):
    c = client.create_array("py.c", "c", b"hi\0there")
    assert c[:] == b"hi\x00there" and c[0] == b"h" and c[-1] == b"e" and c[::2] == b"h\x00hr"
    assert c.value == b"hi"
    assert c.raw == b"hi\x00there"
    c.value = b"abc"
    assert c.raw == b"abc\x00here"
    c.raw = b"XY"
    assert c.raw == b"XYc\x00here" and c.value == b"XYc"
    c.value = b"12345678"  # exactly full: no NUL
    assert c.value == b"12345678"
    with pytest.raises(ValueError):
        c.value = b"123456789"
    with pytest.raises(ValueError):
        c.raw = b"123456789"
    with pytest.raises(TypeError):
        c.value = "str"
    c[0:3] = b"xyz"
    c[4] = b"!"
    assert c[:5] == b"xyz4!"
    assert c == b"xyz4!678" and c == [b"x", b"y", b"z", b"4", b"!", b"6", b"7", b"8"]
    assert daemon.shmctl("get", "py.c").stdout.startswith("[b'x', b'y'")


def test_u_arrays_read_as_str(client, daemon):
    u = client.create_array("py.u", "u", "héllo")
    assert u[:] == "héllo" and u[1] == "é" and u[::-1] == "olléh"
    assert u.value == "héllo"
    u.value = "ab"
    assert u[:] == "ab\x00lo" and u.value == "ab"
    u[2:5] = "xyz"
    assert u == "abxyz"
    with pytest.raises(ValueError):
        u.value = "toolong"
    with pytest.raises(TypeError):
        u[0] = "ab"
    assert daemon.shmctl("get", "py.u", "--json").stdout.strip() == '["a", "b", "x", "y", "z"]'
    with pytest.raises(AttributeError):
        u.raw


def test_value_and_raw_are_only_for_char_arrays(arr):
    with pytest.raises(AttributeError):
        arr.value
    with pytest.raises(AttributeError):
        arr.value = b"x"
    with pytest.raises(AttributeError):
        arr.raw


def test_read_only_array_refuses_writes_before_touching_memory(client, arr):
    ro = client.attach_array("py.arr", "i", read_only=True)
    assert ro[:] == list(range(10)) and ro.read_only
    for write in (lambda: ro.__setitem__(0, 1), lambda: ro.__setitem__(slice(0, 2), [1, 2])):
        with pytest.raises(PermissionError):
            write()
    c = client.create_array("py.rc", "c", 4)
    rc = client.attach_array("py.rc", read_only=True)
    with pytest.raises(PermissionError):
        rc.value = b"x"
    with pytest.raises(PermissionError):
        rc.raw = b"x"
    assert c.raw == b"\x00" * 4 and arr[:] == list(range(10))


def test_use_after_detach_raises_value_error(arr):
    arr.detach()
    assert arr.closed
    for use in (lambda: len(arr), lambda: arr[0], lambda: arr[:], lambda: arr.__setitem__(0, 1), lambda: list(arr),
                lambda: arr == [1], lambda: memoryview(arr), lambda: arr.get_lock().acquire()):
        with pytest.raises(ValueError, match="detached"):
            use()
    assert repr(arr) == "<shmd.Array 'py.arr' typecode='i' detached>"


def test_an_item_whose_conversion_detaches_the_array_is_not_written(arr):
    class Sneaky:
        def __index__(self):
            arr.detach()
            return 1

    with pytest.raises(ValueError, match="detached"):
        arr[0] = Sneaky()


def test_context_manager_and_repr(client):
    with client.create_array("py.cm", "d", 3) as a:
        assert repr(a) == "<shmd.Array 'py.cm' typecode='d' length=3>"
    assert a.closed
    gc.collect()
    assert client.info("py.cm").refcount == 0
