"""Two machines, one Postroom: each with its own data directory, sharing the PostgreSQL
database, the secret key and the upload storage.

Machine A runs only the backoffice (`postroom web`); machine B runs `postroom serve` with its
worker and catcher. A visitor sends a form with a file to A; an editor downloads the file
from B, and the form's email, queued by A, is delivered by B's worker. The test makes its
own PostgreSQL database also when the suite runs on SQLite.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from processes import (
    free_port,
    fresh_postgres_url,
    interrupt,
    postroom_env,
    start,
    wait_for_port,
)

CV = b"Grace Hopper\nCompilers.\n"
SETUP = """
from postroom.startup import prepare_database
prepare_database()
from postroom.accounts.models import User
from postroom.forms import builder
from postroom.forms.models import Field
owner = User.objects.create_superuser("owner@example.com", "a-long-password-1", name="Owner")
form = builder.create_form("Jobs", owner, slug="jobs")
form.min_fill_seconds = 0
form.save()
Field.objects.create(form=form, kind="file", label="CV", alias="cv", position=9,
                     allowed_types="txt")
"""
LOG_IN = """
from django.test import Client
from postroom.accounts.models import User
client = Client()
client.force_login(User.objects.get(email="owner@example.com"))
print("SESSION=" + client.cookies["sessionid"].value)
"""


def shell(env: dict[str, str], code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "postroom.cli", "shell", "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-5000:]
    return done.stdout


def multipart(fields: dict[str, str], filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="cv"; filename="{filename}"\r\n'
        f"Content-Type: text/plain\r\n\r\n".encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def fetch(url: str, data: bytes | None = None, headers: dict | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=data, headers=headers or {})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def wait_for_row(database_url: str, sql: str, timeout: float = 60.0) -> tuple:
    deadline = time.monotonic() + timeout
    with psycopg.connect(database_url, autocommit=True, connect_timeout=10) as db:
        while time.monotonic() < deadline:
            row = db.execute(sql).fetchone()
            if row:
                return row
            time.sleep(0.2)
    raise AssertionError(f"no row for {sql!r} within {timeout} s")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A database of its own on PostgreSQL, whichever database the rest of the suite uses."""
    with contextlib.ExitStack() as stack:
        try:
            url = stack.enter_context(fresh_postgres_url())
        except ConnectionError as error:
            pytest.skip(f"this test needs a PostgreSQL server: {error}")
        yield url


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_two_machines_share_the_database_the_key_and_the_uploads(tmp_path: Path, postgres_url: str):
    shared_uploads = tmp_path / "shared-uploads"
    shared = {
        "POSTROOM_SECRET_KEY": secrets.token_urlsafe(50),
        "POSTROOM_UPLOAD_STORAGE_OPTIONS": json.dumps({"location": str(shared_uploads)}),
        "POSTROOM_LOG_LEVEL": "WARNING",
    }
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    env_a = postroom_env(tmp_path / "a", postgres_url, **shared)
    env_b = postroom_env(tmp_path / "b", postgres_url, **shared)
    shell(env_a, SETUP)
    port_a, port_b, inbox_b = free_port(), free_port(), free_port()
    machine_a = start(["web", "--port", str(port_a)], env_a, tmp_path / "a" / "web.log")
    machine_b = start(
        ["serve", "--port", str(port_b), "--inbox-port", str(inbox_b)],
        env_b,
        tmp_path / "b" / "serve.log",
    )
    try:
        wait_for_port(port_a, process=machine_a)
        wait_for_port(port_b, process=machine_b)
        wait_for_port(inbox_b, process=machine_b)
        a, b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"

        # A visitor sends the form, with a file, to machine A.
        token = fetch(f"{a}/f/jobs/token/")[1].decode()
        answers = {"name": "Grace", "email": "grace@example.net", "message": "Hi"}
        body, content_type = multipart({**answers, "postroom_ts": token}, "cv.txt", CV)
        headers = {"Content-Type": content_type, "Accept": "application/json"}
        status, answer = fetch(f"{a}/f/jobs/", body, headers)
        assert (status, json.loads(answer)["ok"]) == (200, True), answer

        # An editor on machine B downloads it.
        form_id, entry_id, upload_id = wait_for_row(
            postgres_url,
            "SELECT e.form_id, e.id, u.id FROM forms_entry e "
            "JOIN forms_upload u ON u.entry_id = e.id",
            timeout=5,
        )
        # Signed in on A: B accepts the session because both have the same secret key.
        session = shell(env_a, LOG_IN).split("SESSION=", 1)[1].strip()
        status, content = fetch(
            f"{b}/forms/{form_id}/entries/{entry_id}/files/{upload_id}/",
            headers={"Cookie": f"sessionid={session}"},
        )
        assert (status, content) == (200, CV)
        assert not (tmp_path / "a" / "data" / "uploads").exists()  # kept in shared storage

        # The email A queued is delivered by B's worker, to B's catcher.
        (subject,) = wait_for_row(
            postgres_url,
            "SELECT subject FROM delivery_outboxmessage WHERE kind = 'form' AND status = 'sent'",
        )
        assert subject == "New entry on Jobs"
        (caught,) = wait_for_row(
            postgres_url, "SELECT count(*) FROM inbox_caughtmessage HAVING count(*) > 0"
        )
        assert caught == 1
    finally:
        stopped = [interrupt(machine_a), interrupt(machine_b)]
    assert stopped == [0, 0], (tmp_path / "b" / "serve.log").read_text()[-3000:]
