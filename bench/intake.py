"""Form intake while the mail server is slow: Postroom's outbox against send_mail in the view.

    uv run python bench/intake.py [--seconds 15] [--clients 8] [--database-url URL]

Postfix's smtp-sink waits 2 s before answering each DATA (``-w 2``): a slow SMTP server.
Both systems take a contact form (name, email, message), store the entry and email it:

- Postroom: ``postroom serve`` (waitress, 8 threads, and the delivery worker) with a form
  whose "Send email" workflow queues the notification in the entry's transaction;
- the peer, what most sites do: a plain Django view served by waitress (8 threads) that
  saves the entry and calls ``send_mail`` with Django's SMTP backend to the same sink.

Each is loaded for a fixed time by the same number of client threads (http.client, one
keep-alive connection each). Postroom's intake must not depend on the mail server:
PASS when Postroom's p99 is under 1 s (half the SMTP delay) while the peer's p50 is >= 2 s.
Needs root (smtp-sink drops to the user nobody) and the Debian package postfix.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

SMTP_SINK = "/usr/sbin/smtp-sink"
SMTP_DELAY_SECONDS = 2
POSTROOM_P99_LIMIT = 1.0
REQUEST_TIMEOUT = 60.0
ROOT = Path(__file__).resolve().parents[1]

SETUP = """
from postroom.startup import prepare_database
prepare_database()
from postroom.accounts.models import User
from postroom.forms import builder
owner = User.objects.create_superuser("owner@example.com", "bench-password-123")
form = builder.create_form("Contact", owner)
form.rate_limit = 0  # every client of the benchmark comes from 127.0.0.1
form.min_fill_seconds = 0  # the clients send as soon as they have the page token
form.save()
"""


# -- the peer: a plain Django view that sends in the request ----------------------------------


def serve_peer(port: int, smtp_port: int, data_dir: Path) -> None:
    """Run the peer site (waitress, 8 threads) until SIGINT/SIGTERM."""
    import django
    from django.conf import settings

    sys.modules.setdefault("intake_peer", sys.modules[__name__])
    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-only-not-secret",  # noqa: S106
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        ROOT_URLCONF="intake_peer",
        INSTALLED_APPS=["django.contrib.contenttypes"],
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": str(data_dir / "peer.sqlite3"),
                "OPTIONS": {
                    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                    "transaction_mode": "IMMEDIATE",
                    "timeout": 20,
                },
            }
        },
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=smtp_port,
        DEFAULT_FROM_EMAIL="site@example.org",
        USE_TZ=True,
        MIDDLEWARE=[],
    )
    django.setup()
    import waitress
    from django.core.wsgi import get_wsgi_application
    from django.db import connection

    with connection.schema_editor() as editor:
        editor.execute(
            "CREATE TABLE IF NOT EXISTS peer_entry (id INTEGER PRIMARY KEY AUTOINCREMENT, "
            "created_at TEXT NOT NULL, name TEXT, email TEXT, message TEXT, ip TEXT)"
        )
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with contextlib.suppress(KeyboardInterrupt):
        waitress.serve(get_wsgi_application(), host="127.0.0.1", port=port, threads=8, _quiet=True)


def peer_contact(request):  # noqa: ANN001, ANN201 (the peer's view)
    from django import forms
    from django.core.mail import send_mail
    from django.db import connection, transaction
    from django.http import HttpResponse, HttpResponseRedirect
    from django.utils import timezone

    class ContactForm(forms.Form):
        name = forms.CharField(max_length=500)
        email = forms.EmailField()
        message = forms.CharField(max_length=10_000)

    form = ContactForm(request.POST)
    if request.method != "POST" or not form.is_valid():
        return HttpResponse("Please fill in the form.", status=400)
    data = form.cleaned_data
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO peer_entry (created_at, name, email, message, ip) "
            "VALUES (%s, %s, %s, %s, %s)",
            [timezone.now().isoformat(), data["name"], data["email"], data["message"],
             request.META.get("REMOTE_ADDR", "")],
        )  # fmt: skip
    send_mail(
        f"New entry from {data['name']}",
        f"Name: {data['name']}\nEmail: {data['email']}\nMessage: {data['message']}",
        None,
        ["owner@example.com"],
    )
    return HttpResponseRedirect("/thanks/")


def _peer_urls() -> list:
    from django.urls import path
    from django.views.decorators.csrf import csrf_exempt

    return [path("contact/", csrf_exempt(peer_contact))]


def __getattr__(name: str) -> object:  # the peer's ROOT_URLCONF is this module
    if name == "urlpatterns":
        return _peer_urls()
    raise AttributeError(name)


# -- processes ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[:3]} exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listened on port {port} within {timeout} s")


def stop(process: subprocess.Popen, timeout: float = 30.0) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@contextlib.contextmanager
def running(args: list[str], env: dict[str, str], log: Path, port: int) -> Iterator[None]:
    handle = log.open("w")
    process = subprocess.Popen(args, env=env, stdout=handle, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, process)
        yield
    finally:
        stop(process)
        handle.close()


def unavailable() -> str | None:
    if not os.access(SMTP_SINK, os.X_OK):
        return f"{SMTP_SINK} is not installed: apt-get install postfix"
    if os.geteuid() != 0:
        return "smtp-sink must be started as root (it then runs as the user nobody)"
    return None


# -- load --------------------------------------------------------------------------------------


@dataclass
class Load:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, seconds: float, status: int | None) -> None:
        with self.lock:
            if status in (200, 302, 303):
                self.latencies.append(seconds)
            else:
                self.errors += 1
            if status is not None:
                self.statuses[status] = self.statuses.get(status, 0) + 1


def page_token(port: int, token_path: str) -> str:
    """A fresh page token, as a visitor's page load gets one (a token carries one entry)."""
    if not token_path:
        return ""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    try:
        connection.request("GET", token_path)
        return connection.getresponse().read().decode()
    except (OSError, http.client.HTTPException):
        return ""
    finally:
        connection.close()


