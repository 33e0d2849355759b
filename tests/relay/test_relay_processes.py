"""The relay as a real `postroom relay` process, spoken to by swaks and raw clients, killed with
SIGKILL around its 250, and its mail delivered by a restarted `postroom serve`."""

from __future__ import annotations

import json
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from processes import free_port, fresh_database_url, postroom_env, start, wait_for_output
from rawsmtp import RawClient
from smtpservers import SmtpServer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]

SWAKS = shutil.which("swaks") or "/usr/bin/swaks"
TARGET_USER, TARGET_PASSWORD = "postroom", "target-password"
CREATE_APPLICATIONS = """
import json
from postroom.startup import prepare_database
prepare_database()
from postroom.applications.credentials import create_application
app, secret = create_application("Shop", ["example.org"])
create_application("Local", ["example.org"], trusted_network_no_login=True)
print(json.dumps({"username": app.username, "secret": secret}))
"""


def rows(database_url: str | None, data: Path) -> list[tuple[str, str, bytes]]:
    """(status, kind, raw) of every outbox row, read straight from the database."""
    sql = "SELECT status, kind, raw FROM delivery_outboxmessage ORDER BY id"
    if database_url:
        with psycopg.connect(database_url, autocommit=True, connect_timeout=5) as db:
            return [(s, k, bytes(r)) for s, k, r in db.execute(sql).fetchall()]
    db = sqlite3.connect(data / "postroom.sqlite3", timeout=10)
    try:
        return [(s, k, bytes(r)) for s, k, r in db.execute(sql).fetchall()]
    finally:
        db.close()


def configure_site(site: Path, target: SmtpServer, ca_file: Path) -> None:
    smtp = {
        "From": "site@example.org",
        "Host": "127.0.0.1",
        "Port": target.port,
        "SecureSocketOptions": "StartTls",
        "Username": TARGET_USER,
        "Password": TARGET_PASSWORD,
    }
    settings = {
        "Umbraco": {"CMS": {"Global": {"Smtp": smtp}}},
        "Postroom": {"Smtp": {"TimeoutSeconds": 10, "CaFile": str(ca_file)}},
    }
    (site / "appsettings.json").write_text(json.dumps(settings))


