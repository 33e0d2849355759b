"""The development mail catcher: an SMTP server that keeps every message in the database.

It accepts any AUTH credentials, with or without TLS, offers STARTTLS with a self-signed
certificate, and never relays anything anywhere. Every resource it spends on a client has a
named limit (below); the bytes after DATA are read by :mod:`postroom.inbox.datastream`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import gc
import logging
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session, syntax
from django.db import close_old_connections, transaction
from django.db.models import Count, Sum

from postroom import runtime
from postroom.inbox import tls
from postroom.inbox.datastream import DataDecoder

logger = logging.getLogger(__name__)

# Limits, named as Postfix names its own (README, "The development inbox and its limits").
# Open SMTP connections; more are answered 421 and closed (Postfix: default_process_limit 100).
# Far above what applications and the delivery worker open, far below the 1,024 descriptors a
# process gets by default, so the web server and the database keep theirs.
CONNECTION_LIMIT = 100
# Open connections from one client address, loopback included; more are answered 421 and closed
# (Postfix: smtpd_client_connection_count_limit 50). The delivery worker opens one.
CLIENT_CONNECTION_LIMIT = 20
# Seconds a connection may last in all, however busy; then 421 once any reply under way is sent.
# Any valid command resets the read timeout, so without this an EHLO a minute holds a
# connection for ever. Clients reconnect and go on.
SESSION_TIMEOUT = 600.0
# Seconds a client may leave each read or write waiting, also during DATA; then 421
# (Postfix: smtpd_timeout, 300 s; a catcher's clients are local and answer in milliseconds).
READ_TIMEOUT = 60.0
# Seconds a client waits for the reply to its final "." while the message is stored
# (RFC 5321 section 4.5.3.2.6 gives clients 10 minutes).
STORE_TIMEOUT = 600.0
# Bytes per second a message must average, beyond the first READ_TIMEOUT, or the client is
# closed with 421: a trickle of a byte a minute would otherwise hold a connection for ever
# (Postfix: smtpd_min_data_rate 500 with smtpd_per_request_deadline).
MIN_DATA_RATE = 500
MESSAGE_SIZE_LIMIT = 25 * 1024 * 1024  # announced as SIZE; 552 beyond (message_size_limit)
HEADER_SIZE_LIMIT = 100 * 1024  # bytes before the first blank line; 552 beyond (header_size_limit)
# Real applications send long unfolded lines (HTML, unwrapped base64); RFC 5321's 1000 is
# too strict for a catcher whose job is to show what was sent. Bare LF ends a line too.
LINE_LENGTH_LIMIT = 1024 * 1024
# Caught mail kept in all: a rolling window. Before a message is stored, the oldest are deleted
# until it fits; a development catcher keeps catching rather than fill the disk or refuse.
QUOTA_BYTES = 1024 * 1024 * 1024
QUOTA_MESSAGES = 10_000
# Free space the data directory's filesystem keeps; below it mail is refused with 452
# (Postfix: queue_minfree, "452 4.3.1 Insufficient system storage").
DISK_FREE_MARGIN = 1024 * 1024 * 1024
RECIPIENT_LIMIT = 1000  # RCPT TO per message; 452 beyond (smtpd_recipient_limit)
# NOOP, RSET, VRFY, EXPN and HELP per connection, each; then 421 and closed. Each resets the
# read timeout, so without this a client could hold a connection for ever with NOOP
# (Postfix: smtpd_junk_command_limit 100).
JUNK_COMMAND_LIMIT = 100
# Messages stored at once. Storing holds the whole message in memory, several times over while
# it is parsed and written, so this, not the number of clients, bounds the catcher's memory.
# Parsing holds the interpreter lock, so more at once would not be faster either.
STORE_CONCURRENCY = 2
# Messages larger than this are stored one at a time (and with at most one smaller one):
# parsing a 24 MB message takes about 200 MB for a few seconds.
LARGE_MESSAGE_SIZE = 1024 * 1024
# A message in transit is kept in memory up to this size, then spooled to a private file.
SPOOL_MEMORY_LIMIT = 512 * 1024
READ_CHUNK = 64 * 1024
# Logged envelope: this many recipients by address, then "and N more"; each field this long.
LOGGED_RECIPIENTS = 3
LOGGED_FIELD_LENGTH = 200
START_TIMEOUT = 10.0


@dataclasses.dataclass(frozen=True)
class Limits:
    """The catcher's limits; the defaults are the constants above (tests shorten them)."""

    connections: int = CONNECTION_LIMIT
    connections_per_client: int = CLIENT_CONNECTION_LIMIT
    session_timeout: float = SESSION_TIMEOUT
    quota_bytes: int = QUOTA_BYTES
    quota_messages: int = QUOTA_MESSAGES
    disk_free_margin: int = DISK_FREE_MARGIN
    read_timeout: float = READ_TIMEOUT
    store_timeout: float = STORE_TIMEOUT
    min_data_rate: int = MIN_DATA_RATE
    message_size: int = MESSAGE_SIZE_LIMIT
    header_size: int = HEADER_SIZE_LIMIT
    line_length: int = LINE_LENGTH_LIMIT
    recipients: int = RECIPIENT_LIMIT
    junk_commands: int = JUNK_COMMAND_LIMIT
    concurrent_stores: int = STORE_CONCURRENCY


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


