"""The SMTP probe: talk to the server the way delivery will, step by step, without sending mail.

DNS, TCP connect, the 220 greeting, EHLO, TLS (implicit or STARTTLS) with the certificate's
validity, AUTH, then QUIT. Each step is timed and reported as a :class:`Result` with its
``step``. The whole probe is bounded: every socket operation gets the time that is left, the
name lookup runs in a thread with a deadline, and a watchdog shuts the socket down when the
time is up (a server that drips one byte at a time cannot stretch the bound).

The password is revealed only to ``smtplib.login`` and every text from the server is
scrubbed of it before it lands in a result.
"""

from __future__ import annotations

import contextlib
import ipaddress
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from postroom.delivery.transports.smtp import client_tls_context
from postroom.delivery.transports.smtperrors import (
    Endpoint,
    format_reply,
    reply_error,
    secret_scrubber,
)
from postroom.health import certs, probetext, resolve
from postroom.health.registry import ERROR, Result
from postroom.health.target import Target
from postroom.mailsettings.model import NONE, START_TLS, START_TLS_WHEN_AVAILABLE

T = TypeVar("T")


class _Stop(Exception):
    """A step failed and its result is recorded: the probe ends here."""


def probe(target: Target, timeout: float) -> list[Result]:
    """Run every step against ``target`` within ``timeout`` seconds; never raises for the
    server's sake (refusals, timeouts, bad certificates all become results)."""
    return _Probe(target, timeout).run()


