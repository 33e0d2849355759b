"""One SMTP session, step by step: DNS, connect, TLS, greeting, EHLO, STARTTLS, AUTH, envelopes.

Rules every user of a session gets without asking:

- The opening has one deadline (``Server.timeout``, or the ``deadline`` given): each socket
  operation gets the time that is left, the name lookup runs in a thread that is abandoned at
  the deadline, and a watchdog shuts the socket down when the time is up, so a server that
  drips one byte at a time cannot stretch it.
- It stops at the first failed step. A session that failed refuses to go on; start a new one.
- Credentials never travel in clear unless the owner chose SecureSocketOptions None: with
  Auto or StartTlsWhenAvailable and a user name and password, a server without STARTTLS is a
  failure (an attacker on the path can strip STARTTLS from its answer).
- Every step is reported to ``on_step`` (the health probe shows them), scrubbed of the password.
"""

from __future__ import annotations

import contextlib
import ipaddress
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, NoReturn, TypeVar

from postroom.mailsettings.model import NONE, START_TLS, START_TLS_WHEN_AVAILABLE

from . import certificates, names, wording
from .envelope import Mail, Replies, envelope, envelope_ahead
from .server import Server
from .steps import FAILED, NOTE, OK, WARN, Step
from .wording import Endpoint, SmtpFailure, format_reply, is_timeout

__all__ = ["FAILED", "NOTE", "OK", "WARN", "Mail", "Sent", "Session", "Step"]

T = TypeVar("T")


class _Said(NamedTuple):
    outcome: str
    text: str
    fix: str = ""
    reply: str | None = None


@dataclass(frozen=True)
class Sent:
    """The server's final reply (``250 2.0.0 Ok: queued as 4F2``) and refused recipients."""

    reply: str
    accepted: tuple[str, ...] = ()
    refused: dict[str, str] = field(default_factory=dict)  # recipient -> "550 5.1.1 No such user"


class _AheadRefused(Exception):
    """The server refused, at MAIL, an envelope that went out behind the last content."""