def clip(text: str, length: int = LOGGED_FIELD_LENGTH) -> str:
    """``text`` cut to ``length`` characters for a log line, saying how much was cut."""
    if len(text) <= length:
        return text
    return f"{text[:length]}... ({len(text) - length:,} more characters)"


def describe_recipients(recipients: list[str], shown: int = LOGGED_RECIPIENTS) -> str:
    """The first few recipients and how many more, so one log line stays short."""
    listed = ", ".join(f"<{clip(address)}>" for address in recipients[:shown])
    rest = len(recipients) - shown
    return f"{listed} and {rest:,} more" if rest > 0 else listed


def default_spool_dir() -> Path:
    return runtime.data_dir() / "inbox-spool"


def low_disk_reply(path: Path, margin: int, incoming: int = 0) -> str | None:
    """452 if storing ``incoming`` bytes would leave less than ``margin`` free on ``path``."""
    try:
        free = shutil.disk_usage(path).free
    except OSError:
        return None  # nothing known: the store itself reports a full disk
    if free - incoming >= margin:
        return None
    return (
        f"452 4.3.1 Insufficient system storage: {free:,} bytes free in the inbox's data "
        f"directory, under its margin of {margin:,}"
    )


# The store threads make room and save one at a time, so two cannot both fit in the same gap.
_quota_lock = threading.Lock()


def _make_room(size: int, limits: Limits) -> int:
    """Delete the oldest caught messages until one of ``size`` bytes fits; returns how many.

    Sizes are summed from the size index (a few bytes a message), never the stored bytes.
    """
    from postroom.inbox.models import CaughtMessage

    kept = CaughtMessage.objects.order_by().aggregate(total=Sum("size"), count=Count("id"))
    excess_bytes = (kept["total"] or 0) + size - limits.quota_bytes
    excess_count = kept["count"] + 1 - limits.quota_messages
    if excess_bytes <= 0 and excess_count <= 0:
        return 0
    oldest = CaughtMessage.objects.order_by("received_at", "id").values_list("id", "size")
    doomed: list[int] = []
    for pk, each in oldest.iterator(chunk_size=500):
        if excess_bytes <= 0 and excess_count <= 0:
            break
        doomed.append(pk)
        excess_bytes -= each
        excess_count -= 1
    for start in range(0, len(doomed), 500):
        CaughtMessage.objects.filter(pk__in=doomed[start : start + 500]).delete()
    return len(doomed)


