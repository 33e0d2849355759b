"""The catcher's CPU per stored message, alone (no pages): what bench/inbox.py's rate rests on.

    uv run python bench/inbox_store.py [--messages 50000] [--seed-cache DIRECTORY]
                                       [--database-url postgres://... [--seed-database NAME]]
                                       [--stores 600] [--seconds 20] [--profile]

Starts from the same database as bench/inbox.py (the seed cache or seed database, or a fresh
one of ``--messages``), then:

- stores ``--stores`` messages of the same mix by calling the store function directly in one
  thread: CPU ms per message of that thread (``--profile``: its top functions);
- runs the catcher (``InboxServer``) with bench/inbox.py's sending child for ``--seconds``:
  msg/s, and CPU ms per message of the whole process and of its threads (event loop, stores).

CPU time, not wall time, is the figure to compare on a shared machine.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import inbox as bench  # noqa: E402


def thread_cpu(native_id: int) -> float:
    """Seconds of CPU a thread of this process has used (Linux)."""
    fields = Path(f"/proc/self/task/{native_id}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime, stime in clock ticks


def store_directly(count: int, profile: bool) -> None:
    from postroom.inbox.server import Limits, _store

    limits = Limits(quota_messages=10_000_000, quota_bytes=1 << 40)
    rng = random.Random(1)
    prepared = [bench.make_raw(900_000 + n, rng) for n in range(200)]
    result: dict[str, float] = {}

    def run() -> None:
        profiler = cProfile.Profile(time.thread_time) if profile else None
        for sender, recipients, raw in prepared[:20]:  # warm: connection, caches
            _store(sender, recipients, io.BytesIO(raw), limits)
        started = time.thread_time()
        if profiler:
            profiler.enable()
        for n in range(count):
            sender, recipients, raw = prepared[n % len(prepared)]
            _store(sender, recipients, io.BytesIO(raw), limits)
        if profiler:
            profiler.disable()
        result["cpu"] = time.thread_time() - started
        if profiler:
            stats = pstats.Stats(profiler).sort_stats("tottime")
            stats.print_stats(25)
            stats.sort_stats("cumulative").print_stats(30)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    print(f"store alone: {result['cpu'] * 1000 / count:.2f} ms CPU per message ({count} stored)")


def catcher_alone(seconds: float) -> None:
    from postroom.backoffice.parts import share_interpreter
    from postroom.inbox.models import CaughtMessage
    from postroom.inbox.server import InboxServer, Limits

    share_interpreter()  # as `postroom serve` does
    limits = Limits(quota_messages=10_000_000, quota_bytes=1 << 40, connections_per_client=50)
    with (
        tempfile.TemporaryDirectory() as tls,
        InboxServer("127.0.0.1", 0, tls_dir=Path(tls), limits=limits) as server,
    ):
        command = [sys.executable, bench.__file__, "--send", str(server.port)]
        child = subprocess.Popen([*command, "--seconds", "3600"], stdout=subprocess.PIPE)
        time.sleep(4)  # the child builds its messages and connects
        threads = {t.native_id: t.name for t in threading.enumerate() if t.native_id}
        counted, started = CaughtMessage.objects.count(), time.perf_counter()
        process_cpu = time.process_time()
        cpu = {tid: thread_cpu(tid) for tid in threads}
        time.sleep(seconds)
        stored = CaughtMessage.objects.count() - counted
        elapsed = time.perf_counter() - started
        process_cpu = time.process_time() - process_cpu
        threads.update({t.native_id: t.name for t in threading.enumerate() if t.native_id})
        used = {tid: thread_cpu(tid) - cpu.get(tid, 0.0) for tid in threads}
        child.terminate()
        child.wait(10)
    print(f"catcher alone: {stored} stored in {elapsed:.1f} s = {stored / elapsed:.0f} msg/s")
    print(f"  process: {process_cpu * 1000 / max(stored, 1):.2f} ms CPU per message")
    for tid, seconds_used in sorted(used.items(), key=lambda item: -item[1]):
        if seconds_used > 0:
            per = seconds_used * 1000 / max(stored, 1)
            print(f"  thread {threads[tid]:28} {per:.2f} ms CPU per message")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    bench.add_database_options(parser)
    parser.add_argument("--stores", type=int, default=600)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--profile", action="store_true")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="postroom-bench-store-") as directory:
        bench.start_database(Path(directory), arguments)
        store_directly(arguments.stores, arguments.profile)
        if arguments.seconds > 0:
            catcher_alone(arguments.seconds)


if __name__ == "__main__":
    main()
