"""Every SMTP failure, in words: what went wrong, where, and how to fix it.

The delivery worker shows ``what`` and ``fix`` as one sentence pair in the email log; the
health check shows them apart. Both get them from here, so they always agree.
"""

from __future__ import annotations

import base64
import smtplib
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field

from postroom.mailsettings.model import MASK, NONE

from . import certificates

STEP_NAMES = {
    "dns": "the name lookup",
    "connect": "connecting",
    "banner": "the greeting",
    "ehlo": "EHLO",
    "tls": "the TLS handshake",
    "auth": "AUTH",
    "mail": "MAIL FROM",
    "rcpt": "RCPT TO",
    "data": "DATA",
}
TRY_LATER = "The server says this is temporary; trying again later may work."


class SmtpFailure(Exception):
    """A step that failed. ``step`` is dns, connect, tls, banner, ehlo, auth, mail, rcpt or
    data; ``shown_as`` is where a step-by-step report shows it (``certificate`` for a
    certificate that did not verify). ``transient``: trying again later may succeed.
    ``reply`` is the server's reply, when it gave one. No text ever holds the password.
    """

    def __init__(
        self,
        what: str,
        fix: str = "",
        *,
        step: str,
        transient: bool,
        reply: str | None = None,
        shown_as: str | None = None,
    ) -> None:
        super().__init__(f"{what} {fix}".strip())
        self.what = what
        self.fix = fix
        self.step = step
        self.transient = transient
        self.reply = reply
        self.shown_as = shown_as or step

    @property
    def message(self) -> str:
        return str(self.args[0])


def _unchanged(text: str) -> str:
    return text


@dataclass(frozen=True)
class Endpoint:
    """Where we talk to, for the messages; ``scrub`` cleans text the server sent."""

    host: str
    port: int
    ca_file: str | None = None
    scrub: Callable[[str], str] = field(default=_unchanged, repr=False, compare=False)
    timeout_setting: str = "Postroom:Smtp:TimeoutSeconds"

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


