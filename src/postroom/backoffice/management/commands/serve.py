from __future__ import annotations

import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from postroom import config, runtime
from postroom.backoffice.webserver import create_web_server
from postroom.delivery import worker
from postroom.startup import banner, prepare_database, stop_on_sigterm


class Command(BaseCommand):
    help = "Run Postroom: backoffice, delivery worker and, in Development, the mail catcher."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default=settings.POSTROOM_HOST)
        parser.add_argument("--port", type=int, default=settings.POSTROOM_PORT)
        parser.add_argument(
            "--inbox-port",
            type=int,
            default=settings.POSTROOM_INBOX_PORT,
            help="SMTP port of the development mail catcher (default 2525).",
        )
        parser.add_argument(
            "--no-inbox", action="store_true", help="Do not start the development mail catcher."
        )

    def handle(self, *args, host: str, port: int, inbox_port: int, no_inbox: bool, **options):
        from postroom.inbox.server import InboxError, start_inbox

        config.ensure_can_start(config.SERVE)  # a value that stops a part: say so, exit 1
        prepare_database()
        # The worker sends to the catcher at this port when nothing else is configured.
        settings.POSTROOM_INBOX_PORT = inbox_port
        stop = threading.Event()
        web = inbox = delivery = None
        try:
            web = create_web_server(host, port)
            lines = [f"  Backoffice: http://{host}:{port}/"]
            if runtime.is_development() and not no_inbox:
                inbox_host = settings.POSTROOM_INBOX_HOST
                try:
                    inbox = start_inbox(inbox_host, inbox_port)
                except InboxError as error:
                    raise CommandError(str(error)) from None
                lines.append(
                    f"  Inbox:     smtp://{inbox_host}:{inbox_port} "
                    f"(read it at http://{host}:{port}/inbox/)"
                )
            delivery = threading.Thread(target=worker.run, args=(stop,), name="worker")
            delivery.start()
            self.stdout.write(banner(lines))
            self.stdout.flush()
            stop_on_sigterm()
            web.run()
        except KeyboardInterrupt:
            pass
        finally:
            # Ctrl-C may come at any moment of start-up: stop whatever was started.
            self.stdout.write("Stopping…")
            if web is not None:
                web.close()
            stop.set()
            worker.notify_now()
            if delivery is not None:
                delivery.join(60)
            if inbox is not None:
                inbox.stop()
        self.stdout.write("Stopped.")
