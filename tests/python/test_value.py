"""shmd.Value: every typecode's values and ranges, atomics, read-only, detach, bad inputs."""

import ctypes
import gc
import math
import os

import pytest

import shmd

# typecode -> (smallest, largest) for the integer typecodes (Linux x86-64 sizes).
INT_RANGES = {
    "b": (-2**7, 2**7 - 1), "B": (0, 2**8 - 1),
    "h": (-2**15, 2**15 - 1), "H": (0, 2**16 - 1),
    "i": (-2**31, 2**31 - 1), "I": (0, 2**32 - 1),
    "l": (-2**63, 2**63 - 1), "L": (0, 2**64 - 1),
    "q": (-2**63, 2**63 - 1), "Q": (0, 2**64 - 1),
}


def test_module_lists_every_typecode():
    assert shmd.typecodes == "cbBuhHiIlLqQfd"


@pytest.mark.parametrize("tc", list(INT_RANGES))
def test_integers_take_their_whole_range_and_refuse_beyond_it(client, daemon, tc):
    lo, hi = INT_RANGES[tc]
    v = client.create_value(f"py.{tc}", tc, hi)
    assert v.value == hi
    assert daemon.shmctl("get", f"py.{tc}").stdout.strip() == str(hi)
    v.value = lo
    assert v.value == lo and type(v.value) is int
    for bad in (lo - 1, hi + 1, 2**200, -2**200):
        with pytest.raises(OverflowError, match=f"typecode '{tc}'"):
            v.value = bad
        assert v.value == lo  # nothing was stored
    with pytest.raises(OverflowError):
        client.create_value(f"py.{tc}.big", tc, hi + 1)


@pytest.mark.parametrize("tc", list(INT_RANGES))
def test_integers_refuse_non_integers(client, tc):
    v = client.create_value(f"py.{tc}", tc, 1)
    for bad in (1.5, "1", b"1", None, [1], 1j):
        with pytest.raises(TypeError):
            v.value = bad
    v.value = True  # bool is an int, as ctypes takes it
    assert v.value == 1

    class Index:
        def __index__(self):
            return 3

    v.value = Index()
    assert v.value == 3


@pytest.mark.parametrize("tc", ["f", "d"])
def test_floats(client, daemon, tc):
    v = client.create_value(f"py.{tc}", tc, 0.5)
    assert v.value == 0.5 and type(v.value) is float
    v.value = 3  # an int is a real number
    assert v.value == 3.0
    v.value = float("inf")
    assert v.value == math.inf
    v.value = float("nan")
    assert math.isnan(v.value)
    for bad in ("1.0", b"x", None, [1.0], 1j):
        with pytest.raises(TypeError):
            v.value = bad
    v.value = 2.678
    assert daemon.shmctl("get", f"py.{tc}").stdout.strip() == ("2.678" if tc == "d" else repr(ctypes.c_float(2.678).value))


def test_float_refuses_what_a_c_float_cannot_hold(client):
    v = client.create_value("py.f", "f", 1.0)
    with pytest.raises(OverflowError):
        v.value = 1e300
    assert v.value == 1.0
    v.value = 3.4e38
    assert v.value == pytest.approx(3.4e38, rel=1e-6)
    big = client.create_value("py.d", "d", 1e300)
    assert big.value == 1e300


def test_c_is_one_byte(client, daemon):
    v = client.create_value("py.c", "c", b"x")
    assert v.value == b"x"
    v.value = bytearray(b"y")
    assert v.value == b"y"
    v.value = 0
    assert v.value == b"\x00"
    v.value = 255
    assert v.value == b"\xff"
    assert daemon.shmctl("get", "py.c").stdout.strip() == "b'\\xff'"
    for bad in ("x", b"xy", b"", 1.0, None):
        with pytest.raises(TypeError):
            v.value = bad
    for bad in (256, -1):
        with pytest.raises(OverflowError):
            v.value = bad
    assert client.create_value("py.c0", "c").value == b"\x00"


def test_u_is_one_character(client, daemon):
    v = client.create_value("py.u", "u", "é")
    assert v.value == "é"
    assert daemon.shmctl("get", "py.u").stdout.strip() == "'é'"
    assert daemon.shmctl("get", "py.u", "--json").stdout.strip() == '"é"'
    v.value = "\U0001f600"
    assert v.value == "\U0001f600"
    daemon.shmctl("set", "py.u", "z")
    assert v.value == "z"
    for bad in ("", "ab", b"a", 65, None):
        with pytest.raises(TypeError):
            v.value = bad
    assert client.create_value("py.u0", "u").value == "\x00"
    assert v.info.element_size == 4


def test_shmctl_creates_u_values_python_reads(client, daemon):
    daemon.shmctl("create", "py.su", "--type", "u", "--value", "q")
    assert client.attach_value("py.su", "u").value == "q"


