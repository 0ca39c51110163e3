"""shmd.Client against a real daemon: connecting, create/attach/list/info/remove/chmod,
SegmentInfo, and the mapping of every daemon error to its Python exception."""

import datetime
import json
import os
import socket
import threading
import time

import pytest

import shmd
from conftest import python_child


def test_unreachable_socket_raises_connection_error_naming_it(tmp_path):
    path = str(tmp_path / "nobody-listens.sock")
    with pytest.raises(ConnectionError) as err:
        shmd.Client(path)
    assert isinstance(err.value, shmd.DaemonUnavailableError)
    assert isinstance(err.value, shmd.Error)
    assert err.value.code == "daemon_unavailable"
    assert path in str(err.value)


def test_default_socket_comes_from_the_environment(daemon):
    r = python_child("import shmd; c = shmd.Client(); print(c.socket_path); print(shmd.default_socket_path())",
                     env={"SHMD_SOCKET": daemon.socket})
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [daemon.socket, daemon.socket]


def test_default_socket_without_environment_is_run_shmd():
    env = {k: v for k, v in os.environ.items() if k != "SHMD_SOCKET"}
    r = python_child("import os, shmd; os.environ.pop('SHMD_SOCKET', None); print(shmd.default_socket_path())", env=env)
    assert r.stdout.strip() == "/run/shmd/shmd.sock"


def test_socket_path_may_be_a_pathlike(daemon):
    import pathlib
    c = shmd.Client(pathlib.Path(daemon.socket))
    assert c.socket_path == daemon.socket
    assert repr(c) == f"<shmd.Client socket='{daemon.socket}'>"


def test_create_attach_remove_round_trip(client, daemon):
    v = client.create_value("py.total", "d", 2.678)
    assert daemon.shmctl("get", "py.total").stdout.strip() == "2.678"
    w = client.attach_value("py.total")
    assert w.value == 2.678 and w.typecode == "d" and w.name == "py.total"
    w.value = 1.25
    assert v.value == 1.25
    client.remove("py.total")
    with pytest.raises(FileNotFoundError):
        client.info("py.total")
    assert v.value == 1.25  # removal defers the release while attached
    daemon.shmctl("set", "--help")  # shmctl still answers


def test_info_has_the_fields_of_shmctl_info_json(client, daemon):
    client.create_array("py.arr", "h", [1, 2, 3], mode=0o640)
    info = client.info("py.arr")
    js = daemon.shmctl_json("info", "py.arr")
    for key, value in js.items():
        if key == "mode":
            assert info.mode == int(value, 8) == 0o640
        elif key == "created":
            parsed = datetime.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
            assert abs(info.created - parsed) < datetime.timedelta(milliseconds=1)
        elif key == "refcount":
            assert info.refcount == value
        else:
            assert getattr(info, key) == value, key
    assert info.kind == "array" and info.typecode == "h" and info.length == 3 and info.element_size == 2
    assert info.size_bytes == 6 and info.data_offset > 0 and info.mapping_bytes >= info.data_offset + 6
    assert info.creator_pid == os.getpid() and info.uid == os.getuid() and not info.removed and not info.ephemeral
    d = info.to_dict()
    assert set(js) <= set(d) and d["name"] == "py.arr" and d["mode"] == 0o640
    assert info == client.info("py.arr")
    assert info != client.create_value("py.other", "i").info
    assert repr(info).startswith("SegmentInfo(name='py.arr', id=") and "mode=0o640" in repr(info)
    with pytest.raises(AttributeError):
        info.name = "x"


def test_list_is_sorted_by_name(client):
    for name in ("b", "a", "c"):
        client.create_value(f"py.{name}", "i")
    assert [i.name for i in client.list()] == ["py.a", "py.b", "py.c"]


def test_chmod_returns_the_new_info(client, daemon):
    client.create_value("py.m", "i")
    assert client.chmod("py.m", 0o644).mode == 0o644
    assert daemon.shmctl_json("info", "py.m")["mode"] == "0644"
    with pytest.raises(ValueError):
        client.chmod("py.m", 0o10000)
    with pytest.raises(ValueError):
        client.chmod("py.m", -1)


def test_create_detached_makes_a_segment_with_no_reference(client, daemon):
    info = client.create_detached("py.det", "i", 3, initial=[7, 8, 9])
    assert info.refcount == 0 and info.kind == "array" and info.length == 3
    assert daemon.shmctl("get", "py.det").stdout.strip() == "[7, 8, 9]"
    vinfo = client.create_detached("py.detv", "d", initial=0.5)
    assert vinfo.kind == "value"
    assert client.attach_value("py.detv").value == 0.5
    assert client.create_detached("py.detv", "d", open_existing=True).id == vinfo.id
    with pytest.raises(ValueError):
        client.create_detached("py.det2", "i", 3, initial=[1, 2])
    with pytest.raises(TypeError):
        client.create_detached("py.det3", "x")


def test_open_existing_attaches_to_the_same_segment(client):
    v = client.create_value("py.oe", "q", 5)
    w = client.create_value("py.oe", "q", 9, open_existing=True)
    assert w.value == 5 and w.info.id == v.info.id
    with pytest.raises(TypeError) as err:
        client.create_value("py.oe", "d", open_existing=True)
    assert isinstance(err.value, shmd.TypeMismatchError)


