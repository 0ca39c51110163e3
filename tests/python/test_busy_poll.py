"""The two busy-poll windows from Python: how long a wait() polls the segment before it sleeps
(shmd.set_wait_busy_poll, process-wide) and how long a Client polls for the daemon's reply
(Client.set_busy_poll). Both are libshmclient's (change_word::set_busy_poll,
Client::set_busy_poll); these tests check that Python reaches them, against a real daemon."""

import os
import resource
import time

import pytest

import shmd

several_cpus = pytest.mark.skipif(
    len(os.sched_getaffinity(0)) < 2, reason="a thread that may use one CPU only never polls"
)


@pytest.fixture
def wait_poll():
    """Puts the process's wait poll window back after the test."""
    before = shmd.wait_busy_poll()
    yield
    shmd.set_wait_busy_poll(before)


def test_the_wait_window_defaults_to_50_us_and_is_clamped(wait_poll):
    assert shmd.wait_busy_poll() == 50
    assert shmd.set_wait_busy_poll(0) == 0
    assert shmd.wait_busy_poll() == 0
    assert shmd.set_wait_busy_poll(25_000) == 10_000  # a client's longest reply poll
    assert shmd.wait_busy_poll() == 10_000
    with pytest.raises(ValueError, match="0 or more microseconds"):
        shmd.set_wait_busy_poll(-1)
    assert shmd.wait_busy_poll() == 10_000  # a refused value changes nothing
    with pytest.raises(TypeError):
        shmd.set_wait_busy_poll("fast")


def cpu_of_a_wait_that_times_out(value, seconds):
    start = time.thread_time()
    result = value.wait(value.changes, timeout=seconds)
    assert result.timed_out
    return time.thread_time() - start


@several_cpus
def test_a_wait_polls_for_its_window_and_not_at_all_with_none(client, wait_poll):
    v = client.create_value("py.poll.wait", "i", 0)
    # A 50 ms wait that nobody ends: with a 10 ms window it spends about 10 ms of CPU polling,
    # with none it sleeps at once. On a loaded machine the poller can lose its CPU for part of
    # the window (CPU time, not wall time, is what is counted): three tries.
    for _ in range(3):
        shmd.set_wait_busy_poll(10_000)
        polled = cpu_of_a_wait_that_times_out(v, 0.05)
        shmd.set_wait_busy_poll(0)
        slept = cpu_of_a_wait_that_times_out(v, 0.05)
        if polled >= 0.004 and slept < polled / 4:
            break
    assert polled >= 0.004, f"a wait with a 10 ms window spent {polled * 1e3:.2f} ms of CPU"
    assert slept < polled / 4, f"without a window {slept * 1e3:.2f} ms, with one {polled * 1e3:.2f} ms"


def sleeps_over_requests(client, n):
    before = resource.getrusage(resource.RUSAGE_THREAD).ru_nvcsw
    for _ in range(n):
        assert client.info("py.poll.reply").refcount == 1
    return resource.getrusage(resource.RUSAGE_THREAD).ru_nvcsw - before


@several_cpus
def test_a_client_polls_for_its_replies_unless_told_not_to(make_daemon):
    daemon = make_daemon("--busy-poll-us", "10000")  # an awake daemon answers in microseconds
    client = shmd.Client(daemon.socket)
    v = client.create_value("py.poll.reply", "i", 3)
    requests = 200
    # As the C++ test (ShmdProcess.ClientPollsForItsRepliesInsteadOfSleeping): compared, not
    # expected to be zero, and three tries, since on two busy CPUs one of the two pollers can
    # be kept off its CPU for a whole window.
    for _ in range(3):
        client.set_busy_poll(0)  # each wait for a reply sleeps in poll()
        plain = sleeps_over_requests(client, requests)
        client.set_busy_poll(10_000)
        polling = sleeps_over_requests(client, requests)
        if polling * 3 < plain:
            break
    assert plain >= requests // 4
    assert polling * 3 < plain, f"slept {polling} times in {requests} requests with the window, {plain} without"
    assert v.value == 3
    with pytest.raises(ValueError, match="0 or more microseconds"):
        client.set_busy_poll(-5)
    client.set_busy_poll(10**9)  # clamped to 10 ms, not refused
    assert client.info("py.poll.reply").refcount == 1