def client(port: int, path: str, token_path: str, until: float, load: Load, number: int) -> None:
    connection: http.client.HTTPConnection | None = None
    sent = 0
    while time.monotonic() < until:
        body = urlencode(
            {
                "name": f"Client {number} request {sent}",
                "email": f"client{number}@example.net",
                "message": "Hello,\nI would like to know more.\n" * 5,
                "postroom_ts": page_token(port, token_path),
            }
        )
        started = time.monotonic()
        status = None
        try:
            connection = connection or http.client.HTTPConnection(
                "127.0.0.1", port, timeout=REQUEST_TIMEOUT
            )
            connection.request(
                "POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"}
            )
            response = connection.getresponse()
            response.read()
            status = response.status
            if response.getheader("Connection", "").lower() == "close":
                connection.close()
                connection = None
        except (OSError, http.client.HTTPException):
            if connection is not None:
                connection.close()
            connection = None
        load.record(time.monotonic() - started, status)
        sent += 1
    if connection is not None:
        connection.close()


def measure(
    port: int, path: str, token_path: str, clients: int, seconds: float
) -> tuple[Load, float]:
    client(port, path, token_path, time.monotonic() + 0.01, Load(), -1)  # warm up one request
    load = Load()
    until = time.monotonic() + seconds
    started = time.monotonic()
    threads = [
        threading.Thread(target=client, args=(port, path, token_path, until, load, n))
        for n in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + REQUEST_TIMEOUT + 5)
    return load, time.monotonic() - started


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def row(name: str, load: Load, elapsed: float, clients: int) -> dict[str, object]:
    done = len(load.latencies)
    return {
        "name": name,
        "clients": clients,
        "ok": done,
        "errors": load.errors,
        "rate": done / elapsed if elapsed else 0.0,
        "p50": percentile(load.latencies, 0.50),
        "p99": percentile(load.latencies, 0.99),
        "max": max(load.latencies) if load.latencies else float("nan"),
        "mean": statistics.fmean(load.latencies) if load.latencies else float("nan"),
    }


# -- the run -----------------------------------------------------------------------------------


def configure_site(site: Path, smtp_port: int) -> None:
    smtp = {
        "From": "Website <site@example.org>",
        "Host": "127.0.0.1",
        "Port": smtp_port,
        "SecureSocketOptions": "None",
    }
    settings = {"Umbraco": {"CMS": {"Global": {"Smtp": smtp}}}}
    (site / "appsettings.json").write_text(json.dumps(settings))


