from __future__ import annotations

import threading

from django.core.management.base import BaseCommand

from postroom import config
from postroom.delivery import worker
from postroom.startup import banner, prepare_database, stop_on_sigterm


class Command(BaseCommand):
    help = "Run only the delivery worker, which sends the messages waiting in the outbox."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--concurrency",
            type=int,
            default=None,
            help="SMTP connections at once (default: Postroom:Delivery:Connections, 10).",
        )
        parser.add_argument(
            "--burst", action="store_true", help="Deliver until nothing is due, then exit."
        )

    def handle(self, *args, concurrency: int | None, burst: bool, **options) -> None:
        config.ensure_can_start(config.WORKER)  # a value that stops it: say so, exit 1
        prepare_database()
        count = max(concurrency or config.current_config().delivery.connections.value, 1)
        if not burst:
            self.stdout.write(banner([f"  Worker:    {count} SMTP connection(s)"]))
        stop = threading.Event()
        threads = [
            threading.Thread(
                target=worker.run, args=(stop, burst), kwargs={"connections": count}, name="worker"
            )
        ]
        try:
            stop_on_sigterm()
            for thread in threads:
                thread.start()
            for thread in threads:
                while thread.is_alive():
                    thread.join(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            worker.stop_all(stop)
            for thread in threads:
                if thread.is_alive():
                    thread.join(60)
        if not burst:
            self.stdout.write("Stopped.")