def test_atomics(client):
    v = client.create_value("py.n", "i", 10)
    assert v.fetch_add(5) == 10 and v.value == 15
    assert v.fetch_sub(20) == 15 and v.value == -5
    assert v.exchange(7) == -5 and v.value == 7
    assert v.compare_exchange(7, 8) == (True, 7) and v.value == 8
    assert v.compare_exchange(7, 9) == (False, 8) and v.value == 8
    with pytest.raises(OverflowError):
        v.fetch_add(2**31)
    with pytest.raises(TypeError):
        v.fetch_add(1.5)
    assert v.value == 8
    d = client.create_value("py.dd", "d", 1.5)
    assert d.fetch_add(1.0) == 1.5 and d.value == 2.5
    assert d.fetch_sub(0.5) == 2.5 and d.value == 2.0


def test_atomic_add_wraps_as_c_does(client):
    v = client.create_value("py.w", "B", 255)
    assert v.fetch_add(1) == 255 and v.value == 0


@pytest.mark.parametrize("tc,val", [("c", b"x"), ("u", "x")])
def test_atomics_need_a_numeric_typecode(client, tc, val):
    v = client.create_value(f"py.{tc}", tc, val)
    for op, args in (("fetch_add", (val,)), ("fetch_sub", (val,)), ("exchange", (val,)),
                     ("compare_exchange", (val, val))):
        with pytest.raises(TypeError, match="numeric typecode"):
            getattr(v, op)(*args)


def test_atomic_increments_from_processes_add_up(client):
    v = client.create_value("py.count", "q", 0)
    pids = []
    for _ in range(4):
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                for _ in range(5000):
                    v.fetch_add(1)
                code = 0
            finally:
                os._exit(code)
        pids.append(pid)
    for pid in pids:
        assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    assert v.value == 20000


def test_read_only_attach_reads_and_refuses_every_write(client):
    v = client.create_value("py.ro", "i", 4)
    ro = client.attach_value("py.ro", read_only=True)
    assert ro.read_only and not v.read_only and ro.value == 4
    v.value = 5
    assert ro.value == 5
    for write in (lambda: setattr(ro, "value", 1), lambda: ro.fetch_add(1), lambda: ro.fetch_sub(1),
                  lambda: ro.exchange(1), lambda: ro.compare_exchange(5, 1), lambda: ro.get_lock().acquire()):
        with pytest.raises(PermissionError) as err:
            write()
        assert isinstance(err.value, shmd.PermissionDeniedError)
    assert v.value == 5
    m = memoryview(ro)
    assert m.readonly and m[0] == 5
    with pytest.raises(TypeError):
        m[0] = 1
    with pytest.raises((BufferError, TypeError)):
        ctypes.c_int.from_buffer(ro)  # asks for a writable buffer
    assert v.value == 5


def test_use_after_detach_raises_value_error(client):
    v = client.create_value("py.det", "i", 1)
    lock = v.get_lock()
    v.detach()
    assert v.closed
    v.detach()  # idempotent
    for use in (lambda: v.value, lambda: setattr(v, "value", 2), lambda: v.fetch_add(1), lambda: v.exchange(1),
                lambda: v.compare_exchange(1, 2), lambda: memoryview(v), lambda: lock.acquire(),
                lambda: v.get_lock().acquire(block=False)):
        with pytest.raises(ValueError, match="detached"):
            use()
    assert v.name == "py.det" and v.typecode == "i" and v.info.name == "py.det"
    assert repr(v) == "<shmd.Value 'py.det' typecode='i' detached>"


def test_detach_drops_the_reference(client):
    v = client.create_value("py.ref", "i")
    assert client.info("py.ref").refcount == 1
    w = client.attach_value("py.ref")
    assert client.info("py.ref").refcount == 2
    w.detach()
    assert client.info("py.ref").refcount == 1
    del v
    gc.collect()
    assert client.info("py.ref").refcount == 0


def test_context_manager_detaches(client):
    with client.create_value("py.cm", "d", 1.0) as v:
        assert v.value == 1.0
    assert v.closed and client.info("py.cm").refcount == 0


def test_repr(client):
    v = client.create_value("py.r", "h", -3)
    assert repr(v) == "<shmd.Value 'py.r' typecode='h' value=-3>"
    assert repr(client.attach_value("py.r", read_only=True)) == "<shmd.Value 'py.r' typecode='h' value=-3 read-only>"


def test_a_value_is_a_buffer_of_its_element_for_ctypes(client):
    v = client.create_value("py.cd", "d", 1.5)
    m = memoryview(v)
    assert (m.format, m.itemsize, m.nbytes, m.readonly) == ("d", 8, 8, False)
    c = ctypes.c_double.from_buffer(v)
    assert c.value == 1.5
    c.value = 4.25
    assert v.value == 4.25
    with pytest.raises(BufferError):
        v.detach()  # ctypes holds a view
    del c, m
    gc.collect()
    v.detach()
    u = client.create_value("py.cu", "u", "w")
    assert ctypes.c_wchar.from_buffer(u).value == "w"
    assert memoryview(u).format == "w"
