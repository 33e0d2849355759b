"""Turn what smtplib, ssl and socket raise into a DeliveryError that says what to do."""

from __future__ import annotations

import base64
import smtplib
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field

from postroom.mailsettings.model import MASK

from .base import DeliveryError

CA_FILE_HINT = (
    "If the server uses a private CA or a self-signed certificate, save that CA certificate "
    "as a PEM file and point Postroom:Smtp:CaFile (env Postroom__Smtp__CaFile) at it."
)
TIMEOUT_HINT = "Try again later, or raise Postroom:Smtp:TimeoutSeconds if the server is just slow."

# OpenSSL X509_V_ERR_* codes, see `man openssl-verify`.
_UNTRUSTED = {2, 19, 20, 21}
_SELF_SIGNED = 18
_NOT_YET_VALID = 9
_EXPIRED = 10
_NAME_MISMATCH = {62, 64}

_STEP_NAMES = {
    "banner": "the greeting",
    "ehlo": "EHLO",
    "tls": "the TLS handshake",
    "auth": "AUTH",
    "mail": "MAIL FROM",
    "rcpt": "RCPT TO",
    "data": "DATA",
}


def _unchanged(text: str) -> str:
    return text


@dataclass(frozen=True)
class Endpoint:
    """Where we talk to, for the messages; ``scrub`` cleans text the server sent."""

    host: str
    port: int
    timeout: float
    ca_file: str | None = None
    scrub: Callable[[str], str] = field(default=_unchanged, repr=False, compare=False)

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


def reply_error(step: str, code: int, text: bytes | str, where: Endpoint) -> DeliveryError:
    """A refusal by the server: 4xx is transient, anything else permanent."""
    reply = format_reply(code, text, where)
    transient = 400 <= code < 500
    if step == "auth":
        what = f"{where} rejected the login: {reply}."
        hint = (
            "The server says this is temporary; try again later."
            if transient
            else "Check Username and Password (Umbraco:CMS:Global:Smtp)."
        )
    elif step == "tls":
        what = f"{where} refused STARTTLS: {reply}."
        hint = "Try again later, or ask the server's administrator why TLS is unavailable."
    elif step == "data" and not transient:
        what = f"{where} rejected the message: {reply}."
        hint = "Its reply says why; change the message or ask the server's administrator."
    else:
        doing = _STEP_NAMES.get(step, step)
        what = f"{where} refused {doing}: {reply}."
        hint = (
            "The server says this is temporary; trying again later may work."
            if transient
            else _PERMANENT_HINTS.get(step, "The server will not accept this; read its reply.")
        )
    return DeliveryError(f"{what} {hint}", step=step, transient=transient, reply=reply)


_PERMANENT_HINTS = {
    "banner": "The server does not accept sessions from this machine.",
    "ehlo": "Set a valid host name in Postroom:Smtp:ClientDomain.",
    "mail": "Check that the sender (Umbraco:CMS:Global:Smtp:From) may send through this server.",
}


def classify(exc: Exception, step: str, where: Endpoint) -> DeliveryError | None:
    """The DeliveryError for ``exc`` raised during ``step``; None if it is no delivery problem."""
    if isinstance(exc, socket.gaierror):
        return DeliveryError(
            f"Could not resolve {where.host}: {exc.strerror}. "
            "Check the host name in your SMTP settings (Umbraco:CMS:Global:Smtp:Host).",
            step="dns",
            transient=True,
        )
    if isinstance(exc, ConnectionRefusedError):
        return DeliveryError(
            f"Connection refused by {where}: nothing is listening there. "
            "Check host and port, and that the server is running.",
            step="connect",
            transient=True,
        )
    if is_timeout(exc):
        return _timeout(step, where)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return _certificate(exc, where)
    if isinstance(exc, ssl.SSLError):
        return _handshake(exc, where)
    if isinstance(exc, smtplib.SMTPResponseException):
        return reply_error(step, exc.smtp_code, exc.smtp_error, where)
    if isinstance(exc, smtplib.SMTPServerDisconnected | ConnectionError):
        doing = _STEP_NAMES.get(step, step)
        hint = "Try again later."
        if step in ("banner", "ehlo", "tls"):
            hint += (
                " If it keeps happening, check that SecureSocketOptions matches "
                "what the port expects."
            )
        return DeliveryError(
            f"{where} closed the connection during {doing}. {hint}", step=step, transient=True
        )
    if isinstance(exc, OSError):
        return DeliveryError(
            f"Could not talk to {where}: {exc.strerror or exc}. "
            "Check host and port, and the network between here and the server.",
            step=step,
            transient=True,
        )
    return None


