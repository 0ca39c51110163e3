"""Client.subscribe: the registry's events in Python, for what other processes do, with next(),
iteration, selectors, the context manager, overflow, and the end of the stream."""

import os
import selectors
import signal
import subprocess
import sys
import threading
import time

import pytest

import shmd
from conftest import OTHER_USER, package_for_other_users, python_child


def kinds_and_names(events):
    return [(e.kind, e.name) for e in events]


def take(sub, n, timeout=10.0):
    """The next `n` events, each within `timeout` seconds."""
    out = []
    for _ in range(n):
        e = sub.next(timeout)
        assert e is not None, f"no event within {timeout} s after {kinds_and_names(out)}"
        out.append(e)
    return out


def run_child(daemon, code):
    result = python_child(f"import shmd\nc = shmd.Client({daemon.socket!r})\n" + code)
    assert result.returncode == 0, result.stderr


def test_a_subscriber_sees_another_process_create_chmod_remove_and_free(client, daemon):
    with client.subscribe() as sub:
        run_child(daemon, "v = c.create_value('py.ev', 'd', 1.5)\nc.chmod('py.ev', 0o640)\nc.remove('py.ev')\n")
        created, chmodded, removed, freed = take(sub, 4)
    assert (created.kind, created.name) == ("created", "py.ev")
    assert isinstance(created.segment, shmd.SegmentInfo)
    assert created.segment.typecode == "d" and created.segment.refcount == 1
    assert (chmodded.kind, chmodded.segment.mode) == ("mode_changed", 0o640)
    assert removed.kind == "removed" and removed.segment.removed
    assert freed.kind == "freed" and freed.segment.refcount == 0
    assert freed.segment.id == created.segment.id
    assert sub.closed


def test_attachments_report_each_reference_change_with_the_new_refcount(client, daemon):
    v = client.create_value("py.att", "i", 3)
    sub = client.subscribe("py.", attachments=True)
    run_child(daemon, "a = c.attach_value('py.att')\na.detach()\n")
    attached, detached = take(sub, 2)
    assert (attached.kind, attached.segment.refcount) == ("attached", 2)
    assert (detached.kind, detached.segment.refcount) == ("detached", 1)
    sub.close()
    del v


def test_prefix_filters_by_the_start_of_the_name(client, daemon):
    sub = client.subscribe(prefix="keep.")
    run_child(daemon, "for n in ('drop.a', 'keep', 'keep.a'):\n    c.create_value(n, 'i', 0)\n")
    assert kinds_and_names(take(sub, 1)) == [("created", "keep.a")]


def test_a_bad_prefix_is_invalid_argument(client):
    with pytest.raises(shmd.InvalidArgumentError):
        client.subscribe("no spaces")


def test_next_with_zero_timeout_returns_none_at_once(client):
    sub = client.subscribe()
    start = time.monotonic()
    assert sub.next(0) is None
    assert sub.next(0.05) is None
    assert time.monotonic() - start < 5
    with pytest.raises(ValueError):
        sub.next(-1)


def test_selectors_wake_on_an_event_and_next_zero_takes_it(client, daemon):
    sub = client.subscribe("py.sel")
    with selectors.DefaultSelector() as sel:
        sel.register(sub, selectors.EVENT_READ)  # uses fileno()
        assert sel.select(timeout=0) == []
        run_child(daemon, "c.create_value('py.sel', 'i', 1)\n")
        ready = sel.select(timeout=10)
        assert [key.fileobj for key, _ in ready] == [sub]
        e = sub.next(0)
        assert (e.kind, e.name) == ("created", "py.sel")
        assert sub.next(0) is None


def test_iteration_yields_events_and_ends_when_the_daemon_stops(make_daemon):
    daemon = make_daemon()
    client = shmd.Client(daemon.socket)
    sub = client.subscribe("py.it")
    client.create_value("py.it.a", "i", 1)
    seen = []
    stopper = None
    for e in sub:
        seen.append((e.kind, e.name))
        if stopper is None:
            stopper = threading.Thread(target=daemon.stop)
            stopper.start()
    stopper.join()
    assert seen == [("created", "py.it.a")]
    assert sub.closed
    with pytest.raises(ValueError):
        sub.fileno()


def test_next_raises_connection_lost_when_the_daemon_stops(make_daemon):
    daemon = make_daemon()
    sub = shmd.Client(daemon.socket).subscribe()
    daemon.stop()
    with pytest.raises(shmd.ConnectionLostError):
        sub.next(10)


def test_overflow_says_how_many_events_were_missed(make_daemon):
    d = make_daemon("--max-subscriber-events", "4")
    c = shmd.Client(d.socket)
    sub = c.subscribe()
    assert sub.queue_limit == 4
    cycles = 2000
    for i in range(cycles):
        v = c.create_value(f"o{i % 3}", "i", i)
        c.remove(f"o{i % 3}")
        del v
    c.list()  # the last quiet detach is applied
    # Read until every event is accounted for, however slowly a loaded machine delivers them
    # (each within 10 s), then make sure nothing more follows.
    events, missed, overflows = 0, 0, 0
    while events + missed < 3 * cycles:
        e = sub.next(10)
        assert e is not None, f"the stream stopped after {events} events and {missed} missed"
        if e.kind == "overflow":
            overflows += 1
            missed += e.missed
            assert e.segment is None and e.name is None
        else:
            events += 1
    assert sub.next(0.2) is None, "more events than the actions made"
    assert overflows == 1
    assert events + missed == 3 * cycles
    c.create_value("after", "i", 0)
    assert sub.next(10).name == "after"


def test_another_user_gets_no_events_about_segments_it_may_not_read(client, daemon, as_other_user):
    code = f"""
import shmd
c = shmd.Client({daemon.socket!r})
sub = c.subscribe("acc.")
print("subscribed", flush=True)
names = []
while True:
    e = sub.next(30)
    names.append(e.kind + " " + e.name)
    if e.name == "acc.end":
        break
print(",".join(names))
"""
    del as_other_user  # only its skip matters: the child here must run alongside this test
    env = dict(os.environ, PYTHONPATH=package_for_other_users())
    child = subprocess.Popen(["setpriv", f"--reuid={OTHER_USER[0]}", f"--regid={OTHER_USER[1]}", "--clear-groups",
                              sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert child.stdout.readline().strip() == "subscribed"  # readiness, from the child itself
        client.create_value("acc.hidden", "i", 0, mode=0o600)
        client.create_value("acc.shown", "i", 0, mode=0o604)
        client.create_value("acc.end", "i", 0, mode=0o644)
        out, _ = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.send_signal(signal.SIGKILL)
            child.wait()
    assert out.strip() == "created acc.shown,created acc.end"


def test_a_uid_past_its_stream_quota_gets_limit_exceeded_and_root_does_not(make_daemon, as_other_user):
    d = make_daemon("--max-subscribers-per-uid", "1")
    r = as_other_user(f"""
import shmd
c = shmd.Client({d.socket!r})
first = c.subscribe()
try:
    c.subscribe()
    print("accepted")
except shmd.LimitExceededError as e:
    print("refused:", e)
""")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("refused:"), r.stdout
    assert "max-subscribers-per-uid (1) event streams already" in r.stdout
    root = shmd.Client(d.socket)
    with root.subscribe(), root.subscribe():  # root has no per-uid quota
        pass
