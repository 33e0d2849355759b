"""The SMTP relay: applications hand Postroom their mail; it answers 250 once the message is
committed to the outbox, and the worker delivers it like any other.

- Login: AUTH PLAIN or LOGIN with an application's user name and secret, offered only after
  TLS (STARTTLS on the relay port, or implicit TLS on its TLS port). A loopback client needs no
  login when an application is marked "trusted network, no login".
- Senders: the envelope sender and the From header must be ones the application may use, or
  ``550 5.7.1``.
- Limits: each named below, as Postfix names its own; connections and DATA are handled by
  :mod:`postroom.core.smtpserver`, like the development catcher's.
- Durability: :mod:`postroom.relay.store` commits (synced to disk) before the 250; if the
  database cannot take the message, the answer is ``451`` and the client keeps it.
"""

from __future__ import annotations

import asyncio
import email.utils
import ipaddress
import logging
import re
import ssl
from datetime import timedelta
from email.message import Message
from pathlib import Path
from typing import IO, Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session, TLSSetupException
from django.db import connection

from postroom.applications.models import PROVIDER_HEADERS
from postroom.core import ratelimit, smtpserver
from postroom.core.smtpserver import clip
from postroom.delivery.enqueue import parse_head

logger = logging.getLogger(__name__)

NAME = "The relay"  # starts its log lines
HOSTNAME = "postroom-relay"
# Open connections, all clients together; more are answered 421 (default_process_limit 100).
CONNECTION_LIMIT = 100
# Open connections from one client address; more are answered 421
# (smtpd_client_connection_count_limit 50). A site's mail library opens one or a few.
CLIENT_CONNECTION_LIMIT = 20
SESSION_TIMEOUT = 600.0  # seconds a connection may last in all; then 421
READ_TIMEOUT = 60.0  # seconds for each command or read inside DATA; then 421 (smtpd_timeout)
STORE_TIMEOUT = 120.0  # seconds a client waits for the commit of its message
MIN_DATA_RATE = 500  # bytes a second inside DATA after the first READ_TIMEOUT (smtpd_min_data_rate)
MESSAGE_SIZE_LIMIT = 25 * 1024 * 1024  # announced as SIZE; 552 beyond (message_size_limit)
HEADER_SIZE_LIMIT = 100 * 1024  # bytes before the first blank line; 552 beyond
LINE_LENGTH_LIMIT = 1024 * 1024  # bytes a line; 500 beyond (applications send unwrapped HTML)
RECIPIENT_LIMIT = 1000  # RCPT TO per message; 452 beyond (smtpd_recipient_limit)
JUNK_COMMAND_LIMIT = 100  # NOOP, RSET, VRFY, EXPN, HELP each per connection; then 421
# Failed logins from one client address in FAILED_LOGIN_WINDOW; beyond, 421 and closed
# before any password is checked (Postfix leaves this to fail2ban or anvil's auth rate).
FAILED_LOGIN_LIMIT = 10
FAILED_LOGIN_WINDOW = timedelta(minutes=15)
FAILED_LOGIN_SCOPE = "relay-login"
SECRET_SHAPE = re.compile(r"pr_[0-9a-f]{12}_")
SENDERS_REMEMBERED = 100  # senders' answers a session keeps, so a long one cannot hoard memory


def limits(**changes: Any) -> smtpserver.Limits:
    """The relay's limits: the constants above, with ``changes`` (tests shorten them)."""
    values: dict[str, Any] = {
        "connections": CONNECTION_LIMIT,
        "connections_per_client": CLIENT_CONNECTION_LIMIT,
        "session_timeout": SESSION_TIMEOUT,
        "read_timeout": READ_TIMEOUT,
        "store_timeout": STORE_TIMEOUT,
        "min_data_rate": MIN_DATA_RATE,
        "message_size": MESSAGE_SIZE_LIMIT,
        "header_size": HEADER_SIZE_LIMIT,
        "line_length": LINE_LENGTH_LIMIT,
        "recipients": RECIPIENT_LIMIT,
        "junk_commands": JUNK_COMMAND_LIMIT,
    }
    return smtpserver.Limits(**{**values, **changes})


