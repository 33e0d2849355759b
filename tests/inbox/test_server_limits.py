"""The catcher's limits and its reading of DATA, over real SMTP on loopback."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import shutil
import smtplib
import stat
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from postroom.inbox import server as inbox_server_module
from postroom.inbox.models import CaughtMessage
from postroom.inbox.server import (
    CONNECTION_LIMIT,
    HEADER_SIZE_LIMIT,
    LARGE_MESSAGE_SIZE,
    READ_TIMEOUT,
    RECIPIENT_LIMIT,
    STORE_CONCURRENCY,
    InboxServer,
    Limits,
    describe_recipients,
)
from rawsmtp import RawClient

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]


@pytest.fixture
def server_with(tmp_path: Path) -> Iterator:
    started: list[InboxServer] = []

    def start(**limits) -> InboxServer:
        server = InboxServer(
            "127.0.0.1",
            0,
            tls_dir=tmp_path / "tls",
            spool_dir=tmp_path / "spool",
            limits=Limits(**limits),
        )
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def client(inbox_server: InboxServer) -> Iterator[RawClient]:
    raw = RawClient(inbox_server.port)
    yield raw
    raw.close()


def _stuff(raw: bytes) -> bytes:
    """Dot-stuff as a client does, whatever the line endings."""
    stuffed = raw.replace(b"\n.", b"\n..")
    return b"." + stuffed if stuffed.startswith(b".") else stuffed


def test_the_named_limits_are_postfix_like() -> None:
    assert CONNECTION_LIMIT == 100
    assert HEADER_SIZE_LIMIT == 100 * 1024
    assert RECIPIENT_LIMIT == 1000
    assert READ_TIMEOUT == 60
    assert STORE_CONCURRENCY == 2


def test_bare_lf_message_of_two_mib_is_stored_exactly(client: RawClient) -> None:
    lines = [b"Subject: written with bare LF", b"From: app@example.com", b""]
    lines += [b"line %d of a long message" % n for n in range(80_000)]
    lines += [b".a line that starts with a dot", b"..two dots", b".", b"end"]
    raw = b"\n".join(lines) + b"\n"
    assert len(raw) > 2 * 1024 * 1024
    client.envelope()
    reply = client.data(_stuff(raw) + b".\n")
    assert reply.startswith(b"250"), reply
    stored = CaughtMessage.objects.get()
    assert bytes(stored.raw) == raw
    assert stored.subject == "written with bare LF"


def test_leading_dots_are_unstuffed_on_crlf_and_lf_lines(client: RawClient) -> None:
    raw = b"Subject: dots\r\n\r\n.crlf\r\n.lf\n..\r\n.\n"
    client.envelope()
    assert client.data(_stuff(raw) + b".\r\n").startswith(b"250")
    assert bytes(CaughtMessage.objects.get().raw) == raw


def test_commands_pipelined_after_the_final_dot_are_answered(client: RawClient) -> None:
    client.envelope()
    assert client.command(b"DATA").startswith(b"354")
    client.sock.sendall(b"Subject: pipelined\r\n\r\nhi\r\n.\r\nNOOP\r\nQUIT\r\n")
    assert client.reply().startswith(b"250 Message accepted")
    assert client.reply().startswith(b"250")  # NOOP
    assert client.reply().startswith(b"221")  # QUIT
    assert CaughtMessage.objects.get().subject == "pipelined"


def test_header_bomb_is_refused_quickly_and_the_session_goes_on(client: RawClient) -> None:
    bomb = b"To: a@example.com" + b",\r\n b@example.com" * 130_000 + b"\r\n\r\nbody\r\n"
    assert len(bomb) > 2 * 1024 * 1024
    client.envelope()
    started = time.monotonic()
    reply = client.data(bomb + b".\r\n")
    assert time.monotonic() - started < 5
    assert reply.startswith(b"552 5.3.4 Message header too big"), reply
    assert b"102400 bytes" in reply
    # The same connection can send a sensible message next.
    assert client.command(b"MAIL FROM:<app@example.com>").startswith(b"250")
    assert client.command(b"RCPT TO:<user@example.com>").startswith(b"250")
    assert client.data(b"Subject: after\r\n\r\nok\r\n.\r\n").startswith(b"250")
    assert list(CaughtMessage.objects.values_list("subject", flat=True)) == ["after"]


def test_line_over_the_limit_is_refused_with_500(server_with) -> None:
    server = server_with(line_length=4096)
    client = RawClient(server.port)
    client.envelope()
    reply = client.data(b"Subject: long\r\n\r\n" + b"x" * 5000 + b"\r\n.\r\n")
    assert reply.startswith(b"500 5.5.2 Line too long: the limit is 4096 bytes"), reply
    client.close()
    assert CaughtMessage.objects.count() == 0


def test_oversize_data_without_announced_size_is_refused(server_with) -> None:
    server = server_with(message_size=10_000)
    client = RawClient(server.port)
    client.envelope()
    reply = client.data(b"Subject: big\r\n\r\n" + (b"y" * 100 + b"\r\n") * 200 + b".\r\n")
    assert reply.startswith(b"552 5.3.4 Message too big: the limit is 10000 bytes"), reply
    client.close()
    assert CaughtMessage.objects.count() == 0


def test_connections_past_the_limit_get_421_and_a_freed_slot_is_reused(server_with) -> None:
    server = server_with(connections=5)
    held = [RawClient(server.port) for _ in range(5)]
    for client in held:
        assert client.reply().startswith(b"220")
    extra = RawClient(server.port)
    assert extra.reply().startswith(b"421 4.7.0"), "the sixth client is told to come back"
    assert extra.sock.recv(100) == b"", "and is closed"
    extra.close()
    held.pop().close()
    deadline = time.monotonic() + 5
    while server.open_connections >= 5 and time.monotonic() < deadline:
        time.sleep(0.02)
    with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as smtp:
        smtp.sendmail("app@example.com", ["user@example.com"], b"Subject: in\r\n\r\nhi\r\n")
    for client in held:
        client.close()
    assert CaughtMessage.objects.get().subject == "in"


def test_an_idle_client_is_told_421_and_closed(server_with) -> None:
    server = server_with(read_timeout=1)
    client = RawClient(server.port)
    assert client.reply().startswith(b"220")
    started = time.monotonic()
    assert client.reply().startswith(b"421 4.4.2"), "timeout exceeded"
    assert client.sock.recv(100) == b""
    assert 0.9 < time.monotonic() - started < 5
    client.close()


def test_a_client_that_stalls_inside_data_is_timed_out(server_with) -> None:
    server = server_with(read_timeout=1)
    client = RawClient(server.port)
    client.envelope()
    assert client.command(b"DATA").startswith(b"354")
    client.sock.sendall(b"Subject: stalled\r\n\r\nhalf a mess")
    assert client.reply().startswith(b"421 4.4.2")
    client.close()
    time.sleep(0.2)
    assert CaughtMessage.objects.count() == 0


def test_a_slow_but_steady_client_is_not_cut_off(server_with) -> None:
    # Each read has its own timeout: a message taking longer than one timeout arrives whole.
    server = server_with(read_timeout=1, min_data_rate=5)
    client = RawClient(server.port)
    client.envelope()
    assert client.command(b"DATA").startswith(b"354")
    client.sock.sendall(b"Subject: slow\r\n\r\n")
    for n in range(8):
        time.sleep(0.4)
        client.sock.sendall(b"part %d\r\n" % n)
    client.sock.sendall(b".\r\n")
    assert client.reply().startswith(b"250")
    client.close()
    assert bytes(CaughtMessage.objects.get().raw).endswith(b"part 7\r\n")


def test_a_trickle_that_never_stalls_is_closed_once_too_slow(server_with) -> None:
    server = server_with(read_timeout=1, min_data_rate=10)
    client = RawClient(server.port)
    client.envelope()
    assert client.command(b"DATA").startswith(b"354")
    client.sock.settimeout(0.5)
    started = time.monotonic()
    reply = b""
    while not reply and time.monotonic() - started < 15:
        client.sock.sendall(b"x\n")  # 4 bytes a second: under the 10 required
        with contextlib.suppress(TimeoutError):
            reply = client.sock.recv(200)
    assert reply.startswith(b"421 4.4.2 postroom-inbox Error: data too slow"), reply
    assert time.monotonic() - started < 10
    client.close()
    assert CaughtMessage.objects.count() == 0


def test_junk_commands_past_the_limit_close_the_connection(server_with) -> None:
    server = server_with(junk_commands=3)
    client = RawClient(server.port)
    client.envelope()
    for _ in range(3):
        assert client.command(b"NOOP").startswith(b"250")
    assert client.command(b"NOOP").startswith(b"421 4.7.0 NOOP sent too many times")
    assert client.reply() == b""
    client.close()


def test_many_messages_on_one_connection_are_not_junk(server_with) -> None:
    server = server_with(junk_commands=3)
    with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as smtp:
        for n in range(30):
            smtp.sendmail("app@example.com", ["user@example.com"], b"Subject: %d\r\n\r\nhi\r\n" % n)
    assert CaughtMessage.objects.count() == 30


def test_recipients_past_the_limit_get_452_and_the_log_line_stays_short(
    server_with, caplog
) -> None:
    server = server_with()
    client = RawClient(server.port, timeout=30)
    client.envelope(recipients=0)
    replies = []
    for batch in range(20):  # 10,000 recipients, pipelined 500 at a time
        start = batch * 500
        client.sock.sendall(
            b"".join(b"RCPT TO:<u%d@example.com>\r\n" % n for n in range(start, start + 500))
        )
        replies += [client.reply() for _ in range(500)]
    assert all(reply.startswith(b"250") for reply in replies[:RECIPIENT_LIMIT])
    assert all(reply.startswith(b"452 4.5.3 Too many") for reply in replies[RECIPIENT_LIMIT:])
    with caplog.at_level(logging.INFO, logger="postroom.inbox.server"):
        assert client.data(b"Subject: many\r\n\r\nhi\r\n.\r\n").startswith(b"250")
    client.close()
    stored = CaughtMessage.objects.get()
    assert len(stored.recipients_list) == RECIPIENT_LIMIT
    [line] = [r.getMessage() for r in caplog.records if "Caught message" in r.getMessage()]
    assert len(line) < 500
    assert "<u0@example.com>, <u1@example.com>, <u2@example.com> and 997 more" in line


def test_logged_recipients_and_fields_are_cut_short() -> None:
    many = [f"user{n}@example.com" for n in range(10_000)]
    assert describe_recipients(many) == (
        "<user0@example.com>, <user1@example.com>, <user2@example.com> and 9,997 more"
    )
    assert describe_recipients(many[:2]) == "<user0@example.com>, <user1@example.com>"
    long_address = "x" * 100_000 + "@example.com"
    assert len(describe_recipients([long_address] * 5)) < 1000


@pytest.mark.parametrize(
    ("size", "at_once"),
    [(700 * 1024, STORE_CONCURRENCY), (LARGE_MESSAGE_SIZE + 100_000, 1)],
    ids=["small", "large"],
)
def test_stores_run_a_few_at_a_time_and_all_arrive(server_with, monkeypatch, size, at_once) -> None:
    server = server_with()
    running = 0
    most = 0
    lock = threading.Lock()
    database_lock = threading.Lock()
    real_store = inbox_server_module._store

    def counting_store(*args):
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        try:
            time.sleep(0.2)
            # One write at a time: SQLite's shared in-memory test database does not wait for a
            # table lock, as a database file does.
            with database_lock:
                return real_store(*args)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(inbox_server_module, "_store", counting_store)
    bodies = [
        b"Subject: m%d\r\n\r\n" % n + (b"z" * 998 + b"\r\n") * (size // 1000) for n in range(6)
    ]

    def send(raw: bytes) -> None:
        with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as smtp:
            smtp.sendmail("app@example.com", ["user@example.com"], raw)

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(send, bodies))
    assert most == at_once
    stored = {hashlib.sha256(bytes(m.raw)).hexdigest() for m in CaughtMessage.objects.all()}
    assert stored == {hashlib.sha256(raw).hexdigest() for raw in bodies}


def test_a_message_whose_client_leaves_after_the_final_dot_is_still_stored(server_with) -> None:
    # As with Postfix: once the data has ended, the message is the catcher's to keep.
    server = server_with()
    client = RawClient(server.port)
    client.envelope()
    assert client.command(b"DATA").startswith(b"354")
    client.sock.sendall(b"Subject: left early\r\n\r\n" + (b"v" * 998 + b"\r\n") * 3000 + b".\r\n")
    client.close()
    deadline = time.monotonic() + 20
    while not CaughtMessage.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert CaughtMessage.objects.get().subject == "left early"


def test_messages_in_transit_are_spooled_privately_and_removed(server_with, tmp_path) -> None:
    server = server_with()
    spool = tmp_path / "spool"
    assert stat.S_IMODE(spool.stat().st_mode) == 0o700
    raw = b"Subject: spooled\r\n\r\n" + (b"w" * 1000 + b"\r\n") * 2000
    with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as smtp:
        smtp.sendmail("app@example.com", ["user@example.com"], raw)
    assert bytes(CaughtMessage.objects.get().raw) == raw
    assert list(spool.iterdir()) == []


def _send(port: int, subject: str, body: bytes = b"hi\r\n") -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.sendmail(
            "app@example.com",
            ["user@example.com"],
            b"Subject: %s\r\n\r\n" % subject.encode() + body,
        )


def test_the_quota_keeps_the_newest_messages_within_it(server_with) -> None:
    server = server_with(quota_bytes=20_000, quota_messages=1000)
    for n in range(10):
        _send(server.port, f"m{n}", b"q" * 4000 + b"\r\n")
    kept = list(CaughtMessage.objects.order_by("id").values_list("subject", "size"))
    assert sum(size for _, size in kept) <= 20_000
    assert [subject for subject, _ in kept] == ["m6", "m7", "m8", "m9"], "a rolling window"


def test_the_message_cap_deletes_the_oldest(server_with) -> None:
    server = server_with(quota_messages=3)
    for n in range(5):
        _send(server.port, f"m{n}")
    assert list(CaughtMessage.objects.order_by("id").values_list("subject", flat=True)) == [
        "m2",
        "m3",
        "m4",
    ]


def test_a_message_larger_than_the_quota_is_refused(server_with) -> None:
    server = server_with(quota_bytes=1000)
    client = RawClient(server.port)
    client.envelope()
    reply = client.data(b"Subject: huge\r\n\r\n" + b"h" * 2000 + b"\r\n.\r\n")
    assert reply.startswith(b"552 5.3.4 Message too big for the inbox quota of 1000 bytes"), reply
    client.close()
    assert CaughtMessage.objects.count() == 0


def test_mail_is_refused_with_452_when_the_disk_is_low(server_with, monkeypatch) -> None:
    server = server_with(disk_free_margin=1024 * 1024 * 1024)
    real_usage = shutil.disk_usage
    free = {"bytes": 10 * 1024 * 1024 * 1024}

    def usage(path):
        return real_usage(path)._replace(free=free["bytes"])

    monkeypatch.setattr(shutil, "disk_usage", usage)
    client = RawClient(server.port)
    client.envelope()
    free["bytes"] = 1024 * 1024 * 1024 + 100  # the message would take it under the margin
    reply = client.data(b"Subject: late\r\n\r\n" + b"d" * 1000 + b"\r\n.\r\n")
    assert reply.startswith(b"452 4.3.1 Insufficient system storage"), reply
    free["bytes"] = 500 * 1024 * 1024
    assert client.command(b"MAIL FROM:<app@example.com>").startswith(b"452 4.3.1")
    free["bytes"] = 10 * 1024 * 1024 * 1024
    assert client.command(b"MAIL FROM:<app@example.com>").startswith(b"250"), "room again"
    assert client.command(b"RCPT TO:<user@example.com>").startswith(b"250")
    assert client.data(b"Subject: fits\r\n\r\nok\r\n.\r\n").startswith(b"250")
    client.close()
    assert list(CaughtMessage.objects.values_list("subject", flat=True)) == ["fits"]


def test_a_busy_session_is_closed_at_its_deadline(server_with) -> None:
    server = server_with(session_timeout=2, read_timeout=10)
    client = RawClient(server.port)
    assert client.reply().startswith(b"220")
    started = time.monotonic()
    reply = b""
    while time.monotonic() - started < 10:
        reply = client.command(b"EHLO client.example.com")  # each resets the read timeout
        if not reply.startswith(b"250"):
            break
        time.sleep(0.2)
    assert reply.startswith(b"421 4.4.2 postroom-inbox Error: session time limit exceeded"), reply
    assert 1.5 < time.monotonic() - started < 8
    assert client.sock.recv(100) == b""
    client.close()
    _send(server.port, "after")  # a new connection is served
    assert CaughtMessage.objects.get().subject == "after"


def test_one_client_address_gets_only_its_share_of_connections(server_with) -> None:
    server = server_with(connections=10, connections_per_client=3)
    held = [RawClient(server.port) for _ in range(3)]
    for client in held:
        assert client.reply().startswith(b"220")
    extra = RawClient(server.port)
    assert extra.reply().startswith(b"421 4.7.0 postroom-inbox Too many connections from 127.0.0.1")
    assert extra.sock.recv(100) == b"", "and is closed"
    extra.close()
    held.pop().close()
    deadline = time.monotonic() + 5
    while server.open_connections >= 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    _send(server.port, "in")  # the freed slot is that client's again
    for client in held:
        client.close()
    assert CaughtMessage.objects.get().subject == "in"
