"""Another uid (setpriv to nobody): the daemon's permission bits decide, a refusal is a
PermissionError, and read_only attach needs only the r bit."""

import json

import pytest

import shmd


def attempt(daemon, body):
    """Python run as the other user: `body` (with `c`, a Client) prints JSON of what happened."""
    return f"""
import json, shmd
c = shmd.Client({daemon.socket!r})
def outcome(f):
    try:
        r = f()
        return ["ok", r]
    except Exception as e:
        return [type(e).__name__, isinstance(e, PermissionError), getattr(e, "code", None)]
{body}
"""


def run(as_other_user, daemon, body):
    r = as_other_user(attempt(daemon, body))
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_owner_only_segment_is_refused_to_another_uid(client, daemon, as_other_user):
    client.create_value("py.private", "i", 5, mode=0o600)
    got = run(as_other_user, daemon, """print(json.dumps([
    outcome(lambda: c.attach_value("py.private").value),
    outcome(lambda: c.attach_value("py.private", read_only=True).value),
    outcome(lambda: c.info("py.private").name),
    outcome(lambda: c.remove("py.private")),
    outcome(lambda: c.chmod("py.private", 0o666).mode),
]))""")
    for o in got:
        assert o == ["PermissionDeniedError", True, "permission_denied"], got
    assert client.info("py.private").mode == 0o600


def test_read_only_attach_works_with_only_the_r_bit(client, daemon, as_other_user):
    v = client.create_value("py.readable", "d", 2.5, mode=0o644)
    a = client.create_array("py.readablea", "i", [1, 2, 3], mode=0o644)
    got = run(as_other_user, daemon, """
ro = c.attach_value("py.readable", "d", read_only=True)
ra = c.attach_array("py.readablea", read_only=True)
def write():
    ro.value = 1.0
def write_array():
    ra[0] = 9
def lock():
    return ro.get_lock().acquire()
def view():
    memoryview(ra)[0] = 9
print(json.dumps([
    ro.value, ra[:], memoryview(ra).readonly,
    outcome(lambda: c.attach_value("py.readable").value),
    outcome(write), outcome(write_array), outcome(lock),
    outcome(view),
]))""")
    assert got[0] == 2.5 and got[1] == [1, 2, 3] and got[2] is True
    assert got[3] == ["PermissionDeniedError", True, "permission_denied"]  # read-write needs w
    assert got[4] == got[5] == got[6] == ["PermissionDeniedError", True, "permission_denied"]
    assert got[7][0] == "TypeError"  # a read-only memoryview
    assert v.value == 2.5 and a[:] == [1, 2, 3]


def test_group_and_other_write_bits_let_another_uid_write(client, daemon, as_other_user):
    v = client.create_value("py.shared", "q", 0, mode=0o666)
    got = run(as_other_user, daemon, """
w = c.attach_value("py.shared")
with w.get_lock():
    w.value = 41
print(json.dumps([w.fetch_add(1)]))""")
    assert got == [41] and v.value == 42
