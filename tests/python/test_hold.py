"""Client.hold and claim_value/claim_array: a reference the daemon keeps for a while so a segment
outlives every handle until a receiver claims it (what pickling an anonymous object relies on)."""

import os

import pytest

import shmd
from conftest import python_child
from multiprocessing_support import eventually


def refcount(client, name):
    return client.info(name).refcount


def test_a_held_ephemeral_segment_outlives_its_last_handle_until_claimed(client, daemon):
    v = client.create_value("py.held", "d", 2.5, ephemeral=True)
    token = client.hold(v)
    assert isinstance(token, int) and token > 0
    assert refcount(client, "py.held") == 2
    v.detach()
    assert refcount(client, "py.held") == 1  # only the hold's
    other = shmd.Client(daemon.socket)
    w = other.claim_value("py.held", token, "d")
    assert w.value == 2.5 and refcount(client, "py.held") == 1  # the hold's reference became w's
    w.detach()
    with pytest.raises(FileNotFoundError):
        client.info("py.held")


def test_a_hold_survives_the_process_that_made_it(client, daemon):
    r = python_child(f"""
import shmd
c = shmd.Client({daemon.socket!r})
a = c.create_array("py.orphan", "i", [1, 2, 3], ephemeral=True)
print(c.hold(a, 60))
""")
    assert r.returncode == 0, r.stderr
    token = int(r.stdout)
    # The child's own reference goes when the daemon has seen its connection close, which can come
    # after this process's next request: wait for it, as hold_test.cpp does.
    eventually(lambda: refcount(client, "py.orphan") == 1, "only the hold's reference to be left", timeout=30.0)
    a = client.claim_array("py.orphan", token)
    assert a[:] == [1, 2, 3] and refcount(client, "py.orphan") == 1


def test_an_unknown_or_spent_token_claims_like_an_attach(client):
    v = client.create_value("py.plain", "i", 4)
    token = client.hold(v)
    w = client.claim_value("py.plain", token)
    assert refcount(client, "py.plain") == 2
    again = client.claim_value("py.plain", token)  # spent: a reference of its own
    assert again.value == 4 and refcount(client, "py.plain") == 3
    unknown = client.claim_value("py.plain", 987654321)
    assert unknown.value == 4 and refcount(client, "py.plain") == 4
    zero = client.claim_value("py.plain", 0)  # no token at all
    assert zero.value == 4 and refcount(client, "py.plain") == 5
    with pytest.raises(TypeError):
        client.claim_value("py.plain", -1)  # tokens are unsigned 64-bit
    del w, again, unknown, zero


def test_a_claim_of_the_wrong_kind_or_type_raises_and_spends_the_hold(client):
    a = client.create_array("py.arr", "i", 2, ephemeral=True)
    token = client.hold(a)
    with pytest.raises(TypeError) as err:
        client.claim_value("py.arr", token)
    assert isinstance(err.value, shmd.TypeMismatchError)
    assert refcount(client, "py.arr") == 1  # the hold is gone with the refused claim
    token = client.hold(a)
    with pytest.raises(shmd.TypeMismatchError):
        client.claim_array("py.arr", token, "d")
    assert refcount(client, "py.arr") == 1


def test_a_hold_expires_after_its_seconds(client):
    v = client.create_value("py.brief", "i", ephemeral=True)
    client.hold(v, seconds=1)
    v.detach()
    eventually(lambda: not any(i.name == "py.brief" for i in client.list()), "the expired hold's segment to go",
               timeout=30.0)


def test_read_only_claims(client):
    v = client.create_value("py.roh", "q", 7)
    token = client.hold(v)
    ro = client.claim_value("py.roh", token, "q", read_only=True)
    assert ro.read_only and ro.value == 7
    with pytest.raises(PermissionError):
        ro.value = 8


def test_bad_holds(client):
    v = client.create_value("py.badhold", "i")
    for bad in (0, -1, float("nan")):
        with pytest.raises(ValueError):
            client.hold(v, bad)
    with pytest.raises(TypeError):
        client.hold("py.badhold")
    with pytest.raises(TypeError):
        client.hold(v, "10")
    with pytest.raises(FileNotFoundError):
        client.claim_value("py.none", 1)
    with pytest.raises(TypeError, match="bad typecode"):
        client.claim_value("py.badhold", 1, "z")
    v.detach()
    with pytest.raises(ValueError, match="detached"):
        client.hold(v)


def test_a_forked_child_cannot_hold_its_parents_reference(client):
    v = client.create_value("py.forkhold", "i")
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            client.hold(v)
            code = 2
        except shmd.NotAttachedError:
            code = 0
        finally:
            os._exit(code)
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    assert refcount(client, "py.forkhold") == 1
