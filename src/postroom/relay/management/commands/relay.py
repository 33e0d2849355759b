"""``postroom relay``: run only the SMTP relay (the delivery worker sends what it takes)."""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from postroom import config
from postroom.config import current_config
from postroom.relay.service import RelayError, RelayServer
from postroom.startup import prepare_database

DEFAULT_PORT = 2587  # when POSTROOM_RELAY_PORT is not set: a port that needs no root


class Command(BaseCommand):
    help = "Run only the SMTP relay that applications send their mail through (port 2587)."
    requires_system_checks: list[str] = []  # the relay needs only the database

    def add_arguments(self, parser: CommandParser) -> None:
        hosting = current_config().hosting
        parser.add_argument(
            "--host",
            default=hosting.relay_host.value,
            help="Address to listen on (default: POSTROOM_RELAY_HOST, %(default)s).",
        )
        parser.add_argument(
            "--port",
            type=int,
            default=hosting.relay_port.value or DEFAULT_PORT,
            help="SMTP port with STARTTLS (default: POSTROOM_RELAY_PORT, %(default)s).",
        )
        parser.add_argument(
            "--tls-port",
            type=int,
            default=hosting.relay_tls_port.value,
            help="SMTP port with implicit TLS (default: POSTROOM_RELAY_TLS_PORT; none).",
        )

    def handle(
        self, *args: Any, host: str, port: int, tls_port: int | None, **options: Any
    ) -> None:
        config.ensure_can_start(config.RELAY)  # a value that stops it: say so, exit 1
        for name, value in (("--port", port), ("--tls-port", tls_port)):
            if value is not None and not 0 <= value <= 65535:
                raise CommandError(f"{name} must be between 0 and 65535, not {value}.")
        prepare_database()
        connection.close()  # the relay's threads open their own
        stop = threading.Event()

        def request_stop(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        server = RelayServer(host, port, tls_port=tls_port)
        try:
            server.start()
        except RelayError as error:
            raise CommandError(str(error)) from error
        try:
            self.stdout.write(f"Relay listening on {server.describe()}")
            self.stdout.write("Press Ctrl-C to stop.")
            self.stdout.flush()
            while not stop.wait(0.5):
                pass
        finally:
            server.stop()
        self.stdout.write("Relay stopped.")
