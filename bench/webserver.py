"""Which WSGI server keeps the backoffice answering while thousands of connections hang on it.

    uv run --with granian python bench/webserver.py [--idle 5000] [--slow 500] [--only NAME]

Each candidate serves Postroom's WSGI application (one process, 8 request threads) on
127.0.0.1. A separate load process then holds ``--idle`` connections that never send a byte
and ``--slow`` slowloris connections that send one header line a second and never finish,
re-opening any the server closes (as a patient attacker would). Meanwhile this process
measures /healthz: p50/p99 of requests on fresh connections, and requests/s over keep-alive
connections, first without the load and then under it, in the same run.

Candidates:

- ``waitress-before``: waitress as Postroom ran it before (select(), 100 connections,
  60 s channel timeout);
- ``postroom-web``: ``postroom web``, waitress as Postroom runs it now (poll(), a connection
  limit below the descriptor limit, 15 s channel timeout, 20 s to finish the headers);
- ``granian``: granian's WSGI mode (Rust, one worker, 8 blocking threads, 20 s header read
  timeout); only when granian is importable (``uv run --with granian``).

PASS for a candidate when it survives and its /healthz p99 under load is < 200 ms.

Measured on the shared 2-core development machine (load average about 15 from other work):

    candidate        quiet p50/p99    req/s   loaded p50/p99       req/s
    waitress-before  35 / 164 ms        74    none answered (5 s)      0   FAIL
    postroom-web     16 / 43 ms        126    23 / 102 ms            107   PASS
    granian          20 / 41 ms        161    5.5 / 32 ms            257   PASS

Granian is faster under this load, but its WSGI mode cannot run inside the `serve` process
beside the worker and the catcher (its embedding API is ASGI/RSGI only), and it has no request
body limit (no early 413), no idle-connection timeout and no trusted-proxy handling; waitress,
driven by Postroom's epoll loop, meets the target with all of those.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import importlib.util
import multiprocessing
import os
import resource
import selectors
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

P99_LIMIT = 0.2
REQUEST_TIMEOUT = 5.0
MAX_FAILURES = 5
OPEN_DEADLINE = 45.0  # seconds to open the attack connections
THREADS = 8
ROOT = Path(__file__).resolve().parents[1]

WAITRESS_BEFORE = """
import waitress
from django.core.wsgi import get_wsgi_application
import django
django.setup()
waitress.serve(get_wsgi_application(), host="127.0.0.1", port={port}, threads=8,
               ident="Postroom", channel_timeout=60, _quiet=True)