def _store(sender: str, recipients: list[str], content: IO[bytes], limits: Limits) -> int:
    from postroom.inbox.models import CaughtMessage

    content.seek(0)
    raw = content.read()
    close_old_connections()
    try:
        message = CaughtMessage.from_envelope(sender, recipients, raw)
        with _quota_lock, transaction.atomic():
            removed = _make_room(message.size, limits)
            message.save()
        if removed:
            logger.info(
                "The development inbox deleted its %s oldest messages to stay within its quota",
                f"{removed:,}",
            )
        return message.pk
    finally:
        close_old_connections()
        if len(raw) > LARGE_MESSAGE_SIZE:
            # Parsing leaves reference cycles that hold the decoded message; left to the
            # collector, each large message would stay in memory long after it was stored.
            del raw
            message = None
            gc.collect()


class CatchAllHandler:
    """aiosmtpd handler: every recipient is accepted (up to a limit) and every message stored."""

    def __init__(self, limits: Limits, spool_dir: Path) -> None:
        self.limits = limits
        self.spool_dir = spool_dir  # in the data directory: its free space is watched
        self._store_slots = asyncio.Semaphore(limits.concurrent_stores)
        self._large_slot = asyncio.Semaphore(1)
        # Its own threads: few, so memory freed by one store is reused by the next.
        self._store_threads = ThreadPoolExecutor(
            limits.concurrent_stores, thread_name_prefix="inbox-store"
        )

    def close(self) -> None:
        """Wait for the stores under way, so that no accepted message is lost."""
        self._store_threads.shutdown(wait=True)

    async def _store(self, sender: str, recipients: list[str], content: IO[bytes]) -> int:
        stored = asyncio.get_running_loop().run_in_executor(
            self._store_threads, _store, sender, recipients, content, self.limits
        )
        try:
            return await asyncio.shield(stored)
        except asyncio.CancelledError:
            # The client left. The store goes on, and keeps its slot and its file until done.
            await asyncio.wait([stored])
            raise

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        # Refused before any of the message is spooled to the same disk.
        low = low_disk_reply(self.spool_dir, self.limits.disk_free_margin)
        if low is not None:
            logger.warning("The development inbox refused mail: %s", low[10:])
            return low
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if len(envelope.rcpt_tos) >= self.limits.recipients:
            return f"452 4.5.3 Too many recipients: the limit is {self.limits.recipients}"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content: IO[bytes] = envelope.content_file  # type: ignore[attr-defined]
        sender = envelope.mail_from or ""
        recipients = list(envelope.rcpt_tos)
        size = content.tell()
        if size > self.limits.quota_bytes:
            quota = self.limits.quota_bytes
            return f"552 5.3.4 Message too big for the inbox quota of {quota} bytes"
        low = low_disk_reply(self.spool_dir, self.limits.disk_free_margin, size)
        if low is not None:
            logger.warning("The development inbox refused a message: %s", low[10:])
            return low
        try:
            # The whole message is read into memory only here, a few at a time.
            large = self._large_slot if size > LARGE_MESSAGE_SIZE else contextlib.nullcontext()
            async with large, self._store_slots:
                pk = await self._store(sender, recipients, content)
        except Exception:
            logger.exception("The development inbox could not store a message")
            return "451 4.3.0 Requested action aborted: the message could not be stored"
        logger.info(
            "Caught message %s (%s bytes) from <%s> to %s",
            pk,
            f"{size:,}",
            clip(sender),
            describe_recipients(recipients),
        )
        return f"250 Message accepted for delivery (id {pk})"


