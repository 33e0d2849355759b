"""Request bodies larger than any route accepts are refused before they are read.

Before, waitress accepted bodies up to 1 GiB and spooled them to /tmp before any form limit
applied: four parallel uploads filled 4 GB of /tmp.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from pathlib import Path

import pytest

from postroom.backoffice.webserver import MAX_BODY_BYTES


def disk_usage(directory: Path) -> int:
    total = 0
    for root, _, files in os.walk(directory):
        for name in files:
            with contextlib.suppress(OSError):
                total += (Path(root) / name).stat().st_blocks * 512
    return total


def status_line(sock: socket.socket, timeout: float) -> bytes:
    sock.settimeout(timeout)
    received = b""
    while b"\r\n" not in received:
        chunk = sock.recv(4096)
        if not chunk:
            break
        received += chunk
    return received.split(b"\r\n", 1)[0]


def test_a_2_gb_announced_body_gets_413_at_once_and_nothing_is_spooled(serve, tmp_path):
    spool = tmp_path / "tmp"
    spool.mkdir()
    served = serve("--no-inbox", TMPDIR=str(spool))
    private_spool = served.data_dir / "spool"
    with socket.create_connection(("127.0.0.1", served.web_port), timeout=10) as sock:
        began = time.monotonic()
        sock.sendall(
            b"POST /forms/contact/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: multipart/form-data; boundary=xyz\r\n"
            b"Content-Length: 2147483648\r\n\r\n"
        )
        with contextlib.suppress(OSError):  # the server may close while we still send
            sock.sendall(b"x" * 1024 * 1024)
        assert b" 413 " in status_line(sock, 10) + b" "
        assert time.monotonic() - began < 5
    assert disk_usage(spool) < 1024 * 1024
    assert disk_usage(private_spool) < 1024 * 1024
    served.healthz_latencies(5)


@pytest.mark.slow
def test_a_chunked_body_is_cut_off_at_the_largest_body_any_route_accepts(serve, tmp_path):
    spool = tmp_path / "tmp"
    spool.mkdir()
    served = serve("--no-inbox", TMPDIR=str(spool))
    chunk = b"x" * (1024 * 1024)
    framed = b"%x\r\n" % len(chunk) + chunk + b"\r\n"
    sent = 0
    answer = b""
    with socket.create_connection(("127.0.0.1", served.web_port), timeout=10) as sock:
        sock.sendall(
            b"POST /forms/contact/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        try:
            while sent < MAX_BODY_BYTES + 20 * len(chunk):  # never the final 0-chunk
                sock.sendall(framed)
                sent += len(chunk)
        except OSError:
            pass  # the server stopped reading and closed the connection
        with contextlib.suppress(OSError):
            answer = status_line(sock, 10)
    assert sent <= MAX_BODY_BYTES + 20 * len(chunk)
    assert answer.startswith(b"HTTP/1.1 413") or sent < MAX_BODY_BYTES + 20 * len(chunk)
    assert disk_usage(spool) < 1024 * 1024  # nothing in /tmp: spooled privately, then freed
    served.healthz_latencies(5)
