"""Start Postroom's own commands as real processes, the way a user runs them."""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 60.0, process: subprocess.Popen | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the process exited with {process.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listened on port {port} within {timeout} s")


def wait_for_output(log: Path, text: str, timeout: float = 30.0) -> None:
    """Until ``text`` shows in the process's log (e.g. its start-up banner is complete)."""
    deadline = time.monotonic() + timeout
    while text not in log.read_text(errors="replace"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{text!r} did not appear in {log} within {timeout} s")
        time.sleep(0.05)


# One migrated database per test run on PostgreSQL (its name, by the server's URL), which
# fresh_database_url copies: migrating an empty PostgreSQL database takes seconds, copying it
# a fraction of that. Every copy is still new; the template is dropped when the run ends.
_templates: dict[str, str] = {}

MIGRATE = (  # as every Postroom process does at start; closing checkpoints SQLite's WAL
    "import django; django.setup(); from django.db import connections;"
    "from postroom.startup import prepare_database; prepare_database(); connections.close_all()"
)


def _migrated_template(url: str) -> str:
    if url in _templates:
        return _templates[url]
    name = f"postroom_template_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    atexit.register(_drop, url, name)
    with tempfile.TemporaryDirectory() as scratch:
        env = postroom_env(Path(scratch), urlunsplit(urlsplit(url)._replace(path=f"/{name}")))
        env["DJANGO_SETTINGS_MODULE"] = "postroom.settings"
        subprocess.run([sys.executable, "-c", MIGRATE], env=env, check=True, timeout=300)
    _templates[url] = name
    return name


def _drop(url: str, name: str) -> None:
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def fresh_database_url(migrated: bool = True) -> Iterator[str | None]:
    """A new PostgreSQL database when the suite runs on PostgreSQL, else None (SQLite).

    It is already migrated (a copy of this run's template), unless ``migrated`` is False: then
    it is empty, for the tests of what a first start does to an empty database.
    """
    url = os.environ.get("DATABASE_URL")
    if not url:
        yield None
        return
    name = f"postroom_e2e_{uuid.uuid4().hex[:10]}"
    template = f' TEMPLATE "{_migrated_template(url)}"' if migrated else ""
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as admin:
        admin.execute(f'CREATE DATABASE "{name}"{template}')
    parts = urlsplit(url)
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


LOCAL_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"  # the server CI always starts


@contextlib.contextmanager
def fresh_postgres_url() -> Iterator[str]:
    """A new empty PostgreSQL database even when the suite runs on SQLite: on DATABASE_URL's
    server, else on POSTROOM_TEST_POSTGRES (default: the local server). Raises ConnectionError
    when no server answers."""
    url = os.environ.get("DATABASE_URL") or os.environ.get("POSTROOM_TEST_POSTGRES", LOCAL_POSTGRES)
    name = f"postroom_e2e_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError:
        where = f"{urlsplit(url).hostname}:{urlsplit(url).port or 5432}"  # not the password
        raise ConnectionError(f"no PostgreSQL server answers at {where}") from None
    try:
        yield urlunsplit(urlsplit(url)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postroom_env(tmp_path: Path, database_url: str | None, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.lower().startswith(("umbraco__", "postroom_", "database_url"))
    }
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    env.update(POSTROOM_SITE=str(site), POSTROOM_DATA=str(tmp_path / "data"), PYTHONUNBUFFERED="1")
    if database_url:
        env["DATABASE_URL"] = database_url
    env.update(extra)
    return env


_sqlite_template: list[Path] = []


def seed_sqlite(env: dict[str, str]) -> None:
    """On SQLite (no DATABASE_URL in ``env``): put a copy of a database migrated once per run
    into the data directory, which the process would otherwise migrate itself at start. A data
    directory that has a database already keeps it (a restart)."""
    database = Path(env["POSTROOM_DATA"]) / "postroom.sqlite3"
    if "DATABASE_URL" in env or database.exists():
        return
    if not _sqlite_template:
        scratch = Path(tempfile.mkdtemp(prefix="postroom-template-"))
        atexit.register(shutil.rmtree, scratch, True)
        template_env = postroom_env(scratch, None, DJANGO_SETTINGS_MODULE="postroom.settings")
        subprocess.run([sys.executable, "-c", MIGRATE], env=template_env, check=True, timeout=300)
        template = scratch / "data" / "postroom.sqlite3"
        assert not template.with_name(template.name + "-wal").exists(), "not checkpointed"
        _sqlite_template.append(template)
    database.parent.mkdir(mode=0o700, exist_ok=True)
    shutil.copyfile(_sqlite_template[0], database)
    os.chmod(database, 0o600)


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    handle = log.open("w")
    return subprocess.Popen(
        [sys.executable, "-m", "postroom.cli", *args],
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )


def interrupt(process: subprocess.Popen, timeout: float = 30.0) -> int:
    """Ctrl-C, as a user stops it; returns the exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)
        raise
