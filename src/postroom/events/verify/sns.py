"""Amazon SES events through SNS: the message is signed with the key of a certificate that
SNS publishes (SignatureVersion 1: SHA1withRSA, 2: SHA256withRSA). The certificate's URL
must be https on an SNS host (``sns.<region>.amazonaws.com``), and is fetched with a timeout
through :data:`fetcher`, which tests replace."""

from __future__ import annotations

import base64
import binascii
import re
import threading
import urllib.request
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from postroom.events.errors import bad_request, unauthorised
from postroom.events.verify.common import Verified, check_timestamp, parse_json

FETCH_TIMEOUT = 5.0  # seconds for the certificate or the subscription confirmation
FETCH_LIMIT = 64 * 1024
_SNS_HOST = re.compile(r"sns\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?")
# What SNS signs with: /SimpleNotificationService-<hash>.pem, nothing else on the host.
_CERT_PATH = re.compile(r"/SimpleNotificationService-[A-Za-z0-9]+\.pem")
_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
    "UnsubscribeConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
}
_HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect could lead off the SNS hosts that were checked: it is an error instead."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def fetch(url: str) -> bytes:
    """GET ``url`` (already checked to be an SNS host) within :data:`FETCH_TIMEOUT`."""
    with _opener.open(url, timeout=FETCH_TIMEOUT) as response:
        return response.read(FETCH_LIMIT)


#: Replaced in tests: takes a checked https URL on an SNS host, returns the body.
fetcher: Callable[[str], bytes] = fetch
_certificates: dict[str, Any] = {}
_lock = threading.Lock()


def check_sns_url(url: str, what: str, topic_arn: str = "") -> None:
    """``url`` is https on the SNS host of the topic's region (any region without a topic)."""
    parts = urlsplit(url)
    host = _SNS_HOST.fullmatch(parts.hostname or "")
    if parts.scheme != "https" or not host or parts.port:
        raise unauthorised(f"The {what} is not an https URL on an SNS host of a region.")
    region = _region(topic_arn)
    if region and host.group("region") != region:
        raise unauthorised(f"The {what} is on the SNS host of another region than the topic's.")


def _region(topic_arn: str) -> str:
    """``arn:aws:sns:eu-west-1:123456789012:name`` → ``eu-west-1``."""
    parts = topic_arn.split(":")
    return parts[3] if len(parts) > 5 and parts[2] == "sns" else ""


def string_to_sign(message: Mapping[str, Any]) -> bytes:
    fields = _FIELDS.get(str(message.get("Type")))
    if fields is None:
        raise bad_request("The SNS message Type is not one Postroom knows.")
    lines = []
    for name in fields:
        if name in message and message[name] is not None:
            lines.append(f"{name}\n{message[name]}\n")
    return "".join(lines).encode("utf-8")


def _public_key(url: str) -> rsa.RSAPublicKey:
    with _lock:
        cached = _certificates.get(url)
    if cached is not None:
        return cached
    try:
        certificate = x509.load_pem_x509_certificate(fetcher(url))
    except ValueError:
        raise unauthorised("The signing certificate could not be read.") from None
    except OSError as error:
        raise unauthorised(f"The signing certificate could not be fetched: {error}.") from None
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise unauthorised("The signing certificate does not hold an RSA key.")
    with _lock:
        if len(_certificates) > 32:
            _certificates.clear()
        _certificates[url] = key
    return key


def verify(body: bytes, headers: Mapping[str, str], topic_arn: str, tolerance: int) -> Verified:
    message = parse_json(body)
    if not isinstance(message, dict):
        raise bad_request("The body is not an SNS message object.")
    version = str(message.get("SignatureVersion", ""))
    if version not in _HASHES:
        raise unauthorised("The SignatureVersion is missing or not 1 or 2.")
    if message.get("TopicArn") != topic_arn:
        raise unauthorised("The message comes from another SNS topic than the configured one.")
    certificate_url = str(message.get("SigningCertURL") or message.get("SigningCertUrl") or "")
    check_sns_url(certificate_url, "SigningCertURL", topic_arn)
    path = urlsplit(certificate_url)
    if not _CERT_PATH.fullmatch(path.path) or path.query or path.fragment:
        raise unauthorised("The SigningCertURL is not an SNS signing certificate's address.")
    try:
        signature = base64.b64decode(str(message.get("Signature", "")), validate=True)
    except (binascii.Error, ValueError):
        raise unauthorised("The Signature is not valid base64.") from None
    data = string_to_sign(message)
    try:
        _public_key(certificate_url).verify(signature, data, padding.PKCS1v15(), _HASHES[version]())
    except InvalidSignature:
        raise unauthorised("The SNS signature does not match the message.") from None
    check_timestamp(_seconds(message.get("Timestamp")), tolerance)
    return Verified(message, str(message.get("MessageId", "")))


def confirm_subscription(message: Mapping[str, Any]) -> None:
    """Visit the SubscribeURL of a verified SubscriptionConfirmation (an SNS host only)."""
    url = str(message.get("SubscribeURL", ""))
    check_sns_url(url, "SubscribeURL", str(message.get("TopicArn", "")))
    try:
        fetcher(url)
    except OSError as error:
        raise bad_request(f"Confirming the subscription failed: {error}.") from None


def _seconds(value: Any) -> float | str:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return "not a time"