def format_reply(code: int, text: bytes | str, where: Endpoint | None = None) -> str:
    """``550 5.1.1 No such user`` on one line, whatever smtplib handed us."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    reply = f"{code} {' '.join(text.split())}".strip()
    return where.scrub(reply) if where else reply


def secret_scrubber(password: str, username: str = "") -> Callable[[str], str]:
    """Masks the password, and the base64 AUTH forms of it, should a server echo them back."""
    forms = [
        password,
        base64.b64encode(password.encode()).decode(),
        base64.b64encode(f"\0{username}\0{password}".encode()).decode(),
    ]

    def scrub(text: str) -> str:
        for form in forms:
            if len(form) >= 6:
                text = text.replace(form, MASK)
            else:  # too short to cut out of words: mask whole tokens only
                words = text.split(" ")
                text = " ".join(MASK if w.strip("'\"<>()[],;:.") == form else w for w in words)
        return text

    return scrub if password else _unchanged


def is_timeout(exc: BaseException) -> bool:
    # smtplib turns a read timeout into SMTPServerDisconnected; the TimeoutError is its context.
    return isinstance(exc, TimeoutError) or (
        isinstance(exc, smtplib.SMTPServerDisconnected)
        and isinstance(exc.__context__, TimeoutError)
    )


# -- refusals -------------------------------------------------------------------------------

_PERMANENT_HINTS = {
    "banner": "The server does not accept sessions from this machine.",
    "ehlo": "Set a valid host name in Postroom:Smtp:ClientDomain.",
    "mail": "Check that the sender (Umbraco:CMS:Global:Smtp:From) may send through this server.",
}


def reply_error(step: str, code: int, text: bytes | str, where: Endpoint) -> SmtpFailure:
    """A refusal by the server: 4xx is transient, anything else permanent."""
    reply = format_reply(code, text, where)
    transient = 400 <= code < 500
    if step == "auth":
        return login_refused(code, reply, where)
    if step == "tls":
        what = f"{where} refused STARTTLS: {reply}."
        fix = "Try again later, or ask the server's administrator why TLS is unavailable."
    elif step == "data" and not transient:
        what = f"{where} rejected the message: {reply}."
        fix = "Its reply says why; change the message or ask the server's administrator."
    else:
        what = f"{where} refused {STEP_NAMES.get(step, step)}: {reply}."
        fix = (
            TRY_LATER
            if transient
            else _PERMANENT_HINTS.get(step, "The server will not accept this; read its reply.")
        )
    return SmtpFailure(what, fix, step=step, transient=transient, reply=reply)


def login_refused(code: int, reply: str, where: Endpoint) -> SmtpFailure:
    if 200 <= code < 300:
        what = (
            f"{where} answered the login with {reply} instead of 235: it does not take"
            " logins (a test server, or a relay that accepts anything?)."
        )
        fix = "Check host and port; remove the user name and password if no login is needed."
    elif 400 <= code < 500:
        what = f"{where} refused the login for now: {reply}."
        fix = "The server says this is temporary; try again later."
    else:
        what = f"{where} rejected the login: {reply}."
        fix = (
            "Check the user name and password (Umbraco:CMS:Global:Smtp:Username and Password):"
            " many providers want an API key or app password, not the account's password."
        )
    return SmtpFailure(what, fix, step="auth", transient=400 <= code < 500, reply=reply)


# -- what the server does not offer ---------------------------------------------------------


def no_host() -> SmtpFailure:
    return SmtpFailure(
        "No SMTP host is set.",
        "Set Umbraco:CMS:Global:Smtp:Host to your mail server's name.",
        step="connect",
        transient=False,
    )


def starttls_required(where: Endpoint) -> SmtpFailure:
    return SmtpFailure(
        f"{where} does not offer STARTTLS, but SecureSocketOptions is StartTls.",
        "Use SslOnConnect if the port expects implicit TLS (usually 465), or ask the"
        " server's administrator to enable STARTTLS.",
        step="tls",
        transient=False,
    )


def cleartext_refused(where: Endpoint, security: str) -> SmtpFailure:
    """Credentials would travel unencrypted, and the owner did not choose that."""
    return SmtpFailure(
        f"{where} offers no STARTTLS, so Postroom did not log in: with SecureSocketOptions"
        f" {security} the user name and password would travel unencrypted, and anyone on the"
        " network path can remove STARTTLS from the server's answer to read them.",
        "Use a port or server with TLS (StartTls, usually port 587, or SslOnConnect, usually"
        " port 465). Only if this network is trusted and the server has no TLS at all, set"
        " SecureSocketOptions to None to send the password in clear on purpose.",
        step="tls",
        transient=False,
    )


def cleartext_warning(where: Endpoint) -> tuple[str, str]:
    """(text, fix) for a login the owner chose to send in clear (SecureSocketOptions None)."""
    return (
        "The password travels unencrypted (SecureSocketOptions is None): anyone on the"
        " network path can read it.",
        "Use StartTls (port 587) or SslOnConnect (port 465); if the server offers neither,"
        f" ask your mail provider for a port with TLS (not {where}).",
    )


def no_auth(where: Endpoint, encrypted: bool) -> SmtpFailure:
    fix = (
        "Remove the user name and password if this server needs no login."
        if encrypted
        else "Many servers offer AUTH only after TLS: use StartTls or SslOnConnect."
    )
    return SmtpFailure(
        f"{where} offers no authentication (AUTH), but a user name and password are set.",
        fix,
        step="auth",
        transient=False,
    )


def auth_unsupported(where: Endpoint, mechanisms: str) -> SmtpFailure:
    return SmtpFailure(
        f"{where} offers only AUTH {mechanisms}, none of which Postroom supports"
        " (CRAM-MD5, PLAIN, LOGIN).",
        "Ask the server's administrator to enable AUTH PLAIN or LOGIN over TLS.",
        step="auth",
        transient=False,
    )


def needs_smtputf8(where: Endpoint, address: str | None) -> SmtpFailure:
    why = (
        f"the address {address} contains non-ASCII characters"
        if address
        else "the message needs SMTPUTF8"
    )
    return SmtpFailure(
        f"Cannot send: {why}, which needs the SMTPUTF8 extension, but {where} does not offer it.",
        "Use an ASCII address (for a domain, its xn-- form) or a server that supports SMTPUTF8.",
        step="mail",
        transient=False,
    )


def seven_bit_mailbox(address: str) -> SmtpFailure:
    return SmtpFailure(
        f"Cannot send to or from {address}: the part before the @ has non-ASCII characters,"
        " and deliveryFormat is SevenBit (the default), which allows ASCII mailboxes only.",
        'Use an ASCII address, or set deliveryFormat="International" on <smtp> in web.config'
        " (Postroom:Smtp:DeliveryFormat) to send it with SMTPUTF8 through a server that"
        " offers it.",
        step="mail",
        transient=False,
    )


def bad_domain(address: str) -> SmtpFailure:
    return SmtpFailure(
        f"Cannot send to or from {address}: its domain is not a valid international name.",
        "Check the address for typos.",
        step="mail",
        transient=False,
    )


def all_refused(refused: dict[str, str], where: Endpoint) -> SmtpFailure:
    replies = list(refused.values())
    transient = all(reply.startswith("4") for reply in replies)
    listed = "; ".join(f"{rcpt}: {reply}" for rcpt, reply in refused.items())
    return SmtpFailure(
        f"{where} refused every recipient ({listed}).",
        TRY_LATER if transient else "Check the recipient addresses.",
        step="rcpt",
        transient=transient,
        reply=replies[0] if replies else None,
    )


# -- exceptions -----------------------------------------------------------------------------


def classify(exc: BaseException, step: str, where: Endpoint, bound: float) -> SmtpFailure:
    """The failure that ``exc``, raised during ``step``, stands for. ``bound`` is the time
    limit that applied, in seconds, for the words about a timeout."""
    if isinstance(exc, SmtpFailure):
        return exc
    if isinstance(exc, socket.gaierror):
        return SmtpFailure(
            f"Could not resolve {where.host}: {exc.strerror}.",
            "Check the host name (Umbraco:CMS:Global:Smtp:Host) for typos; if it is right,"
            " check this machine's DNS resolver.",
            step="dns",
            transient=True,
        )
    if is_timeout(exc):
        return timeout(step, where, bound)
    if isinstance(exc, ConnectionRefusedError) and step == "connect":
        return SmtpFailure(
            f"Could not connect to {where}: connection refused (nothing is listening there).",
            "Check the host and the port (587 for STARTTLS, 465 for implicit TLS), and that"
            " the server is running.",
            step="connect",
            transient=True,
        )
    if isinstance(exc, ssl.SSLCertVerificationError):
        return certificate(exc, None, where)
    if isinstance(exc, ssl.SSLError):
        return handshake(exc, where)
    if isinstance(exc, smtplib.SMTPResponseException):
        return reply_error(step, exc.smtp_code, exc.smtp_error, where)
    if isinstance(exc, smtplib.SMTPServerDisconnected | ConnectionError):
        fix = "Try again later."
        if step in ("banner", "ehlo", "tls"):
            fix += (
                " If it keeps happening, check that SecureSocketOptions matches what the"
                " port expects."
            )
        return SmtpFailure(
            f"{where} closed the connection during {STEP_NAMES.get(step, step)}.",
            fix,
            step=step,
            transient=True,
        )
    if isinstance(exc, OSError):
        doing = "connect to" if step == "connect" else "talk to"
        return SmtpFailure(
            f"Could not {doing} {where}: {exc.strerror or type(exc).__name__}.",
            "Check the host and port, and that this machine may connect out to that port.",
            step=step,
            transient=True,
        )
    return SmtpFailure(
        f"{STEP_NAMES.get(step, step).capitalize()} with {where} failed unexpectedly"
        f" ({type(exc).__name__}).",
        "Please report this as a bug in Postroom.",
        step=step,
        transient=True,
    )


def timeout(step: str, where: Endpoint, seconds: float) -> SmtpFailure:
    limit = f"{seconds:g} s"
    known = {
        "dns": (
            f"Looking up {where.host} did not finish within {limit}.",
            "Check this machine's DNS resolver (/etc/resolv.conf) and the host name.",
        ),
        "connect": (
            f"Could not connect to {where}: no answer within {limit} (timed out).",
            "The host may be down, or a firewall may drop the packets silently: check host"
            " and port, and that this machine may connect out to that port (many hosting"
            " providers block port 25).",
        ),
        "banner": (
            f"Connected to {where}, but the server sent no greeting within {limit} (timed out).",
            "Check that this port speaks SMTP; port 465 expects implicit TLS"
            " (SecureSocketOptions SslOnConnect).",
        ),
        "tls": (
            f"The TLS handshake with {where} did not finish within {limit} (timed out).",
            "Check SecureSocketOptions against the port: 587 and 25 need StartTls, 465"
            " needs SslOnConnect.",
        ),
    }
    what, fix = known.get(
        step,
        (
            f"{where} did not answer {STEP_NAMES.get(step, step)} within {limit} (timed out).",
            "Try again later; if it keeps happening the server is overloaded or the network"
            f" drops packets ({where.timeout_setting} sets the limit).",
        ),
    )
    return SmtpFailure(what, fix, step=step, transient=True)


def certificate(
    exc: ssl.SSLCertVerificationError, info: certificates.CertInfo | None, where: Endpoint
) -> SmtpFailure:
    """A certificate that did not verify; ``info`` is what it says, when it could be read."""
    what, fix = certificates.failure(exc, info, where.host, where.ca_file, str(where))
    return SmtpFailure(what, fix, step="tls", transient=False, shown_as="certificate")


def handshake(exc: ssl.SSLError, where: Endpoint) -> SmtpFailure:
    reason = exc.reason or str(exc)
    fix = "Check the security option (SecureSocketOptions) and the port."
    if reason == "WRONG_VERSION_NUMBER":
        fix = (
            "The port probably speaks plain SMTP: use StartTls (usually port 587) instead of"
            " SslOnConnect, or port 465 for implicit TLS."
        )
    return SmtpFailure(
        f"TLS handshake with {where} failed: {reason}.", fix, step="tls", transient=False
    )


def ca_file_error(exc: OSError, ca_file: str) -> SmtpFailure:
    if isinstance(exc, ssl.SSLError):
        problem = (
            "it holds no PEM certificate"
            if exc.reason == "NO_CERTIFICATE_OR_CRL_FOUND"
            else exc.reason or str(exc)
        )
    else:
        problem = exc.strerror or str(exc)
    return SmtpFailure(
        f"Could not load the CA file {ca_file}: {problem}.",
        "Point Postroom:Smtp:CaFile (env Postroom__Smtp__CaFile) at a readable PEM file"
        " holding the CA certificate.",
        step="tls",
        transient=False,
    )


def tls_off_note(security: str, where: Endpoint) -> tuple[str, str]:
    """(text, fix) when the session goes on without TLS, which the owner allowed."""
    if security == NONE:
        return (
            "TLS is off (SecureSocketOptions None): mail travels unencrypted.",
            "Use StartTls (port 587) or SslOnConnect (port 465) if the server offers TLS.",
        )
    return (
        f"{where} offers no STARTTLS, so with SecureSocketOptions {security} mail"
        " travels unencrypted.",
        "Fine on a trusted network; otherwise use a port that offers TLS.",
    )


def line_break(address: str) -> SmtpFailure:
    return SmtpFailure(
        f"An envelope address contains a line break: {address!r}.",
        "Remove the line break from the address; Postroom never sends it on.",
        step="mail",
        transient=False,
    )
