"""PickupDirectoryTransport: one complete CRLF .eml per message, written atomically."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest

from postroom.delivery.transports import transport_for
from postroom.delivery.transports.base import DeliveryError, OutgoingMessage
from postroom.delivery.transports.pickup import PickupDirectoryTransport
from postroom.mailsettings.model import PICKUP_DIRECTORY, Setting, SmtpSettings

from .samples import RECIPIENT, SENDER, message, raw_message

NAME = re.compile(r"^[0-9a-f]{32}\.eml$")


def written(result) -> bytes:
    return Path(result.reply.removeprefix("Written to ")).read_bytes()


@pytest.fixture
def pickup(tmp_path):
    directory = tmp_path / "pickup"
    directory.mkdir()
    return directory


def test_one_file_per_message(pickup):
    with PickupDirectoryTransport(pickup) as transport:
        results = [transport.send(message(n)) for n in range(1, 4)]
    files = sorted(pickup.iterdir())
    assert len(files) == 3
    assert all(NAME.match(path.name) for path in files)
    for result in results:
        assert result.reply.startswith(f"Written to {pickup}/")
        assert result.accepted == (RECIPIENT,)
    written = {result.reply.removeprefix("Written to ") for result in results}
    assert written == {str(path) for path in files}


def test_the_file_is_the_envelope_and_the_whole_message(pickup):
    msg = OutgoingMessage(SENDER, (RECIPIENT, "hidden@example.test"), raw_message())
    result = PickupDirectoryTransport(pickup).send(msg)
    data = written(result)
    envelope = (
        f"X-Sender: {SENDER}\r\nX-Receiver: {RECIPIENT}\r\nX-Receiver: hidden@example.test\r\n"
    )
    assert data == envelope.encode() + raw_message()


def test_without_envelope_headers_the_file_is_the_message(pickup):
    result = PickupDirectoryTransport(pickup, envelope_headers=False).send(message())
    assert written(result) == raw_message()


def test_every_line_ends_in_crlf(pickup):
    raw = b"Subject: mixed\n\nunix\nold mac\rwindows\r\nlast line without newline"
    result = PickupDirectoryTransport(pickup, envelope_headers=False).send(
        OutgoingMessage(SENDER, (RECIPIENT,), raw)
    )
    data = written(result)
    assert data == (
        b"Subject: mixed\r\n\r\nunix\r\nold mac\r\nwindows\r\nlast line without newline"
    )
    assert b"\r\n" in data
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert b"\r" not in data.replace(b"\r\n", b"")


def test_no_partial_or_temporary_files_remain(pickup):
    body = "x" * 76 + "\r\n"
    big = OutgoingMessage(SENDER, (RECIPIENT,), raw_message(body=body * 20_000))  # ~1.5 MB
    seen: dict[str, bool] = {}
    stop = threading.Event()

    def watch() -> None:
        # Whatever a pickup service sees as *.eml must already be complete.
        while not stop.is_set():
            for path in pickup.glob("*.eml"):
                if path.name not in seen:
                    seen[path.name] = path.read_bytes().endswith(body.encode())

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with PickupDirectoryTransport(pickup) as transport:
            for _ in range(5):
                transport.send(big)
    finally:
        stop.set()
        watcher.join()
    assert seen and all(seen.values())
    names = [path.name for path in pickup.iterdir()]
    assert len(names) == 5 and all(NAME.match(name) for name in names)
    expected = b"".join(
        line.encode() for line in (f"X-Sender: {SENDER}\r\n", f"X-Receiver: {RECIPIENT}\r\n")
    )
    assert all((pickup / name).read_bytes() == expected + big.raw for name in names)


def test_a_missing_directory_is_a_clear_permanent_error(tmp_path):
    missing = tmp_path / "pickup"
    with pytest.raises(DeliveryError) as caught:
        PickupDirectoryTransport(missing).send(message())
    error = caught.value
    assert (error.step, error.transient) == ("write", False)
    assert f"The pickup directory {missing} does not exist" in error.message
    assert "Create it" in error.message


def test_open_checks_the_directory(tmp_path):
    with pytest.raises(DeliveryError, match="does not exist"):
        PickupDirectoryTransport(tmp_path / "nope").open()


def test_a_file_instead_of_a_directory(tmp_path):
    path = tmp_path / "file"
    path.write_text("")
    with pytest.raises(DeliveryError, match="is not a directory") as caught:
        PickupDirectoryTransport(path).send(message())
    assert caught.value.step == "write"


def test_an_unwritable_directory(pickup, monkeypatch):
    # Tests may run as root, which ignores file modes: ask os.access instead of chmod.
    monkeypatch.setattr("postroom.delivery.transports.pickup.os.access", lambda *a: False)
    with pytest.raises(DeliveryError, match="is not writable") as caught:
        PickupDirectoryTransport(pickup).send(message())
    assert (caught.value.step, caught.value.transient) == ("write", False)


def test_line_breaks_in_envelope_addresses_are_refused(pickup):
    msg = OutgoingMessage(SENDER, ("a@example.test\r\nX-Evil: 1",), raw_message())
    with pytest.raises(DeliveryError, match="line break"):
        PickupDirectoryTransport(pickup).send(msg)
    assert list(pickup.iterdir()) == []


def test_transport_for_settings(pickup):
    settings = SmtpSettings(
        delivery_method=Setting(PICKUP_DIRECTORY, "env"),
        pickup_directory=Setting(str(pickup), "env"),
    )
    transport = transport_for(settings)
    assert isinstance(transport, PickupDirectoryTransport)
    assert transport.directory == pickup
    assert transport.description == f"pickup directory {pickup}"
