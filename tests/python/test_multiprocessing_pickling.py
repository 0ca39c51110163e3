"""shmd.multiprocessing objects travel by name: to children under every start method, through
Pools, Queues and Pipes, and out of children again; an ephemeral one carries a hold."""

import ctypes
import os
import pickle
import signal

import pytest

import shmd
import shmd.multiprocessing as multiprocessing
from multiprocessing import reduction
from shmd.multiprocessing import _segment_buffer, sharedctypes

from multiprocessing_support import daemon_segments, eventually, segment_name

START_METHODS = ['fork', 'spawn', 'forkserver']


@pytest.fixture(autouse=True)
def socket(daemon, monkeypatch):
    """The test's own daemon (conftest.py), which new objects find through $SHMD_SOCKET."""
    monkeypatch.setenv('SHMD_SOCKET', daemon.socket)
    return daemon.socket


@pytest.fixture
def ctx(request):
    """The shmd.multiprocessing context of the test's start method; a fork server is stopped after
    the test, since it keeps the environment ($SHMD_SOCKET) it was started with."""
    method = request.param
    yield multiprocessing.get_context(method)
    if method == 'forkserver':
        from multiprocessing import forkserver
        forkserver._forkserver._stop()


def _dumps(obj):
    return bytes(reduction.ForkingPickler.dumps(obj))


def _holds(socket, name):
    return shmd.Client(socket).info(name).holds


# Targets run by children: module-level, so that spawned children find them by name.

def _update_all(v, a, raw, s):
    v.value = 2.678
    for i in range(len(a)):
        a[i] = a[i] * a[i]
    raw.value += 1
    s.value = b'child'


def _square_at(args):
    arr, i = args
    arr[i] = arr[i] * arr[i]
    return arr[i]


def _make_value(x):
    return multiprocessing.Value('i', x)


def _put_new_value(q, x):
    q.put(multiprocessing.Value('q', x))


def _dump_new_value(conn, x):
    v = multiprocessing.Value('i', x)
    conn.send((segment_name(v), _dumps(v)))


def _pool_init(g):
    global _gate
    _gate = g


def _first_waits(args):
    i, arr = args
    if i == 0:
        assert _gate.wait(60)
    return sum(arr[:])


def _put_inherited(q, v):
    q.put(v)


def _add_under_lock(v, n):
    for _ in range(n):
        with v.get_lock():
            v.value += 1


def _die_holding_the_lock(v):
    v.get_lock().acquire()
    v.value = -1
    os.kill(os.getpid(), signal.SIGKILL)


@pytest.mark.parametrize('ctx', START_METHODS, indirect=True)
def test_process_arguments_are_shared_under_every_start_method(ctx):
    v = ctx.Value('d', 0.0)
    a = ctx.Array('i', range(10))
    raw = ctx.RawValue(ctypes.c_int, 41)
    s = ctx.Array('c', b'parent')
    p = ctx.Process(target=_update_all, args=(v, a, raw, s))
    p.start()
    p.join()
    assert p.exitcode == 0
    assert v.value == 2.678
    assert a[:] == [i * i for i in range(10)]
    assert raw.value == 42
    assert s.value == b'child'


@pytest.mark.parametrize('ctx', START_METHODS, indirect=True)
def test_pool_tasks_and_results_travel_by_name(ctx, socket):
    arr = ctx.Array('i', range(10))
    with ctx.Pool(2) as pool:
        assert pool.map(_square_at, [(arr, i) for i in range(10)]) == [i * i for i in range(10)]
        made = pool.apply(_make_value, (7,))
    pool.join()
    assert arr[:] == [i * i for i in range(10)]
    # Made by a worker that has exited since: the parent's claimed reference keeps it.
    assert made.value == 7
    made.value += 1
    assert shmd.Client(socket).attach_value(segment_name(made), 'i').value == 8


