"""The small interface every transport shares: open, send one message, close.

A transport never sleeps, loops or retries: it reports what happened and the worker decides.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType


@dataclass(frozen=True)
class OutgoingMessage:
    """One message as it goes on the wire: envelope plus RFC 5322 bytes."""

    sender: str
    recipients: tuple[str, ...]
    raw: bytes


@dataclass(frozen=True)
class SendResult:
    """The server's final reply (e.g. ``250 2.0.0 Ok: queued as 4F2``) and refused recipients."""

    reply: str
    accepted: tuple[str, ...] = ()
    refused: dict[str, str] = field(default_factory=dict)  # recipient -> "550 5.1.1 No such user"
    connection: str = ""  # which connection carried it, when a transport has several


class DeliveryError(Exception):
    """A classified failure.

    ``step`` names what failed: dns, connect, banner, ehlo, tls, auth, mail, rcpt, data, write.
    ``transient`` is True when trying again later may succeed (connection errors, timeouts,
    4xx replies) and False when it will not (5xx replies, bad configuration).
    The text never contains a password.
    """

    def __init__(
        self,
        message: str,
        *,
        step: str,
        transient: bool,
        reply: str | None = None,
        connection: str = "",
    ) -> None:
        super().__init__(message)
        self.step = step
        self.transient = transient
        self.reply = reply
        self.connection = connection  # which connection failed, when a transport has several

    @property
    def message(self) -> str:
        return str(self.args[0])


class Transport(ABC):
    """Hands messages to the outside world. Use as a context manager around a batch.

    ``send`` calls ``before_content``, when given, right before the message's content goes
    out: from then on the server may accept it. Whatever that callback raises is raised as is.

    ``then``, when given, is the message the caller sends next through this transport: an
    SMTP transport sends its envelope behind this message's content (one round trip a
    message). The caller must then send it next, or close the transport.
    """

    #: Short description for logs and screens, e.g. "smtp.example.com:587 via STARTTLS".
    description: str = ""

    @abstractmethod
    def open(self) -> None: ...

    @abstractmethod
    def send(
        self,
        message: OutgoingMessage,
        before_content: Callable[[], None] | None = None,
        then: OutgoingMessage | None = None,
    ) -> SendResult: ...

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Transport:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
