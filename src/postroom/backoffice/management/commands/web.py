from __future__ import annotations

import contextlib
import threading

from django.conf import settings
from django.core.management.base import BaseCommand

from postroom import config
from postroom.backoffice.webserver import create_web_server, serve_until
from postroom.startup import banner, prepare_database, stop_on_sigterm


class Command(BaseCommand):
    @property
    def help(self) -> str:  # the address in force, e.g. with POSTROOM_PORT set
        return (
            "Run only the backoffice web server "
            f"(http://{settings.POSTROOM_HOST}:{settings.POSTROOM_PORT})."
        )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--host", default=settings.POSTROOM_HOST, help="Default: POSTROOM_HOST, %(default)s."
        )
        parser.add_argument(
            "--port",
            type=int,
            default=settings.POSTROOM_PORT,
            help="Default: POSTROOM_PORT, %(default)s.",
        )

    def handle(self, *args, host: str, port: int, **options) -> None:
        config.ensure_can_start(config.WEB)  # a value that stops it: say so, exit 1
        prepare_database()
        server = create_web_server(host, port)
        self.stdout.write(banner([f"  Backoffice: http://{host}:{port}/"]))
        stop_on_sigterm()
        with contextlib.suppress(KeyboardInterrupt):
            serve_until(server, threading.Event())  # until Ctrl-C or SIGTERM; then closed
        self.stdout.write("Stopped.")