def _timeout(step: str, where: Endpoint) -> DeliveryError:
    seconds = f"{where.timeout:g} s"
    if step == "connect":
        text = (
            f"Timed out after {seconds} connecting to {where}. The host may be down or a "
            "firewall may drop the connection; check host and port."
        )
    elif step == "banner":
        text = (
            f"Connected to {where}, but the server sent no greeting within {seconds}. "
            "Check that this port speaks SMTP (port 465 expects implicit TLS: use SslOnConnect)."
        )
    else:
        text = f"{where} did not answer {_STEP_NAMES.get(step, step)} within {seconds}."
    return DeliveryError(f"{text} {TIMEOUT_HINT}", step=step, transient=True)


def _certificate(exc: ssl.SSLCertVerificationError, where: Endpoint) -> DeliveryError:
    code = exc.verify_code
    detail = (exc.verify_message or exc.reason or str(exc)).rstrip(".")
    ca_note = f" (the CA file {where.ca_file} does not vouch for it)" if where.ca_file else ""
    if code == _SELF_SIGNED:
        text = (
            f"The TLS certificate of {where} is self-signed and not trusted{ca_note}. "
            f"{CA_FILE_HINT}"
        )
    elif code in _UNTRUSTED:
        text = (
            f"The TLS certificate of {where} is not trusted: it was issued by an unknown "
            f"certificate authority ({detail}){ca_note}. {CA_FILE_HINT}"
        )
    elif code == _EXPIRED:
        text = (
            f"The TLS certificate of {where} has expired. The server's administrator must renew it."
        )
    elif code == _NOT_YET_VALID:
        text = f"The TLS certificate of {where} is not valid yet. Check this machine's clock."
    elif code in _NAME_MISMATCH:
        text = (
            f"The TLS certificate of {where} does not match the host name "
            f"'{where.host}' ({detail}). Set Umbraco:CMS:Global:Smtp:Host to a name the "
            "certificate was issued for."
        )
    else:
        text = f"The TLS certificate of {where} could not be verified: {detail}. {CA_FILE_HINT}"
    return DeliveryError(text, step="tls", transient=False)


def _handshake(exc: ssl.SSLError, where: Endpoint) -> DeliveryError:
    reason = exc.reason or str(exc)
    hint = "Check the security option (SecureSocketOptions) and the port."
    if reason == "WRONG_VERSION_NUMBER":
        hint = (
            "The port probably speaks plain SMTP: use StartTls (usually port 587) instead of "
            "SslOnConnect, or port 465 for implicit TLS."
        )
    return DeliveryError(
        f"TLS handshake with {where} failed: {reason}. {hint}", step="tls", transient=False
    )


def ca_file_error(exc: OSError, ca_file: str) -> DeliveryError:
    if isinstance(exc, ssl.SSLError):
        problem = (
            "it holds no PEM certificate"
            if exc.reason == "NO_CERTIFICATE_OR_CRL_FOUND"
            else exc.reason or str(exc)
        )
    else:
        problem = exc.strerror or str(exc)
    return DeliveryError(
        f"Could not load the CA file {ca_file}: {problem}. Point Postroom:Smtp:CaFile "
        "(env Postroom__Smtp__CaFile) at a readable PEM file holding the CA certificate.",
        step="tls",
        transient=False,
    )
