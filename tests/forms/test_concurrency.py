"""No entry's answers ever reach another entry's email, however many people send at once.

Two real ``postroom web`` processes (waitress, 8 threads each) share one database; 12
client threads post distinct answers to both at the same time. Then every queued message
is read back from the database and compared with the entry its workflow run belongs to.
"""

from __future__ import annotations

import http.client
import json
import re
import sqlite3
import subprocess
import sys
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from email import policy
from email.parser import BytesParser
from pathlib import Path
from urllib.parse import urlencode

import psycopg
import pytest

from processes import free_port, fresh_database_url, interrupt, postroom_env, start, wait_for_port

CLIENTS = 12
PER_CLIENT = 10
SETUP = """
from postroom.startup import prepare_database
prepare_database()
from postroom.accounts.models import User
from postroom.forms import builder, spam
from postroom.forms.models import Workflow
owner = User.objects.create_superuser("owner@example.com", "a-long-password-1")
form = builder.create_form("Contact", owner)
form.min_fill_seconds = 0
form.rate_limit = 0
form.save()
form.workflows.update(subject="Entry from {name}",
                      message="[{name}|{email}|{message}]\\n{all_fields}")
Workflow.objects.create(form=form, kind="confirmation", name="Thanks", to_field="email",
                        position=2, subject="Thanks {name}", message="You wrote: {message}")
for _ in range({count}):  # a page token carries one entry
    print("TOKEN=" + spam.issue_token(form))
"""
TOKEN_IN_TEXT = re.compile(r"tok-[0-9a-f]{12}")


class Database:
    def __init__(self, url: str | None, data_dir: Path) -> None:
        self.url = url
        self.path = data_dir / "postroom.sqlite3"

    def query(self, sql: str) -> list[tuple]:
        if self.url:
            with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as db:
                return db.execute(sql).fetchall()
        db = sqlite3.connect(self.path, timeout=10)
        try:
            return db.execute(sql).fetchall()
        finally:
            db.close()


def submit(port: int, number: int, token: str) -> tuple[int, str]:
    mark = f"tok-{uuid.uuid4().hex[:12]}"
    body = urlencode(
        {
            "name": f"Person {number} {mark}",
            "email": f"p{number}.{mark}@example.net",
            "message": f"My secret is {mark}.",
            "postroom_ts": token,
        }
    )
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(
            "POST",
            "/f/contact/",
            body,
            {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
        )
        response = connection.getresponse()
        response.read()
        return response.status, mark
    finally:
        connection.close()


@pytest.mark.slow  # concurrent submissions to real server processes
@pytest.mark.timeout(180)
def test_concurrent_entries_each_get_only_their_own_values(tmp_path):
    with fresh_database_url() as database_url:
        env = postroom_env(tmp_path, database_url, POSTROOM_LOG_LEVEL="WARNING")
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "postroom.cli",
                "shell",
                "-c",
                SETUP.replace("{count}", str(CLIENTS * PER_CLIENT)),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        tokens = re.findall(r"TOKEN=(\S+)", done.stdout)

        ports = [free_port(), free_port()]
        servers = [
            start(["web", "--port", str(port)], env, tmp_path / f"web-{port}.log") for port in ports
        ]
        try:
            for port, server in zip(ports, servers, strict=True):
                wait_for_port(port, process=server)
            jobs = [(ports[n % 2], n, tokens[n]) for n in range(CLIENTS * PER_CLIENT)]
            barrier = threading.Barrier(CLIENTS)

            def run(batch: list[tuple[int, int, str]]) -> list[tuple[int, str]]:
                barrier.wait(30)  # everyone starts at once
                return [submit(port, number, token) for port, number, token in batch]

            batches = [jobs[i::CLIENTS] for i in range(CLIENTS)]
            with ThreadPoolExecutor(CLIENTS) as pool:
                results = [r for batch in pool.map(run, batches) for r in batch]
        finally:
            stopped = [interrupt(server) for server in servers]
        assert stopped == [0, 0]

        assert [status for status, _ in results] == [200] * len(jobs)
        check_database(Database(database_url, tmp_path / "data"), {mark for _, mark in results})


def check_database(db: Database, marks: set[str]) -> None:
    entries = {}
    for entry_id, values in db.query('SELECT id, "values" FROM forms_entry'):
        values = json.loads(values) if isinstance(values, str) else values
        [mark] = set(TOKEN_IN_TEXT.findall(values["name"]))
        entries[entry_id] = (mark, values)
    assert {mark for mark, _ in entries.values()} == marks  # every entry, once

    runs = db.query(
        "SELECT r.entry_id, r.name, m.raw FROM forms_workflowrun r "
        "JOIN delivery_outboxmessage m ON m.id = r.message_id"
    )
    assert len(runs) == 2 * len(marks)
    for entry_id, run_name, raw in runs:
        mark, values = entries[entry_id]
        mail = BytesParser(policy=policy.default).parsebytes(bytes(raw))
        everything = bytes(raw).decode("utf-8", errors="replace")
        assert set(TOKEN_IN_TEXT.findall(everything)) == {mark}, run_name  # no one else's
        if run_name == "Thanks":
            assert mail["To"] == values["email"]
            assert mail["Subject"] == f"Thanks {values['name']}"
        else:
            assert mail["Reply-To"] == values["email"]
            assert mail["Subject"] == f"Entry from {values['name']}"
            body = mail.get_body(preferencelist=("plain",)).get_content()
            assert f"[{values['name']}|{values['email']}|{values['message']}]" in body