class _Probe:
    def __init__(self, target: Target, timeout: float) -> None:
        self.t = target
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        secret = target.password.reveal() if target.password else ""
        self.scrub = secret_scrubber(secret, target.username or "")
        self.where = Endpoint(target.host, target.port, timeout, target.ca_file, self.scrub)
        self.results: list[Result] = []
        self.client: smtplib.SMTP | None = None
        self.sock: socket.socket | None = None
        self.address: Any = None
        self.expired = threading.Event()

    # -- the run --------------------------------------------------------------------------

    def run(self) -> list[Result]:
        watchdog = threading.Timer(self.timeout, self._expire)
        watchdog.daemon = True
        watchdog.start()
        try:
            self._steps()
        except _Stop:
            pass
        finally:
            watchdog.cancel()
            self._quit()
        return self.results

    def _steps(self) -> None:
        infos = self._timed("dns", self._dns)
        self._timed("connect", lambda: self._connect(infos))
        if self.t.implicit_tls:
            self._certificate(self._timed("tls", self._implicit_tls))
        self._timed("banner", self._banner)
        self._timed("ehlo", self._ehlo)
        if not self.t.implicit_tls:
            self._certificate(self._timed("tls", self._starttls))
        self._login()

    def _certificate(self, result: Result | None) -> None:
        if result is not None:
            self._record("certificate", result, None)

    def _timed(self, step: str, action: Callable[[], tuple[T, Result]]) -> T:
        started = time.monotonic()
        try:
            value, result = action()
        except _Stop:
            raise
        except Exception as error:
            result = self._failure(step, error)
            self._record(step, result, started)
            raise _Stop from None
        self._record(step, result, started)
        if result.status == ERROR:
            raise _Stop
        return value

    def _record(self, step: str, result: Result, started: float | None) -> None:
        ms = int((time.monotonic() - started) * 1000) if started is not None else None
        self.results.append(
            Result(
                result.status,
                self.scrub(result.message),
                self.scrub(result.fix),
                step=result.step or step,
                duration_ms=ms,
            )
        )

    # -- steps ----------------------------------------------------------------------------

    def _dns(self) -> tuple[list[Any], Result]:
        host = self.t.host
        if _is_ip(host):
            infos = socket.getaddrinfo(host, self.t.port, type=socket.SOCK_STREAM)
            return infos, Result.success(f"{host} is an IP address: no lookup needed.")
        infos = resolve.getaddrinfo(host, self.t.port, self._left())
        addresses = list(dict.fromkeys(info[4][0] for info in infos))
        shown = ", ".join(addresses[:4]) + (" …" if len(addresses) > 4 else "")
        return infos, Result.success(f"{host} resolves to {shown}.")

    def _connect(self, infos: list[Any]) -> tuple[None, Result]:
        error: OSError | None = None
        for family, kind, proto, _name, address in infos:
            sock = socket.socket(family, kind, proto)
            self.sock = sock
            try:
                sock.settimeout(self._left())
                sock.connect(address)
            except OSError as failed:
                sock.close()
                error = failed
                if self._out_of_time():
                    break
                continue
            self.address = address
            shown = f"[{address[0]}]" if family == socket.AF_INET6 else address[0]
            return None, Result.success(f"Connected to {shown}:{self.t.port}.")
        assert error is not None
        raise error

    def _implicit_tls(self) -> tuple[Result | None, Result]:
        assert self.sock is not None
        context = self._context()
        self.sock.settimeout(self._left())
        self.sock = context.wrap_socket(self.sock, server_hostname=self.t.host)
        return self._tls_result("implicit TLS (TLS from the first byte)")

    def _banner(self) -> tuple[None, Result]:
        assert self.sock is not None
        name = self.t.client_domain or resolve.local_hostname(min(1.0, self._left()))
        client = smtplib.SMTP(local_hostname=name, timeout=self._left())
        client.set_debuglevel(0)  # debug output would print the AUTH exchange
        client.sock = self.sock
        client._host = self.t.host  # type: ignore[attr-defined]  # starttls() verifies this name
        self.client = client
        code, text = self._io(client.getreply)
        if code != 220:
            return None, probetext.refused(reply_error("banner", code, text, self.where))
        return None, Result.success(f"The server greets: {_short(format_reply(code, text))}")

    def _ehlo(self) -> tuple[None, Result]:
        client = self._client()
        code, text = self._io(client.ehlo)
        if code == 250:
            offered = _extensions(text)
            listed = ", ".join(offered) if offered else "no extensions"
            return None, Result.success(f"EHLO accepted; the server offers: {listed}.")
        ehlo_reply = format_reply(code, text, self.where)
        code, text = self._io(client.helo)
        if code == 250:
            return None, Result.warning(
                f"EHLO refused ({ehlo_reply}); HELO accepted, so no extensions: no STARTTLS and"
                " no AUTH.",
                "Check that this is an SMTP server for sending mail (a submission port).",
            )
        return None, probetext.refused(reply_error("ehlo", code, text, self.where))

    def _starttls(self) -> tuple[Result | None, Result]:
        client = self._client()
        offered = client.has_extn("starttls")
        security = self.t.security
        if security == NONE:
            return None, Result.info(
                "TLS is off (SecureSocketOptions None): mail travels unencrypted.",
                "Use StartTls (port 587) or SslOnConnect (port 465) if the server offers TLS.",
            )
        if not offered:
            if security == START_TLS:
                return None, Result.error(
                    f"{self.where} does not offer STARTTLS, but SecureSocketOptions is StartTls.",
                    "Use SslOnConnect if the port expects implicit TLS (usually 465), or ask the"
                    " server's administrator to enable STARTTLS.",
                )
            return None, Result.info(
                f"{self.where} offers no STARTTLS, so with SecureSocketOptions {security} mail"
                " travels unencrypted.",
                "Fine on a trusted network; otherwise use a port that offers TLS.",
            )
        context = self._context()
        self._io(lambda: client.starttls(context=context))
        self.sock = client.sock
        code, text = self._io(client.ehlo)
        if code != 250:
            return None, probetext.refused(reply_error("ehlo", code, text, self.where))
        mode = (
            "STARTTLS" if security in (START_TLS, START_TLS_WHEN_AVAILABLE) else "STARTTLS (Auto)"
        )
        return self._tls_result(mode)

    def _tls_result(self, how: str) -> tuple[Result | None, Result]:
        """The TLS step's result, and the certificate's (recorded after it)."""
        sock = self.sock
        assert isinstance(sock, ssl.SSLSocket)
        cipher = sock.cipher()
        name = f"{sock.version()}, {cipher[0]}" if cipher else str(sock.version())
        peer = sock.getpeercert()
        certificate = None
        if peer:
            status, message, fix = certs.validity(certs.CertInfo.from_peercert(peer))
            certificate = Result(status, message, fix)
        return certificate, Result.success(f"Encrypted with {how}: {name}.")

    def _login(self) -> None:
        client = self._client()
        if not self.t.logs_in:
            which = "user name" if self.t.username else "password" if self.t.password else ""
            if which:
                text = f"No login: only the {which} is set, and Postroom logs in with both."
            else:
                text = "No login: no user name and password are set, so mail is sent without one."
            self._record("auth", Result.info(text), None)
            return
        encrypted = isinstance(client.sock, ssl.SSLSocket)
        offered = client.has_extn("auth")
        try:
            self._timed("auth", lambda: self._auth(client, offered, encrypted))
        finally:
            if offered and not encrypted:
                self._record("security", probetext.cleartext(self.where, self.t.security), None)

    def _auth(self, client: smtplib.SMTP, offered: bool, encrypted: bool) -> tuple[None, Result]:
        if not offered:
            return None, probetext.no_auth(self.where, encrypted)
        assert self.t.username and self.t.password
        username, secret = self.t.username, self.t.password.reveal()
        try:
            self._io(lambda: client.login(username, secret))
        except smtplib.SMTPAuthenticationError as error:
            return None, probetext.login_refused(self.where, error.smtp_code, error.smtp_error)
        except smtplib.SMTPResponseException:
            raise
        except smtplib.SMTPException:  # "No suitable authentication method found."
            mechanisms = client.esmtp_features.get("auth", "").strip()
            return None, probetext.auth_unsupported(self.where, mechanisms)
        return None, Result.success(f"Logged in as {username} (no mail was sent).")

    # -- helpers --------------------------------------------------------------------------

    def _context(self) -> ssl.SSLContext:
        return client_tls_context(self.t.ca_file)

    def _client(self) -> smtplib.SMTP:
        assert self.client is not None
        return self.client

    def _io(self, call: Callable[[], T]) -> T:
        """One exchange with the server, given the time that is left."""
        sock = self.client.sock if self.client is not None else self.sock
        if sock is not None:
            sock.settimeout(self._left())
        return call()

    def _left(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0.001:
            raise TimeoutError("the health check's time is up")
        return left

    def _out_of_time(self) -> bool:
        return self.expired.is_set() or time.monotonic() >= self.deadline - 0.001

    def _expire(self) -> None:
        self.expired.set()
        sock = self.client.sock if self.client is not None else self.sock
        if sock is not None:
            with contextlib.suppress(OSError, ValueError):
                sock.shutdown(socket.SHUT_RDWR)  # unblocks a read that trickles on

    def _quit(self, polite: bool = True) -> None:
        client, self.client = self.client, None
        try:
            if (
                polite
                and client is not None
                and client.sock is not None
                and not self._out_of_time()
            ):
                client.sock.settimeout(min(1.0, self._left()))
                client.quit()
        except (smtplib.SMTPException, OSError, ValueError):
            pass
        finally:
            if client is not None:
                client.close()
            if self.sock is not None:
                self.sock.close()

    def _failure(self, step: str, error: Exception) -> Result:
        timed_out = probetext.disconnected_by_timeout(error) or isinstance(error, TimeoutError)
        if timed_out or self._out_of_time():
            return probetext.timeout(step, self.where, self.timeout)
        if isinstance(error, ssl.SSLCertVerificationError):
            info = self._unverified_certificate()
            message, fix = certs.failure(error, info, self.t.host, self.t.ca_file)
            return Result.error(message, fix, step="certificate")
        return probetext.failure(step, error, self.where)

    def _unverified_certificate(self) -> certs.CertInfo | None:
        """The certificate the server shows, fetched on a second connection without
        verification, to name what is wrong with it; None if that does not work in time."""
        if self.address is None or self.deadline - time.monotonic() < 0.2:
            return None
        self._quit(polite=False)
        client: smtplib.SMTP | None = None
        family = socket.AF_INET6 if ":" in str(self.address[0]) else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock = sock  # for the watchdog
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        try:
            sock.settimeout(self._left())
            sock.connect(self.address)
            if self.t.implicit_tls:
                sock = self.sock = context.wrap_socket(sock, server_hostname=self.t.host)
            else:
                client = smtplib.SMTP(local_hostname=self.t.client_domain or "localhost")
                client.sock = sock
                client._host = self.t.host  # type: ignore[attr-defined]
                client.getreply()
                client.ehlo()
                sock.settimeout(self._left())
                client.starttls(context=context)
                sock = self.sock = client.sock
            assert isinstance(sock, ssl.SSLSocket)
            der = sock.getpeercert(binary_form=True)
            return certs.CertInfo.from_der(der) if der else None
        except Exception:  # only for a better message; the failure itself is known
            return None
        finally:
            if client is not None:
                client.close()
            sock.close()
            self.sock = None


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
