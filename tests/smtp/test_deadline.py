"""One deadline bounds the whole opening of a session, not each step on its own."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable

import pytest

from postroom.mailsettings.model import NONE
from postroom.smtp import FAILED, Server, Session, SmtpFailure


class ScriptedServer:
    """A one-connection server on 127.0.0.1 that plays ``script(connection)``."""

    def __init__(self, script: Callable[[socket.socket], None]) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._script = script
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        connection, _ = self._listener.accept()
        with connection:
            connection.settimeout(10)
            with contextlib.suppress(OSError):
                self._script(connection)

    def close(self) -> None:
        self._listener.close()
        self._thread.join(10)


def SlowServer(pause: float) -> ScriptedServer:  # noqa: N802 (reads as the server it makes)
    """Greets after ``pause`` seconds and answers EHLO after another ``pause``."""

    def script(connection: socket.socket) -> None:
        time.sleep(pause)
        connection.sendall(b"220 slow.test ESMTP\r\n")
        connection.recv(1024)
        time.sleep(pause)
        connection.sendall(b"250 slow.test\r\n")
        connection.recv(1024)

    return ScriptedServer(script)


def test_steps_that_each_fit_the_limit_still_share_one_deadline():
    server = SlowServer(pause=1.2)
    steps: list = []
    session = Session(Server("127.0.0.1", server.port, NONE, timeout=2.0), on_step=steps.append)
    started = time.monotonic()
    try:
        with pytest.raises(SmtpFailure) as caught:
            session.open()
    finally:
        elapsed = time.monotonic() - started
        server.close()
    assert elapsed < 2.0 + 1.0
    assert (caught.value.step, caught.value.transient) == ("ehlo", True)
    assert "within 2 s" in caught.value.message
    assert [(s.name, s.outcome) for s in steps][-1] == ("ehlo", FAILED)


def StallOnAuth(hang_up: bool) -> ScriptedServer:  # noqa: N802
    """Offers AUTH PLAIN LOGIN, then never answers AUTH (or hangs up on it)."""

    def script(connection: socket.socket) -> None:
        connection.sendall(b"220 stall.test ESMTP\r\n")
        connection.recv(1024)
        connection.sendall(b"250-stall.test\r\n250 AUTH PLAIN LOGIN\r\n")
        connection.recv(1024)  # AUTH ...
        if not hang_up:
            time.sleep(4)

    return ScriptedServer(script)


@pytest.mark.parametrize("hang_up", [False, True])
def test_a_login_that_times_out_or_is_cut_off_is_not_called_an_unsupported_mechanism(hang_up):
    server = StallOnAuth(hang_up)
    session = Session(
        Server("127.0.0.1", server.port, NONE, username="u", password="p", timeout=1.5)
    )
    try:
        with pytest.raises(SmtpFailure) as caught:
            session.open()
    finally:
        server.close()
    assert caught.value.step == "auth" and caught.value.transient
    assert "none of which Postroom supports" not in caught.value.message
