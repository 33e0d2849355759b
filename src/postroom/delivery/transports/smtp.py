"""SMTP over smtplib: one connection per batch, TLS verified by default, failures classified."""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
from collections.abc import Callable
from typing import NoReturn

from postroom.mailsettings.model import (
    AUTO,
    NONE,
    SECURE_SOCKET_OPTIONS,
    SSL_ON_CONNECT,
    START_TLS,
    START_TLS_WHEN_AVAILABLE,
    Secret,
    SmtpSettings,
)

from .base import DeliveryError, OutgoingMessage, SendResult, Transport
from .lines import to_crlf
from .smtperrors import (
    Endpoint,
    ca_file_error,
    classify,
    format_reply,
    is_timeout,
    reply_error,
    secret_scrubber,
)

DEFAULT_TIMEOUT = 30.0
IMPLICIT_TLS_PORT = 465
PIPELINE_MAX = 100  # recipients in one pipelined envelope: about 5 KB on the wire


class SmtpTransport(Transport):
    """Sends through an SMTP server. ``open()`` connects, ``send()`` runs one transaction."""

    def __init__(
        self,
        host: str,
        port: int = 25,
        security: str = AUTO,
        username: str | None = None,
        password: Secret | None = None,
        client_domain: str | None = None,
        ca_file: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        require_smtputf8: bool = False,
    ) -> None:
        if security not in SECURE_SOCKET_OPTIONS:
            raise ValueError(f"security must be one of {', '.join(SECURE_SOCKET_OPTIONS)}")
        if isinstance(password, str):
            password = Secret(password)
        self.host = host
        self.port = int(port)
        self.security = security
        self.username = username
        self.password = password
        self.client_domain = client_domain
        self.ca_file = ca_file
        self.timeout = float(timeout)
        self.require_smtputf8 = require_smtputf8
        secret = password.reveal() if password else ""
        self._scrub = secret_scrubber(secret, username or "")
        self._where = Endpoint(host, self.port, self.timeout, ca_file, self._scrub)
        self._client: smtplib.SMTP | None = None
        self.description = self._describe()

    @classmethod
    def from_settings(cls, settings: SmtpSettings) -> SmtpTransport:
        security = settings.secure_socket_options.value or AUTO
        port = settings.port.value or (IMPLICIT_TLS_PORT if security == SSL_ON_CONNECT else 25)
        timeout = settings.timeout.value
        return cls(
            host=settings.host.value or "",
            port=int(port),
            security=security,
            username=settings.username.value or None,
            password=settings.password.value or None,
            client_domain=settings.client_domain.value or None,
            ca_file=settings.ca_file.value or None,
            timeout=float(timeout) if timeout else DEFAULT_TIMEOUT,
        )

    @property
    def implicit_tls(self) -> bool:
        return self.security == SSL_ON_CONNECT or (
            self.security == AUTO and self.port == IMPLICIT_TLS_PORT
        )

    def _describe(self) -> str:
        where = f"{self.host}:{self.port}"
        if self.implicit_tls:
            return f"{where} via implicit TLS"
        if self.security == START_TLS:
            return f"{where} via STARTTLS"
        if self.security == NONE:
            return f"{where} without TLS"
        return f"{where} (STARTTLS when offered)"

    def __repr__(self) -> str:
        return f"<SmtpTransport {self.description}>"

    # -- connection ---------------------------------------------------------------------------

    def open(self) -> None:
        if self._client is None:
            self._client = self._connect()

    def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            pass
        finally:
            client.close()

    def _connect(self) -> smtplib.SMTP:
        if not self.host:
            raise DeliveryError(
                "No SMTP host is set. Set Umbraco:CMS:Global:Smtp:Host to your mail server's name.",
                step="connect",
                transient=False,
            )
        step = "connect"
        client: smtplib.SMTP | None = None
        sock: socket.socket | None = None
        try:
            # Connecting by hand (not smtplib.connect) tells "connect" apart from "banner".
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
            if self.implicit_tls:
                step = "tls"
                sock = self._tls_context().wrap_socket(sock, server_hostname=self.host)
            client = smtplib.SMTP(local_hostname=self.client_domain, timeout=self.timeout)
            client.set_debuglevel(0)  # debug output would print the AUTH exchange
            client.sock = sock
            client._host = self.host  # starttls() takes SNI and the name to verify from here
            step = "banner"
            code, text = client.getreply()
            if code != 220:
                raise reply_error("banner", code, text, self._where)
            step = "ehlo"
            client.ehlo_or_helo_if_needed()
            if self._wants_starttls(client):
                step = "tls"
                client.starttls(context=self._tls_context())
                step = "ehlo"
                client.ehlo_or_helo_if_needed()
            if self.username and self.password:
                step = "auth"
                self._login(client)
            return client
        except BaseException as exc:
            if client is not None:
                client.close()
            elif sock is not None:
                sock.close()
            self._raise(exc, step)

    def _tls_context(self) -> ssl.SSLContext:
        return client_tls_context(self.ca_file)

    def _wants_starttls(self, client: smtplib.SMTP) -> bool:
        if self.implicit_tls or self.security == NONE:
            return False
        offered = client.has_extn("starttls")
        if self.security == START_TLS and not offered:
            raise DeliveryError(
                f"{self._where} does not offer STARTTLS, but SecureSocketOptions "
                "is StartTls. Use SslOnConnect if the port expects implicit TLS (usually 465), "
                "or ask the server's administrator to enable STARTTLS.",
                step="tls",
                transient=False,
            )
        return offered and self.security in (START_TLS, START_TLS_WHEN_AVAILABLE, AUTO)

    def _login(self, client: smtplib.SMTP) -> None:
        assert self.username and self.password
        if not client.has_extn("auth"):
            encrypted = isinstance(client.sock, ssl.SSLSocket)
            hint = (
                "Remove Username and Password from the SMTP settings if this server needs no login."
                if encrypted
                else "Many servers only offer AUTH after TLS: use StartTls or SslOnConnect."
            )
            raise DeliveryError(
                f"{self._where} offers no authentication (AUTH), but a username and "
                f"password are set. {hint}",
                step="auth",
                transient=False,
            )
        try:
            client.login(self.username, self.password.reveal())
        except smtplib.SMTPResponseException:
            raise
        except smtplib.SMTPException as exc:  # "No suitable authentication method found."
            offered = client.esmtp_features.get("auth", "").strip()
            raise DeliveryError(
                f"{self._where} offers only AUTH {offered}, none of which Postroom supports "
                "(CRAM-MD5, PLAIN, LOGIN). Ask the server's administrator to enable one.",
                step="auth",
                transient=False,
            ) from exc

    # -- sending ------------------------------------------------------------------------------

    def send(
        self, message: OutgoingMessage, before_content: Callable[[], None] | None = None
    ) -> SendResult:
        self.open()
        return self._transaction(message, before_content, may_reconnect=True)

    def _transaction(
        self,
        message: OutgoingMessage,
        before_content: Callable[[], None] | None,
        *,
        may_reconnect: bool,
    ) -> SendResult:
        client = self._client
        assert client is not None
        step = "mail"
        try:
            raw = to_crlf(message.raw)
            client.command_encoding = "ascii"
            options = self._mail_options(client, message, raw)
            if "SMTPUTF8" in options:
                client.command_encoding = "utf-8"
            # RFC 2920: the whole envelope in one write, then the replies. A huge envelope goes
            # command by command: a blocking client must not overrun the server's TCP window.
            pipelined = client.has_extn("pipelining") and len(message.recipients) <= PIPELINE_MAX
            envelope = [_command("MAIL FROM:", message.sender, options)]
            envelope += [_command("RCPT TO:", rcpt) for rcpt in message.recipients]
            envelope.append("DATA\r\n")
            if pipelined:
                client.send("".join(envelope))
            replies = _Replies(client, envelope, pipelined)
            code, text = replies.next()
            if code != 250:
                raise self._refused(replies, reply_error("mail", code, text, self._where))
            step = "rcpt"
            accepted: list[str] = []
            refused: dict[str, str] = {}
            for recipient in message.recipients:
                code, text = replies.next()
                if code in (250, 251):
                    accepted.append(recipient)
                elif code == 421:  # the server is closing the session
                    raise reply_error("rcpt", code, text, self._where)
                else:
                    refused[recipient] = format_reply(code, text, self._where)
            if not accepted:
                raise self._refused(replies, self._all_refused(refused))
            step = "data"
            code, text = replies.next()
            if code != 354:
                raise reply_error("data", code, text, self._where)
            if before_content is not None:
                before_content()
            client.send(_dot_stuffed(raw))
            code, text = client.getreply()
            if code != 250:
                raise reply_error("data", code, text, self._where)
            return SendResult(format_reply(code, text, self._where), tuple(accepted), refused)
        except smtplib.SMTPServerDisconnected as exc:
            self._discard()
            if step == "mail" and may_reconnect and not is_timeout(exc):
                # The server dropped the idle connection before this message: start afresh once.
                self.open()
                return self._transaction(message, before_content, may_reconnect=False)
            self._raise(exc, step)
        except BaseException as exc:
            self._after_failure(exc)
            self._raise(exc, step)

    def _mail_options(
        self, client: smtplib.SMTP, message: OutgoingMessage, raw: bytes
    ) -> list[str]:
        addresses = (message.sender, *message.recipients)
        non_ascii = [address for address in addresses if not address.isascii()]
        options = []
        if not raw.isascii() and client.has_extn("8bitmime"):
            options.append("BODY=8BITMIME")
        if non_ascii or self.require_smtputf8:
            if not client.has_extn("smtputf8"):
                why = (
                    f"the address {non_ascii[0]} contains non-ASCII characters"
                    if non_ascii
                    else "SMTPUTF8 is required for this transport"
                )
                raise DeliveryError(
                    f"Cannot send: {why}, which needs the SMTPUTF8 extension, but "
                    f"{self._where} does not offer it. Use an ASCII address (for a domain, "
                    "its xn-- form) or a server that supports SMTPUTF8.",
                    step="mail",
                    transient=False,
                )
            options.append("SMTPUTF8")
        elif not raw.partition(b"\r\n\r\n")[0].isascii() and client.has_extn("smtputf8"):
            options.append("SMTPUTF8")  # raw UTF-8 in headers (RFC 6532)
        return options

    def _refused(self, replies: _Replies, error: DeliveryError) -> DeliveryError:
        """``error``, once the connection is back in step for the next message (or dropped)."""
        if not replies.drain():
            self._discard()
        return error

    def _all_refused(self, refused: dict[str, str]) -> DeliveryError:
        replies = list(refused.values())
        transient = all(reply.startswith("4") for reply in replies)
        listed = "; ".join(f"{rcpt}: {reply}" for rcpt, reply in refused.items())
        hint = (
            "The server says this is temporary; trying again later may work."
            if transient
            else "Check the recipient addresses."
        )
        return DeliveryError(
            f"{self._where} refused every recipient ({listed}). {hint}",
            step="rcpt",
            transient=transient,
            reply=replies[0] if replies else None,
        )

    def _after_failure(self, exc: BaseException) -> None:
        """RSET so the connection can carry the next message, or drop it if that is unsafe."""
        client = self._client
        if client is None:
            return
        if isinstance(exc, smtplib.SMTPResponseException):
            answered, code = True, exc.smtp_code
        elif isinstance(exc, DeliveryError):
            answered, code = True, (exc.reply or "")[:3]
        else:
            answered, code = False, None
        if not answered or str(code) == "421":
            self._discard()  # I/O errors leave the session in an unknown state; 421 ends it
            return
        try:
            client.rset()
        except (smtplib.SMTPException, OSError):
            self._discard()

    def _discard(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    # -- errors -------------------------------------------------------------------------------

    def _raise(self, exc: BaseException, step: str) -> NoReturn:
        """Raise ``exc`` as a classified DeliveryError (or as is, if it is no delivery problem)."""
        if isinstance(exc, DeliveryError):
            raise exc
        error = classify(exc, step, self._where) if isinstance(exc, Exception) else None
        if error is None:
            raise exc
        if self._scrub(repr(exc.args)) != repr(exc.args):
            raise error from None  # the server echoed the password: keep it out of tracebacks
        raise error from exc


class _Replies:
    """Reads the envelope's replies in order: as they come (PIPELINING) or command by command."""

    def __init__(self, client: smtplib.SMTP, commands: list[str], pipelined: bool) -> None:
        self._client = client
        self._commands = iter(commands)
        self._pipelined = pipelined
        self._unread = len(commands)

    def next(self) -> tuple[int, bytes]:
        if not self._pipelined:
            self._client.send(next(self._commands))
        self._unread -= 1
        return self._client.getreply()

    def drain(self) -> bool:
        """Read the replies to commands already sent; False if the session cannot go on.

        With PIPELINING the commands after a refusal were sent anyway. A server that then
        answers DATA with 354 waits for a message we will not send, so the session is lost.
        """
        try:
            while self._pipelined and self._unread:
                code, _text = self.next()
                if code == 421 or (code == 354 and not self._unread):
                    return False
        except (smtplib.SMTPException, OSError):
            return False
        return True


def _command(verb: str, address: str, options: list[str] | tuple[str, ...] = ()) -> str:
    """``MAIL FROM:<a@b> BODY=8BITMIME``: envelope addresses are bare addr-specs by now."""
    line = f"{verb}<{address}>{''.join(' ' + option for option in options)}"
    if "\r" in line or "\n" in line:
        raise ValueError(f"An envelope address contains a line break: {address!r}")
    return line + "\r\n"


_LEADING_DOT = re.compile(rb"^\.", re.MULTILINE)


def _dot_stuffed(raw: bytes) -> bytes:
    """The message as DATA carries it: leading dots doubled, ended by a lone dot (RFC 5321)."""
    stuffed = _LEADING_DOT.sub(b"..", raw)
    if not stuffed.endswith(b"\r\n"):
        stuffed += b"\r\n"
    return stuffed + b".\r\n"


def client_tls_context(ca_file: str | None) -> ssl.SSLContext:
    """Verifying TLS context: the system's CAs, plus those in ``ca_file`` when it is set."""
    context = ssl.create_default_context()
    if ca_file:
        try:
            context.load_verify_locations(cafile=ca_file)
        except OSError as exc:  # ssl.SSLError too: the file is not PEM
            raise ca_file_error(exc, ca_file) from None
    return context
