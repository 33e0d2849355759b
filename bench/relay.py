"""The SMTP relay's intake: how many messages a second it accepts, each 250 durable.

    uv run python bench/relay.py [--messages 5000] [--sessions 8] [--database sqlite|postgresql]

Postfix's ``smtp-source`` sends ``--messages`` messages over ``--sessions`` parallel sessions
(reusing each connection, ``-d``) into:

- ``smtp-sink`` (Postfix's fastest possible receiver, which keeps nothing): the limit;
- ``postroom relay`` as its own process, with a trusted-network application so that loopback
  needs no login, on SQLite (synced commits, ``PRAGMA synchronous=FULL``) and on PostgreSQL.

Every accepted message is then counted in the outbox: a run where one is missing fails.
The latency from the final dot to the ``250`` is measured by a second client (the same number
of sessions, raw sockets, 1 KiB messages), since smtp-source does not report it.

Targets: at least 500 msg/s on SQLite with 8 sessions, and a p99 final-dot-to-250 under 50 ms.
Needs root (smtp-sink drops to the user nobody) and the Debian package postfix.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from processes import fresh_postgres_url, postroom_env, wait_for_output  # noqa: E402
from smtpservers import SmtpSink  # noqa: E402

SMTP_SOURCE = "/usr/sbin/smtp-source"
SENDER, RECIPIENT = "bench@example.org", "someone@example.net"
PAYLOAD = 1024
TARGET_RATE = 500.0
TARGET_P99 = 0.050
SETUP = """
from postroom.startup import prepare_database
prepare_database()
from postroom.applications.credentials import create_application
create_application("Bench", ["example.org"], trusted_network_no_login=True)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def smtp_source(port: int, messages: int, sessions: int) -> float:
    """Seconds smtp-source takes to send ``messages`` (it stops at the first refusal)."""
    started = time.monotonic()
    subprocess.run(
        [SMTP_SOURCE, "-d", "-s", str(sessions), "-m", str(messages), "-l", str(PAYLOAD),
         "-f", SENDER, "-t", RECIPIENT, "-M", "bench.example", f"127.0.0.1:{port}"],
        check=True, timeout=600, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return time.monotonic() - started


def latencies(port: int, messages: int, sessions: int) -> list[float]:
    """Final dot to 250, for each of ``messages`` sent over ``sessions`` raw connections."""
    body = (
        f"From: {SENDER}\r\nTo: {RECIPIENT}\r\nSubject: latency\r\n\r\n".encode()
        + b"x" * (PAYLOAD - 2)
        + b"\r\n"
    )
    found: list[float] = []
    lock = threading.Lock()

    def session(count: int) -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            # The final dot is a write of its own, after the body's: without this, Nagle's
            # algorithm holds it back until the relay acknowledges the body, which Linux delays
            # by up to 40 ms (delayed ACK), and that wait would be counted as the relay's.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            reader = sock.makefile("rb")

            def reply() -> bytes:
                while True:
                    line = reader.readline()
                    if line[3:4] != b"-":
                        return line

            assert reply().startswith(b"220")
            sock.sendall(b"EHLO bench.example\r\n")
            assert reply().startswith(b"250")
            mine = []
            for _ in range(count):
                sock.sendall(f"MAIL FROM:<{SENDER}>\r\nRCPT TO:<{RECIPIENT}>\r\nDATA\r\n".encode())
                for expected in (b"250", b"250", b"354"):
                    line = reply()
                    assert line.startswith(expected), line
                sock.sendall(body)
                started = time.perf_counter()
                sock.sendall(b".\r\n")
                line = reply()
                mine.append(time.perf_counter() - started)
                assert line.startswith(b"250"), line
            sock.sendall(b"QUIT\r\n")
        with lock:
            found.extend(mine)

    threads = [
        threading.Thread(target=session, args=(messages // sessions,)) for _ in range(sessions)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return found


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far (Linux's /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def outbox_count(database_url: str | None, data: Path) -> int:
    sql = "SELECT count(*) FROM delivery_outboxmessage WHERE kind = 'relay'"
    if database_url:
        import psycopg

        with psycopg.connect(database_url, autocommit=True) as db:
            return db.execute(sql).fetchone()[0]
    db = sqlite3.connect(data / "postroom.sqlite3")
    try:
        return db.execute(sql).fetchone()[0]
    finally:
        db.close()


@contextlib.contextmanager
def relay_process(directory: Path, database_url: str | None) -> Iterator[tuple[int, int]]:
    """The running relay's port and process id."""
    env = postroom_env(directory, database_url, POSTROOM_LOG_LEVEL="WARNING")
    command = [sys.executable, "-m", "postroom.cli"]
    subprocess.run([*command, "shell", "-c", SETUP], env=env, check=True, timeout=120)
    port = free_port()
    log = directory / "relay.log"
    with log.open("w") as handle:
        process = subprocess.Popen(
            [*command, "relay", "--port", str(port)], env=env, stdout=handle, stderr=handle
        )
    try:
        wait_for_output(log, "Relay listening", timeout=60)
        yield port, process.pid
    finally:
        process.terminate()
        process.wait(60)


def run_relay(name: str, database_url: str | None, args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory(prefix="postroom-bench-relay-") as temporary:
        directory = Path(temporary)
        with relay_process(directory, database_url) as (port, pid):
            cpu_before = cpu_seconds(pid)
            seconds = smtp_source(port, args.messages, args.sessions)
            cpu = cpu_seconds(pid) - cpu_before
            measured = latencies(port, args.latency_messages, args.sessions)
        stored = outbox_count(database_url, directory / "data")
    expected = args.messages + args.latency_messages // args.sessions * args.sessions
    ordered = sorted(measured)
    return {
        "database": name,
        "messages": args.messages,
        "seconds": round(seconds, 2),
        "messages_per_second": round(args.messages / seconds, 1),
        "stored": stored,
        "all_stored": stored == expected,
        # The relay process's CPU per message under smtp-source: unlike the rate, it hardly
        # depends on what else the machine runs.
        "relay_cpu_ms_per_message": round(cpu * 1000 / args.messages, 2),
        "latency_ms": {
            "p50": round(statistics.median(ordered) * 1000, 1),
            "p99": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 1),
            "max": round(ordered[-1] * 1000, 1),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--latency-messages", type=int, default=2000)
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    if os.geteuid() != 0 or not Path(SMTP_SOURCE).exists():
        sys.exit("Needs root and Postfix's smtp-source and smtp-sink (apt-get install postfix).")

    results: dict = {"sessions": args.sessions, "payload_bytes": PAYLOAD}
    with SmtpSink(capture=False) as sink:
        seconds = smtp_source(sink.port, args.messages, args.sessions)
    results["smtp_sink"] = {
        "seconds": round(seconds, 2),
        "messages_per_second": round(args.messages / seconds, 1),
    }
    print(json.dumps(results["smtp_sink"]), flush=True)
    runs = []
    if args.database in ("sqlite", "both"):
        runs.append(run_relay("sqlite", None, args))
        print(json.dumps(runs[-1]), flush=True)
    if args.database in ("postgresql", "both"):
        with fresh_postgres_url() as url:
            runs.append(run_relay("postgresql", url, args))
        print(json.dumps(runs[-1]), flush=True)
    results["relay"] = runs
    sqlite_run = next((run for run in runs if run["database"] == "sqlite"), None)
    passed = all(run["all_stored"] for run in runs)
    if sqlite_run is not None:
        passed = (
            passed
            and sqlite_run["messages_per_second"] >= TARGET_RATE
            and sqlite_run["latency_ms"]["p99"] < TARGET_P99 * 1000
        )
    results["verdict"] = "PASS" if passed else "FAIL"
    print(json.dumps(results, indent=2))
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
