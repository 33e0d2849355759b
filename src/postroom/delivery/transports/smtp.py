"""SMTP through the one SMTP session (postroom.smtp): one connection per batch, classified."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import NoReturn

from postroom.mailsettings.model import AUTO, Secret, SmtpSettings
from postroom.smtp import SEVEN_BIT, Mail, Server, Session, SmtpFailure
from postroom.smtp.server import DEFAULT_TIMEOUT

from .base import DeliveryError, OutgoingMessage, SendResult, Transport
from .lines import to_crlf

log = logging.getLogger("postroom.delivery")


class SmtpTransport(Transport):
    """Sends through an SMTP server. ``open()`` connects, ``send()`` runs one transaction."""

    def __init__(
        self,
        host: str = "",
        port: int = 25,
        security: str = AUTO,
        username: str | None = None,
        password: Secret | str | None = None,
        client_domain: str | None = None,
        ca_file: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        delivery_format: str = SEVEN_BIT,
        *,
        server: Server | None = None,
    ) -> None:
        self.server = server or Server(
            host=host,
            port=port,
            security=security,
            username=username,
            password=password,  # type: ignore[arg-type]  # Server wraps a str in a Secret
            client_domain=client_domain,
            ca_file=ca_file,
            timeout=timeout,
            delivery_format=delivery_format,
        )
        self._session: Session | None = None
        self._next: tuple[OutgoingMessage, Mail] | None = None  # the message given as ``then``
        self.description = self.server.describe()

    @classmethod
    def from_settings(cls, settings: SmtpSettings) -> SmtpTransport:
        return cls(server=Server.from_settings(settings))

    # The settings, as the rest of Postroom (and its tests) read them.
    host = property(lambda self: self.server.host)
    port = property(lambda self: self.server.port)
    security = property(lambda self: self.server.security)
    username = property(lambda self: self.server.username)
    password = property(lambda self: self.server.password)
    client_domain = property(lambda self: self.server.client_domain)
    ca_file = property(lambda self: self.server.ca_file)
    timeout = property(lambda self: self.server.timeout)
    delivery_format = property(lambda self: self.server.delivery_format)

    def __repr__(self) -> str:
        return f"<SmtpTransport {self.description}>"

    def open(self) -> None:
        session = self._session
        if session is None or session.failed is not None:
            session = self._session = Session(self.server)  # a failed session never goes on
        try:
            session.open()
        except SmtpFailure as failure:
            _raise(failure)

    def send(
        self,
        message: OutgoingMessage,
        before_content: Callable[[], None] | None = None,
        then: OutgoingMessage | None = None,
    ) -> SendResult:
        self.open()
        assert self._session is not None
        mail = self._mail(message)
        following = None
        try:
            following = None if then is None else self._mail(then)
        except Exception:  # the next message's trouble is its own, on its own turn
            log.exception("Could not prepare the next message to send ahead; it waits its turn")
        self._next = (then, following) if then is not None and following is not None else None
        try:
            sent = self._session.send(*mail, before_content=before_content, then=following)
        except SmtpFailure as failure:
            _raise(failure)
        return SendResult(sent.reply, sent.accepted, sent.refused)

    def _mail(self, message: OutgoingMessage) -> Mail:
        """``message`` with CRLF line endings (converted once when it was sent ahead)."""
        ahead = self._next
        if ahead is not None and ahead[0] is message:
            return ahead[1]
        return Mail(message.sender, tuple(message.recipients), to_crlf(message.raw))

    def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            session.close()


def _raise(failure: SmtpFailure) -> NoReturn:
    """The session's failure as the DeliveryError the worker classifies by."""
    error = DeliveryError(
        failure.message, step=failure.step, transient=failure.transient, reply=failure.reply
    )
    raise error from failure.__cause__  # None when the original text held the password