def accept_any_login(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    return AuthResult(success=True, auth_data=auth_data)


class _CatcherSMTP(SMTP):
    """aiosmtpd's SMTP with a timeout on every read and DATA read in chunks, spooled to disk.

    aiosmtpd's own DATA keeps the message as a list of lines in memory, counts a bare-LF
    message as one line, and leaves its timer running from the DATA command on, so a large
    message is cut off after one timeout however steadily it arrives.
    """

    # The stream buffer for command lines; DATA is read in chunks and needs none of it.
    line_length_limit = 64 * 1024

    def __init__(
        self,
        handler: CatchAllHandler,
        *,
        limits: Limits,
        spool_dir: Path,
        admit: Callable[[str], bool],
        on_close: Callable[[str | None], None],
        **kwargs: Any,
    ) -> None:
        junk = dict.fromkeys(("NOOP", "RSET", "VRFY", "EXPN", "HELP"), limits.junk_commands)
        super().__init__(
            handler,
            data_size_limit=limits.message_size,
            timeout=limits.read_timeout,
            command_call_limit={**junk, "*": sys.maxsize},  # the rest: no limit of their own
            **kwargs,
        )
        self.limits = limits
        self.spool_dir = spool_dir
        self._admit = admit
        self._on_close: Callable[[str | None], None] | None = on_close
        self._client: str | None = None  # the address admitted, counted until closed
        self._refused = False
        self._session_handle: asyncio.TimerHandle | None = None
        self._session_over = False
        self._storing = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self.transport is not None:  # the same connection again, after STARTTLS
            super().connection_made(transport)
            return
        peer = transport.get_extra_info("peername")
        client = str(peer[0]) if isinstance(peer, tuple) and peer else str(peer)
        if not self._admit(client):
            self._refused = True
            assert isinstance(transport, asyncio.WriteTransport)
            transport.write(
                f"421 4.7.0 {self.hostname} Too many connections from {client}, "
                "try again later\r\n".encode()
            )
            transport.close()
            return
        self._client = client
        self._session_handle = self.loop.call_later(
            self.limits.session_timeout, self._session_timeout_cb
        )
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        try:
            if self._session_handle is not None:
                self._session_handle.cancel()
            if not self._refused:
                super().connection_lost(error)
        finally:
            on_close, self._on_close = self._on_close, None
            if on_close is not None:
                on_close(self._client)

    def _session_timeout_cb(self) -> None:
        self._session_over = True
        if not self._storing:  # else once the message's reply is sent, so it is not resent
            self._close_for_session()

    def _close_for_session(self) -> None:
        self._close_with(
            f"421 4.4.2 {self.hostname} Error: session time limit exceeded, reconnect to go on",
            "a long",
        )

    def _timeout_cb(self) -> None:
        """Say why before closing (Postfix: 421 4.4.2 Error: timeout exceeded)."""
        self._close_with(f"421 4.4.2 {self.hostname} Error: timeout exceeded", "an idle")

    def _close_with(self, reply: str, which: str) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        logger.info("The development inbox closed %s connection from %s", which, self.session.peer)
        transport.write(f"{reply}\r\n".encode())
        if transport.get_write_buffer_size():
            transport.abort()  # the client reads nothing: do not wait for it to
        else:
            transport.close()

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        """As aiosmtpd's, but see the class docstring and :mod:`postroom.inbox.datastream`."""
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        decoder = DataDecoder(
            size_limit=self.limits.message_size,
            header_limit=self.limits.header_size,
            line_limit=self.limits.line_length,
        )
        with tempfile.SpooledTemporaryFile(SPOOL_MEMORY_LIMIT, dir=self.spool_dir) as content:
            rest = None
            started, received = self.loop.time(), 0
            while rest is None:
                chunk = await self._reader.read(READ_CHUNK)
                if not chunk:
                    return  # the client went away; nothing is stored
                self._reset_timeout()
                received += len(chunk)
                allowed = self.limits.read_timeout + received / self.limits.min_data_rate
                if self.loop.time() - started > allowed:
                    self._close_with(f"421 4.4.2 {self.hostname} Error: data too slow", "a slow")
                    return
                message, rest = decoder.feed(chunk)
                content.write(message)
            # Commands the client pipelined after the final "." are read as commands again.
            self._reader._buffer[:0] = rest  # type: ignore[attr-defined]
            if decoder.problem is not None:
                logger.info(
                    "The development inbox refused a message from %s: %s",
                    self.session.peer,
                    decoder.reply(),
                )
                self._set_post_data_state()
                await self.push(decoder.reply())
                return
            self.envelope.content_file = content  # type: ignore[attr-defined]
            self._reset_timeout(self.limits.store_timeout)
            self._storing = True
            try:
                status = await self._call_handler_hook("DATA")
            finally:
                self._storing = False
        self._set_post_data_state()
        self._reset_timeout()
        await self.push(status)
        if self._session_over:
            self._close_for_session()


class _Refusal(asyncio.Protocol):
    """Answers a connection over the limit with 421 and closes it."""

    def __init__(self, reply: bytes) -> None:
        self.reply = reply

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        transport.write(self.reply)
        transport.close()


class _Controller(Controller):
    """Serves on a socket bound beforehand, so a busy port fails fast and clearly.

    It also counts open connections: past the limit, a client gets 421 and is closed at once,
    so idle clients cannot take every file descriptor the process has.
    """

    def __init__(
        self,
        handler: CatchAllHandler,
        sock: socket.socket,
        *,
        limits: Limits,
        spool_dir: Path,
        **kwargs: Any,
    ) -> None:
        host, port = sock.getsockname()[:2]
        # The start-up self-test connects to this address: use loopback for a wildcard.
        host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)  # noqa: S104
        super().__init__(handler, hostname=host, port=port, **kwargs)
        self._sock = sock
        self.limits = limits
        self.spool_dir = spool_dir
        # Touched only on the event loop's thread.
        self.open_connections = 0
        self.client_connections: dict[str, int] = {}
        self._refusing = False
        self._refusing_clients: set[str] = set()

    def factory(self) -> SMTP | _Refusal:  # type: ignore[override]
        if self.open_connections >= self.limits.connections:
            if not self._refusing:  # one log line per busy spell, not one per client
                self._refusing = True
                logger.warning(
                    "The development inbox has %s connections open, its limit: further "
                    "clients are answered 421 until some close",
                    self.open_connections,
                )
            hostname = self.SMTP_kwargs.get("hostname", "")
            return _Refusal(
                f"421 4.7.0 {hostname} Too many connections, try again later\r\n".encode()
            )
        self.open_connections += 1
        return _CatcherSMTP(
            self.handler,
            limits=self.limits,
            spool_dir=self.spool_dir,
            admit=self._admit,
            on_close=self._closed,
            **self.SMTP_kwargs,
        )

    def _admit(self, client: str) -> bool:
        held = self.client_connections.get(client, 0)
        if held >= self.limits.connections_per_client:
            if client not in self._refusing_clients:  # one log line per busy spell
                self._refusing_clients.add(client)
                logger.warning(
                    "The development inbox has %s connections open from %s, its limit for "
                    "one client: further ones from there are answered 421 until some close",
                    held,
                    clip(client),
                )
            return False
        self.client_connections[client] = held + 1
        return True

    def _closed(self, client: str | None) -> None:
        self.open_connections -= 1
        if self.open_connections < self.limits.connections:
            self._refusing = False
        if client is not None:
            held = self.client_connections.pop(client) - 1
            if held:
                self.client_connections[client] = held
            if held < self.limits.connections_per_client:
                self._refusing_clients.discard(client)

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
        spool_dir: Path | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.tls_dir = tls_dir or tls.default_tls_dir()
        self.spool_dir = spool_dir or default_spool_dir()
        self.limits = limits or Limits()
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

    @property
    def open_connections(self) -> int:
        return self._controller.open_connections if self._controller else 0

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
        try:
            # Messages in transit: only this user may read them.
            self.spool_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(self.spool_dir, 0o700)
        except OSError as error:
            raise InboxError(
                f"The development inbox cannot keep messages in transit in {self.spool_dir}: "
                f"{error.strerror or error}. Check that POSTROOM_DATA is writable."
            ) from error
        sock = _bind(self.host, self.port)
        self.port = sock.getsockname()[1]
        controller = _Controller(
            CatchAllHandler(self.limits, self.spool_dir),
            sock,
            limits=self.limits,
            spool_dir=self.spool_dir,
            ready_timeout=START_TIMEOUT,
            server_hostname="postroom-inbox",
            ident="Postroom development inbox",
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
        # aiosmtpd's start-up self-test connection counts until its close is seen.
        deadline = time.monotonic() + START_TIMEOUT
        while controller.open_connections and time.monotonic() < deadline:
            time.sleep(0.01)

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()
            controller.handler.close()

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
