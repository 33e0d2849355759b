"""The development inbox at 50,000 caught messages: page times, and the catcher meanwhile.

    uv run python bench/inbox.py [--messages 50000] [--database-url postgres://...]
                                 [--seed-cache DIRECTORY] [--seed-database NAME]

Fills a fresh database (a temporary SQLite file, or the PostgreSQL database given, which
must be empty: it is migrated and filled) with caught messages of mixed sizes:
80 % short text mails (~1.5 KB), 17 % HTML newsletters (~15 KB), 3 % with a ~50 KB attachment.
Then, through Django's test client (middleware, view, template: everything but the socket):

- the inbox list (first page), a word search, a search with operators, a message page;
- the baseline: the old search (``icontains`` over sender, recipients and subject, no body),
  as a page count and first page of the same query, next to the full-text query's (measured
  after the catcher's window, since no page runs the old search any more).

Meanwhile the catcher (``InboxServer`` on 127.0.0.1) is sent mail over 4 SMTP connections
(smtplib, one message per transaction), with the interpreter's switch interval that
``postroom serve`` sets (its pages and catcher share one process too): PASS when every page's
median is under 200 ms and the catcher accepted at least 100 msg/s while the pages were read.

Filling 50,000 takes minutes; ``--seed-cache`` (SQLite only) keeps the filled database file in
that directory and starts later runs from a copy of it (migrated first, as an upgrade would be).
``--seed-database`` does the same for PostgreSQL: the first run fills the ``--database-url``
database and copies it, before any page is read, to a database of that name on the same server;
later runs drop the ``--database-url`` database and create it anew from that copy
(``CREATE DATABASE ... TEMPLATE``, seconds instead of minutes).
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
import logging
import os
import random
import shutil
import smtplib
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

PAGE_LIMIT_MS = 200.0
CATCHER_FLOOR = 100.0  # msg/s
SENDERS = 4
REPEATS = 15
ROOT = Path(__file__).resolve().parents[1]
COMMON = ("the", "and", "your", "you", "for", "with", "this", "that", "from", "have", "our")
SUBJECTS = (
    "Your order has shipped",
    "Reset your password",
    "Welcome to the team",
    "Weekly report",
    "Invoice for your subscription",
    "Confirm your email address",
    "Build failed",
    "New login",
)
_rng = random.Random(0)
# Words as rare as real ones: 20,000 made-up words, each in a few hundred messages at most.
RARE = [
    "".join(_rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(_rng.randint(5, 9)))
    for _ in range(20_000)
]


_VOCABULARY = list(COMMON) + RARE
# Six in ten words common, the rest spread over the rare ones.
_WEIGHTS = list(
    itertools.accumulate([60 / len(COMMON)] * len(COMMON) + [40 / len(RARE)] * len(RARE))
)


def _text(rng: random.Random, words: int) -> str:
    """Lines of ten words (under the 78-character line limit of mail)."""
    chosen = rng.choices(_VOCABULARY, cum_weights=_WEIGHTS, k=words)
    return "\r\n".join(" ".join(chosen[n : n + 10]) for n in range(0, words, 10))


def make_raw(i: int, rng: random.Random) -> tuple[str, list[str], bytes]:
    """A message as a sending site writes it (built by hand: EmailMessage is too slow for 50k)."""
    sender, to = f"app{i % 50}@shop{i % 7}.example", f"user{i % 5000}@example.org"
    head = (
        f"From: Shop {i % 7} <{sender}>\r\nTo: {to}\r\nSubject: {SUBJECTS[i % len(SUBJECTS)]} #{i}"
        f"\r\nMessage-ID: <bench-{i}@example.org>\r\nDate: Wed, 02 Dec 2026 10:00:00 +0000"
        "\r\nMIME-Version: 1.0\r\n"
    )
    text = _text(rng, 200) + (" tracking number 1Z999" if i % 8 == 0 else "")
    plain = f"Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
    kind = rng.random()
    if kind < 0.80:
        return sender, [to], (head + plain).encode()
    if kind < 0.97:
        paragraphs = "\r\n".join(f"<p>{_text(rng, 12)}</p>" for _ in range(150))
        html = f"<html><body>{paragraphs}</body></html>"
        second = f"Content-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n"
        kind_name = "alternative"
    else:
        data = base64.encodebytes(rng.randbytes(36_000)).decode().replace("\n", "\r\n")
        second = (
            "Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n"
            f'Content-Disposition: attachment; filename="a.png"\r\n\r\n{data}'
        )
        kind_name = "mixed"
    body = (
        f'Content-Type: multipart/{kind_name}; boundary="b{i}"\r\n\r\n'
        f"--b{i}\r\n{plain}--b{i}\r\n{second}\r\n--b{i}--\r\n"
    )
    return sender, [to], (head + body).encode()


def seed_file(cache: Path, count: int) -> Path:
    return cache / f"inbox-{count}.sqlite3"


def checkpoint() -> None:
    """Move the WAL's pages into the SQLite file, so readers look nothing up in the WAL."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def keep_seed(cache: Path, count: int) -> None:
    """Copy the freshly filled SQLite database into ``cache``, all of it in the main file."""
    from django.db import connection

    checkpoint()
    cache.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(connection.settings_dict["NAME"], seed_file(cache, count))