def prepare(tmp_path: Path, database_url: str | None) -> tuple[dict[str, str], dict[str, str]]:
    env = postroom_env(tmp_path, database_url)
    made = subprocess.run(
        [sys.executable, "-m", "postroom.cli", "shell", "-c", CREATE_APPLICATIONS],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return env, json.loads(made.stdout.strip().splitlines()[-1])


def start_relay(env: dict[str, str], log: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    process = start(["relay", "--port", str(port)], env, log)
    wait_for_output(log, "Relay listening", timeout=30)
    return process, port


def reply_if_any(client: RawClient) -> bytes:
    """The reply, or b"" when the connection closed or was reset without one."""
    try:
        return client.reply()
    except ConnectionResetError:
        return b""


def start_data(client: RawClient) -> None:
    """A trusted loopback client, up to the 354 that asks for the message."""
    assert client.reply().startswith(b"220")
    assert client.command(b"EHLO client.example").startswith(b"250")
    assert client.command(b"MAIL FROM:<shop@example.org>").startswith(b"250")
    assert client.command(b"RCPT TO:<ann@example.net>").startswith(b"250")
    assert client.command(b"DATA").startswith(b"354")


def kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(10)


def test_swaks_gets_250_the_relay_is_killed_and_after_a_restart_the_message_is_delivered(
    tmp_path, certificates
) -> None:
    """Delivered through an aiosmtpd server with STARTTLS and AUTH."""
    target = SmtpServer(
        tls_context=certificates.server_context(),
        require_starttls=True,
        username=TARGET_USER,
        password=TARGET_PASSWORD,
    )
    with target, fresh_database_url() as database_url:
        configure_site(tmp_path / "site", target, certificates.ca_file)
        env, app = prepare(tmp_path, database_url)
        relay, port = start_relay(env, tmp_path / "relay.log")
        try:
            swaks = subprocess.run(
                [
                    SWAKS,
                    "--server",
                    f"127.0.0.1:{port}",
                    "--tls",
                    "--auth",
                    "PLAIN",
                    "--auth-user",
                    app["username"],
                    "--auth-password",
                    app["secret"],
                    "--from",
                    "shop@example.org",
                    "--to",
                    "ann@example.net",
                    "--header",
                    "Subject: Sent by swaks",
                    "--body",
                    "Hello from swaks",
                    "--timeout",
                    "20",
                ],
                capture_output=True,
                text=True,
                timeout=30,
            )
        finally:
            kill(relay)  # right after the 250
        assert swaks.returncode == 0, swaks.stdout + swaks.stderr
        assert "<~  250 2.0.0 Ok: queued as" in swaks.stdout
        assert app["secret"] not in (tmp_path / "relay.log").read_text()
        [(status, kind, raw)] = rows(database_url, tmp_path / "data")
        assert (status, kind) == ("queued", "relay")

        serve_log = tmp_path / "serve.log"
        serve = start(["serve", "--port", str(free_port()), "--no-inbox"], env, serve_log)
        try:
            deadline = time.monotonic() + 30
            while not target.messages and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            serve.send_signal(signal.SIGINT)
            serve.wait(30)
        [delivered] = target.messages
        assert delivered.tls and delivered.login == TARGET_USER
        assert delivered.rcpt_tos == ("ann@example.net",)
        assert b"Subject: Sent by swaks" in delivered.raw
        assert b"by postroom-relay (Postroom relay) with ESMTPSA;" in delivered.raw
        assert rows(database_url, tmp_path / "data")[0][0] == "sent"


def test_killed_before_the_250_the_client_keeps_the_message_and_nothing_is_half_stored(
    tmp_path,
) -> None:
    body = b"From: shop@example.org\r\nTo: ann@example.net\r\nSubject: Big\r\n\r\n"
    body += (b"y" * 998 + b"\r\n") * 2000  # 2 MB: still arriving when the relay dies
    with fresh_database_url() as database_url:
        env, _ = prepare(tmp_path, database_url)
        relay, port = start_relay(env, tmp_path / "relay.log")
        with RawClient(port) as client:
            start_data(client)
            client.sock.sendall(body)  # every byte but the final dot
            kill(relay)
            assert reply_if_any(client) == b""  # no 250: the client still holds its message
        assert rows(database_url, tmp_path / "data") == []

        # And killed while the final dot is answered: a message is either whole or absent.
        relay, port = start_relay(env, tmp_path / "relay-2.log")
        with RawClient(port) as client:
            start_data(client)
            client.sock.sendall(body + b".\r\n")
            kill(relay)
            reply = reply_if_any(client)
        stored = rows(database_url, tmp_path / "data")
        if reply.startswith(b"250"):
            assert len(stored) == 1
        for _status, _kind, raw in stored:
            assert raw.endswith(body)  # whole, never cut


def test_serve_runs_the_relay_when_its_port_is_set_and_names_it_in_the_banner(tmp_path) -> None:
    relay_port = free_port()
    env, _ = prepare(tmp_path, None)
    env["POSTROOM_RELAY_PORT"] = str(relay_port)
    log = tmp_path / "serve.log"
    serve = start(["serve", "--port", str(free_port()), "--no-inbox"], env, log)
    try:
        wait_for_output(log, "Press Ctrl-C to stop.", timeout=60)
        with RawClient(relay_port) as client:
            start_data(client)
            client.sock.sendall(b"From: shop@example.org\r\nSubject: via serve\r\n\r\nHi\r\n.\r\n")
            reply = client.reply()
        assert reply.startswith(b"250 2.0.0 Ok: queued as")
    finally:
        serve.send_signal(signal.SIGINT)
        serve.wait(30)
    assert f"  Relay:     smtp://127.0.0.1:{relay_port} (STARTTLS)" in log.read_text()
    assert [kind for _, kind, _ in rows(None, tmp_path / "data")] == ["relay"]