def test_ephemeral_segment_goes_with_its_last_reference(client):
    v = client.create_value("py.eph", "i", ephemeral=True)
    assert client.info("py.eph").ephemeral
    v.detach()
    with pytest.raises(shmd.NotFoundError):
        client.info("py.eph")


def test_errors_map_to_builtin_exceptions(client):
    client.create_value("py.v", "i")
    client.create_array("py.a", "i", 2)
    cases = [
        (lambda: client.attach_value("py.none"), FileNotFoundError, shmd.NotFoundError, "not_found"),
        (lambda: client.remove("py.none"), FileNotFoundError, shmd.NotFoundError, "not_found"),
        (lambda: client.create_value("py.v", "i"), FileExistsError, shmd.ExistsError, "already_exists"),
        (lambda: client.attach_value("py.a"), TypeError, shmd.TypeMismatchError, "type_mismatch"),
        (lambda: client.attach_array("py.v"), TypeError, shmd.TypeMismatchError, "type_mismatch"),
        (lambda: client.attach_value("py.v", "d"), TypeError, shmd.TypeMismatchError, "type_mismatch"),
        (lambda: client.attach_array("py.a", "I"), TypeError, shmd.TypeMismatchError, "type_mismatch"),
        (lambda: client.create_value("bad name", "i"), ValueError, shmd.InvalidArgumentError, "invalid_argument"),
        (lambda: client.create_value("", "i"), ValueError, shmd.InvalidArgumentError, "invalid_argument"),
        (lambda: client.create_array("py.zero", "i", 0), ValueError, shmd.InvalidArgumentError, "invalid_argument"),
        (lambda: client.create_value("py.mode", "i", mode=0o1777), ValueError, shmd.InvalidArgumentError,
         "invalid_argument"),
    ]
    for call, builtin, cls, code in cases:
        with pytest.raises(builtin) as err:
            call()
        assert isinstance(err.value, cls) and isinstance(err.value, shmd.Error), err.value
        assert err.value.code == code
        assert str(err.value)


def test_attach_with_a_compatible_typecode_of_the_same_c_type(client):
    client.create_value("py.q", "q", 2**40)
    assert client.attach_value("py.q", "l").value == 2**40  # long and long long are both 8 bytes


def test_bad_typecodes_raise_type_error(client):
    for bad in ("x", "", "ii", 5, None, b"i"):
        with pytest.raises(TypeError, match="bad typecode"):
            client.create_value("py.t", bad)
    with pytest.raises(TypeError, match="bad typecode"):
        client.attach_value("py.t", "z")
    with pytest.raises(TypeError):
        client.create_value(17, "i")


def test_create_array_arguments(client):
    assert client.create_array("py.len", "d", 4)[:] == [0.0] * 4
    assert client.create_array("py.seq", "I", (1, 2, 3))[:] == [1, 2, 3]
    assert client.create_array("py.gen", "b", [x - 2 for x in range(5)])[:] == [-2, -1, 0, 1, 2]
    with pytest.raises(ValueError):
        client.create_array("py.neg", "i", -1)
    with pytest.raises(TypeError):
        client.create_array("py.obj", "i", object())
    with pytest.raises(TypeError):
        client.create_array("py.strs", "i", ["a"])
    with pytest.raises(OverflowError):
        client.create_array("py.big", "B", [1, 256])
    with pytest.raises(FileNotFoundError):
        client.info("py.big")  # nothing was created


def test_limit_exceeded_is_an_shmd_error(make_daemon):
    d = make_daemon("--max-segments", "1")
    c = shmd.Client(d.socket)
    c.create_value("py.one", "i")
    with pytest.raises(shmd.LimitExceededError) as err:
        c.create_value("py.two", "i")
    assert err.value.code == "limit_exceeded" and "segment" in str(err.value)


def test_a_daemon_round_trip_releases_the_gil(tmp_path):
    # A listener that accepts and never answers: the Client's hello waits for its reply.
    path = str(tmp_path / "silent.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    outcome = []

    def connect():
        try:
            shmd.Client(path)
            outcome.append("connected")
        except ConnectionError as e:
            outcome.append(e)

    t = threading.Thread(target=connect)
    t.start()
    conn, _ = srv.accept()
    conn.recv(1024)  # the hello has arrived: the thread is now waiting for the reply
    ticks = 0
    deadline = time.monotonic() + 0.3
    while time.monotonic() < deadline:
        ticks += 1  # runs only while the waiting thread does not hold the GIL
    assert t.is_alive() and ticks > 1000
    conn.close()
    srv.close()
    t.join(30)
    assert not t.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], ConnectionError)


def test_one_client_serves_many_threads(client):
    errors = []

    def work(k):
        try:
            for i in range(20):
                v = client.create_value(f"py.t{k}.{i}", "q", k * 100 + i)
                assert client.attach_value(f"py.t{k}.{i}", "q").value == k * 100 + i
                v.detach()
                client.remove(f"py.t{k}.{i}")
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and client.list() == []