def is_loopback(client: str | None) -> bool:
    try:
        address = ipaddress.ip_address((client or "").split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_loopback


def check_login(client: str, username: str, secret: str) -> Any:
    """The application these credentials name, or the reply that refuses them (a str).

    Failed logins are counted per client address; past the limit, no secret is checked.
    """
    from postroom.applications.credentials import authenticate

    counted = ratelimit.peek(FAILED_LOGIN_SCOPE, client)
    if counted is not None and counted.count >= FAILED_LOGIN_LIMIT:
        return (
            f"421 4.7.0 {HOSTNAME} Too many failed logins from {client}: try again in "
            f"{counted.seconds_left()} s"
        )
    application = authenticate(username, secret)
    if application is None:
        ratelimit.hit(FAILED_LOGIN_SCOPE, client, FAILED_LOGIN_WINDOW)
        logger.info("The relay refused a login from %s as %s", client, shown_username(username))
        return (
            "535 5.7.8 Authentication credentials invalid: use the application's user name "
            "and its current secret"
        )
    if not application.allows_client(client):
        return (
            f"535 5.7.1 The application {clip(application.name, 100)} may not connect from "
            f"{client}: add this address to its client networks"
        )
    return application


def check_rate(application: Any) -> str | None:
    """``452`` once the application has sent its messages for this minute, else None.

    The limit is the application's one, counted together with its HTTP API messages.
    """
    from postroom.applications.ratelimits import seconds_until_allowed

    wait = seconds_until_allowed(application)
    if wait is None:
        return None
    return (
        f"452 4.7.1 The application {clip(application.name, 100)} may send "
        f"{application.rate_limit_per_minute} messages a minute: try again in {wait} s"
    )


def still_allowed(client: str, login: tuple[str, str] | None) -> Any:
    """The session's application as it is now, or a refusal: an application disabled, or a
    secret whose grace ran out, stops sending at the next message, not when the session ends."""
    from postroom.applications.credentials import authenticate, trusted_application_for

    application = trusted_application_for(client) if login is None else authenticate(*login)
    if application is None:
        return (
            "421 4.7.0 The application was disabled or its secret replaced since this session "
            "logged in: connect again with a current secret"
        )
    return application


def recheck(client: str, login: tuple[str, str] | None, known: tuple | None) -> tuple:
    """``(rows, still_allowed(client, login))``, where ``rows`` are what the answer is read
    from (see :func:`~postroom.applications.credentials.answer_rows`). ``known`` is the
    previous message's pair: while its rows are unchanged, so is its answer, which is then
    given again without being worked out anew (the rows cost one plain query; the answer, ORM
    queries many times as costly)."""
    from postroom.applications.credentials import answer_rows

    rows = answer_rows(client, login)
    if rows is not None and known is not None and known[0] == rows:
        return known
    return rows, still_allowed(client, login)


def read_headers(content: IO[bytes], header_limit: int) -> Message:
    """The message's parsed header block: only its first ``header_limit`` bytes and the blank
    line after them are read (a longer header block was refused while it arrived)."""
    content.seek(0)
    return parse_head(content.read(header_limit + 4))


def header_problem(server: Any, headers: Message) -> str | None:
    """A refusal for the message's headers, or None: every From and Sender must be a sender
    the application may use (exactly one From), and the headers through which a provider adds
    recipients or echoes events (``X-SMTPAPI``, ``X-Postroom-Id``, ...) are Postroom's own."""
    authors = headers.get_all("From") or []
    if len(authors) > 1:
        return f"550 5.7.1 The message has {len(authors)} From headers: send exactly one"
    for name in ("From", "Sender"):
        for value in headers.get_all(name) or []:
            if not server.may_send_as(str(value)):
                return refuse_sender(server.application, str(value), f"{name} header")
    for name in headers.keys():  # noqa: SIM118 (a Message: keys() lists repeated headers)
        if name.strip().lower() in PROVIDER_HEADERS:
            return (
                f"550 5.7.1 The header {clip(name, 60)} is set by Postroom for its provider: "
                "remove it from the message"
            )
    return None


def shown_username(username: str) -> str:
    """The user name for the log, unless it looks like a secret (a client that swapped the two)."""
    return "<a secret>" if SECRET_SHAPE.match(username) else clip(username, 100)


def refuse_sender(application: Any, address: str, where: str) -> str:
    return (
        f"550 5.7.1 The application {clip(application.name, 100)} may not send as "
        f"<{clip(address, 200)}> ({where}): add the address or its domain to its senders"
    )


def _closing_connection(function: Any, *args: Any) -> Any:
    """``function(*args)`` in a pool thread, whose database connection is closed after it:
    the pool's threads outlive any one client, and a login is rare enough to connect anew."""
    try:
        return function(*args)
    finally:
        connection.close()


class RelaySMTP(smtpserver.LimitedSMTP):
    """One client: its application (by login or trusted loopback), then its messages."""

    def __init__(self, handler: Any, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.application: Any = None
        self._looked_for_trusted = False
        self._offered: LoginPassword | None = None
        # Kept in memory for this session only: each message re-checks the application.
        self.login: tuple[str, str] | None = None
        self._senders: dict[str, bool] = {}  # may_send_from's answers for this session
        self._rechecked: tuple | None = None  # the last message's recheck()

    def may_send_as(self, address: str) -> bool:
        """Whether the session's application may use ``address``; a client sends as the same
        few addresses message after message, so each is looked at once per session."""
        allowed = self._senders.get(address)
        if allowed is None:
            allowed = self.application.may_send_from(address)
            if len(self._senders) < SENDERS_REMEMBERED:
                self._senders[address] = allowed
        return allowed

    async def _in_thread(self, function: Any, *args: Any) -> Any:
        return await self.loop.run_in_executor(None, _closing_connection, function, *args)

    async def _looked_up(self, function: Any, *args: Any) -> Any:
        """``function(*args)``, a read made for every message, in the relay's lookup thread."""
        return await self.event_handler.lookups.run(function, *args)

    async def check_auth_needed(self, caller_method: str) -> bool:
        if self.application is not None:
            return False
        if not self._looked_for_trusted and is_loopback(self.client):
            from postroom.applications.credentials import trusted_application_for

            # Marked as looked for only once answered: after a failed read (a 451), the client
            # may try again on this connection and must not be asked to log in instead.
            self.application = await self._looked_up(trusted_application_for, self.client)
            self._looked_for_trusted = True
            if self.application is not None:
                return False
        await self.push(
            "530 5.7.0 Authentication required: log in with the application's user name and "
            "secret (AUTH PLAIN or LOGIN, after STARTTLS)"
        )
        return True

    def _authenticate(self, mechanism: str, auth_data: Any) -> AuthResult:
        # aiosmtpd checks credentials synchronously, on the event loop; the check reads the
        # database, so the credentials are kept here and checked in a thread below.
        self._offered = auth_data
        return AuthResult(success=False, handled=True)

    async def auth_PLAIN(self, _: Any, args: list[str]) -> AuthResult:
        return await self._checked(await super().auth_PLAIN(_, args))

    async def auth_LOGIN(self, _: Any, args: list[str]) -> AuthResult:
        return await self._checked(await super().auth_LOGIN(_, args))

    async def _checked(self, result: AuthResult) -> AuthResult:
        offered, self._offered = self._offered, None
        if offered is None:  # the client's answer could not be decoded; it was told why
            return result
        username = offered.login.decode("utf-8", "replace")
        secret = offered.password.decode("utf-8", "replace")
        outcome = await self._in_thread(check_login, self.client, username, secret)
        if isinstance(outcome, str):
            if outcome.startswith("421"):
                self._close_with(outcome, "a guessing")
                return AuthResult(success=False, handled=True)
            return AuthResult(success=False, handled=False, message=outcome)
        self.application, self.login = outcome, (username, secret)
        self._senders.clear()  # they were the answers for another application
        self._rechecked = None
        logger.info("The relay logged in %s as %s", self.client, clip(outcome.username, 100))
        return AuthResult(success=True, auth_data=outcome.username)


class RelayHandler:
    """aiosmtpd handler: checks each envelope against the session's application, then hands
    the message to the committer and answers once it is committed."""

    def __init__(self, committer: Any, limits: smtpserver.Limits, lookups: Any) -> None:
        self.committer = committer
        self.limits = limits
        self.lookups = lookups

    async def handle_MAIL(
        self, server: RelaySMTP, session: Session, envelope: Envelope, address: str, options: list
    ) -> str:
        server._rechecked = await server._looked_up(
            recheck, server.client, server.login, server._rechecked
        )
        current = server._rechecked[1]
        if isinstance(current, str):
            server._close_with(current, "a revoked application")
            return current
        if current.allowed_senders != server.application.allowed_senders:
            server._senders.clear()  # its senders were changed meanwhile
        application = server.application = current
        if not server.may_send_as(address):
            return refuse_sender(application, address, "MAIL FROM")
        if application.rate_limit_per_minute:  # counted in the database: in a thread
            late = await server._in_thread(check_rate, application)
            if late is not None:
                return late
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 Sender OK"

    async def handle_exception(self, error: Exception) -> str:
        """A failure inside a command (the database gone, a check that timed out) is the
        relay's, not the client's: a 4xx asks it to try again later, where aiosmtpd's own 500
        would make it give up and would show it the error's text."""
        if isinstance(error, TLSSetupException):  # a client's failed handshake: nothing to send
            logger.info("A client's TLS handshake with the relay failed: %s", error.__cause__)
            return "421 4.7.0 TLS handshake failed"
        logger.error(
            "The relay could not finish a command: %s", type(error).__name__, exc_info=error
        )
        return "451 4.3.0 Temporary failure on the relay's side: try again later"

    async def handle_RCPT(
        self, server: RelaySMTP, session: Session, envelope: Envelope, address: str, options: list
    ) -> str:
        if len(envelope.rcpt_tos) >= self.limits.recipients:
            return f"452 4.5.3 Too many recipients: the limit is {self.limits.recipients}"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 2.1.5 Recipient OK"

    async def handle_DATA(self, server: RelaySMTP, session: Session, envelope: Envelope) -> str:
        from postroom.relay.store import Incoming

        content: IO[bytes] = envelope.content_file  # type: ignore[attr-defined]
        size = content.tell()
        application = server.application
        headers = read_headers(content, self.limits.header_size)
        refused = header_problem(server, headers)
        if refused is not None:
            return refused
        message = Incoming(
            received=received_line(server, session),
            content=content,
            size=size,
            sender=envelope.mail_from or "",
            recipients=list(envelope.rcpt_tos),
            application=application,
            headers=headers,
            waiter=server.loop.create_future(),
        )
        committed = message.waiter
        self.committer.submit(message)
        try:
            pk = await asyncio.shield(committed)
        except asyncio.CancelledError:
            await asyncio.wait([committed])  # the spool file stays open until it is written
            raise
        except Exception:
            return (
                "451 4.3.0 The message could not be stored: the database did not take it. "
                "Try again later"
            )
        if logger.isEnabledFor(logging.INFO):  # hundreds a second: skip the formatting
            logger.info(
                "The relay queued message %s (%s bytes) for %s from <%s> to %s recipient(s)",
                pk,
                f"{size:,}",
                clip(application.name, 100),
                clip(envelope.mail_from or ""),
                len(envelope.rcpt_tos),
            )
        return f"250 2.0.0 Ok: queued as {pk}"


class ImplicitTlsRelaySMTP(RelaySMTP):
    """A client of the TLS port: the connection is encrypted from its first byte."""

    implicit_tls = True


def received_line(server: SMTP, session: Session) -> bytes:
    """The Received: header the relay adds, as Postfix writes it (RFC 5321 section 4.4)."""
    tls = session.ssl is not None or getattr(server, "implicit_tls", False)
    protocol = "ESMTP" if session.extended_smtp else "SMTP"
    protocol += ("S" if tls else "") + ("A" if session.authenticated else "")
    helo = clip(str(session.host_name or "unknown"), 100).replace("\r", "").replace("\n", "")
    when = email.utils.formatdate(localtime=False)
    client = server.client if isinstance(server, RelaySMTP) else "unknown"  # type: ignore[attr-defined]
    line = (
        f"Received: from {helo} ([{client}])\r\n\tby {HOSTNAME} (Postroom relay) with {protocol};"
    )
    return f"{line}\r\n\t{when}\r\n".encode("ascii", "replace")


def server_tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context
