"""``postroom inbox``: run only the development mail catcher."""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.urls import NoReverseMatch, reverse

from postroom import config
from postroom.inbox.server import InboxError, InboxServer
from postroom.inbox.token_command import token_command
from postroom.startup import prepare_database

WILDCARDS = {"", "0.0.0.0", "::"}  # noqa: S104 - only compared against, never bound here


def _display_host(host: str) -> str:
    host = "127.0.0.1" if host in WILDCARDS else host
    return f"[{host}]" if ":" in host else host


def _inbox_url() -> str:
    try:
        path = reverse("inbox:list")
    except (NoReverseMatch, ImportError):
        path = "/inbox/"
    return f"http://{_display_host(settings.POSTROOM_HOST)}:{settings.POSTROOM_PORT}{path}"


class Command(BaseCommand):
    @property
    def help(self) -> str:  # the ports in force, e.g. with POSTROOM_INBOX_PORT set
        where = f"{settings.POSTROOM_INBOX_HOST}:{settings.POSTROOM_INBOX_PORT}"
        return f"Run only the development mail catcher (SMTP on {where})."

    requires_system_checks: list[str] = []  # the catcher needs only the database

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "words",
            nargs="*",
            metavar="token create|list|revoke NAME",
            help="Manage inbox API tokens instead of running the catcher: 'token create NAME'"
            " prints a new token once, 'token list' names them, 'token revoke NAME' ends one.",
        )
        parser.add_argument(
            "--host",
            default=settings.POSTROOM_INBOX_HOST,
            help="Address to listen on (default: POSTROOM_INBOX_HOST, %(default)s).",
        )
        parser.add_argument(
            "--port",
            type=int,
            default=settings.POSTROOM_INBOX_PORT,
            help="SMTP port (default: POSTROOM_INBOX_PORT, %(default)s).",
        )

    def handle(self, *args: Any, host: str, port: int, words: list[str], **options: Any) -> None:
        if words:
            prepare_database()
            self.stdout.write(token_command(words))
            return
        config.ensure_can_start(config.INBOX)  # a value that stops it: say so, exit 1
        if not 0 <= port <= 65535:
            raise CommandError(f"--port must be between 0 and 65535, not {port}.")
        prepare_database()  # migrates a fresh data dir
        connection.close()  # the server's threads open their own
        stop = threading.Event()

        def request_stop(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGINT, request_stop)
        if hasattr(signal, "SIGTERM"):
            signal.signal(signal.SIGTERM, request_stop)

        server = InboxServer(host, port)
        try:
            server.start()
        except InboxError as error:
            raise CommandError(str(error)) from error
        try:
            self.stdout.write(
                f"Development inbox listening on smtp://{_display_host(host)}:{server.port} "
                "(any user name and password; STARTTLS offered)"
            )
            self.stdout.write(f"Messages appear in the backoffice at {_inbox_url()}")
            self.stdout.write("Press Ctrl-C to stop.")
            self.stdout.flush()
            while not stop.wait(0.5):
                pass
        finally:
            server.stop()
        self.stdout.write("Development inbox stopped.")
