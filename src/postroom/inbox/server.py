"""The development mail catcher: an SMTP server that keeps every message in the database.

It accepts any AUTH credentials, with or without TLS, offers STARTTLS with a self-signed
certificate, and never relays anything anywhere. Every resource it spends on a client has a
named limit (below); connections and DATA are handled by :mod:`postroom.core.smtpserver`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import logging
import os
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session
from django.db import OperationalError, connection, transaction

from postroom import runtime
from postroom.core import selfsigned, smtpserver
from postroom.core.smtpserver import START_TIMEOUT, clip

if TYPE_CHECKING:
    from postroom.inbox.models import CaughtMessage
    from postroom.inbox.totals import Totals

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
# Logged envelope: this many recipients by address, then "and N more".
LOGGED_RECIPIENTS = 3
NAME = "The development inbox"  # starts its log lines
TLS_ORGANISATION = "Postroom development inbox"


@dataclasses.dataclass(frozen=True)
class Limits(smtpserver.Limits):
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


def describe_recipients(recipients: list[str], shown: int = LOGGED_RECIPIENTS) -> str:
    """The first few recipients and how many more, so one log line stays short."""
    listed = ", ".join(f"<{clip(address)}>" for address in recipients[:shown])
    rest = len(recipients) - shown
    return f"{listed} and {rest:,} more" if rest > 0 else listed


def default_tls_dir() -> Path:
    return runtime.data_dir() / "inbox-tls"


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
_full = False  # the last store had to make room (guarded by _quota_lock)


def _insert_within_quota(message: CaughtMessage, limits: Limits) -> int:
    """Store ``message``, first deleting the oldest ones if it would not fit; returns how many.

    What is kept is read from the totals the database keeps (one row), never summed. With room
    (nearly always) no transaction is opened: the insert reads the totals and commits itself,
    in the one round trip that makes it, where a transaction took four (BEGIN, read, insert,
    COMMIT), and under load each waited for the interpreter lock after it. Without room,
    deleting and inserting are one transaction, so nothing is deleted for a message then not
    stored. Once the inbox is full, stores go straight to that transaction (until one finds
    room without deleting), instead of trying the insert twice.
    """
    global _full
    if not _full and message.insert_within(limits.quota_messages, limits.quota_bytes):
        return 0
    with transaction.atomic():
        removed = _make_room(message.size, limits)
        message.insert()
    _full = removed > 0  # at the quota each store deletes: the next goes straight here
    return removed


def _excess(kept: Totals, size: int, limits: Limits) -> tuple[int, int]:
    """Bytes and messages over the quota were a message of ``size`` added: (0, 0) if none."""
    excess_bytes = kept.bytes + size - limits.quota_bytes
    excess_count = kept.messages + 1 - limits.quota_messages
    return max(excess_bytes, 0), max(excess_count, 0)


def _make_room(size: int, limits: Limits) -> int:
    """Delete the oldest caught messages until one of ``size`` bytes fits; returns how many."""
    from postroom.inbox import totals
    from postroom.inbox.models import CaughtMessage

    excess_bytes, excess_count = _excess(totals.read(), size, limits)
    if excess_bytes <= 0 and excess_count <= 0:
        return 0
    oldest = CaughtMessage.objects.order_by("received_at", "id").values_list("id", "size")
    doomed: list[int] = []
    # At the quota each store deletes one or two: fetch a few rows at a time, not 500.
    chunk = min(500, max(excess_count, 0) + 20)
    for pk, each in oldest.iterator(chunk_size=chunk):
        if excess_bytes <= 0 and excess_count <= 0:
            break
        doomed.append(pk)
        excess_bytes -= each
        excess_count -= 1
    for start in range(0, len(doomed), 500):
        CaughtMessage.objects.filter(pk__in=doomed[start : start + 500]).delete()
    return len(doomed)


# Seconds a store thread's connection may have been idle and still be used unchecked.
CHECK_IDLE_CONNECTION = 1.0
_last_store = threading.local()  # when this store thread last used its connection


def _reuse_connection() -> None:
    """Keep this store thread's database connection for the next message, if it is sound.

    Opening one per message cost more than storing the message: SQLite reads the schema on
    every new connection, and a closing connection may checkpoint the whole WAL. After an
    error it is closed (the next query opens a new one). One idle for a while is checked
    (PostgreSQL: one "SELECT 1"), here, before ``_quota_lock`` is taken; one that stored a
    message a moment ago is not: a check per message was a round trip per message. If the
    server went away since (a restart), the store is made once more on a new connection
    (see :func:`_store_once_more_if_gone`).
    """
    if connection.connection is None:
        return
    if connection.errors_occurred or not connection.get_autocommit():
        connection.close()
    elif time.monotonic() - getattr(_last_store, "at", 0.0) > CHECK_IDLE_CONNECTION:
        connection.health_check_done = False
        connection.close_if_health_check_failed()


def _store_once_more_if_gone(message: CaughtMessage, limits: Limits) -> int:
    """:func:`_insert_within_quota`, made once more on a new connection if the one kept
    unchecked turns out to be gone (the database restarted since this thread's last store):
    an application under test must not see its mail refused for that. Should the lost
    connection have committed before it broke, the message is caught twice; better than not.
    """
    try:
        return _insert_within_quota(message, limits)
    except OperationalError:
        if connection.in_atomic_block or connection.is_usable():
            raise  # not a lost connection: the store fails with 451
        logger.info("The development inbox's database connection was lost; storing again")
        connection.close()
        return _insert_within_quota(message, limits)


def _close_connection(all_there: threading.Barrier) -> None:
    """Close this store thread's connection, then wait until every store thread has too."""
    connection.close()
    with contextlib.suppress(threading.BrokenBarrierError):
        all_there.wait(timeout=START_TIMEOUT)


def _store(sender: str, recipients: list[str], content: IO[bytes], limits: Limits) -> int:
    from postroom.inbox.models import CaughtMessage

    content.seek(0)
    raw = content.read()
    _reuse_connection()
    try:
        message = CaughtMessage.from_envelope(sender, recipients, raw)
        with _quota_lock:
            removed = _store_once_more_if_gone(message, limits)
        if removed:
            logger.info(
                "The development inbox deleted its %s oldest messages to stay within its quota",
                f"{removed:,}",
            )
        return message.pk
    finally:
        _last_store.at = time.monotonic()
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
        """Wait for the stores under way, so that no accepted message is lost; then close the
        store threads' database connections (each thread takes one closing task: the barrier
        holds it until all have)."""
        threads = self.limits.concurrent_stores
        all_there = threading.Barrier(threads)
        for _ in range(threads):
            self._store_threads.submit(_close_connection, all_there)
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
        self.tls_dir = tls_dir or default_tls_dir()
        self.spool_dir = spool_dir or default_spool_dir()
        self.limits = limits or Limits()
        self._controller: smtpserver.LimitedController | None = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    @property
    def alive(self) -> bool:
        """Whether the catcher still serves: False once its event loop's thread has ended."""
        return self._controller is not None and self._controller.alive

    @property
    def cert_path(self) -> Path:
        return self.tls_dir / selfsigned.CERT_FILE

    @property
    def open_connections(self) -> int:
        return self._controller.open_connections if self._controller else 0

    def start(self) -> None:
        """Listen and serve in a background thread. Raises :class:`InboxError`."""
        if self._controller is not None:
            return
        try:
            tls_context = selfsigned.server_context(self.tls_dir, TLS_ORGANISATION)
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
        sock = smtpserver.bind(
            self.host,
            self.port,
            invalid=lambda reason: InboxError(
                f"The development inbox cannot listen on {self.host}:{self.port}: {reason}. "
                "Choose another address with the POSTROOM_INBOX_HOST and POSTROOM_INBOX_PORT "
                "settings or the --host and --port options."
            ),
            in_use=lambda: InboxPortInUse(self.host, self.port),
        )
        self.port = sock.getsockname()[1]
        controller = smtpserver.LimitedController(
            CatchAllHandler(self.limits, self.spool_dir),
            sock,
            protocol=smtpserver.LimitedSMTP,
            name=NAME,
            limits=self.limits,
            spool_dir=self.spool_dir,
            ready_timeout=START_TIMEOUT,
            server_hostname="postroom-inbox",
            ident="Postroom development inbox",
            tls_context=tls_context,
            authenticator=accept_any_login,
            auth_require_tls=False,
        )
        controller.start_serving()
        self._controller = controller

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