@pytest.mark.parametrize('ctx', START_METHODS, indirect=True)
def test_a_value_put_on_a_queue_by_a_child_outlives_the_child(ctx, socket):
    q = ctx.Queue()
    p = ctx.Process(target=_put_new_value, args=(q, 2 ** 40))
    p.start()
    p.join()
    assert p.exitcode == 0
    # The child is gone, and with it every reference it held but the one its pickle carries.
    v = q.get(timeout=30)
    assert v.value == 2 ** 40
    assert _holds(socket, segment_name(v)) == 0


def test_put_then_drop_then_get_through_a_pipe(socket):
    reader, writer = multiprocessing.Pipe(duplex=False)
    writer.send(multiprocessing.RawArray('d', [1.5, 2.5]))  # nothing else holds it once sent
    a = reader.recv()
    assert a[:] == [1.5, 2.5]
    info = shmd.Client(socket).info(segment_name(a))
    assert (info.refcount, info.holds) == (1, 0)


def test_an_ephemeral_pickle_carries_a_hold_and_a_named_one_does_not(socket):
    v = multiprocessing.Value('i', 5)
    data = _dumps(v)
    assert _holds(socket, segment_name(v)) == 1
    del v
    # Only the hold keeps it now.
    w = pickle.loads(data)
    assert w.value == 5
    assert _holds(socket, segment_name(w)) == 0

    named = multiprocessing.Value('i', 6, name='lab.passed')
    data = _dumps(named)
    assert _holds(socket, 'lab.passed') == 0
    assert pickle.loads(data).value == 6
    shmd.Client(socket).remove('lab.passed')


def test_a_hold_that_expires_leaves_nothing_and_a_clear_error(socket, monkeypatch):
    monkeypatch.setattr(_segment_buffer, 'HOLD_SECONDS', 1)  # inherited by the forked sender
    reader, writer = multiprocessing.Pipe(duplex=False)
    sender = multiprocessing.get_context('fork').Process(target=_dump_new_value, args=(writer, 5))
    sender.start()
    name, data = reader.recv()
    sender.join()
    assert sender.exitcode == 0
    # The sender is gone: its hold expires HOLD_SECONDS after its connection closed.
    eventually(lambda: name not in daemon_segments(socket), "the expired hold's segment to go")
    with pytest.raises(FileNotFoundError, match="%s' is gone: every process that held it let go" % name):
        pickle.loads(data)


def test_a_pickle_stays_claimable_while_its_sender_lives(socket, monkeypatch):
    monkeypatch.setattr(_segment_buffer, 'HOLD_SECONDS', 1)
    v = multiprocessing.Value('i', 5)
    name = segment_name(v)
    data = _dumps(v)
    del v
    # A hold taken afterwards with the same lifetime, counted from now, expires; the pickle's,
    # counted from the close of this process's connection, does not.
    client = shmd.Client(socket)
    marker = client.create_value('marker', 'i', ephemeral=True)
    client.hold(marker, 1)
    del marker
    eventually(lambda: 'marker' not in daemon_segments(socket), "the marker's hold to expire")
    assert _holds(socket, name) == 1
    w = pickle.loads(data)
    assert w.value == 5
    assert _holds(socket, name) == 0


def test_a_pool_task_that_waits_longer_than_the_hold_still_gets_its_object(socket, monkeypatch):
    # Pool loses a task whose arguments fail to unpickle (its worker just exits): the hold of an
    # object nothing else holds any more must not end while the task waits in the queue.
    monkeypatch.setattr(_segment_buffer, 'HOLD_SECONDS', 1)
    ctx = multiprocessing.get_context('fork')
    gate = ctx.Event()
    with ctx.Pool(1, initializer=_pool_init, initargs=(gate,)) as pool:
        result = pool.map_async(_first_waits, [(i, ctx.RawArray('i', [i, 1])) for i in range(3)])
        # Every task is in the pipe once each array's only reference is its hold.
        eventually(lambda: sum(info.holds for info in shmd.Client(socket).list()) == 2 and
                   sum(info.refcount for info in shmd.Client(socket).list()) == 3,
                   "the tasks to be queued, each array held by its pickle alone (the first by its worker)")
        marker = shmd.Client(socket)
        held = marker.create_value('marker', 'i', ephemeral=True)
        marker.hold(held, 1)
        del held
        eventually(lambda: 'marker' not in daemon_segments(socket), "a hold of the same lifetime to expire")
        gate.set()
        assert result.get(timeout=60) == [1, 2, 3]
    pool.join()
    eventually(lambda: not daemon_segments(socket), "every array to go with its last holder")


