from __future__ import annotations

import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from postroom import config, runtime
from postroom.backoffice import supervisor
from postroom.backoffice.parts import (
    catcher_part,
    relay_part,
    share_interpreter,
    web_part,
    worker_part,
)
from postroom.backoffice.webserver import create_web_server
from postroom.config import current_config
from postroom.core.requests import INBOX_PORT_ENVIRON
from postroom.delivery import worker
from postroom.startup import banner, prepare_database, stop_on_sigterm

STOP_TIMEOUT = 60.0  # the worker finishes the message it is sending


class Command(BaseCommand):
    @property
    def help(self) -> str:  # the ports in force, e.g. with POSTROOM_PORT set
        return (
            f"Run Postroom: backoffice (http://{settings.POSTROOM_HOST}:{settings.POSTROOM_PORT}),"
            " delivery worker and, in Development, the mail catcher"
            f" (SMTP {settings.POSTROOM_INBOX_HOST}:{settings.POSTROOM_INBOX_PORT})."
        )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--host",
            default=settings.POSTROOM_HOST,
            help="Backoffice address (default: POSTROOM_HOST, %(default)s).",
        )
        parser.add_argument(
            "--port",
            type=int,
            default=settings.POSTROOM_PORT,
            help="Backoffice port (default: POSTROOM_PORT, %(default)s).",
        )
        parser.add_argument(
            "--inbox-port",
            type=int,
            default=settings.POSTROOM_INBOX_PORT,
            help="SMTP port of the development mail catcher "
            "(default: POSTROOM_INBOX_PORT, %(default)s).",
        )
        parser.add_argument(
            "--no-inbox", action="store_true", help="Do not start the development mail catcher."
        )

    def handle(self, *args, host: str, port: int, inbox_port: int, no_inbox: bool, **options):
        config.ensure_can_start(config.SERVE)  # a value that stops a part: say so, exit 1
        prepare_database()
        share_interpreter()  # the web server, worker, catcher and relay share one process
        parts = None
        try:
            parts = self.start_parts(host, port, inbox_port, catcher=not no_inbox)
            stop_on_sigterm()
            idle = threading.Event()
            while not idle.wait(1.0):  # Ctrl-C and SIGTERM interrupt the wait
                pass
        except KeyboardInterrupt:
            pass
        finally:
            # Ctrl-C may come at any moment of start-up: stop whatever was started.
            self.stdout.write("Stopping…")
            if parts is not None:
                parts.stopping.set()
                worker.notify_now()
                still_running = parts.stop(STOP_TIMEOUT)
                if still_running:
                    self.stderr.write(f"Gave up waiting for: {', '.join(still_running)}.")
                supervisor.install(None)
        self.stdout.write("Stopped.")

    def start_parts(
        self, host: str, port: int, inbox_port: int, catcher: bool
    ) -> supervisor.Supervisor:
        """Listen on every port first (a port in use stops start-up with a clear message),
        then run each part under the supervisor, which restarts a part that fails."""
        from postroom.inbox.server import InboxError, start_inbox

        web = create_web_server(host, port, environ={INBOX_PORT_ENVIRON: inbox_port})
        lines = [f"  Backoffice: http://{host}:{port}/"]
        parts = [web_part(host, port, web, inbox_port), worker_part(inbox_port)]
        if runtime.is_development() and catcher:
            inbox_host = settings.POSTROOM_INBOX_HOST
            try:
                inbox = start_inbox(inbox_host, inbox_port)
            except InboxError as error:
                web.close()
                raise CommandError(str(error)) from None
            parts.append(catcher_part(inbox_host, inbox_port, inbox))
            lines.append(
                f"  Inbox:     smtp://{inbox_host}:{inbox_port} "
                f"(read it at http://{host}:{port}/inbox/)"
            )
        hosting = current_config().hosting
        relay_port, relay_tls_port = hosting.relay_port.value, hosting.relay_tls_port.value
        if relay_port is not None or relay_tls_port is not None:
            from postroom.relay.service import RelayError, start_relay

            relay_host = hosting.relay_host.value
            try:
                relay = start_relay(relay_host, relay_port, relay_tls_port)
            except RelayError as error:
                web.close()
                for part in parts:
                    if part.name == "catcher":
                        inbox.stop()
                raise CommandError(str(error)) from None
            parts.append(relay_part(relay_host, relay.port, relay.tls_port, relay))
            lines.append(f"  Relay:     {relay.describe()}")
        running = supervisor.Supervisor(parts)
        supervisor.install(running)
        running.start()
        self.stdout.write(banner(lines, inbox_port))
        self.stdout.flush()
        return running
