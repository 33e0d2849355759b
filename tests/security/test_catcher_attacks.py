"""Attacks on the development mail catcher of a running `postroom serve`.

Each is bounded in count and time, targets 127.0.0.1 only, and checks that the service (web
and catcher) still answers afterwards.
"""

from __future__ import annotations

import contextlib
import hashlib
import smtplib
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest

from postroom.inbox.server import CONNECTION_LIMIT, MESSAGE_SIZE_LIMIT, READ_TIMEOUT
from rawsmtp import RawClient

HEALTHZ_REQUESTS = 20


def _open_envelope(port: int, timeout: float = 60.0, source: str | None = None) -> RawClient:
    """A client that has said DATA and heard 354."""
    client = RawClient(port, timeout, source)
    client.envelope()
    assert client.command(b"DATA").startswith(b"354")
    return client


def _send_ok(port: int, subject: str) -> tuple[int, bytes]:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.ehlo()
        smtp.mail("app@example.com")
        smtp.rcpt("user@example.com")
        return smtp.data(f"Subject: {subject}\r\n\r\nhello\r\n".encode())


def _stored_raw(served, pk: int) -> bytes:
    """The stored bytes of caught message ``pk``, read from serve's own database."""
    environ = Path(f"/proc/{served.pid}/environ").read_bytes().split(b"\0")
    urls = [
        item.split(b"=", 1)[1].decode() for item in environ if item.startswith(b"DATABASE_URL=")
    ]
    query = "SELECT raw FROM inbox_caughtmessage WHERE id = "
    if urls:
        with psycopg.connect(urls[0], connect_timeout=10) as connection:
            return bytes(connection.execute(query + "%s", (pk,)).fetchone()[0])
    with contextlib.closing(
        sqlite3.connect(served.data_dir / "postroom.sqlite3", timeout=30)
    ) as db:
        return bytes(db.execute(query + "?", (pk,)).fetchone()[0])


def _assert_answers(served) -> None:
    assert max(served.healthz_latencies(HEALTHZ_REQUESTS)) < 5
    code, reply = _send_ok(served.inbox_port, "still here")
    assert code == 250, reply


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_idle_connections_past_1024_are_refused_and_the_process_survives(serve) -> None:
    served = serve()
    attempts = 1200
    clients: list[RawClient] = []
    try:
        for _ in range(attempts):
            clients.append(RawClient(served.inbox_port, timeout=30))
        greetings = [client.reply() for client in clients]
        accepted = sum(greeting.startswith(b"220") for greeting in greetings)
        refused = sum(greeting.startswith(b"421 4.7.0") for greeting in greetings)
        assert accepted <= CONNECTION_LIMIT
        assert accepted + refused == attempts, "every client hears 220 or 421"
        assert refused >= attempts - CONNECTION_LIMIT
        # While the catcher is full, the web side answers.
        assert max(served.healthz_latencies(HEALTHZ_REQUESTS)) < 5
    finally:
        for client in clients:
            client.close()
    deadline = time.monotonic() + 10
    while True:  # the catcher sees the closes within moments
        code, reply = 0, b""
        with contextlib.suppress(smtplib.SMTPException, OSError):
            code, reply = _send_ok(served.inbox_port, "after the flood")
        if code == 250 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert code == 250, reply
    _assert_answers(served)


@pytest.mark.timeout(120)
def test_header_bomb_is_refused_in_seconds_without_growing_memory(serve) -> None:
    served = serve()
    _send_ok(served.inbox_port, "warm up")
    before = served.rss_bytes()
    bomb = b"To: a@example.com" + b",\r\n b@example.com" * 130_000 + b"\r\n\r\nbody\r\n.\r\n"
    assert len(bomb) > 2 * 1024 * 1024
    with _open_envelope(served.inbox_port) as client:
        started = time.monotonic()
        client.sock.sendall(bomb)
        reply = client.reply()
        elapsed = time.monotonic() - started
    assert reply.startswith(b"552 5.3.4 Message header too big"), reply
    assert elapsed < 5
    assert served.rss_bytes() - before < 50 * 1024 * 1024
    _assert_answers(served)


@pytest.mark.timeout(120)
def test_oversize_message_is_refused_with_552(serve) -> None:
    served = serve()
    line = b"x" * 998 + b"\r\n"
    block = line * 1024  # 1 MiB
    with _open_envelope(served.inbox_port) as client:
        for _ in range(MESSAGE_SIZE_LIMIT // len(block) + 1):
            client.sock.sendall(block)
        client.sock.sendall(b".\r\n")
        reply = client.reply()
    assert reply.startswith(b"552 5.3.4 Message too big"), reply
    _assert_answers(served)


def _send_large(
    port: int, header: bytes, block: bytes, blocks: int, source: str
) -> tuple[bytes, str]:
    """Streams one message of ``blocks`` copies of ``block``; the reply and the sha256."""
    digest = hashlib.sha256(header)
    with _open_envelope(port, timeout=240, source=source) as client:
        client.sock.sendall(header)
        for _ in range(blocks):
            client.sock.sendall(block)
            digest.update(block)
        client.sock.sendall(b".\r\n")
        return client.reply(), digest.hexdigest()


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_thirty_clients_sending_24_mb_each_keep_memory_bounded(serve) -> None:
    served = serve()
    _send_ok(served.inbox_port, "warm up")
    baseline = served.rss_bytes()
    peak = baseline
    stop = threading.Event()

    def watch() -> None:
        nonlocal peak
        while not stop.wait(0.05):
            with contextlib.suppress(OSError, AssertionError):
                peak = max(peak, served.rss_bytes())

    # Base64-like lines, one of them starting with a dot (stuffed as a client does).
    line = b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODkwYWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXo\r\n"
    block = line * (1024 * 1024 // len(line))
    clients = 30
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        with ThreadPoolExecutor(clients) as pool:
            results = list(
                pool.map(
                    lambda n: _send_large(
                        served.inbox_port,
                        b"Subject: large %d\r\nTo: b@example.com\r\n\r\n" % n,
                        block,
                        24,
                        # Three client addresses: the catcher gives one address 20 connections.
                        f"127.0.0.{2 + n % 3}",
                    ),
                    range(clients),
                )
            )
    finally:
        stop.set()
        watcher.join(5)
    growth = peak - baseline
    print(f"catcher RSS: baseline {baseline / 2**20:.0f} MiB, peak growth {growth / 2**20:.0f} MiB")
    assert all(reply.startswith(b"250 Message accepted") for reply, _ in results), results
    assert growth < 400 * 1024 * 1024
    for reply, digest in results[:2] + results[-1:]:
        pk = int(reply.rsplit(b"id ", 1)[1].rstrip(b")\r\n"))
        assert hashlib.sha256(_stored_raw(served, pk)).hexdigest() == digest
    _assert_answers(served)


@pytest.mark.slow
@pytest.mark.timeout(READ_TIMEOUT + 120)
def test_a_client_that_stops_mid_message_is_timed_out(serve) -> None:
    served = serve()
    with _open_envelope(served.inbox_port, timeout=READ_TIMEOUT + 30) as client:
        client.sock.sendall(b"Subject: never finished\r\n\r\nhalf")
        started = time.monotonic()
        reply = client.reply()
        elapsed = time.monotonic() - started
        assert reply.startswith(b"421 4.4.2"), reply
        assert client.reply() == b""  # and closed
    assert READ_TIMEOUT - 1 < elapsed < READ_TIMEOUT + 20
    _assert_answers(served)
