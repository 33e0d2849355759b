"""The development mail catcher: an SMTP server that keeps every message in the database.

It accepts any AUTH credentials, with or without TLS, offers STARTTLS with a self-signed
certificate, and never relays anything anywhere.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import sys
from collections.abc import Awaitable
from pathlib import Path
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session
from asgiref.sync import sync_to_async
from django.db import close_old_connections

from postroom.inbox import tls

logger = logging.getLogger(__name__)

SIZE_LIMIT = 25 * 1024 * 1024
# Real applications send long unfolded lines (HTML, unwrapped base64); RFC 5321's 1000 is
# too strict for a catcher whose job is to show what was sent.
LINE_LENGTH_LIMIT = 1024 * 1024
START_TIMEOUT = 10.0


class InboxError(Exception):
    """The catcher cannot start; the message says why and what to change."""


class InboxPortInUse(InboxError):
    """The catcher's port is taken, usually by another Postroom or mail catcher."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        super().__init__(
            f"The development inbox cannot listen on {host}:{port}: port {port} is already "
            "in use. Stop the other program, or choose another port with the "
            "POSTROOM_INBOX_PORT setting or the --port option."
        )


def _store(sender: str, recipients: list[str], raw: bytes) -> int:
    from postroom.inbox.models import CaughtMessage

    close_old_connections()
    try:
        message = CaughtMessage.from_envelope(sender, recipients, raw)
        message.save()
        return message.pk
    finally:
        close_old_connections()


class CatchAllHandler:
    """aiosmtpd handler: every recipient is accepted and every message stored."""

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        sender = envelope.mail_from or ""
        recipients = list(envelope.rcpt_tos)
        try:
            pk = await sync_to_async(_store, thread_sensitive=False)(sender, recipients, raw)
        except Exception:
            logger.exception("The development inbox could not store a message")
            return "451 Requested action aborted: the message could not be stored"
        logger.info("Caught message %s from <%s> to %s", pk, sender, ", ".join(recipients))
        return f"250 Message accepted for delivery (id {pk})"


def accept_any_login(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    return AuthResult(success=True, auth_data=auth_data)


class _CatcherSMTP(SMTP):
    line_length_limit = LINE_LENGTH_LIMIT


class _Controller(Controller):
    """Serves on a socket bound beforehand, so a busy port fails fast and clearly."""

    def __init__(self, handler: CatchAllHandler, sock: socket.socket, **kwargs: Any) -> None:
        host, port = sock.getsockname()[:2]
        # The start-up self-test connects to this address: use loopback for a wildcard.
        host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)  # noqa: S104
        super().__init__(handler, hostname=host, port=port, **kwargs)
        self._sock = sock

    def factory(self) -> SMTP:
        return _CatcherSMTP(self.handler, **self.SMTP_kwargs)

    def _create_server(self) -> Awaitable[asyncio.AbstractServer]:
        return self.loop.create_server(self._factory_invoker, sock=self._sock)


def _bind(host: str, port: int) -> socket.socket:
    try:
        infos = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except (socket.gaierror, UnicodeError) as error:
        raise InboxError(
            f"The development inbox cannot listen on {host}:{port}: {error}. "
            "Check the POSTROOM_INBOX_HOST setting or the --host option."
        ) from error
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        if sys.platform == "win32":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
        else:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(100)
    except OSError as error:
        sock.close()
        if error.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", -1)):
            raise InboxPortInUse(host, port) from error
        raise InboxError(
            f"The development inbox cannot listen on {host}:{port}: {error.strerror or error}. "
            "Choose another address with the POSTROOM_INBOX_HOST and POSTROOM_INBOX_PORT "
            "settings or the --host and --port options."
        ) from error
    sock.setblocking(False)
    return sock


class InboxServer:
    """The catcher on ``host:port`` (port 0 picks a free one; see :attr:`port` once started)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        tls_dir: Path | None = None,
        size_limit: int = SIZE_LIMIT,
    ) -> None:
        self.host = host
        self.port = port
        self.tls_dir = tls_dir or tls.default_tls_dir()
        self.size_limit = size_limit
        self._controller: _Controller | None = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    @property
    def alive(self) -> bool:
        """Whether the catcher still serves: False once its event loop's thread has ended."""
        thread = getattr(self._controller, "_thread", None)
        return thread is not None and thread.is_alive()

    @property
    def cert_path(self) -> Path:
        return self.tls_dir / tls.CERT_FILE

    def start(self) -> None:
        """Listen and serve in a background thread. Raises :class:`InboxError`."""
        if self._controller is not None:
            return
        try:
            tls_context = tls.server_context(self.tls_dir)
        except OSError as error:
            raise InboxError(
                f"The development inbox cannot keep its TLS certificate in {self.tls_dir}: "
                f"{error.strerror or error}. Check that POSTROOM_DATA is writable."
            ) from error
        sock = _bind(self.host, self.port)
        self.port = sock.getsockname()[1]
        controller = _Controller(
            CatchAllHandler(),
            sock,
            ready_timeout=START_TIMEOUT,
            server_hostname="postroom-inbox",
            ident="Postroom development inbox",
            data_size_limit=self.size_limit,
            tls_context=tls_context,
            authenticator=accept_any_login,
            auth_require_tls=False,
        )
        try:
            controller.start()
        except BaseException:
            controller.stop(no_assert=True)
            sock.close()
            if not controller.loop.is_running() and not controller.loop.is_closed():
                controller.loop.close()
            raise
        self._controller = controller

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def __enter__(self) -> InboxServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def start_inbox(host: str, port: int) -> InboxServer:
    """Start the catcher, for ``postroom serve``. Raises :class:`InboxError`.

    :class:`InboxPortInUse` (a kind of :class:`InboxError`) means the port is taken.
    """
    server = InboxServer(host, port)
    server.start()
    return server
