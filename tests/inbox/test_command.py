"""`postroom inbox` as a user runs it: starts on a fresh data dir, catches mail, stops on Ctrl-C."""

from __future__ import annotations

import signal
import smtplib
import socket
import sqlite3

import pytest

from emails import make_email
from processes import free_port, interrupt, postroom_env, start, wait_for_port

pytestmark = pytest.mark.timeout(90)


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_inbox_command_catches_mail_and_stops_cleanly(tmp_path, stop_signal) -> None:
    port = free_port()
    env = postroom_env(tmp_path, None)
    log = tmp_path / "inbox.log"
    process = start(["inbox", "--port", str(port)], env, log)
    try:
        wait_for_port(port, process=process)
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            smtp.login("anyone", "anything")
            smtp.send_message(make_email("From the command"), to_addrs=["user@example.com"])
    finally:
        if stop_signal == signal.SIGINT:
            code = interrupt(process)
        else:
            process.send_signal(stop_signal)
            code = process.wait(30)
    output = log.read_text()
    assert code == 0, output
    assert (
        f"Development inbox listening on smtp://127.0.0.1:{port} "
        "(any user name and password; STARTTLS offered)"
    ) in output
    assert "Messages appear in the backoffice at http://127.0.0.1:8000/inbox/" in output
    assert "Traceback" not in output
    with sqlite3.connect(tmp_path / "data" / "postroom.sqlite3") as database:
        rows = database.execute("SELECT subject, envelope_recipients FROM inbox_caughtmessage")
        assert rows.fetchall() == [("From the command", "user@example.com")]
    assert (tmp_path / "data" / "inbox-tls" / "cert.pem").exists()


def test_busy_port_is_a_clear_error_without_traceback(tmp_path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        log = tmp_path / "inbox.log"
        process = start(["inbox", "--port", str(port)], postroom_env(tmp_path, None), log)
        code = process.wait(60)
    output = log.read_text()
    assert code != 0
    assert f"port {port} is already in use" in output
    assert "POSTROOM_INBOX_PORT" in output and "--port" in output
    assert "Traceback" not in output


def test_help_text(tmp_path) -> None:
    log = tmp_path / "help.log"
    process = start(["help", "inbox"], postroom_env(tmp_path, None), log)
    assert process.wait(60) == 0
    assert "Run only the development mail catcher (SMTP on 127.0.0.1:2525)." in log.read_text()
