"""One part of `serve` failing never stops the others; a failed part is restarted with backoff."""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request

import pytest

from postroom.backoffice import supervisor
from postroom.backoffice.supervisor import Part, Supervisor


def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def steady_part(name: str, beats: list[float]) -> Part:
    def run(stop: threading.Event) -> None:
        while not stop.wait(0.02):
            beats.append(time.monotonic())

    return Part(name, run)


def failing_part(name: str, failures: int, starts: list[float]) -> Part:
    """Raises on its first ``failures`` starts, then runs until stopped."""

    def run(stop: threading.Event) -> None:
        starts.append(time.monotonic())
        if len(starts) <= failures:
            raise ConnectionError(f"lost the database (attempt {len(starts)})")
        stop.wait()

    return Part(name, run)


def test_a_failing_part_is_restarted_with_growing_pauses_while_the_others_run(caplog):
    beats: list[float] = []
    starts: list[float] = []
    parts = Supervisor(
        [steady_part("web", beats), failing_part("worker", 3, starts)], first_backoff=0.1
    )
    caplog.set_level(logging.ERROR, logger="postroom.serve")
    parts.start()
    try:
        wait_until(lambda: len(starts) == 4)
        wait_until(lambda: parts.status()["worker"]["state"] == "running")
        beats_before = len(beats)
        wait_until(lambda: len(beats) > beats_before + 3)  # the web never stopped
        worker = parts.status()["worker"]
        assert worker["restarts"] == 3
        assert worker["last_error"] == "ConnectionError: lost the database (attempt 3)"
        assert parts.status()["web"] == {"state": "running", "restarts": 0, "last_error": None}
    finally:
        assert parts.stop(10) == []
    pauses = [later - earlier for earlier, later in zip(starts, starts[1:], strict=False)]
    assert pauses[0] >= 0.1 and pauses[1] >= 0.2 and pauses[2] >= 0.4  # 1 s, 2 s, 4 s … by default
    lines = [r.getMessage() for r in caplog.records if r.name == "postroom.serve"]
    assert lines[0] == (
        "The worker stopped (ConnectionError: lost the database (attempt 1)); "
        "restarting it in 0.1 s (restart 1)."
    )
    assert all(record.exc_info is None for record in caplog.records if record.levelno >= 40)
    assert parts.status()["worker"]["state"] == "stopped"


def test_the_pause_between_restarts_stops_growing_at_the_maximum():
    starts: list[float] = []
    parts = Supervisor([failing_part("catcher", 5, starts)], first_backoff=0.05, max_backoff=0.1)
    parts.start()
    try:
        wait_until(lambda: len(starts) == 6)
    finally:
        parts.stop(10)
    pauses = [later - earlier for earlier, later in zip(starts, starts[1:], strict=False)]
    assert max(pauses[2:]) < 0.1 + 1.0  # capped (generous margin for a loaded machine)


def test_a_part_that_returns_by_itself_is_restarted_and_shown_restarting():
    release = threading.Event()
    runs: list[int] = []

    def run(stop: threading.Event) -> None:
        runs.append(1)
        if len(runs) == 1:
            return  # ended although nobody asked it to stop
        release.wait(10)
        stop.wait()

    parts = Supervisor([Part("catcher", run)], first_backoff=0.3)
    parts.start()
    try:
        wait_until(lambda: parts.restarting() == ["catcher"])
        status = parts.status()["catcher"]
        assert status["last_error"] == "it stopped by itself" and status["restarts"] == 1
        wait_until(lambda: len(runs) == 2)
        assert parts.restarting() == []
    finally:
        release.set()
        parts.stop(10)


def test_stop_interrupts_the_pause_before_a_restart():
    starts: list[float] = []
    parts = Supervisor([failing_part("worker", 100, starts)], first_backoff=30)
    parts.start()
    wait_until(lambda: parts.restarting() == ["worker"])
    began = time.monotonic()
    assert parts.stop(10) == []
    assert time.monotonic() - began < 5
    assert len(starts) == 1


def test_error_text_is_one_bounded_line():
    text = supervisor.describe_failure(ValueError("line one\nline two " + "x" * 500))
    assert "\n" not in text and text.startswith("ValueError: line one line two")
    assert len(text) <= len("ValueError: ") + supervisor.ERROR_TEXT_LIMIT


