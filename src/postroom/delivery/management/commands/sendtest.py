from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator

from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email

from postroom.config import current_smtp_settings
from postroom.delivery import queue
from postroom.delivery.enqueue import enqueue
from postroom.delivery.models import Kind, OutboxMessage
from postroom.delivery.policy import current_policy
from postroom.delivery.routing import current_route, test_email_refusal
from postroom.delivery.worker import Worker
from postroom.startup import prepare_database

WAIT_FOR_OTHER_WORKER = 90.0  # seconds; a running worker may claim the message first


class Command(BaseCommand):
    help = "Send a test email through the configured transport and print the server's reply."

    def add_arguments(self, parser) -> None:
        parser.add_argument("address", help="Where to send the test email.")

    def handle(self, *args, address: str, **options) -> None:
        try:
            validate_email(address)
        except ValidationError:
            raise CommandError(f"'{address}' is not a valid email address.") from None
        prepare_database()
        smtp = current_smtp_settings()
        refusal = test_email_refusal(smtp)
        if refusal:
            raise CommandError(f"{refusal} See `postroom config show`.")
        route = current_route(smtp)
        if route is None:
            raise CommandError(
                "There is no transport to send with: SMTP is not configured "
                "(see `postroom config show`). In Production, mail is held until it is."
            )
        self.stdout.write(f"Sending a test email to {address} via {route.description}…")
        message = EmailMessage(
            subject="Postroom test email",
            body=f"This is a test email sent with `postroom sendtest` via {route.description}.\n",
            to=[address],
        )
        queued = enqueue(message, kind=Kind.TEST)
        worker = Worker(name="sendtest")
        batch = queue.claim(worker.id, 1, worker.lease, only=queued.pk)
        if batch:  # else a running worker took it first: wait for its outcome
            with _quiet_about(queued.message_id):
                worker.deliver(batch, route, current_policy())
        result = self._wait_until_finished(queued.pk)
        attempt = result.attempts.last()
        if result.status == "sent" and attempt and attempt.transport == route.description:
            where = attempt.transport
            self.stdout.write(
                self.style.SUCCESS(f"Sent to {where}. The server replied: {result.last_reply}")
            )
            return
        if result.status == "sent":  # a running worker carried it by another route
            raise CommandError(
                f"Sent, but to {attempt.transport if attempt else 'another route'}, not to"
                f" {route.description}: the settings changed while it was queued. Run it again."
            )
        if route.development_inbox and attempt and attempt.step == "connect":
            raise CommandError(_inbox_not_running(route.description, result.last_reply))
        step = f" at step '{attempt.step}'" if attempt and attempt.step else ""
        raise CommandError(f"Not sent{step}: {result.last_reply}")

    def _wait_until_finished(self, pk: int) -> OutboxMessage:
        deadline = time.monotonic() + WAIT_FOR_OTHER_WORKER
        while True:
            message = OutboxMessage.objects.get(pk=pk)
            if message.is_finished or time.monotonic() > deadline:
                return message
            time.sleep(0.2)


def _inbox_not_running(where: str, reply: str) -> str:
    """The words for a failed connection to the catcher: the SMTP server's usual fix (check
    the host and the port) would send a developer looking for settings they never made."""
    what_happened = reply.split(". ", 1)[0].rstrip(".")  # "Could not connect to ...: ..."
    return (
        f"Not sent: {where} is not running. {what_happened}. Mail goes to this catcher while"
        " SMTP is not configured: start it with `postroom serve` (or the catcher alone:"
        " `postroom inbox`); if `serve` runs with --inbox-port, set POSTROOM_INBOX_PORT to that"
        " port. Or configure SMTP (see `postroom config show`)."
    )


class _OwnFailure(logging.Filter):
    """Drops the worker's "Delivery of <id> ... failed" line for one message: the command
    prints that failure itself, once, as its error."""

    def __init__(self, message_id: str) -> None:
        super().__init__()
        self.message_id = message_id

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        return not (record.msg.startswith("Delivery of") and args[:1] == (self.message_id,))


@contextlib.contextmanager
def _quiet_about(message_id: str) -> Iterator[None]:
    logger = logging.getLogger("postroom.delivery")
    own_failure = _OwnFailure(message_id)
    logger.addFilter(own_failure)
    try:
        yield
    finally:
        logger.removeFilter(own_failure)
