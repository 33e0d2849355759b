"""What the SMTP probe says when a step fails: what went wrong, and how to fix it."""

from __future__ import annotations

import smtplib
import socket

from postroom.delivery.transports.base import DeliveryError
from postroom.delivery.transports.smtperrors import Endpoint, classify, format_reply
from postroom.health.registry import Result
from postroom.mailsettings.model import NONE

STEP_LABELS = {
    "settings": "Settings",
    "dns": "DNS",
    "connect": "Connect",
    "tls": "TLS",
    "certificate": "Certificate",
    "banner": "Greeting",
    "ehlo": "EHLO",
    "auth": "Login",
    "security": "Security",
    "directory": "Pickup directory",
    "spf": "SPF",
    "dmarc": "DMARC",
    "cache": "Cache",
}


def refused(error: DeliveryError) -> Result:
    """A classified DeliveryError as an error result: its text says what and what to do."""
    return Result.error(str(error))


def failure(step: str, error: Exception, where: Endpoint) -> Result:
    """Any failure but a timeout or a certificate problem (those have their own words)."""
    if isinstance(error, socket.gaierror):
        return Result.error(
            f"Could not resolve {where.host}: {error.strerror}.",
            "Check the host name (Umbraco:CMS:Global:Smtp:Host) for typos; if it is right,"
            " check this machine's DNS resolver.",
        )
    if step == "connect" and isinstance(error, ConnectionRefusedError):
        return Result.error(
            f"Could not connect to {where}: connection refused (nothing is listening there).",
            "Check the host and the port (587 for STARTTLS, 465 for implicit TLS), and that"
            " the server is running.",
        )
    if step == "connect" and isinstance(error, OSError):
        return Result.error(
            f"Could not connect to {where}: {error.strerror or type(error).__name__}.",
            "Check the host and port, and that this machine may connect out to that port.",
        )
    if isinstance(error, DeliveryError):
        return refused(error)
    classified = classify(error, step, where)
    if classified is not None:
        return refused(classified)
    return Result.error(
        f"{STEP_LABELS.get(step, step)} failed unexpectedly ({type(error).__name__}).",
        "Please report this as a bug in Postroom.",
    )


def timeout(step: str, where: Endpoint, seconds: float) -> Result:
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
    message, fix = known.get(
        step,
        (
            f"{where} did not answer {STEP_LABELS.get(step, step)} within {limit} (timed out).",
            "Try again later; if it keeps happening the server is overloaded or the network"
            " drops packets.",
        ),
    )
    return Result.error(message, fix)


def login_refused(where: Endpoint, code: int, text: bytes | str) -> Result:
    reply = format_reply(code, text, where)
    if 200 <= code < 300:
        return Result.error(
            f"{where} answered the login with {reply} instead of 235: it does not take"
            " logins (a test server, or a relay that accepts anything?).",
            "Check host and port; remove the user name and password if no login is needed.",
        )
    if 400 <= code < 500:
        return Result.error(
            f"{where} refused the login for now: {reply}.",
            "The server says this is temporary; run the check again later.",
        )
    return Result.error(
        f"{where} rejected the login: {reply}.",
        "Check the user name and password (Umbraco:CMS:Global:Smtp:Username and Password):"
        " many providers want an API key or app password, not the account's password.",
    )


def no_auth(where: Endpoint, encrypted: bool) -> Result:
    fix = (
        "Remove the user name and password if this server needs no login."
        if encrypted
        else "Many servers offer AUTH only after TLS: use StartTls or SslOnConnect."
    )
    return Result.error(
        f"{where} offers no login (AUTH), but a user name and password are set.", fix
    )


def auth_unsupported(where: Endpoint, mechanisms: str) -> Result:
    return Result.error(
        f"{where} offers only AUTH {mechanisms}, none of which Postroom supports"
        " (CRAM-MD5, PLAIN, LOGIN).",
        "Ask the server's administrator to enable AUTH PLAIN or LOGIN over TLS.",
    )


def cleartext(where: Endpoint, security: str) -> Result:
    why = "SecureSocketOptions is None" if security == NONE else f"{where} offers no STARTTLS"
    return Result.warning(
        f"The password travels unencrypted ({why}): anyone on the network path can read it.",
        "Use StartTls (port 587) or SslOnConnect (port 465); if the server offers neither,"
        " ask your mail provider for a port with TLS.",
    )


def disconnected_by_timeout(error: Exception) -> bool:
    return isinstance(error, smtplib.SMTPServerDisconnected) and isinstance(
        error.__context__, TimeoutError
    )
