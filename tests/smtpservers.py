"""Real mail servers on 127.0.0.1 for tests: no mocks, just loopback.

- :class:`SmtpServer`: aiosmtpd that records what it receives, with optional STARTTLS,
  implicit TLS and AUTH, and fault injection (refusals, delays, dropped connections).
- :class:`Certificates`: a throwaway CA (trustme) and server certificates signed by it.
- :class:`SmtpSink`: Postfix's ``smtp-sink`` as a subprocess.
- :class:`SilentListener`: accepts and never speaks; :class:`BlackholeListener`: connecting
  hangs; :func:`free_port`: a port where connecting is refused.

Everything is a context manager; ``tests/delivery/conftest.py`` wraps them in fixtures.
"""

from __future__ import annotations

import asyncio
import datetime
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import MISSING, SMTP, AuthResult, LoginPassword

LOCALHOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 with nothing listening (connecting to it is refused)."""
    with socket.socket() as sock:
        sock.bind((LOCALHOST, 0))
        return sock.getsockname()[1]


# -- TLS ----------------------------------------------------------------------------------------


@dataclass
class Certificates:
    """A test CA whose PEM is at ``ca_file`` (pass it as the transport's ``ca_file``)."""

    ca: trustme.CA
    ca_file: Path

    @classmethod
    def create(cls, directory: Path) -> Certificates:
        ca = trustme.CA(organization_name="Postroom test CA")
        ca_file = Path(directory) / "test-ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        return cls(ca, ca_file)

    def server_context(
        self,
        *names: str,
        not_before: datetime.datetime | None = None,
        not_after: datetime.datetime | None = None,
    ) -> ssl.SSLContext:
        """A server context with a certificate for ``names`` (default 127.0.0.1 and localhost)."""
        cert = self.ca.issue_cert(
            *(names or (LOCALHOST, "localhost")), not_before=not_before, not_after=not_after
        )
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        return context

    def expired_context(self) -> ssl.SSLContext:
        now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
        return self.server_context(
            not_before=now - datetime.timedelta(days=30), not_after=now - datetime.timedelta(days=1)
        )

    def self_signed_context(self) -> ssl.SSLContext:
        """The CA's own certificate as server certificate: self-signed, trusted only via ca_file."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        with tempfile.TemporaryDirectory() as tmp:
            pem = Path(tmp) / "self-signed.pem"
            pem.write_bytes(self.ca.private_key_pem.bytes() + self.ca.cert_pem.bytes())
            context.load_cert_chain(pem)
        return context


# -- aiosmtpd -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    """One message as the server saw it."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes  # the DATA content, un-dot-stuffed, CRLF line endings as sent
    mail_options: tuple[str, ...]
    tls: bool
    login: str | None  # the authenticated user, if any


@dataclass
class RecordingHandler:
    """An aiosmtpd handler that records messages and misbehaves on request.

    Change the fault attributes at any time, even while a client is connected:

    - ``auth_reply``: reply to every AUTH instead of checking the credentials.
    - ``mail_reply``: reply to every MAIL FROM instead of accepting it, e.g. "451 4.3.0 Busy".
    - ``refuse``: recipient -> reply, e.g. ``{"bad@x.test": "550 5.1.1 No such user"}``.
    - ``data_reply``: final reply after the message instead of accepting it.
    - ``data_delay``: seconds to wait before the final DATA reply (for timeouts).
    - ``drop_on``: commands ("MAIL", "RCPT", "DATA") at which to hang up without a reply.
    - ``ehlo_reply`` / ``helo_reply``: reply to every EHLO / HELO instead of accepting it.

    ``commands`` lists the commands that reached the handler, in order (EHLO, HELO, AUTH,
    MAIL, RCPT, DATA): a client that sent AUTH shows it here, whatever became of the login.

    ``pipelining`` advertises PIPELINING (RFC 2920); aiosmtpd reads commands in order either way.
    """

    auth_reply: str | None = None
    mail_reply: str | None = None
    refuse: dict[str, str] = field(default_factory=dict)
    data_reply: str | None = None
    data_delay: float = 0.0
    drop_on: set[str] = field(default_factory=set)
    ehlo_reply: str | None = None
    helo_reply: str | None = None
    pipelining: bool = False
    messages: list[Received] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    ehlo_names: list[str] = field(default_factory=list)
    connections: int = 0

    async def handle_EHLO(
        self, server: SMTP, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        self.commands.append("EHLO")
        if self.ehlo_reply:
            return [self.ehlo_reply]
        session.host_name = hostname
        self.ehlo_names.append(hostname)
        if self.pipelining:
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_HELO(self, server: SMTP, session: Any, envelope: Any, hostname: str) -> Any:
        self.commands.append("HELO")
        return self.helo_reply or MISSING

    async def handle_AUTH(self, server: SMTP, session: Any, envelope: Any, args: list[str]) -> Any:
        self.commands.append("AUTH")
        return self.auth_reply or MISSING  # MISSING: aiosmtpd checks the credentials itself

    async def handle_MAIL(
        self, server: SMTP, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        self.commands.append("MAIL")
        if "MAIL" in self.drop_on:
            return self._hang_up(server)
        if self.mail_reply:
            return self.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 Ok"

    async def handle_RCPT(
        self, server: SMTP, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        self.commands.append("RCPT")
        if "RCPT" in self.drop_on:
            return self._hang_up(server)
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Any) -> str:
        self.commands.append("DATA")
        if "DATA" in self.drop_on:
            return self._hang_up(server)
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        if self.data_reply:
            return self.data_reply
        auth = session.auth_data
        self.messages.append(
            Received(
                mail_from=envelope.mail_from,
                rcpt_tos=tuple(envelope.rcpt_tos),
                raw=envelope.original_content,
                mail_options=tuple(envelope.mail_options),
                tls=server.transport.get_extra_info("ssl_object") is not None,
                login=auth.login.decode() if isinstance(auth, LoginPassword) else None,
            )
        )
        return f"250 2.0.0 Ok: queued as {len(self.messages):04X}"

    @staticmethod
    def _hang_up(server: SMTP) -> str:
        server.transport.close()
        return "421 4.3.0 Closing"  # never reaches the client: the transport is already closed


class _Controller(Controller):
    """Counts connections (one SMTP instance per TCP connection) and remembers them."""

    def __init__(self, owner: SmtpServer, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._owner = owner

    def factory(self) -> SMTP:
        with warnings.catch_warnings():
            # With implicit TLS, AUTH without STARTTLS is fine, whatever aiosmtpd says.
            warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")
            smtp = super().factory()
        self._owner._sessions.append(smtp)
        self._owner.handler.connections += 1
        return smtp


class SmtpServer:
    """aiosmtpd on 127.0.0.1 and a free port. Use ``with SmtpServer(...) as server:``.

    ``tls_context`` offers STARTTLS (``require_starttls`` refuses mail without it);
    ``ssl_context`` makes the whole connection TLS (implicit TLS, like port 465).
    ``username``/``password`` enable AUTH PLAIN/LOGIN (after TLS unless ``auth_require_tls``
    is False); ``auth_required`` (default: when a username is given) refuses mail without it.
    Fault options are passed on to :class:`RecordingHandler`; extra keyword arguments go to
    aiosmtpd's ``SMTP``.
    """

    def __init__(
        self,
        *,
        tls_context: ssl.SSLContext | None = None,
        require_starttls: bool = False,
        ssl_context: ssl.SSLContext | None = None,
        username: str | None = None,
        password: str | None = None,
        auth_require_tls: bool = True,
        auth_required: bool | None = None,
        smtputf8: bool = True,
        handler: RecordingHandler | None = None,
        auth_reply: str | None = None,
        mail_reply: str | None = None,
        refuse: dict[str, str] | None = None,
        data_reply: str | None = None,
        data_delay: float = 0.0,
        drop_on: Iterable[str] = (),
        ehlo_reply: str | None = None,
        helo_reply: str | None = None,
        pipelining: bool = False,
        **smtp_kwargs: Any,
    ) -> None:
        self.handler = handler or RecordingHandler(
            auth_reply=auth_reply,
            mail_reply=mail_reply,
            refuse=dict(refuse or {}),
            data_reply=data_reply,
            data_delay=data_delay,
            drop_on=set(drop_on),
            ehlo_reply=ehlo_reply,
            helo_reply=helo_reply,
            pipelining=pipelining,
        )
        self.username = username
        self.password = password
        self.host = LOCALHOST
        self.port = 0
        self.auth_attempts: list[str] = []
        self._sessions: list[SMTP] = []
        self._ssl_context = ssl_context
        self._smtp_kwargs = {
            "tls_context": tls_context,
            "require_starttls": require_starttls,
            "enable_SMTPUTF8": smtputf8,
            # aiosmtpd only counts STARTTLS as TLS; implicit TLS is encrypted from the start.
            "auth_require_tls": auth_require_tls and ssl_context is None,
            "auth_required": bool(username) if auth_required is None else auth_required,
            "authenticator": self._authenticate if username is not None else None,
            **smtp_kwargs,
        }
        self._controller: _Controller | None = None

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages

    @property
    def connections(self) -> int:
        """TCP connections accepted since start (the controller's own probe not counted)."""
        return self.handler.connections

    def start(self) -> Self:
        for attempt in range(3):  # free_port() can race with another process
            self.port = free_port()
            controller = _Controller(
                self,
                self.handler,
                hostname=LOCALHOST,
                port=self.port,
                ssl_context=self._ssl_context,
                server_hostname="smtp.test",
                ready_timeout=5.0,
                **self._smtp_kwargs,
            )
            try:
                controller.start()
            except OSError:
                if attempt == 2:
                    raise
                continue
            self._controller = controller
            break
        self.handler.connections = 0  # forget the controller's start-up probe
        self._sessions.clear()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def disconnect_clients(self) -> None:
        """Hang up on every connected client, as a server restart or idle timeout would."""
        assert self._controller is not None
        done = threading.Event()

        def hang_up() -> None:
            for smtp in self._sessions:
                if smtp.transport is not None:
                    smtp.transport.close()
            done.set()

        self._controller.loop.call_soon_threadsafe(hang_up)
        done.wait(5)
        time.sleep(0.05)  # let the FIN reach the client

    def _authenticate(
        self, server: SMTP, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode(errors="replace")
        self.auth_attempts.append(login)
        assert self.password is not None
        ok = login == self.username and auth_data.password == self.password.encode()
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


# -- a port that never answers ------------------------------------------------------------------


class SilentListener:
    """A listening socket that never accepts: the kernel completes the TCP handshake from the
    backlog, so clients connect fine and then wait forever for a greeting (or TLS handshake)."""

    def __init__(self) -> None:
        self.host = LOCALHOST
        self._sock = socket.socket()
        self._sock.bind((LOCALHOST, 0))
        self._sock.listen(16)
        self.port: int = self._sock.getsockname()[1]

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class BlackholeListener(SilentListener):
    """A listener whose accept queue is full, so new connections hang in the TCP handshake,
    as if a firewall dropped the packets: clients hit their *connect* timeout."""

    def __init__(self) -> None:
        self.host = LOCALHOST
        self._sock = socket.socket()
        self._sock.bind((LOCALHOST, 0))
        self._sock.listen(0)
        self.port = self._sock.getsockname()[1]
        # Linux queues one connection for backlog 0; hold it so the queue stays full.
        self._held = socket.create_connection((LOCALHOST, self.port), timeout=1)

    def close(self) -> None:
        self._held.close()
        super().close()


# -- Postfix smtp-sink --------------------------------------------------------------------------

SMTP_SINK = "/usr/sbin/smtp-sink"
_COUNTERS = re.compile(rb"sess=(\d+) quit=(\d+) mesg=(\d+)")
_SINK_HEADERS = (b"X-Client-Addr:", b"X-Client-Proto:", b"X-Helo-Args:", b"X-Mail-Args:")


@dataclass(frozen=True)
class SinkMessage:
    """One transaction dumped by smtp-sink (it stores lines with LF endings)."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    content: bytes

    @classmethod
    def parse(cls, dump: bytes) -> SinkMessage:
        mail_from, rcpt_tos, lines = "", [], dump.split(b"\n")
        index = 0
        while index < len(lines):
            line = lines[index]
            if line.startswith(b"X-Mail-Args:"):
                mail_from = line.split(b":", 1)[1].strip().split()[0].decode().strip("<>")
            elif line.startswith(b"X-Rcpt-Args:"):
                rcpt_tos.append(line.split(b":", 1)[1].strip().split()[0].decode().strip("<>"))
            elif line.startswith(b"Received:"):
                index += 1
                while index < len(lines) and lines[index][:1] in (b" ", b"\t"):
                    index += 1
                break
            elif not line.startswith(_SINK_HEADERS):
                break
            index += 1
        content = b"\n".join(lines[index:])
        return cls(mail_from, tuple(rcpt_tos), content.removesuffix(b"\n\n") + b"\n")


class SmtpSink:
    """Postfix's smtp-sink on 127.0.0.1 and a free port, dumping messages to a directory.

    ``hard_fail``/``soft_fail`` name commands (e.g. "RCPT", "DATA", ".") it rejects with
    5xx (-f) or 4xx (-r); ``options`` are extra command-line arguments (see ``man smtp-sink``).
    Needs root (it drops to ``nobody``); :meth:`unavailable` says why it cannot run.
    """

    def __init__(
        self,
        *,
        hard_fail: Sequence[str] = (),
        soft_fail: Sequence[str] = (),
        options: Sequence[str] = (),
        capture: bool = True,
    ) -> None:
        self.host = LOCALHOST
        self.port = 0
        self.hard_fail = tuple(hard_fail)
        self.soft_fail = tuple(soft_fail)
        self.options = tuple(options)
        self.capture = capture
        self.directory: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._probes = 0

    @staticmethod
    def unavailable() -> str | None:
        """Why smtp-sink cannot run here, or None if it can."""
        if not os.access(SMTP_SINK, os.X_OK):
            return f"{SMTP_SINK} is not installed (apt-get install postfix)"
        if os.geteuid() != 0:
            return "smtp-sink needs root to bind and then drop to the user nobody"
        return None

    def start(self) -> Self:
        reason = self.unavailable()
        if reason:
            raise RuntimeError(reason)
        self.directory = Path(tempfile.mkdtemp(prefix="smtp-sink-"))
        self.directory.chmod(0o777)  # smtp-sink writes dumps as nobody
        self.port = free_port()
        args = [SMTP_SINK, "-u", "nobody", "-c"]
        if self.capture:
            args += ["-d", f"{self.directory}/msg."]
        if self.hard_fail:
            args += ["-f", ",".join(self.hard_fail)]
        if self.soft_fail:
            args += ["-r", ",".join(self.soft_fail)]
        args += [*self.options, f"{LOCALHOST}:{self.port}", "64"]
        with open(self.directory / "counters.out", "wb") as out:
            self._process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
        try:
            self._wait_until_listening()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_listening(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + 5
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(f"smtp-sink exited with {self._process.returncode}: {self.log}")
            try:
                with socket.create_connection((LOCALHOST, self.port), timeout=0.5):
                    self._probes += 1  # smtp-sink counts this as a session
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"smtp-sink did not listen on port {self.port}") from None
                time.sleep(0.02)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None

    @property
    def log(self) -> str:
        """What smtp-sink printed (its counters and any errors)."""
        assert self.directory is not None
        return (self.directory / "counters.out").read_bytes().decode(errors="replace")

    def counters(self) -> tuple[int, int, int]:
        """(finished sessions, QUITs, messages) from smtp-sink's -c output; probes excluded."""
        assert self.directory is not None
        found = _COUNTERS.findall((self.directory / "counters.out").read_bytes())
        sessions, quits, messages = (int(n) for n in found[-1]) if found else (0, 0, 0)
        return max(sessions - self._probes, 0), quits, messages

    def messages(self) -> list[SinkMessage]:
        assert self.directory is not None
        dumps = sorted(self.directory.glob("msg.*"), key=lambda path: path.stat().st_mtime_ns)
        return [SinkMessage.parse(path.read_bytes()) for path in dumps]

    def wait_for(self, *, messages: int = 0, sessions: int = 0, timeout: float = 5.0) -> None:
        """Wait until smtp-sink has dumped ``messages`` and finished ``sessions`` (counters lag)."""
        deadline = time.monotonic() + timeout
        while True:
            done_sessions = self.counters()[0]
            if len(self.messages()) >= messages and done_sessions >= sessions:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"smtp-sink: wanted {messages} messages and {sessions} sessions, "
                    f"has {len(self.messages())} and {done_sessions}"
                )
            time.sleep(0.02)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
