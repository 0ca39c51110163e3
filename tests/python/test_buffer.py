"""The buffer protocol: memoryview and numpy see the shared memory itself, with no copy, and
keep the segment mapped for as long as they live; detach() refuses while they do (as
mmap.close() does)."""

import gc

import pytest

import shmd

numpy = pytest.importorskip("numpy")

FORMATS = {"c": "c", "b": "b", "B": "B", "u": "w", "h": "h", "H": "H", "i": "i", "I": "I",
           "l": "l", "L": "L", "q": "q", "Q": "Q", "f": "f", "d": "d"}


@pytest.mark.parametrize("tc", list(FORMATS))
def test_memoryview_has_the_struct_format_and_itemsize(client, tc):
    a = client.create_array(f"py.{tc}", tc, 3)
    m = memoryview(a)
    assert m.format == FORMATS[tc] and m.itemsize == a.info.element_size
    assert m.shape == (3,) and m.nbytes == a.info.size_bytes and not m.readonly and m.c_contiguous


def test_memoryview_writes_are_shared_memory(client, daemon):
    a = client.create_array("py.mv", "i", 4)
    m = memoryview(a)
    m[1] = 42
    assert a[1] == 42
    assert daemon.shmctl("get", "py.mv").stdout.strip() == "[0, 42, 0, 0]"
    a[2] = 7
    assert m[2] == 7


def test_numpy_frombuffer_is_zero_copy(client):
    a = client.create_array("py.np", "d", [1.0, 2.0, 3.0])
    n = numpy.frombuffer(a, dtype=numpy.float64)
    n *= n
    assert a[:] == [1.0, 4.0, 9.0]
    a[0] = -1.0
    assert n[0] == -1.0
    other = shmd.Client(client.socket_path).attach_array("py.np")
    assert other[:] == [-1.0, 4.0, 9.0]


def test_views_keep_the_segment_alive_after_the_array_is_dropped(client):
    a = client.create_array("py.keep", "q", 5)
    m = memoryview(a)
    n = numpy.frombuffer(a, dtype=numpy.int64)
    del a
    gc.collect()
    m[0] = 11
    n[1] = 22
    assert m[1] == 22 and n[0] == 11
    other = shmd.Client(client.socket_path).attach_array("py.keep", "q")
    assert other[:2] == [11, 22]
    other[4] = 44
    assert m[4] == 44 and n[4] == 44
    assert client.info("py.keep").refcount == 2  # the dropped Array's reference lives on in the views
    del m, n
    gc.collect()
    assert client.info("py.keep").refcount == 1


def test_detach_refuses_while_a_view_exists(client):
    a = client.create_array("py.busy", "i", 2)
    m = memoryview(a)
    with pytest.raises(BufferError, match="buffer view"):
        a.detach()
    m[0] = 5  # still mapped
    assert a[0] == 5 and not a.closed
    with pytest.raises(BufferError):
        with a:
            pass
    m.release()
    a.detach()
    assert a.closed


def test_numpy_view_blocks_detach_until_it_goes(client):
    a = client.create_array("py.nb", "f", 2)
    n = numpy.frombuffer(a, dtype=numpy.float32)
    with pytest.raises(BufferError):
        a.detach()
    del n
    gc.collect()
    a.detach()


def test_read_only_segments_give_read_only_views(client):
    client.create_array("py.ro", "i", [1, 2])
    ro = client.attach_array("py.ro", read_only=True)
    m = memoryview(ro)
    assert m.readonly and m.tolist() == [1, 2]
    with pytest.raises(TypeError):
        m[0] = 3
    n = numpy.frombuffer(ro, dtype=numpy.int32)
    assert not n.flags.writeable
    with pytest.raises(ValueError):
        n[0] = 3
    assert ro[:] == [1, 2]


def test_slice_assignment_from_a_numpy_array_and_from_the_array_itself(client):
    a = client.create_array("py.sa", "q", 6)
    a[:] = numpy.arange(6, dtype=numpy.int64)  # numpy's 'l' into 'q': same C type size and class
    assert a[:] == [0, 1, 2, 3, 4, 5]
    a[1:] = memoryview(a)[:-1]  # overlapping: copied first
    assert a[:] == [0, 0, 1, 2, 3, 4]
    a[::2] = numpy.array([7, 8, 9], dtype=numpy.int32)  # another size: item by item
    assert a[:] == [7, 0, 8, 2, 9, 4]
    with pytest.raises(ValueError):
        a[:] = numpy.zeros(5, dtype=numpy.int64)
