"""SMTP results are kept briefly, and concurrent runs share one probe."""

from __future__ import annotations

import asyncio
import hashlib
import threading
from dataclasses import dataclass

from postroom.config import current_smtp_settings
from postroom.health import target as target_module
from postroom.health.checks.smtp import smtp_results
from postroom.health.probecache import ProbeCache
from postroom.health.registry import Result, get_check
from postroom.health.runner import run_check
from postroom.health.target import Target
from postroom.mailsettings import Secret
from smtpservers import RecordingHandler


def test_a_second_run_within_a_minute_does_not_connect_again(configure_smtp, smtp_server):
    server = smtp_server()
    configure_smtp(host=server.host, port=server.port, security="None")
    check = get_check("smtp")

    first = run_check(check)
    second = run_check(check)

    assert first.status == "info"  # no TLS: SecureSocketOptions None
    assert server.connections == 1
    assert [r.message for r in first.results] == [
        r.message for r in second.results if r.step != "cache"
    ]
    note = next(r for r in second.results if r.step == "cache")
    assert "kept for 60 s after success" in note.message


def test_changed_settings_are_probed_afresh(configure_smtp, smtp_server):
    server = smtp_server()
    configure_smtp(host=server.host, port=server.port, security="None")
    run_check(get_check("smtp"))

    configure_smtp(host=server.host, port=server.port, security="None", username="someone")
    run_check(get_check("smtp"))

    assert server.connections == 2


def test_success_is_kept_60_seconds_and_failure_15():
    now = [1000.0]
    cache = ProbeCache(clock=lambda: now[0])
    calls = []

    def probe(status: str):
        def run() -> list[Result]:
            calls.append(status)
            return [Result(status, status)]

        return run

    cache.get("good", probe("success"), wait=1)
    cache.get("bad", probe("error"), wait=1)
    now[0] += 14
    cache.get("good", probe("success"), wait=1)
    cache.get("bad", probe("error"), wait=1)
    assert calls == ["success", "error"]

    now[0] += 2  # 16 s: the failure is probed again, the success is still kept
    cache.get("good", probe("success"), wait=1)
    cache.get("bad", probe("error"), wait=1)
    assert calls == ["success", "error", "error"]

    now[0] += 45  # 61 s
    cache.get("good", probe("success"), wait=1)
    assert calls == ["success", "error", "error", "success"]


@dataclass
class SlowGreeting(RecordingHandler):
    """Takes a while to answer EHLO, so that concurrent checks overlap."""

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        await asyncio.sleep(0.5)
        return await super().handle_EHLO(server, session, envelope, hostname, responses)


def test_concurrent_runs_share_one_probe(configure_smtp, smtp_server):
    server = smtp_server(handler=SlowGreeting())
    configure_smtp(host=server.host, port=server.port, security="None")
    smtp = current_smtp_settings()
    start = threading.Barrier(5)
    outcomes: list[list[Result]] = []

    def check() -> None:
        start.wait()
        outcomes.append(smtp_results(smtp, use_cache=False))  # only the probe in flight is shared

    threads = [threading.Thread(target=check) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(15)

    assert server.connections == 1
    assert len(outcomes) == 5
    assert all(outcome == outcomes[0] for outcome in outcomes)
    assert any(r.step == "ehlo" and r.status == "success" for r in outcomes[0])


def test_the_fingerprint_holds_no_password(monkeypatch):
    target = Target("smtp.postroom.test", 587, username="mailer", password=Secret("hunter2-long"))
    other = Target("smtp.postroom.test", 587, username="mailer", password=Secret("another-one"))
    fingerprint = target.fingerprint()

    assert fingerprint != other.fingerprint()  # a new password is a new probe
    # Whoever sees a fingerprint cannot test password guesses against it: it is not built
    # from the password, or an unsalted hash of it, but from a hash salted per process.
    for guess in ("hunter2-long", hashlib.sha256(b"hunter2-long").hexdigest()):
        parts = ["smtp.postroom.test", "587", target.security, "mailer", guess, "", "", ""]
        assert fingerprint != hashlib.sha256("\0".join(parts).encode()).hexdigest()
    monkeypatch.setattr(target_module, "_SALT", b"another process")
    assert target.fingerprint() != fingerprint
    assert "hunter2" not in repr(target)