def outbox_counts(env: dict[str, str]) -> str:
    script = (
        "from django.db.models import Count\n"
        "from postroom.delivery.models import OutboxMessage\n"
        "print(dict(OutboxMessage.objects.values_list('status').annotate(n=Count('id'))))"
    )
    done = subprocess.run(
        [sys.executable, "-m", "postroom.cli", "shell", "--no-imports", "-c", script],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    return done.stdout.strip() or done.stderr.strip()[-300:]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="load per system (15)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (8)")
    parser.add_argument("--database-url", default="", help="Postroom's database (SQLite)")
    options = parser.parse_args()
    reason = unavailable()
    if reason:
        print(f"Cannot run: {reason}.", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="postroom-bench-") as temp:
        work = Path(temp)
        (work / "site").mkdir()
        (work / "data").mkdir()
        (work / "peer").mkdir()
        work.chmod(0o755)
        smtp_port, postroom_port, peer_port = free_port(), free_port(), free_port()
        configure_site(work / "site", smtp_port)
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.lower().startswith(("umbraco__", "postroom_", "database_url"))
        }
        env.update(
            POSTROOM_SITE=str(work / "site"),
            POSTROOM_DATA=str(work / "data"),
            POSTROOM_ENVIRONMENT="Production",
            POSTROOM_LOG_LEVEL="WARNING",
            PYTHONUNBUFFERED="1",
        )
        if options.database_url:
            env["DATABASE_URL"] = options.database_url
        setup = subprocess.run(
            [sys.executable, "-m", "postroom.cli", "shell", "-c", SETUP],
            env=env, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        if setup.returncode != 0:
            print(setup.stderr, file=sys.stderr)
            return 1

        sink = [SMTP_SINK, "-u", "nobody", "-w", str(SMTP_DELAY_SECONDS),
                f"127.0.0.1:{smtp_port}", "256"]  # fmt: skip
        print(f"smtp-sink on 127.0.0.1:{smtp_port}, {SMTP_DELAY_SECONDS} s before each DATA reply")
        print(f"{options.clients} clients, {options.seconds:.0f} s per system\n")
        results = []
        with running(sink, env, work / "sink.log", smtp_port):
            serve = [sys.executable, "-m", "postroom.cli", "serve", "--port", str(postroom_port),
                     "--no-inbox"]  # fmt: skip
            with running(serve, env, work / "postroom.log", postroom_port):
                load, elapsed = measure(
                    postroom_port,
                    "/f/contact/",
                    "/f/contact/token/",
                    options.clients,
                    options.seconds,
                )
                results.append(
                    row("Postroom (outbox, worker sends)", load, elapsed, options.clients)
                )
                backlog = outbox_counts(env)
            peer = [sys.executable, str(Path(__file__).resolve()), "peer", str(peer_port),
                    str(smtp_port), str(work / "peer")]  # fmt: skip
            with running(peer, env, work / "peer.log", peer_port):
                load, elapsed = measure(
                    peer_port, "/contact/", "", options.clients, options.seconds
                )
                results.append(
                    row("Django view + send_mail (peer)", load, elapsed, options.clients)
                )

        print_table(results)
        print(f"\nPostroom's outbox after its run (the worker keeps sending): {backlog}")
        ours, peer_row = results
        passed = ours["p99"] < POSTROOM_P99_LIMIT and peer_row["p50"] >= SMTP_DELAY_SECONDS
        verdict = "PASS" if passed else "FAIL"
        print(
            f"\n{verdict}: Postroom p99 {ours['p99'] * 1000:.0f} ms "
            f"(must be < {POSTROOM_P99_LIMIT * 1000:.0f} ms) while the peer's p50 is "
            f"{peer_row['p50'] * 1000:.0f} ms (must be >= {SMTP_DELAY_SECONDS * 1000} ms)."
        )
        return 0 if passed else 1


def print_table(rows: list[dict[str, object]]) -> None:
    head = (
        f"{'System':<34}{'Clients':>8}{'OK':>8}{'Errors':>8}{'Req/s':>9}"
        f"{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r['name']:<34}{r['clients']:>8}{r['ok']:>8}{r['errors']:>8}{r['rate']:>9.1f}"
            f"{r['p50'] * 1000:>9.0f}{r['p99'] * 1000:>9.0f}{r['max'] * 1000:>9.0f}"
        )


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "peer":
        serve_peer(int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4]))
    else:
        sys.exit(main())
