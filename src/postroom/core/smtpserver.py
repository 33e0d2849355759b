"""What Postroom's SMTP servers (the development catcher, the relay) share: limits on every
resource a client can spend, and the reading of DATA into a spooled file.

- :class:`LimitedSMTP`, an aiosmtpd protocol: a client over its address's connection limit gets
  421; every connection ends after ``session_timeout``; every read waits at most
  ``read_timeout``; DATA must average ``min_data_rate`` bytes a second and is read by
  :class:`postroom.core.smtpdata.DataDecoder` (message, header and line limits).
- :class:`LimitedController`: serves on a socket bound beforehand (:func:`bind`) and answers
  421 to clients beyond the connection limit.

What happens to a message is the handler's business (``handle_DATA`` finds its bytes in
``envelope.content_file``); each server names itself in its log lines and replies.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import logging
import socket
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, syntax

from postroom.core import plainaddress
from postroom.core.smtpdata import DataDecoder

logger = logging.getLogger(__name__)

# A message in transit is kept in memory up to this size, then spooled to a private file.
SPOOL_MEMORY_LIMIT = 512 * 1024
READ_CHUNK = 64 * 1024
LOGGED_FIELD_LENGTH = 200
START_TIMEOUT = 10.0


@dataclasses.dataclass(frozen=True)
class Limits:
    """The limits every server has; each server gives its own values (see its constants)."""

    connections: int = 100
    connections_per_client: int = 20
    session_timeout: float = 600.0
    read_timeout: float = 60.0
    store_timeout: float = 600.0
    min_data_rate: int = 500
    message_size: int = 25 * 1024 * 1024
    header_size: int = 100 * 1024
    line_length: int = 1024 * 1024
    recipients: int = 1000
    junk_commands: int = 100


def clip(text: str, length: int = LOGGED_FIELD_LENGTH) -> str:
    """``text`` cut to ``length`` characters for a log line, saying how much was cut."""
    if len(text) <= length:
        return text
    return f"{text[:length]}... ({len(text) - length:,} more characters)"


class LimitedSMTP(SMTP):
    """aiosmtpd's SMTP with Postroom's limits. ``name`` starts log lines ("The relay").

    aiosmtpd's own DATA keeps the message as a list of lines in memory, counts a bare-LF
    message as one line, and leaves its timer running from the DATA command on, so a large
    message is cut off after one timeout however steadily it arrives; this one reads DATA in
    chunks, spooled to disk, with a timeout on every read.
    """

    # The stream buffer for command lines; DATA is read in chunks and needs none of it.
    line_length_limit = 64 * 1024

    def __init__(
        self,
        handler: Any,
        *,
        name: str,
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
        self.name = name
        self.limits = limits
        self.spool_dir = spool_dir
        self._admit = admit
        self._on_close: Callable[[str | None], None] | None = on_close
        self.client: str | None = None  # the address admitted, counted until closed
        self._refused = False
        self._session_handle: asyncio.TimerHandle | None = None
        self._session_over = False
        self._storing = False
        self._deadline = 0.0  # when the client has been silent too long (loop time)
        self._timer_at: float | None = None  # when the pending timer fires; None: none pending

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
        self.client = client
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
                on_close(self.client)

    def _session_timeout_cb(self) -> None:
        self._session_over = True
        if not self._storing:  # else once the message's reply is sent, so it is not resent
            self._close_for_session()

    def _close_for_session(self) -> None:
        self._close_with(
            f"421 4.4.2 {self.hostname} Error: session time limit exceeded, reconnect to go on",
            "a long",
        )

    def _reset_timeout(self, duration: float | None = None) -> None:
        """As aiosmtpd's, which makes a new timer for every command: here the deadline moves,
        and the one timer, when it fires, waits again for whatever is left."""
        self._deadline = self.loop.time() + (duration or self._timeout_duration)
        if self._timer_at is None or self._timer_at > self._deadline:
            if self._timeout_handle is not None:
                self._timeout_handle.cancel()
            self._set_timer()

    def _set_timer(self) -> None:
        self._timer_at = self._deadline
        self._timeout_handle = self.loop.call_at(self._deadline, self._timer_fired)

    def _timer_fired(self) -> None:
        self._timer_at = None
        if self.loop.time() < self._deadline:  # moved meanwhile
            self._set_timer()
        else:
            self._timeout_cb()

    def _timeout_cb(self) -> None:
        """Say why before closing (Postfix: 421 4.4.2 Error: timeout exceeded)."""
        self._close_with(f"421 4.4.2 {self.hostname} Error: timeout exceeded", "an idle")

    def _close_with(self, reply: str, which: str) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        logger.info("%s closed %s connection from %s", self.name, which, self.session.peer)
        transport.write(f"{reply}\r\n".encode())
        if transport.get_write_buffer_size():
            transport.abort()  # the client reads nothing: do not wait for it to
        else:
            transport.close()

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        """The address and the rest of a MAIL FROM or RCPT TO argument, as aiosmtpd's own
        parser finds them; a plain path is read with one regular expression instead, since
        that parser costs more than all the rest of the command (a test checks they agree)."""
        # Nearly every client sends <a plain address>; anything else (quoted local parts,
        # address literals, comments, source routes) goes to aiosmtpd's parser.
        plain = plainaddress.PLAIN_PATH.match(arg) if arg else None
        if plain is None or (self.local_part_limit and len(plain[1]) > self.local_part_limit):
            return super()._getaddr(arg)
        rest = arg[plain.end() :].lstrip(" \t")  # the parser skips white space after ">"
        if rest.startswith("("):  # and a comment, which only it can read
            return super()._getaddr(arg)
        return plain[0][1:-1], rest

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        """As aiosmtpd's, but the bytes are read by :mod:`postroom.core.smtpdata` into a file
        spooled in ``spool_dir``, within the limits."""
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
            try:
                while rest is None:
                    chunk = await self._reader.read(READ_CHUNK)
                    if not chunk:
                        return  # the client went away; nothing is stored
                    self._reset_timeout()
                    received += len(chunk)
                    allowed = self.limits.read_timeout + received / self.limits.min_data_rate
                    if self.loop.time() - started > allowed:
                        self._close_with(
                            f"421 4.4.2 {self.hostname} Error: data too slow", "a slow"
                        )
                        return
                    message, rest = decoder.feed(chunk)
                    content.write(message)
            except Exception:
                # A full spool disk, say. The rest of the body must not be read as commands,
                # so the connection ends here; the client keeps its message and tries again.
                logger.exception(
                    "%s could not take a message from %s", self.name, self.session.peer
                )
                self._close_with(
                    f"421 4.3.0 {self.hostname} Error: could not take the message, try again later",
                    "a failed",
                )
                return
            # Commands the client pipelined after the final "." are read as commands again.
            self._reader._buffer[:0] = rest  # type: ignore[attr-defined]
            if decoder.problem is not None:
                peer = self.session.peer
                logger.info("%s refused a message from %s: %s", self.name, peer, decoder.reply())
                self._set_post_data_state()
                await self.push(decoder.reply())
                return
            self.envelope.content_file = content  # type: ignore[attr-defined]
            self._reset_timeout(self.limits.store_timeout)
            self._storing = True
            try:
                status = await self._call_handler_hook("DATA")
            except Exception:
                self._set_post_data_state()  # the transaction ends, failed or not (RFC 5321)
                raise
            finally:
                self._storing = False
        self._set_post_data_state()
        self._reset_timeout()
        await self.push(status)
        if self._session_over:
            self._close_for_session()


class Refusal(asyncio.Protocol):
    """Answers a connection over the limit with 421 and closes it."""

    def __init__(self, reply: bytes) -> None:
        self.reply = reply

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        transport.write(self.reply)
        transport.close()


class LimitedController(Controller):
    """Serves ``protocol`` on a socket bound beforehand, so a busy port fails fast and clearly.

    It also counts open connections: past the limit, a client gets 421 and is closed at once,
    so idle clients cannot take every file descriptor the process has.
    """

    def __init__(
        self,
        handler: Any,
        sock: socket.socket,
        *,
        protocol: type[LimitedSMTP],
        name: str,
        limits: Limits,
        spool_dir: Path,
        **kwargs: Any,
    ) -> None:
        host, port = sock.getsockname()[:2]
        # The start-up self-test connects to this address: use loopback for a wildcard.
        host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)  # noqa: S104
        super().__init__(handler, hostname=host, port=port, **kwargs)
        self._sock = sock
        self.protocol = protocol
        self.name = name
        self.limits = limits
        self.spool_dir = spool_dir
        # Touched only on the event loop's thread.
        self.open_connections = 0
        self.client_connections: dict[str, int] = {}
        self._refusing = False
        self._refusing_clients: set[str] = set()

    def factory(self) -> SMTP | Refusal:  # type: ignore[override]
        if self.open_connections >= self.limits.connections:
            if not self._refusing:  # one log line per busy spell, not one per client
                self._refusing = True
                logger.warning(
                    "%s has %s connections open, its limit: further clients are answered 421 "
                    "until some close",
                    self.name,
                    self.open_connections,
                )
            hostname = self.SMTP_kwargs.get("hostname", "")
            return Refusal(
                f"421 4.7.0 {hostname} Too many connections, try again later\r\n".encode()
            )
        self.open_connections += 1
        return self.protocol(
            self.handler,
            name=self.name,
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
                    "%s has %s connections open from %s, its limit for one client: further "
                    "ones from there are answered 421 until some close",
                    self.name,
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
        return self.loop.create_server(self._factory_invoker, sock=self._sock, ssl=self.ssl_context)

    def start_serving(self) -> None:
        """Start the event loop's thread; once it returns, the self-test connection is gone."""
        try:
            self.start()
        except BaseException:
            self.stop(no_assert=True)
            self._sock.close()
            if not self.loop.is_running() and not self.loop.is_closed():
                self.loop.close()
            raise
        # aiosmtpd's start-up self-test connection counts until its close is seen.
        deadline = time.monotonic() + START_TIMEOUT
        while self.open_connections and time.monotonic() < deadline:
            time.sleep(0.01)

    @property
    def alive(self) -> bool:
        """Whether it still serves: False once its event loop's thread has ended."""
        thread = getattr(self, "_thread", None)
        return thread is not None and thread.is_alive()


def bind(
    host: str,
    port: int,
    *,
    invalid: Callable[[str], Exception],
    in_use: Callable[[], Exception],
) -> socket.socket:
    """A listening, non-blocking socket on ``host:port``.

    ``invalid(reason)`` and ``in_use()`` make the errors raised, in the server's own words.
    """
    try:
        infos = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except (socket.gaierror, UnicodeError) as error:
        raise invalid(str(error)) from error
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
            raise in_use() from error
        raise invalid(str(error.strerror or error)) from error
    sock.setblocking(False)
    return sock