"""


@dataclass
class Candidate:
    name: str
    command: list[str]
    available: bool = True


def candidates(port: int) -> list[Candidate]:
    python = sys.executable
    return [
        Candidate("waitress-before", [python, "-c", WAITRESS_BEFORE.format(port=port)]),
        Candidate("postroom-web", [python, "-m", "postroom.cli", "web", "--port", str(port)]),
        Candidate(
            "granian",
            [
                python,
                "-m",
                "granian",
                "--interface",
                "wsgi",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "1",
                "--blocking-threads",
                str(THREADS),
                "--backlog",
                "1024",
                "--backpressure",
                "10000",
                "--http1-header-read-timeout",
                "20000",
                "--log-level",
                "warning",
                "postroom.wsgi:application",
            ],
            available=importlib.util.find_spec("granian") is not None,
        ),
    ]


# -- the load: idle and slowloris connections, held and topped up ----------------------------


def _open(port: int, timeout: float) -> socket.socket | None:
    sock = socket.socket()
    sock.settimeout(timeout)
    try:
        sock.connect(("127.0.0.1", port))
    except OSError:
        sock.close()
        return None
    sock.setblocking(False)
    return sock


def hold_load(port: int, idle: int, slow: int, ready, stop, results) -> None:  # noqa: ANN001
    """Runs in its own process so that its work does not slow the measuring client."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    selector = selectors.DefaultSelector()
    held: dict[str, set[socket.socket]] = {"idle": set(), "slow": set()}
    wanted = {"idle": idle, "slow": slow}
    stats = {"opened": 0, "closed_by_server": 0, "failed_to_open": 0}

    def drop(sock: socket.socket, kind: str) -> None:
        with contextlib.suppress(KeyError, ValueError):
            selector.unregister(sock)
        held[kind].discard(sock)
        sock.close()

    def top_up(budget: int, timeout: float) -> None:
        for kind in ("slow", "idle"):
            while len(held[kind]) < wanted[kind] and budget > 0:
                budget -= 1
                sock = _open(port, timeout)
                if sock is None:
                    stats["failed_to_open"] += 1
                    return
                stats["opened"] += 1
                if kind == "slow":
                    with contextlib.suppress(OSError):
                        sock.send(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                selector.register(sock, selectors.EVENT_READ, kind)
                held[kind].add(sock)

    deadline = time.monotonic() + OPEN_DEADLINE
    while time.monotonic() < deadline and any(len(held[k]) < wanted[k] for k in held):
        top_up(500, 1.0)
    results.put({"open_at_start": {k: len(v) for k, v in held.items()}})
    ready.set()
    next_drip = time.monotonic() + 1.0
    while not stop.is_set():
        for key, _ in selector.select(timeout=0.1):
            try:
                data = key.fileobj.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:  # the server closed it (or answered it): open another
                stats["closed_by_server"] += 1
                drop(key.fileobj, key.data)
        if time.monotonic() >= next_drip:
            next_drip += 1.0
            for sock in list(held["slow"]):
                try:
                    sock.send(b"X-Slow: 1\r\n")
                except BlockingIOError:
                    pass
                except OSError:
                    stats["closed_by_server"] += 1
                    drop(sock, "slow")
        top_up(100, 0.2)
    stats["open_at_end"] = {k: len(v) for k, v in held.items()}
    results.put(stats)
    for kind in held:
        for sock in list(held[kind]):
            drop(sock, kind)


# -- the measurements -----------------------------------------------------------------------


def latencies(port: int, count: int) -> tuple[list[float], int]:
    """Seconds per GET /healthz on a fresh connection; a failure counts as the timeout.

    After ``MAX_FAILURES`` failures the rest count as failed without waiting for them.
    """
    times, failures = [], 0
    for _ in range(count):
        if failures >= MAX_FAILURES:
            times.append(REQUEST_TIMEOUT)
            failures += 1
            continue
        started = time.perf_counter()
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
            connection.request("GET", "/healthz")
            response = connection.getresponse()
            response.read()
            connection.close()
            ok = response.status == 200
        except OSError:
            ok = False
        elapsed = time.perf_counter() - started
        if not ok:
            failures += 1
            elapsed = max(elapsed, REQUEST_TIMEOUT)
        times.append(elapsed)
    return times, failures


def throughput(port: int, seconds: float, clients: int = 4) -> float:
    """Requests per second of GET /healthz from ``clients`` keep-alive connections."""
    done = [0] * clients
    deadline = time.monotonic() + seconds

    def client(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
        while time.monotonic() < deadline:
            try:
                connection.request("GET", "/healthz")
                connection.getresponse().read()
                done[index] += 1
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
        connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + REQUEST_TIMEOUT + 5)
    return sum(done) / seconds


def p(values: list[float], percent: int) -> float:
    return statistics.quantiles(values, n=100)[percent - 1] if len(values) > 1 else values[0]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listened on {port}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_candidate(candidate: Candidate, port: int, env: dict, args: argparse.Namespace) -> dict:
    log = Path(env["POSTROOM_DATA"]).parent / f"{candidate.name}.log"
    with log.open("w") as handle:
        process = subprocess.Popen(candidate.command, env=env, stdout=handle, stderr=handle)
    row: dict = {"name": candidate.name}
    try:
        wait_for_port(port, process)
        latencies(port, 10)  # warm up: first requests load templates and connections
        quiet, _ = latencies(port, args.requests)
        row.update(quiet_p50=p(quiet, 50), quiet_p99=p(quiet, 99))
        row["quiet_rps"] = throughput(port, args.seconds)
        ready, stop = multiprocessing.Event(), multiprocessing.Event()
        results = multiprocessing.Queue()
        load = multiprocessing.Process(
            target=hold_load, args=(port, args.idle, args.slow, ready, stop, results)
        )
        load.start()
        ready.wait(OPEN_DEADLINE + 30)
        row["held"] = results.get(timeout=10)["open_at_start"]
        loaded, failures = latencies(port, args.requests)
        row.update(load_p50=p(loaded, 50), load_p99=p(loaded, 99), load_failures=failures)
        row["load_rps"] = throughput(port, args.seconds)
        stop.set()
        row["load_stats"] = results.get(timeout=60)
        load.join(30)
        row["survived"] = process.poll() is None
        if row["survived"]:
            after, failures = latencies(port, 10)
            row["after_failures"] = failures
    except (RuntimeError, TimeoutError) as error:
        row["error"] = str(error)
        row["survived"] = process.poll() is None
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
    row["log_tail"] = log.read_text(errors="replace")[-300:]
    return row


def report(row: dict) -> None:
    name = row["name"]
    if "quiet_p50" not in row:
        print(f"{name:<16} did not run: {row.get('error')}  {row['log_tail']!r}")
        return
    ms = 1000
    print(
        f"{name:<16} quiet: p50 {row['quiet_p50'] * ms:6.1f} ms"
        f"  p99 {row['quiet_p99'] * ms:6.1f} ms  {row['quiet_rps']:6.0f} req/s"
    )
    if "load_p50" not in row:
        print(f"{'':<16} under load: {row.get('error')}; survived: {row['survived']}")
        print(f"{'':<16} log: {row['log_tail']!r}")
        return
    verdict = "PASS" if row["survived"] and row["load_p99"] < P99_LIMIT else "FAIL"
    print(
        f"{'':<16} load:  p50 {row['load_p50'] * ms:6.1f} ms  p99 {row['load_p99'] * ms:6.1f} ms"
        f"  {row['load_rps']:6.0f} req/s  failed {row['load_failures']}"
        f"  held {row['held']}  survived {row['survived']}  {verdict}"
    )
    print(f"{'':<16} attacker: {row['load_stats']}")
    if not row["survived"]:
        print(f"{'':<16} log: {row['log_tail']!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle", type=int, default=5000)
    parser.add_argument("--slow", type=int, default=500)
    parser.add_argument("--requests", type=int, default=200, help="/healthz latency samples")
    parser.add_argument("--seconds", type=float, default=5.0, help="throughput duration")
    parser.add_argument("--only", action="append", help="run only this candidate (repeatable)")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    print(
        f"{os.cpu_count()} CPUs; descriptor limit {hard}; load: {args.idle} idle +"
        f" {args.slow} slowloris connections; {args.requests} /healthz samples,"
        f" {args.seconds:g} s throughput"
    )
    with tempfile.TemporaryDirectory(prefix="postroom-bench-web-") as tmp:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("POSTROOM_")},
            "POSTROOM_DATA": f"{tmp}/data",
            "POSTROOM_SITE": tmp,
            "DJANGO_SETTINGS_MODULE": "postroom.settings",
            "PYTHONPATH": str(ROOT / "src"),
        }
        env.pop("DATABASE_URL", None)
        subprocess.run(
            [sys.executable, "-m", "postroom.cli", "migrate", "-v0"], env=env, check=True
        )
        for index in range(len(candidates(0))):
            port = free_port()
            candidate = candidates(port)[index]
            if args.only and candidate.name not in args.only:
                continue
            if not candidate.available:
                print(f"{candidate.name:<16} not installed (uv run --with {candidate.name} ...)")
                continue
            report(run_candidate(candidate, port, env, args))


if __name__ == "__main__":
    main()
