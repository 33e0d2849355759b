"""Connection floods on the backoffice port: idle sockets past 1,024, and slowloris.

Before, waitress used select() (the whole process died at descriptor 1,024) and accepted 100
connections at most (120 slowloris connections made the backoffice unreachable).

/healthz must answer with p99 under 200 ms while the attack holds. On a machine busy with
other work, the bound is three times the p99 measured just before the attack, if that is more:
the attack may not make the service slower than the machine already is.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time

import pytest

from .conftest import latency_limit, p99

pytestmark = pytest.mark.slow


def open_idle(port: int, count: int, deadline_seconds: float = 20.0) -> list[socket.socket]:
    held: list[socket.socket] = []
    deadline = time.monotonic() + deadline_seconds
    while len(held) < count and time.monotonic() < deadline:
        try:
            held.append(socket.create_connection(("127.0.0.1", port), timeout=2))
        except OSError:
            time.sleep(0.05)
    return held


def close_all(sockets: list[socket.socket]) -> None:
    for sock in sockets:
        with contextlib.suppress(OSError):
            sock.close()


def descriptors(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_1500_idle_connections_neither_kill_nor_slow_the_backoffice(serve):
    served = serve("--no-inbox")
    limit = latency_limit(served)
    held = open_idle(served.web_port, 1500)
    try:
        assert len(held) == 1500
        # The server accepted them (they are its descriptors, not just queued in the kernel).
        deadline = time.monotonic() + 10
        while descriptors(served.pid) < 1500 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert descriptors(served.pid) >= 1500
        latencies = served.healthz_latencies(50)
        assert p99(latencies) < limit, (p99(latencies), limit)
    finally:
        close_all(held)
    served.healthz_latencies(5)  # still answers afterwards
    assert "Traceback" not in served.log.read_text()


def test_500_slowloris_connections_for_10_seconds_leave_the_backoffice_reachable(serve):
    served = serve("--no-inbox")
    limit = latency_limit(served)
    slow = open_idle(served.web_port, 500)
    latencies: list[float] = []
    try:
        assert len(slow) == 500
        for sock in slow:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        time.sleep(1.0)  # measured while the attack holds, not while it connects
        # Each connection sends one more header line a second, never the blank line; as
        # independent clients would, the 500 are spread over the second (50 every 0.1 s).
        groups = [slow[start : start + 50] for start in range(0, len(slow), 50)]
        for tick in range(10 * len(groups)):
            began = time.monotonic()
            for sock in groups[tick % len(groups)]:
                with contextlib.suppress(OSError):
                    sock.send(b"X-Slow: %d\r\n" % tick)
            latencies += served.healthz_latencies(1)
            time.sleep(max(0.0, 0.1 - (time.monotonic() - began)))
        assert p99(latencies) < limit, (p99(latencies), limit)
    finally:
        close_all(slow)
    served.healthz_latencies(5)


def test_a_request_whose_headers_never_end_is_cut_off(serve):
    """The header deadline (20 s from the first byte) ends a slowloris connection even while it
    keeps sending, so the attacker must keep paying to hold a connection."""
    served = serve("--no-inbox")
    with socket.create_connection(("127.0.0.1", served.web_port), timeout=5) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        sock.settimeout(0.5)
        began = time.monotonic()
        closed = False
        while time.monotonic() - began < 28:
            try:
                sock.send(b"X: 1\r\n")
                if sock.recv(1) == b"":
                    closed = True
                    break
            except TimeoutError:
                continue
            except OSError:
                closed = True
                break
        assert closed
        assert 19 <= time.monotonic() - began < 28
    served.healthz_latencies(5)


def test_idle_and_slowloris_together_a_smaller_version_of_the_bench(serve):
    """bench/webserver.py holds 5,000 idle + 500 slowloris connections; this holds 2,000 + 500
    (the full figure takes longer to set up than a test should on a shared 2-core machine)."""
    served = serve("--no-inbox")
    limit = latency_limit(served)
    idle = open_idle(served.web_port, 2000)
    slow = open_idle(served.web_port, 500)
    latencies: list[float] = []
    try:
        assert (len(idle), len(slow)) == (2000, 500)
        for sock in slow:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        time.sleep(1.0)
        groups = [slow[start : start + 50] for start in range(0, len(slow), 50)]
        for tick in range(5 * len(groups)):
            began = time.monotonic()
            for sock in groups[tick % len(groups)]:
                with contextlib.suppress(OSError):
                    sock.send(b"X-Slow: %d\r\n" % tick)
            latencies += served.healthz_latencies(1)
            time.sleep(max(0.0, 0.1 - (time.monotonic() - began)))
        assert descriptors(served.pid) >= 2500
        assert p99(latencies) < limit, (p99(latencies), limit)
    finally:
        close_all(idle + slow)
    served.healthz_latencies(5)