def test_a_pickle_loaded_twice_works_while_somebody_holds_the_object(socket):
    v = multiprocessing.Array('i', [1, 2])
    name = segment_name(v)
    data = _dumps(v)
    first = pickle.loads(data)   # claims the hold
    second = pickle.loads(data)  # attaches by name: `v` and `first` hold it
    assert first[:] == second[:] == [1, 2]
    del v, first, second
    eventually(lambda: name not in daemon_segments(socket), "the segment to go with its last holder")
    with pytest.raises(FileNotFoundError, match="claimed already or had expired"):
        pickle.loads(data)


def test_a_removed_named_object_is_a_clear_error(socket):
    v = multiprocessing.RawValue('d', 1.0, name='lab.removed')
    data = _dumps(v)
    shmd.Client(socket).remove('lab.removed')
    with pytest.raises(FileNotFoundError, match="'lab.removed' no longer exists"):
        pickle.loads(data)


def test_a_forked_child_uses_inherited_objects_and_passes_them_on(socket):
    ctx = multiprocessing.get_context('fork')
    v = ctx.Value('i', 1)
    name = segment_name(v)
    q = ctx.Queue()
    p = ctx.Process(target=_put_inherited, args=(q, v))
    p.start()
    p.join()
    assert p.exitcode == 0
    # The child had only the memory, inherited; to pass it on it took a reference of its own,
    # and the hold its pickle carries keeps the segment after the parent lets go too.
    del v
    w = q.get(timeout=30)
    assert segment_name(w) == name and w.value == 1


@pytest.mark.parametrize('ctx', START_METHODS, indirect=True)
def test_the_segments_lock_serialises_processes(ctx):
    v = ctx.Value('l', 0)
    processes = [ctx.Process(target=_add_under_lock, args=(v, 300)) for _ in range(4)]
    for p in processes:
        p.start()
    for p in processes:
        p.join()
    assert [p.exitcode for p in processes] == [0] * 4
    assert v.value == 1200


@pytest.mark.parametrize('ctx', ['fork', 'spawn'], indirect=True)
def test_a_lock_whose_holder_was_killed_is_recovered(ctx):
    v = ctx.Value('i', 0)
    p = ctx.Process(target=_die_holding_the_lock, args=(v,))
    p.start()
    p.join()
    assert p.exitcode == -signal.SIGKILL
    lock = v.get_lock()
    assert lock.acquire(timeout=10)
    assert lock.owner_died
    assert v.get_obj().value == -1
    lock.release()


@pytest.mark.parametrize('ctx', ['spawn'], indirect=True)
def test_a_users_lock_travels_to_children_as_multiprocessing_allows(ctx):
    lock = ctx.RLock()  # recursive: `with v.get_lock(): v.value += 1` locks twice
    v = ctx.Value('i', 0, lock=lock)
    p = ctx.Process(target=_add_under_lock, args=(v, 10))
    p.start()
    p.join()
    assert p.exitcode == 0 and v.value == 10
    # Outside spawning a multiprocessing.Lock refuses to be pickled, as without shmd.
    with pytest.raises(RuntimeError, match="through inheritance"):
        _dumps(v)


def test_raw_objects_of_multiprocessings_heap_still_refuse_to_travel_outside_spawning():
    theirs = sharedctypes._std.RawValue('i', 1)
    ours = multiprocessing.RawValue('i', 1)  # the same ctypes type, registered by shmd after it
    assert pickle.loads(_dumps(ours)).value == 1
    with pytest.raises(RuntimeError, match="through inheritance"):
        _dumps(theirs)
