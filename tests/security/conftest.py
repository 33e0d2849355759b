"""The attack suite: a real `postroom serve` process, attacked from this one.

Every attack is bounded in count and time, targets 127.0.0.1 only, and stops by itself. Each
test asserts that the service still answers afterwards (``Served.healthz_latencies``).
"""

from __future__ import annotations

import contextlib
import resource
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from processes import (
    free_port,
    fresh_database_url,
    interrupt,
    postroom_env,
    seed_sqlite,
    start,
    wait_for_port,
)

pytestmark = pytest.mark.attack


@dataclass
class Served:
    """One running `postroom serve`: where it listens and where it writes."""

    url: str
    web_port: int
    inbox_port: int
    log: Path
    data_dir: Path
    site_dir: Path
    pid: int
    env: dict[str, str] = field(default_factory=dict)

    def shell(self, code: str, timeout: float = 120.0) -> str:
        """Run ``code`` in `postroom shell` against this serve's database; returns its stdout."""
        done = subprocess.run(
            [sys.executable, "-m", "postroom.cli", "shell", "-c", code],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-5000:]
        return done.stdout

    def get(self, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=timeout) as response:  # noqa: S310
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def healthz_latencies(self, count: int = 50, timeout: float = 5.0) -> list[float]:
        """Seconds taken by ``count`` sequential GET /healthz; raises if one fails."""
        latencies = []
        for _ in range(count):
            started = time.perf_counter()
            status, _ = self.get("/healthz", timeout)
            assert status == 200, status  # 503: the database does not answer
            latencies.append(time.perf_counter() - started)
        return latencies

    def rss_bytes(self) -> int:
        """Resident memory of the serve process now."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")


def p99(latencies: list[float]) -> float:
    return statistics.quantiles(latencies, n=100)[98] if len(latencies) > 1 else latencies[0]


P99_LIMIT = 0.2  # the figure for /healthz under attack


def latency_limit(served: Served) -> float:
    """200 ms, or three times the p99 measured just before the attack if that is more: on a
    loaded 2-core CI machine a quiet p99 can exceed 70 ms, and the attack must still be what
    fails the test. A CPU-pinning attack costs seconds, far past either figure."""
    served.healthz_latencies(5)  # warm up
    return max(P99_LIMIT, 3 * p99(served.healthz_latencies(30)))


@pytest.fixture(scope="session", autouse=True)
def many_descriptors() -> None:
    """Attacks open thousands of sockets from this process: raise its soft limit to the hard."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


@contextlib.contextmanager
def _launcher(
    tmp_path: Path, database_url: str | None, seeded: bool = True
) -> Iterator[Callable[..., Served]]:
    running: list[tuple[object, Path]] = []

    def launch(*args: str, **extra: str) -> Served:
        web, inbox = free_port(), free_port()
        root = tmp_path / f"serve{len(running)}"
        root.mkdir()
        log = root / "serve.log"
        env = postroom_env(root, database_url, **extra)
        if seeded:
            seed_sqlite(env)  # already migrated, as on PostgreSQL (see fresh_database_url)
        process = start(["serve", "--port", str(web), "--inbox-port", str(inbox), *args], env, log)
        running.append((process, log))
        wait_for_port(web, process=process)
        if "--no-inbox" not in args:
            wait_for_port(inbox, process=process)
        return Served(
            url=f"http://127.0.0.1:{web}",
            web_port=web,
            inbox_port=inbox,
            log=log,
            data_dir=Path(env["POSTROOM_DATA"]),
            site_dir=Path(env["POSTROOM_SITE"]),
            pid=process.pid,
            env=env,
        )

    try:
        yield launch
    finally:
        for process, log in running:
            assert interrupt(process) == 0, log.read_text()[-5000:]


@pytest.fixture
def serve(tmp_path) -> Iterator[Callable[..., Served]]:
    """``serve(*args, **env)`` starts `postroom serve` with extra environment, on the suite's
    database (a fresh PostgreSQL one when the suite runs on PostgreSQL); stopped after the test."""
    with fresh_database_url() as database_url, _launcher(tmp_path, database_url) as launch:
        yield launch


@pytest.fixture
def serve_on_sqlite(tmp_path) -> Iterator[Callable[..., Served]]:
    """Like ``serve``, always on SQLite in the data directory: for what concerns its files."""
    with _launcher(tmp_path, None, seeded=False) as launch:  # serve makes every file
        yield launch


# -- one real row of every kind, for the tests that walk every URL --------------------------


@dataclass
class Rows:
    """Real ids (and slugs, kinds) to put into a route's parameters."""

    named: dict[str, object]  # parameters named the same wherever they appear
    pk_by_prefix: dict[str, int]  # <int:pk> depends on the part of the site

    def values_for(self, route: str) -> dict[str, str]:
        pk = next((v for prefix, v in self.pk_by_prefix.items() if route.startswith(prefix)), 1)
        return {"pk": str(pk)} | {name: str(value) for name, value in self.named.items()}


@pytest.fixture
def rows(administrator) -> Rows:
    from django.core.mail import EmailMultiAlternatives
    from django.test import RequestFactory

    from postroom.accounts.invitations import invite
    from postroom.applications.credentials import create_application
    from postroom.delivery.enqueue import enqueue
    from postroom.forms import builder
    from postroom.inbox.models import CaughtMessage

    form = builder.create_form("Contact us", administrator)
    entry = form.entries.create(values={}, ip="127.0.0.1")
    mail = EmailMultiAlternatives("Hi", "Body", "a@example.org", ["b@example.net"])
    mail.attach_alternative("<p>Body</p>", "text/html")
    outbox = enqueue(mail, kind="system")
    caught = CaughtMessage.from_envelope("a@example.org", ["b@example.net"], b"Subject: x\r\n\r\nx")
    caught.save()
    invitation = invite(
        email="new@example.com",
        name="New",
        role="editor",
        message="",
        invited_by=administrator,
        request=RequestFactory().get("/"),  # links need an address: the test server's
    ).invitation
    named = {
        "field_id": form.fields.first().pk,
        "workflow_id": form.workflows.first().pk,
        "entry_id": entry.pk,
        "upload_id": 1,
        "run_id": 1,
        "index": 0,
        "slug": form.slug,
        "kind": "invitation",
        "token": "not-a-real-token",
        "check_id": "smtp",
        "action_id": "none",
        "provider": "generic",
        "message_id": outbox.pk,  # the HTTP API's status route
        "rest": "no-such-api",  # the API's JSON 404 for any other address
    }
    application, _ = create_application("Shop", ["example.org"])
    pk_by_prefix = {"/users/invitations/": invitation.pk, "/users/": administrator.pk}
    pk_by_prefix |= {"/outbox/": outbox.pk, "/inbox/": caught.pk, "/forms/": form.pk}
    pk_by_prefix |= {"/applications/": application.pk}
    return Rows(named, pk_by_prefix)
