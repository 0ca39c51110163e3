#!/usr/bin/env python3
"""Runs the Python client printed in proto/README.md against a real shmd, and checks its varint
code against protobuf's own encoding and the framing rules the README states.

Usage: readme_client_test.py README.md SHMD_BINARY DIR_WITH_SHMD_PB2 [unittest options]
"""
import contextlib
import fcntl
import io
import mmap
import os
import re
import select
import signal
import subprocess
import sys
import tempfile
import time
import types
import unittest

README, SHMD, PB2_DIR = sys.argv[1:4]
del sys.argv[1:4]
sys.path.insert(0, PB2_DIR)


def readme_block(pattern):
    with open(README, encoding="utf-8") as f:
        match = re.search(pattern, f.read(), re.S)
    if match is None:
        raise SystemExit(f"{README}: no block matching {pattern!r}")
    return match.group(1)


CLIENT_SOURCE = readme_block(r"<!-- python-client:begin[^>]*-->\s*```python\n(.*?)```\s*<!-- python-client:end -->")
EXPECTED_OUTPUT = readme_block(r"<!-- python-client:end -->\s*Run against a daemon, it prints:\s*```\n(.*?)```")


def load_client():
    """The README's block as a module, exactly as printed (its __main__ part not run)."""
    module = types.ModuleType("readme_client")
    exec(compile(CLIENT_SOURCE, "proto/README.md (python-client block)", "exec"), module.__dict__)
    return module


class Daemon:
    """shmd on a socket in a fresh directory; ready once it has written its readiness line."""

    def __init__(self):
        self.dir = tempfile.TemporaryDirectory(prefix="shmd-py-")
        self.socket = os.path.join(self.dir.name, "shmd.sock")
        self.log = open(os.path.join(self.dir.name, "shmd.log"), "w+")
        ready_read, ready_write = os.pipe()
        self.proc = subprocess.Popen(
            [SHMD, "--socket", self.socket, "--ready-fd", str(ready_write), "--log-level", "debug"],
            pass_fds=(ready_write,), stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)
        os.close(ready_write)
        try:
            line = b""
            deadline = time.monotonic() + 30
            while b"\n" not in line:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([ready_read], [], [], left)[0]:
                    raise RuntimeError("shmd did not report readiness within 30 s")
                chunk = os.read(ready_read, 64)
                if not chunk:
                    raise RuntimeError("shmd closed its readiness pipe: " + self.read_log())
                line += chunk
        except BaseException:
            self.stop()
            raise
        finally:
            os.close(ready_read)

    def read_log(self):
        self.log.seek(0)
        return self.log.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(20)
        self.log.close()
        self.dir.cleanup()


class ReadmeClientTest(unittest.TestCase):
    def setUp(self):
        self.client = load_client()
        self.pb = self.client.pb
        self.daemon = Daemon()
        self.addCleanup(self.daemon.stop)

    def test_example_prints_what_the_readme_says(self):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            self.client.main(self.daemon.socket)
        self.assertEqual(out.getvalue(), EXPECTED_OUTPUT)
        self.assertIsNone(self.daemon.proc.poll(), "shmd died")
        # main()'s connections are closed now: the removed and the ephemeral segment go with them.
        conn = self.client.Connection(self.daemon.socket)
        self.addCleanup(conn.sock.close)
        deadline = time.monotonic() + 10
        while True:
            page, _ = conn.call(self.pb.Request(list=self.pb.ListRequest()))
            if not page.segments or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        self.assertEqual([s.name for s in page.segments], [])

    def test_varints_match_protobuf_and_decode_back(self):
        c = self.client
        for n in [1, 127, 128, 300, 16383, 16384, 2**32, 2**63, 2**64 - 1]:
            # request_id is field 1, varint: tag 0x08, then the number as protobuf writes it.
            self.assertEqual(b"\x08" + c.encode_varint(n), self.pb.Request(request_id=n).SerializeToString())
            self.assertEqual(c.decode_varint(b"junk" + c.encode_varint(n) + b"tail", 4),
                             (n, 4 + len(c.encode_varint(n))))
        self.assertEqual(c.encode_varint(0), b"\x00")

    def test_varint_decoder_follows_the_framing_rules(self):
        c = self.client
        self.assertEqual(c.decode_varint(b"\x85\x80\x80\x00"), (5, 4), "padded varints are accepted")
        self.assertEqual(c.decode_varint(b"\x80" * 9 + b"\x00"), (0, 10), "up to 10 bytes")
        self.assertIsNone(c.decode_varint(b"\x80\x80"), "incomplete: wait for more")
        with self.assertRaises(ValueError):
            c.decode_varint(b"\x80" * 10 + b"\x00")  # 11 bytes
        with self.assertRaises(ValueError):
            c.decode_varint(b"\x80" * 9 + b"\x02")  # past 64 bits

    def test_errors_and_fds_follow_the_readme(self):
        c, pb = self.client, self.pb
        conn = c.Connection(self.daemon.socket)
        self.addCleanup(conn.sock.close)
        with self.assertRaises(c.ShmdError) as refused:
            conn.call(pb.Request(info=pb.InfoRequest(name="missing")))
        self.assertEqual(refused.exception.code, pb.NOT_FOUND)
        made, fd = conn.call(pb.Request(create=pb.CreateRequest(
            name="quiet", typecode="d", kind=pb.VALUE, length=1, no_attach=True)))
        self.assertIsNone(fd, "no_attach passes no fd")
        self.assertEqual(made.segment.refcount, 0)
        self.assertEqual(len(conn.fds), 0)
        attached, fd = conn.call(pb.Request(attach=pb.AttachRequest(name="quiet", read_only=True)))
        self.assertEqual(fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE, os.O_RDONLY)
        with self.assertRaises(PermissionError):
            mmap.mmap(fd, attached.segment.mapping_bytes, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        view = c.map_segment(attached.segment, fd, writable=False)
        self.assertEqual(len(view), 128)
        view.close()


if __name__ == "__main__":
    unittest.main()
