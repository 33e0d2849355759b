"""Request bodies larger than their route accepts are refused before they are read, and a body
that trickles is cut off.

Before, waitress accepted bodies up to 1 GiB and spooled them to /tmp before any form limit
applied: four parallel uploads filled 4 GB of /tmp. Later, 400 connections that announced
200 MB to a form, sent 500 KB and then 1 byte every 10 s grew the server by 250 MB and stayed
open as long as they liked.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from pathlib import Path

import pytest

from postroom.backoffice.webserver import (
    BODY_RATE_WINDOW,
    CLEANUP_INTERVAL,
    MAX_BODY_BYTES,
    SMALL_BODY_BYTES,
)


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


def test_a_150_mb_post_to_the_login_page_is_refused_before_it_is_sent(serve):
    served = serve("--no-inbox")
    with socket.create_connection(("127.0.0.1", served.web_port), timeout=10) as sock:
        sock.sendall(
            b"POST /login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: 150000000\r\n\r\n"
        )
        assert status_line(sock, 10).startswith(b"HTTP/1.1 413")  # no body byte was sent
    assert SMALL_BODY_BYTES < 150_000_000
    served.healthz_latencies(5)


TRICKLERS = 200
FRONT_LOAD = 500 * 1024  # sent at once: enough to pass the first rate window
TRICKLE_EVERY = 4.0  # seconds between single bytes afterwards, under the 15 s silence limit


def closed(sock: socket.socket) -> bool:
    """True when the server has closed this connection, or answered the unfinished body (which
    ends it too)."""
    sock.setblocking(False)
    try:
        sock.recv(4096)
        return True
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        sock.setblocking(True)


@pytest.mark.slow
def test_uploads_that_trickle_are_closed_and_hold_little_memory(serve):
    served = serve("--no-inbox")
    served.healthz_latencies(5)
    before = served.rss_bytes()
    head = (
        b"POST /f/contact/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: multipart/form-data; boundary=xyz\r\n"
        b"Content-Length: 200000000\r\n\r\n"
    )
    socks = []
    try:
        for _ in range(TRICKLERS):
            sock = socket.create_connection(("127.0.0.1", served.web_port), timeout=10)
            socks.append(sock)
            sock.sendall(head + b"x" * FRONT_LOAD)
        sent_all = time.monotonic()
        time.sleep(2)  # let the server read what was sent
        grown = served.rss_bytes() - before
        assert all(not closed(sock) for sock in socks)  # a fast start is let through
        # Each connection holds at most 64 KiB of its body in memory; the rest is spooled.
        assert grown < TRICKLERS * FRONT_LOAD / 2, f"grew {grown / 2**20:.0f} MiB"
        # A fast first window, then the next one far below the rate: closed after two
        # windows, plus the cleanup interval and a margin for a loaded machine.
        deadline = sent_all + 2 * BODY_RATE_WINDOW + CLEANUP_INTERVAL + 20
        open_socks = list(socks)
        while open_socks and time.monotonic() < deadline:
            time.sleep(TRICKLE_EVERY)
            for sock in list(open_socks):
                if closed(sock):
                    open_socks.remove(sock)
                    continue
                with contextlib.suppress(OSError):
                    sock.sendall(b"x")
            served.healthz_latencies(1)  # visitors are still served meanwhile
        took = time.monotonic() - sent_all
        assert not open_socks, f"{len(open_socks)} of {TRICKLERS} still open after {took:.0f} s"
        assert took > BODY_RATE_WINDOW  # not closed while the body still came fast enough
    finally:
        for sock in socks:
            sock.close()
    served.healthz_latencies(10)
    print(f"RSS grew {grown / 2**20:.1f} MiB for {TRICKLERS} uploads; all closed in {took:.0f} s")
