"""What a server's TLS certificate says, and the words for what is wrong with it."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

from .steps import FAILED, OK, WARN

EXPIRY_WARNING_DAYS = 14
CA_FILE_FIX = (
    "If the server uses a private CA or a self-signed certificate, save that CA certificate as a"
    " PEM file and set Postroom:Smtp:CaFile (env Postroom__Smtp__CaFile) to its path."
)

# OpenSSL X509_V_ERR_* codes (`man openssl-verify`).
_NOT_YET_VALID, _EXPIRED, _SELF_SIGNED = 9, 10, 18
_UNTRUSTED = {2, 19, 20, 21}
_NAME_MISMATCH = {62, 64}


@dataclass(frozen=True)
class CertInfo:
    names: tuple[str, ...]  # DNS names and IP addresses it is issued for (or the CN)
    not_before: datetime
    not_after: datetime
    issuer: str
    self_signed: bool

    @classmethod
    def from_der(cls, der: bytes) -> CertInfo:
        cert = x509.load_der_x509_certificate(der)
        names: list[str] = []
        try:
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            names += san.get_values_for_type(x509.DNSName)
            names += [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
        except x509.ExtensionNotFound:
            pass
        if not names:
            names = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
        return cls(
            names=tuple(names),
            not_before=cert.not_valid_before_utc,
            not_after=cert.not_valid_after_utc,
            issuer=_name(cert.issuer),
            self_signed=cert.issuer == cert.subject,
        )

    @classmethod
    def from_peercert(cls, peer: dict[str, Any]) -> CertInfo:
        """From ``SSLSocket.getpeercert()`` of a verified connection."""
        names = tuple(
            value for kind, value in peer.get("subjectAltName", ()) if kind in ("DNS", "IP Address")
        )
        subject = _rdns(peer.get("subject", ()))
        issuer = _rdns(peer.get("issuer", ()))
        return cls(
            names=names or tuple(v for k, v in subject if k == "commonName"),
            not_before=_time(peer["notBefore"]),
            not_after=_time(peer["notAfter"]),
            issuer=_describe_rdns(issuer),
            self_signed=subject == issuer,
        )

    @property
    def names_text(self) -> str:
        if not self.names:
            return "no host name"
        shown = ", ".join(self.names[:4])
        return shown + (f" and {len(self.names) - 4} more" if len(self.names) > 4 else "")


def validity(info: CertInfo, now: datetime | None = None) -> tuple[str, str, str]:
    """(status, message, fix) for a certificate that verified: how long it is still valid."""
    now = now or datetime.now(UTC)
    days = (info.not_after - now).total_seconds() / 86400
    date = info.not_after.strftime("%Y-%m-%d")
    issued = f"issued for {info.names_text} by {info.issuer}"
    if days < 0:  # only with a clock that disagrees with the server's verification
        return FAILED, f"The certificate expired on {date} ({issued}).", "Renew the certificate."
    if days < EXPIRY_WARNING_DAYS:
        whole = int(days)
        when = "today" if whole == 0 else f"in {whole} day{'s' if whole != 1 else ''}"
        return (
            WARN,
            f"The certificate expires on {date}, {when} ({issued}).",
            "Ask the server's administrator (or your mail provider) to renew it before then;"
            " mail stops when it expires.",
        )
    return (
        OK,
        f"The certificate is valid until {date}, {int(days)} days from now ({issued}).",
        "",
    )


def failure(
    error: ssl.SSLCertVerificationError,
    info: CertInfo | None,
    host: str,
    ca_file: str | None,
    where: str = "",
) -> tuple[str, str]:
    """(message, fix) naming what is wrong with a certificate that did not verify."""
    code = error.verify_code
    detail = (error.verify_message or error.reason or "verification failed").rstrip(".")
    subject = f"The TLS certificate of {where}" if where else "The certificate"
    by_ca = f" (the CA file {ca_file} does not vouch for it)" if ca_file else ""
    also = ""
    if info is not None and code not in _NAME_MISMATCH and not covers(info.names, host):
        also += f" It is also issued for {info.names_text}, not {host}."
    if info is not None and code != _EXPIRED and info.not_after < datetime.now(UTC):
        also += f" It has also expired, on {info.not_after:%Y-%m-%d}."
    if code == _EXPIRED:
        when = f" on {info.not_after:%Y-%m-%d}" if info else ""
        return (
            f"{subject} expired{when}.{also}",
            "The server's administrator (or your mail provider) must renew it.",
        )
    if code == _NOT_YET_VALID:
        when = f" before {info.not_before:%Y-%m-%d %H:%M} UTC" if info else " yet"
        return (
            f"{subject} is not valid{when}.",
            "Check this machine's clock (and the server's).",
        )
    if code in _NAME_MISMATCH:
        names = info.names_text if info else "another name"
        return (
            f"{subject} is issued for {names}, not {host}.{also}",
            f"Set Umbraco:CMS:Global:Smtp:Host to a name the certificate covers ({names}), or"
            " ask the server's administrator for a certificate that names "
            f"{host}.",
        )
    if code == _SELF_SIGNED or (info is not None and info.self_signed and code in _UNTRUSTED):
        return f"{subject} is not trusted: it is self-signed{by_ca}.", CA_FILE_FIX
    if code in _UNTRUSTED:
        issuer = f" ({info.issuer})" if info else ""
        return (
            f"{subject} is not trusted: it was issued by an unknown CA{issuer}{by_ca}.",
            CA_FILE_FIX,
        )
    return f"{subject} could not be verified: {detail}.", CA_FILE_FIX


def covers(names: tuple[str, ...], host: str) -> bool:
    """Whether a certificate for ``names`` is valid for ``host`` (one-label wildcards)."""
    host = host.lower().rstrip(".")
    for name in (n.lower().rstrip(".") for n in names):
        if name == host:
            return True
        if name.startswith("*.") and host.count(".") >= 2 and host.split(".", 1)[1] == name[2:]:
            return True
    return False


def _name(name: x509.Name) -> str:
    for oid in (NameOID.COMMON_NAME, NameOID.ORGANIZATION_NAME):
        values = name.get_attributes_for_oid(oid)
        if values:
            return str(values[0].value)
    return name.rfc4514_string() or "an unnamed issuer"


def _rdns(rdns: Any) -> tuple[tuple[str, str], ...]:
    return tuple((key, value) for rdn in rdns for key, value in rdn)


def _describe_rdns(pairs: tuple[tuple[str, str], ...]) -> str:
    for wanted in ("commonName", "organizationName"):
        for key, value in pairs:
            if key == wanted:
                return value
    return "an unnamed issuer"


def _time(text: str) -> datetime:
    return datetime.fromtimestamp(ssl.cert_time_to_seconds(text), UTC)