def _server_connection(database_url: str) -> Any:
    """A connection in autocommit to the server's ``postgres`` database (to create, drop and
    look up databases, which no transaction may do)."""
    import dj_database_url
    import psycopg

    settings = dj_database_url.parse(database_url)
    return psycopg.connect(
        dbname="postgres",
        user=settings["USER"] or None,
        password=settings["PASSWORD"] or None,
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        autocommit=True,
    )


def _server_command(database_url: str, sql: str) -> None:
    """Run ``sql`` outside any transaction, connected to the server's ``postgres`` database."""
    with _server_connection(database_url) as server:
        server.execute(sql)


def _database_name(database_url: str) -> str:
    import dj_database_url

    return dj_database_url.parse(database_url)["NAME"]


def seed_database_exists(database_url: str, seed: str) -> bool:
    with _server_connection(database_url) as server:
        row = server.execute("SELECT 1 FROM pg_database WHERE datname = %s", [seed]).fetchone()
    return row is not None


def copy_database(database_url: str, source: str, target: str, replace: bool = False) -> None:
    """``target`` as a copy of ``source`` (which nobody may be connected to)."""
    if replace:
        _server_command(database_url, f'DROP DATABASE IF EXISTS "{target}"')
    _server_command(database_url, f'CREATE DATABASE "{target}" TEMPLATE "{source}"')


def setup(directory: Path, database_url: str | None) -> None:
    for key in [k for k in os.environ if k.startswith(("POSTROOM_", "DJANGO_"))]:
        del os.environ[key]
    os.environ.update(
        POSTROOM_DATA=str(directory / "data"),
        POSTROOM_SECRET_KEY="bench-only-not-a-secret",
        POSTROOM_ENVIRONMENT="Development",
        DJANGO_SETTINGS_MODULE="postroom.settings",
    )
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    else:
        os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from postroom.startup import prepare_database

    prepare_database()
    logging.getLogger("postroom").setLevel(logging.WARNING)  # no line per caught message


def fill(count: int) -> None:
    from django.db import transaction

    from postroom.inbox.models import CaughtMessage

    rng = random.Random(16)
    started, batch = time.perf_counter(), []
    for i in range(count):
        sender, recipients, raw = make_raw(i, rng)
        batch.append(CaughtMessage.from_envelope(sender, recipients, raw))
        if len(batch) == 500 or i == count - 1:
            with transaction.atomic():
                CaughtMessage.objects.bulk_create(batch)
            batch = []
    seconds = time.perf_counter() - started
    print(f"filled {count} messages in {seconds:.0f} s", flush=True)
    # PostgreSQL: the statistics the retention chore refreshes within a minute of a burst
    # (autovacuum would too, where it is on).
    from django.db import connection

    from postroom.inbox import fulltext

    fulltext.analyze_if_stale(connection)