class Session:
    """Talks to one SMTP server. ``open()`` runs the steps up to the login; ``send()`` carries
    one envelope over the open connection (opening it when needed); ``close()`` says QUIT."""

    def __init__(
        self,
        server: Server,
        *,
        on_step: Callable[[Step], None] | None = None,
        deadline: float | None = None,
    ) -> None:
        self.server = server
        self._on_step = on_step
        self._bound = float(deadline if deadline is not None else server.timeout)
        password = server.password.reveal() if server.password else ""
        self._scrub = wording.secret_scrubber(password, server.username or "")
        self.where = Endpoint(
            server.host, server.port, server.ca_file, self._scrub, server.timeout_setting
        )
        self._client: smtplib.SMTP | None = None
        self._sock: socket.socket | None = None
        self._address: Any = None
        self._encrypted = False
        self._failed: SmtpFailure | None = None
        self._deadline: float | None = None
        self._expired = threading.Event()
        self._pending: list[Step] = []
        # The next message's envelope, sent behind the last content; its replies not read yet.
        self._ahead: tuple[Mail, Replies] | None = None
        self._send_ahead = True  # until the server refuses an envelope that went ahead

    # -- state ----------------------------------------------------------------------------

    @property
    def failed(self) -> SmtpFailure | None:
        """The step that stopped this session, if one did."""
        return self._failed

    @property
    def is_open(self) -> bool:
        return self._client is not None

    @property
    def encrypted(self) -> bool:
        return self._encrypted

    # -- opening --------------------------------------------------------------------------

    def open(self) -> None:
        """Connect, secure, greet and log in; raises SmtpFailure at the first failed step."""
        self._refuse_if_failed()
        if self._client is not None:
            return
        self._deadline = time.monotonic() + self._bound
        self._expired.clear()
        watchdog = threading.Timer(self._bound, self._expire)
        watchdog.daemon = True
        watchdog.start()
        try:
            self._open_steps()
        except BaseException:
            self._discard()
            raise
        finally:
            watchdog.cancel()
            self._deadline = None
        assert self._client is not None and self._client.sock is not None
        self._client.sock.settimeout(self.server.timeout)  # from now on: per command

    def _open_steps(self) -> None:
        if not self.server.host:
            self._step("connect", self._no_host)
        infos = self._step("dns", self._dns)
        self._step("connect", lambda: self._connect(infos))
        if self.server.implicit_tls:
            self._step("tls", self._implicit_tls)
        self._step("banner", self._banner)
        self._step("ehlo", self._ehlo)
        if not self.server.implicit_tls and self._step("tls", self._starttls):
            self._step("ehlo", self._ehlo_again)
        self._step("auth", self._auth)

    def _refuse_if_failed(self) -> None:
        if self._failed is not None:
            raise RuntimeError(
                f"This SMTP session stopped at its failed step '{self._failed.step}';"
                " it never goes on after a failure. Start a new session."
            )

    def _step(self, name: str, action: Callable[[], tuple[T, _Said]]) -> T:
        """Run one step and report it; on failure, report it, remember it and raise."""
        self._refuse_if_failed()
        started = time.monotonic()
        self._pending = []
        try:
            value, said = action()
        except Exception as error:
            failure = self._classify(error, name)
            self._failed = failure
            self._emit(
                Step(
                    failure.shown_as, FAILED, failure.what, failure.fix, failure.reply, _ms(started)
                )
            )
            self._raise(failure, error)
        self._emit(Step(name, said.outcome, said.text, said.fix, said.reply, _ms(started)))
        for step in self._pending:
            self._emit(step)
        return value

    def _emit(self, step: Step) -> None:
        if self._on_step is not None:
            scrub = self._scrub
            self._on_step(
                Step(
                    step.name,
                    step.outcome,
                    scrub(step.text),
                    scrub(step.fix),
                    scrub(step.reply) if step.reply else step.reply,
                    step.elapsed_ms,
                )
            )

    # -- the steps ------------------------------------------------------------------------

    def _no_host(self) -> NoReturn:
        raise wording.no_host()

    def _dns(self) -> tuple[list[Any], _Said]:
        host, port = self.server.host, self.server.port
        if _is_ip(host):
            infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
            return infos, _Said(OK, f"{host} is an IP address: no lookup needed.")
        infos = names.getaddrinfo(host, port, self._left())
        addresses = list(dict.fromkeys(info[4][0] for info in infos))
        shown = ", ".join(addresses[:4]) + (" …" if len(addresses) > 4 else "")
        return infos, _Said(OK, f"{host} resolves to {shown}.")

    def _connect(self, infos: list[Any]) -> tuple[None, _Said]:
        error: OSError | None = None
        for family, kind, proto, _name, address in infos:
            sock = socket.socket(family, kind, proto)
            self._sock = sock
            try:
                sock.settimeout(self._left())
                sock.connect(address)
            except OSError as failed:
                sock.close()
                self._sock = None
                error = failed
                if self._out_of_time():
                    break
                continue
            self._address = address
            shown = f"[{address[0]}]" if family == socket.AF_INET6 else address[0]
            return None, _Said(OK, f"Connected to {shown}:{self.server.port}.")
        assert error is not None
        raise error

    def _implicit_tls(self) -> tuple[None, _Said]:
        assert self._sock is not None
        context = self._context()
        self._sock.settimeout(self._left())
        self._sock = context.wrap_socket(self._sock, server_hostname=self.server.host)
        self._encrypted = True
        return None, self._tls_said("implicit TLS (TLS from the first byte)")

    def _banner(self) -> tuple[None, _Said]:
        assert self._sock is not None
        name = self.server.client_domain or names.local_hostname(min(1.0, self._left()))
        client = smtplib.SMTP(local_hostname=name, timeout=self._left())
        client.set_debuglevel(0)  # debug output would print the AUTH exchange
        client.sock = self._sock
        client._host = self.server.host  # type: ignore[attr-defined]  # starttls() verifies it
        self._client = client
        code, text = self._io(client.getreply)
        if code != 220:
            raise wording.reply_error("banner", code, text, self.where)
        reply = format_reply(code, text, self.where)
        return None, _Said(OK, f"The server greets: {_short(reply)}", reply=reply)

    def _ehlo(self) -> tuple[None, _Said]:
        client = self._live()
        code, text = self._io(client.ehlo)
        if code == 250:
            offered = _extensions(text)
            listed = ", ".join(offered) if offered else "no extensions"
            reply = format_reply(code, text, self.where)
            return None, _Said(OK, f"EHLO accepted; the server offers: {listed}.", reply=reply)
        ehlo_reply = format_reply(code, text, self.where)
        code, text = self._io(client.helo)
        if code == 250:
            return None, _Said(
                WARN,
                f"EHLO refused ({ehlo_reply}); HELO accepted, so no extensions: no STARTTLS"
                " and no AUTH.",
                "Check that this is an SMTP server for sending mail (a submission port).",
            )
        raise wording.reply_error("ehlo", code, text, self.where)

    def _starttls(self) -> tuple[bool, _Said]:
        """True when TLS was started (EHLO must then be said again)."""
        client = self._live()
        security = self.server.security
        if security == NONE:
            return False, _Said(NOTE, *wording.tls_off_note(NONE, self.where))
        if not client.has_extn("starttls"):
            if security == START_TLS:
                raise wording.starttls_required(self.where)
            if self.server.logs_in:
                raise wording.cleartext_refused(self.where, security)
            return False, _Said(NOTE, *wording.tls_off_note(security, self.where))
        context = self._context()
        code, text = self._io(lambda: client.starttls(context=context))
        self._sock = client.sock
        self._encrypted = True
        how = "STARTTLS" if security in (START_TLS, START_TLS_WHEN_AVAILABLE) else "STARTTLS (Auto)"
        return True, self._tls_said(how)._replace(reply=format_reply(code, text, self.where))

    def _ehlo_again(self) -> tuple[None, _Said]:
        client = self._live()
        code, text = self._io(client.ehlo)
        if code != 250:
            raise wording.reply_error("ehlo", code, text, self.where)
        listed = ", ".join(_extensions(text)) or "no extensions"
        reply = format_reply(code, text, self.where)
        return None, _Said(OK, f"EHLO accepted over TLS; the server offers: {listed}.", reply=reply)

    def _auth(self) -> tuple[None, _Said]:
        server = self.server
        if not server.logs_in:
            which = "user name" if server.username else "password" if server.password else ""
            if which:
                text = f"No login: only the {which} is set, and Postroom logs in with both."
            else:
                text = "No login: no user name and password are set, so mail is sent without one."
            return None, _Said(NOTE, text)
        if not self._encrypted:
            # The one place credentials are sent checks the rule itself, whatever came before.
            if server.security != NONE:
                raise wording.cleartext_refused(self.where, server.security)
            self._emit(Step("security", WARN, *wording.cleartext_warning(self.where)))
        client = self._live()
        if not client.has_extn("auth"):
            raise wording.no_auth(self.where, self._encrypted)
        assert server.username and server.password
        username, secret = server.username, server.password.reveal()
        try:
            code, text = self._io(lambda: client.login(username, secret))
        except smtplib.SMTPAuthenticationError as error:
            reply = format_reply(error.smtp_code, error.smtp_error, self.where)
            raise wording.login_refused(error.smtp_code, reply, self.where) from error
        except (smtplib.SMTPResponseException, smtplib.SMTPServerDisconnected):
            raise  # a refusal with its reply, or a timeout or lost connection: classified later
        except smtplib.SMTPException as error:  # "No suitable authentication method found."
            mechanisms = client.esmtp_features.get("auth", "").strip()
            raise wording.auth_unsupported(self.where, mechanisms) from error
        reply = format_reply(code, text, self.where)
        return None, _Said(OK, f"Logged in as {username}.", reply=reply)

    def _tls_said(self, how: str) -> _Said:
        """The TLS step's words; the certificate's validity is reported right after it."""
        sock = self._sock
        assert isinstance(sock, ssl.SSLSocket)
        cipher = sock.cipher()
        name = f"{sock.version()}, {cipher[0]}" if cipher else str(sock.version())
        peer = sock.getpeercert()
        if peer and self._on_step is not None:
            outcome, text, fix = certificates.validity(certificates.CertInfo.from_peercert(peer))
            self._pending.append(Step("certificate", outcome, text, fix))
        return _Said(OK, f"Encrypted with {how}: {name}.")

    # -- envelopes ------------------------------------------------------------------------

    def send(
        self,
        sender: str,
        recipients: Sequence[str],
        raw: bytes,
        before_content: Callable[[], None] | None = None,
        then: Mail | None = None,
    ) -> Sent:
        """One transaction: MAIL, RCPT for each recipient, DATA, with RFC 2920 PIPELINING when
        offered. ``raw`` has CRLF line endings. ``before_content`` runs right before the content
        goes out. Raises SmtpFailure (or what ``before_content`` raised).

        ``then`` is the message the caller sends next: with PIPELINING its envelope goes out
        right behind this content. The caller must send it next (or close); a session asked
        for another message drops the connection, since that envelope may be waiting for its
        content."""
        mail = Mail(sender, tuple(recipients), raw)
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead[0] != mail:
            self._discard()
            ahead = None
        self.open()
        try:
            return self._transaction(mail, before_content, then, ahead and ahead[1], True)
        except _AheadRefused:
            pass
        # A server may hold an envelope behind content against the client (a "synchronization
        # error"): this message once more on a fresh connection, its envelope on its own turn.
        # Only if the server takes it so were the envelopes ahead to blame: none from now on.
        self.open()
        try:
            sent = self._transaction(mail, before_content, None, None, False)
        except SmtpFailure as failure:
            if failure.step != "mail":
                self._send_ahead = False
            raise
        self._send_ahead = False
        return sent

    def _transaction(
        self,
        mail: Mail,
        before_content: Callable[[], None] | None,
        then: Mail | None,
        sent_ahead: Replies | None,
        may_reconnect: bool,
    ) -> Sent:
        client = self._client
        assert client is not None
        recipients, raw = mail.recipients, mail.raw
        step = "mail"
        where = self.where
        in_callback = False
        try:
            if sent_ahead is not None:
                replies = sent_ahead
            else:
                # RFC 2920: the whole envelope in one write, then the replies. A huge envelope
                # goes command by command: a blocking client must not overrun the TCP window.
                commands, pipelined, client.command_encoding = envelope(
                    mail, self.server.delivery_format, client.has_extn, where
                )
                if pipelined:
                    client.send("".join(commands))
                replies = Replies(client, commands, pipelined)
            code, text = replies.next()
            if code >= 500 and sent_ahead is not None and may_reconnect:
                raise _AheadRefused  # send() tries once more without it; a real refusal repeats
            if code != 250:
                raise self._refused(replies, wording.reply_error("mail", code, text, where))
            step = "rcpt"
            accepted: list[str] = []
            refused: dict[str, str] = {}
            for recipient in recipients:
                code, text = replies.next()
                if code in (250, 251):
                    accepted.append(recipient)
                elif code == 421:  # the server is closing the session
                    raise wording.reply_error("rcpt", code, text, where)
                else:
                    refused[recipient] = format_reply(code, text, where)
            if not accepted:
                raise self._refused(replies, wording.all_refused(refused, where))
            step = "data"
            code, text = replies.next()
            if code != 354:
                raise wording.reply_error("data", code, text, where)
            # Made ready before ``before_content``: meanwhile the database may be committing
            # the last outcome (PostgreSQL), which that callback waits for.
            wire = _dot_stuffed(raw)
            following = self._envelope_ahead(then)
            if following is not None:
                wire += following[0]
            if before_content is not None:
                in_callback = True
                before_content()  # whatever it raises is raised as is
                in_callback = False
            if following is not None:
                self._ahead = (then, Replies(client, following[1], True))
            client.send(wire)
            code, text = client.getreply()
            if code != 250:
                raise wording.reply_error("data", code, text, where)
            return Sent(format_reply(code, text, where), tuple(accepted), refused)
        except _AheadRefused:
            self._discard()  # its RCPT and DATA replies are still on the way
            raise
        except smtplib.SMTPServerDisconnected as exc:
            self._discard()
            if step == "mail" and may_reconnect and not is_timeout(exc):
                # The server dropped the idle connection before this message: start afresh once.
                # (An envelope sent ahead found it closed, too: a server may end a session
                # after so many messages.)
                self.open()
                return self._transaction(mail, before_content, then, None, False)
            self._raise(wording.classify(exc, step, where, self.server.timeout), exc)
        except SmtpFailure as failure:
            self._after_failure(failure)
            raise
        except Exception as exc:
            if in_callback:
                self._discard()
                raise
            self._after_failure(exc)
            self._raise(wording.classify(exc, step, where, self.server.timeout), exc)
        except BaseException:
            self._discard()
            raise

    def _envelope_ahead(self, then: Mail | None) -> tuple[bytes, list[str]] | None:
        """``then``'s envelope to send behind this content, if it may go ahead. Nothing about
        the next message may fail this one: whatever goes wrong with it (an address the server
        cannot take, a bug), it waits for its own turn and fails there, in its own words."""
        if then is None or not self._send_ahead or self._client is None:
            return None
        try:
            return envelope_ahead(
                then, self.server.delivery_format, self._client.has_extn, self.where
            )
        except Exception:
            return None

    def _refused(self, replies: Replies, failure: SmtpFailure) -> SmtpFailure:
        """``failure``, once the connection is back in step for the next message (or dropped)."""
        if not replies.drain():
            self._discard()
        return failure

    def _after_failure(self, exc: BaseException) -> None:
        """RSET so the connection can carry the next message, or drop it if that is unsafe."""
        client = self._client
        if client is None:
            return
        if isinstance(exc, smtplib.SMTPResponseException):
            answered, code = True, str(exc.smtp_code)
        elif isinstance(exc, SmtpFailure):
            answered, code = True, (exc.reply or "")[:3]
        else:
            answered, code = False, None
        if not answered or code == "421":
            self._discard()  # I/O errors leave the session in an unknown state; 421 ends it
            return
        if self._ahead is not None:
            return  # the content's reply ended that transaction; the next envelope is under way
        try:
            client.rset()
        except (smtplib.SMTPException, OSError):
            self._discard()

    # -- closing --------------------------------------------------------------------------

    def close(self) -> None:
        """QUIT politely (briefly), then close; harmless when already closed."""
        client = self._client
        try:
            if self._ahead is not None:
                pass  # an envelope may be waiting for content: QUIT would be taken as content
            elif client is not None and client.sock is not None and not self._out_of_time():
                client.sock.settimeout(min(2.0, self.server.timeout))
                client.quit()
        except (smtplib.SMTPException, OSError, ValueError):
            pass
        finally:
            self._discard()

    def _discard(self) -> None:
        self._ahead = None
        client, self._client = self._client, None
        sock, self._sock = self._sock, None
        if client is not None:
            client.close()
        if sock is not None:
            sock.close()
        self._encrypted = False

    # -- time -----------------------------------------------------------------------------

    def _io(self, call: Callable[[], T]) -> T:
        """One exchange with the server, given the time that is left."""
        sock = self._client.sock if self._client is not None else self._sock
        if sock is not None:
            sock.settimeout(self._left())
        return call()

    def _left(self) -> float:
        if self._deadline is None:
            return self.server.timeout
        left = self._deadline - time.monotonic()
        if left <= 0.001:
            raise TimeoutError("the session's time is up")
        return left

    def _out_of_time(self) -> bool:
        if self._expired.is_set():
            return True
        return self._deadline is not None and time.monotonic() >= self._deadline - 0.001

    def _expire(self) -> None:
        self._expired.set()
        sock = self._client.sock if self._client is not None else self._sock
        if sock is not None:
            with contextlib.suppress(OSError, ValueError):
                sock.shutdown(socket.SHUT_RDWR)  # unblocks a read that trickles on

    # -- failures -------------------------------------------------------------------------

    def _classify(self, error: Exception, step: str) -> SmtpFailure:
        if isinstance(error, SmtpFailure):
            return error
        if is_timeout(error) or self._out_of_time():
            return wording.timeout(step, self.where, self._bound)
        if isinstance(error, ssl.SSLCertVerificationError):
            return wording.certificate(error, self._inspect_certificate(), self.where)
        return wording.classify(error, step, self.where, self._bound)

    def _raise(self, failure: SmtpFailure, error: BaseException) -> NoReturn:
        """Raise ``failure`` caused by ``error``, unless that would carry the password along."""
        cause = error if error is not failure else failure.__cause__
        if cause is not None and self._leaks(cause):
            failure.__cause__ = None
            failure.__suppress_context__ = True
            raise failure from None
        if failure is error:
            raise failure
        raise failure from error

    def _leaks(self, error: BaseException) -> bool:
        shown = repr(getattr(error, "args", ())) + repr(getattr(error.__context__, "args", ()))
        return self._scrub(shown) != shown

    def _context(self) -> ssl.SSLContext:
        return client_tls_context(self.server.ca_file)

    def _live(self) -> smtplib.SMTP:
        assert self._client is not None
        return self._client

    def _inspect_certificate(self) -> certificates.CertInfo | None:
        """The certificate the server shows, fetched on a second connection without
        verification, to name what is wrong with it; None if that does not work in time.
        No credentials and no mail ever go over this connection."""
        if self._address is None or self._left_or_zero() < 0.2:
            return None
        self._discard()
        server = self.server
        client: smtplib.SMTP | None = None
        family = socket.AF_INET6 if ":" in str(self._address[0]) else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        self._sock = sock  # for the watchdog
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        try:
            sock.settimeout(self._left())
            sock.connect(self._address)
            if server.implicit_tls:
                sock = self._sock = context.wrap_socket(sock, server_hostname=server.host)
            else:
                client = smtplib.SMTP(local_hostname=server.client_domain or "localhost")
                client.sock = sock
                client._host = server.host  # type: ignore[attr-defined]
                client.getreply()
                client.ehlo()
                sock.settimeout(self._left())
                client.starttls(context=context)
                sock = self._sock = client.sock
            assert isinstance(sock, ssl.SSLSocket)
            der = sock.getpeercert(binary_form=True)
            return certificates.CertInfo.from_der(der) if der else None
        except Exception:  # only for a better message; the failure itself is known
            return None
        finally:
            if client is not None:
                client.close()
            sock.close()
            self._sock = None

    def _left_or_zero(self) -> float:
        try:
            return self._left()
        except TimeoutError:
            return 0.0


def client_tls_context(ca_file: str | None) -> ssl.SSLContext:
    """Verifying TLS context: the system's CAs, plus those in ``ca_file`` when it is set."""
    context = ssl.create_default_context()
    if ca_file:
        try:
            context.load_verify_locations(cafile=ca_file)
        except OSError as exc:  # ssl.SSLError too: the file is not PEM
            raise wording.ca_file_error(exc, ca_file) from None
    return context


def _dot_stuffed(raw: bytes) -> bytes:
    """The message as DATA carries it: leading dots doubled, ended by a lone dot (RFC 5321)."""
    stuffed = raw.replace(b"\r\n.", b"\r\n..")
    if stuffed.startswith(b"."):
        stuffed = b"." + stuffed
    if not stuffed.endswith(b"\r\n"):
        stuffed += b"\r\n"
    return stuffed + b".\r\n"


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _extensions(text: bytes) -> list[str]:
    lines = text.decode("utf-8", errors="replace").splitlines()[1:]
    return [" ".join(line.split()) for line in lines if line.strip()]


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True
