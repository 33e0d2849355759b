"""A mail server that offers AUTH but no STARTTLS (as one whose STARTTLS a network attacker
stripped would look): a real `postroom serve` configured with credentials and the default
SecureSocketOptions (Auto) must never send them, and must say why where the owner looks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from smtpservers import SmtpServer

pytestmark = pytest.mark.attack

USER, PASSWORD = "site-mailer", "Walrus-Chimney-6610-secret"


def environment_of(pid: int) -> dict[str, str]:
    """The serve process's own environment: the same site, data directory and database."""
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.decode().split("=", 1) for item in raw.split(b"\0") if b"=" in item)


def postroom(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "postroom.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_credentials_are_never_sent_to_a_server_without_starttls(serve):
    stripped = SmtpServer(
        username=USER, password=PASSWORD, auth_require_tls=False, auth_required=False
    )
    with stripped:
        smtp = "Umbraco__CMS__Global__Smtp__"
        served = serve(
            **{
                smtp + "From": "website@postroom.test",
                smtp + "Host": stripped.host,
                smtp + "Port": str(stripped.port),
                smtp + "Username": USER,
                smtp + "Password": PASSWORD,
            }
        )
        env = environment_of(served.pid)

        sent = postroom(env, "sendtest", "owner@postroom.test")
        health = postroom(env, "check", "--json", "--check", "smtp")

        assert "AUTH" not in stripped.handler.commands
        assert stripped.auth_attempts == [] and stripped.messages == []

    # The email log keeps the reason, and sendtest prints it from there.
    assert sent.returncode != 0
    assert "Not sent at step 'tls'" in sent.stderr, sent.stderr
    assert "offers no STARTTLS" in sent.stderr
    assert "SecureSocketOptions to None" in sent.stderr
    # The health check says the same, step by step.
    assert health.returncode == 1
    [check] = [c for c in json.loads(health.stdout)["checks"] if c["id"] == "smtp"]
    tls = [r for r in check["results"] if r["step"] == "tls"]
    assert tls and tls[-1]["status"] == "error"
    assert "offers no STARTTLS" in tls[-1]["message"]
    assert not any(r["step"] == "auth" for r in check["results"])
    for output in (sent.stdout, sent.stderr, health.stdout, served.log.read_text()):
        assert PASSWORD not in output

    served.healthz_latencies(count=5)  # still answers