@pytest.mark.django_db(transaction=True)
def test_when_the_worker_crashes_the_web_keeps_answering_and_the_worker_comes_back(monkeypatch):
    """The fault: the worker's wake-up waiter fails on its first two starts (as a lost
    database connection would), which ends ``worker.run`` with an exception."""
    from postroom.backoffice.parts import web_part, worker_part
    from postroom.backoffice.webserver import create_web_server
    from postroom.delivery import worker

    real_waiter = worker.Waiter
    crashes = []

    def broken_waiter(*args, **kwargs):
        if len(crashes) < 2:
            crashes.append(1)
            raise OSError("the wake-up socket could not be opened")
        return real_waiter(*args, **kwargs)

    monkeypatch.setattr(worker, "Waiter", broken_waiter)
    server = create_web_server("127.0.0.1", 0)
    port = server.effective_port
    parts = Supervisor([web_part("127.0.0.1", port, server), worker_part()], first_backoff=0.5)
    supervisor.install(parts)
    parts.start()

    def healthz() -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
            assert response.status == 200
            return json.loads(response.read())

    try:
        wait_until(lambda: healthz()["parts"]["worker"]["state"] == "restarting")
        health = healthz()  # the web answers while the worker is down
        assert health["status"] == "degraded"
        assert health["parts"]["web"]["state"] == "running"
        # Asked without a login, /healthz names the kind of failure, not its text.
        assert health["parts"]["worker"]["last_error"] == "OSError"
        wait_until(lambda: healthz()["parts"]["worker"]["restarts"] == 2, timeout=20)
        wait_until(lambda: healthz()["parts"]["worker"]["state"] == "running", timeout=20)
        assert healthz()["status"] == "ok"
    finally:
        supervisor.install(None)
        worker.notify_now()
        assert parts.stop(30) == []


class FakeSupervisor:
    def __init__(self, status: dict) -> None:
        self._status = status

    def status(self) -> dict:
        return self._status


@pytest.mark.django_db
def test_the_dashboard_says_clearly_when_a_part_is_restarting(admin_client):
    supervisor.install(
        FakeSupervisor(
            {
                "web": {"state": "running", "restarts": 0, "last_error": None},
                "worker": {
                    "state": "restarting",
                    "restarts": 3,
                    "last_error": "OperationalError: database is locked",
                },
            }
        )
    )
    try:
        html = admin_client.get("/").content.decode()
    finally:
        supervisor.install(None)
    assert 'id="part-worker"' in html
    assert "The worker is restarting" in html
    assert "after 3 failures" in html
    assert "OperationalError: database is locked" in html
    assert 'id="part-web"' not in html


@pytest.mark.django_db
def test_the_dashboard_has_no_notice_while_every_part_runs(admin_client):
    supervisor.install(
        FakeSupervisor({"worker": {"state": "running", "restarts": 1, "last_error": "x"}})
    )
    try:
        html = admin_client.get("/").content.decode()
    finally:
        supervisor.install(None)
    assert "is restarting" not in html


@pytest.mark.django_db(transaction=True)
def test_a_failed_web_server_is_started_again_on_the_same_port(monkeypatch):
    from postroom.backoffice import parts as serve_parts
    from postroom.backoffice.webserver import close_web_server, create_web_server, serve_until

    failures = []

    def fails_once(server, stop):
        if not failures:
            failures.append(1)
            close_web_server(server)  # as a crash in the loop leaves it: nothing listening
            raise OSError("poll() failed")
        serve_until(server, stop)

    monkeypatch.setattr(serve_parts, "serve_until", fails_once)
    server = create_web_server("127.0.0.1", 0)
    port = server.effective_port
    parts = Supervisor([serve_parts.web_part("127.0.0.1", port, server)], first_backoff=0.2)
    supervisor.install(parts)
    parts.start()

    def web_status() -> dict:
        url = f"http://127.0.0.1:{port}/healthz"
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (loopback)
            return json.loads(response.read())["parts"]["web"]

    try:
        wait_until(lambda: failures and parts.status()["web"]["state"] == "running")
        status = {}

        def answers() -> bool:
            nonlocal status
            try:
                status = web_status()
            except OSError:
                return False
            return True

        wait_until(answers, timeout=20)
        assert status == {"state": "running", "restarts": 1, "last_error": "OSError"}  # anonymous
    finally:
        supervisor.install(None)
        assert parts.stop(30) == []


@pytest.mark.django_db(transaction=True)
def test_when_the_catchers_loop_dies_it_is_started_again_on_the_same_port(monkeypatch, tmp_path):
    import smtplib

    from postroom.backoffice import parts as serve_parts
    from postroom.inbox.server import InboxServer

    monkeypatch.setattr(serve_parts, "CATCHER_CHECK_SECONDS", 0.1)
    catcher = InboxServer("127.0.0.1", 0, tls_dir=tmp_path / "tls")
    catcher.start()
    port = catcher.port
    parts = Supervisor([serve_parts.catcher_part("127.0.0.1", port, catcher)], first_backoff=0.2)
    parts.start()
    try:
        loop = catcher._controller.loop
        loop.call_soon_threadsafe(loop.stop)  # the fault: the catcher's event loop ends
        wait_until(lambda: parts.status()["catcher"]["restarts"] == 1)
        assert parts.status()["catcher"]["last_error"] == (
            "CatcherStopped: the catcher's event loop ended"
        )
        wait_until(lambda: parts.status()["catcher"]["state"] == "running")

        def accepts_mail() -> bool:
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=5) as smtp:
                    return smtp.noop()[0] == 250
            except OSError:
                return False

        wait_until(accepts_mail, timeout=20)
    finally:
        assert parts.stop(30) == []