def timed(label: str, call: object, repeats: int = 0) -> tuple[str, float, float]:
    samples = []
    for _ in range(repeats or REPEATS):
        started = time.perf_counter()
        call()  # type: ignore[operator]
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return label, statistics.median(samples), samples[int(len(samples) * 0.9) - 1]


class Sender(threading.Thread):
    """Sends catchable mail over one SMTP connection until told to stop."""

    def __init__(self, port: int, number: int, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.port, self.number, self.stop, self.sent, self.error = port, number, stop, 0, ""

    def run(self) -> None:
        rng = random.Random(self.number)
        try:
            with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as client:
                while not self.stop.is_set():
                    sender, recipients, raw = make_raw(900_000 + self.sent, rng)
                    client.sendmail(sender, recipients, raw)
                    self.sent += 1
        except Exception as error:  # reported, not raised: the figures say what happened
            self.error = f"{type(error).__name__}: {error}"


def send(port: int, seconds: float) -> None:
    """The load: a child process sending pre-built mail over SENDERS connections."""
    rng = random.Random(1)
    prepared = [make_raw(900_000 + n, rng) for n in range(200)]
    deadline = time.monotonic() + seconds
    counts, errors = [0] * SENDERS, []

    def one(number: int) -> None:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
                while time.monotonic() < deadline:
                    client.sendmail(*prepared[(counts[number] * SENDERS + number) % len(prepared)])
                    counts[number] += 1
        except Exception as error:  # reported, not raised: the figures say what happened
            errors.append(f"{type(error).__name__}: {error}")

    threads = [threading.Thread(target=one, args=(n,)) for n in range(SENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps({"sent": sum(counts), "errors": errors}), flush=True)


def measure() -> bool:
    from django.db import connection
    from django.db.models import Q
    from django.test import Client

    from postroom.accounts.models import User
    from postroom.backoffice.parts import share_interpreter
    from postroom.inbox.models import CaughtMessage
    from postroom.inbox.server import InboxServer, Limits

    user = User.objects.create_user("bench@example.com", "bench-pw-123456", role="administrator")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    some = CaughtMessage.objects.order_by("id").values_list("id", flat=True)[1000]
    rare = RARE[7]

    def page(url: str, **query: str):  # noqa: ANN202
        def call() -> None:
            response = client.get(url, query)
            assert response.status_code == 200, (url, response.status_code)

        return call

    def old_search(word: str):  # noqa: ANN202
        def call() -> None:
            found = CaughtMessage.objects.summaries().filter(
                Q(envelope_recipients__icontains=word)
                | Q(to_header__icontains=word)
                | Q(envelope_sender__icontains=word)
                | Q(from_header__icontains=word)
                | Q(subject__icontains=word)
            )
            found.count(), list(found[:50])

        return call

    def new_search(q: str):  # noqa: ANN202
        def call() -> None:
            found = CaughtMessage.objects.summaries().search(q)
            found.count(), list(found[:50])

        return call

    share_interpreter()  # as `postroom serve` does: its pages and catcher share one process
    limits = Limits(quota_messages=10_000_000, quota_bytes=1 << 40, connections_per_client=50)
    with (
        tempfile.TemporaryDirectory() as tls,
        InboxServer("127.0.0.1", 0, tls_dir=Path(tls), limits=limits) as server,
    ):
        before = CaughtMessage.objects.count()
        rows = [timed("idle: inbox list, first page", page("/inbox/"))]
        rows.append(timed("idle: search page: shipped order", page("/inbox/", q="shipped order")))
        command = [sys.executable, __file__, "--send", str(server.port), "--seconds", "3600"]
        child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        time.sleep(4)  # the child builds its messages and connects
        counted, started = CaughtMessage.objects.count(), time.perf_counter()
        rows += [
            timed("inbox list, first page", page("/inbox/")),
            timed("inbox list, page 100", page("/inbox/", page="100")),
            timed("search page: shipped order", page("/inbox/", q="shipped order")),
            timed(f"search page: {rare} (a body word)", page("/inbox/", q=rare)),
            timed(
                'search page: "tracking number" from:app7',
                page("/inbox/", q='"tracking number" from:app7'),
            ),
            timed(
                "search page: is:unread has:attachment",
                page("/inbox/", q="is:unread has:attachment"),
            ),
            timed("message page", page(f"/inbox/{some}/")),
            timed("message page within a search", page(f"/inbox/{some}/", q="order")),
        ]
        elapsed = time.perf_counter() - started
        stored = CaughtMessage.objects.count() - counted
        child.terminate()
        child.wait(10)
        # The baseline (the old substring search, which no page runs any more) is measured
        # after the catcher's window: the target is the catcher's rate while the pages load.
        rows += [
            timed("query: full-text 'shipped' (count + 50)", new_search("shipped")),
            timed("query: old substring 'shipped' (count + 50)", old_search("shipped")),
            timed(f"query: full-text '{rare}' (body too)", new_search(rare)),
            timed("query: full-text 'user42@example.org'", new_search("user42@example.org")),
            timed("query: old substring 'user42@example.org'", old_search("user42@example.org")),
        ]
    rate = stored / elapsed
    print(f"\n{connection.vendor}, {before} messages in the inbox at the start")
    print(f"{'':48} {'median ms':>10} {'p90 ms':>8}")
    for label, median, p90 in rows:
        print(f"{label:48} {median:10.1f} {p90:8.1f}")
    print(
        f"catcher meanwhile: {stored} stored in {elapsed:.1f} s = {rate:.0f} msg/s"
        f" over {SENDERS} SMTP connections from another process"
    )
    pages = [median for label, median, _ in rows if not label.startswith("query")]
    ok = max(pages) < PAGE_LIMIT_MS and rate >= CATCHER_FLOOR
    limits_text = f"pages < {PAGE_LIMIT_MS:.0f} ms median, catcher >= {CATCHER_FLOOR:.0f} msg/s"
    print("PASS" if ok else "FAIL", f"({limits_text})")
    return ok


def add_database_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--seed-cache", type=Path, help="keep/reuse the filled SQLite file here")
    parser.add_argument(
        "--seed-database", help="PostgreSQL: keep/reuse the filled database as this database"
    )


def start_database(directory: Path, arguments: argparse.Namespace) -> None:
    """Django set up on a database of ``--messages``: filled now, or copied from a seed."""
    url, seed_database = arguments.database_url, arguments.seed_database
    if seed_database and not url:
        raise SystemExit("--seed-database needs --database-url (PostgreSQL)")
    cache = None if url else arguments.seed_cache
    seeded = cache is not None and seed_file(cache, arguments.messages).exists()
    if seeded:
        (directory / "data").mkdir(mode=0o700)
        shutil.copyfile(seed_file(cache, arguments.messages), directory / "data/postroom.sqlite3")
        print(f"started from {seed_file(cache, arguments.messages)}", flush=True)
    copied = bool(seed_database) and seed_database_exists(url, seed_database)
    if copied:
        copy_database(url, seed_database, _database_name(url), replace=True)
        print(f"started from a copy of the database {seed_database}", flush=True)
    setup(directory, url or None)
    if seeded:  # migrating the copy filled the WAL: start as a filled database would
        checkpoint()
    if not (seeded or copied):
        fill(arguments.messages)
        if cache is not None:
            keep_seed(cache, arguments.messages)
        if seed_database:
            from django.db import connections

            connections.close_all()  # a template database has nobody connected to it
            copy_database(url, _database_name(url), seed_database)


def main() -> None:
    global REPEATS  # noqa: PLW0603 - read by timed(); --repeats sets it once, at the start
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_database_options(parser)
    parser.add_argument(
        "--repeats", type=int, default=REPEATS, help="reads of each page (a longer window)"
    )
    parser.add_argument("--send", type=int, help=argparse.SUPPRESS)  # the load child's port
    parser.add_argument("--seconds", type=float, default=60, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.send:
        send(arguments.send, arguments.seconds)
        return
    REPEATS = arguments.repeats
    with tempfile.TemporaryDirectory(prefix="postroom-bench-inbox-") as directory:
        start_database(Path(directory), arguments)
        sys.exit(0 if measure() else 1)


if __name__ == "__main__":
    main()
