"""SendGrid's Signed Event Webhook: ECDSA (P-256, SHA-256) over the timestamp header followed
by the raw body, with the verification key SendGrid shows under Mail Settings."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key

from postroom.events.errors import unauthorised
from postroom.events.verify.common import (
    Verified,
    check_timestamp,
    header,
    parse_json,
    signed_request_key,
)

SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp"


def verify(body: bytes, headers: Mapping[str, str], public_key: str, tolerance: int) -> Verified:
    signature, timestamp = header(headers, SIGNATURE), header(headers, TIMESTAMP)
    if not signature or not timestamp:
        raise unauthorised(f"The {SIGNATURE} and {TIMESTAMP} headers are required.")
    try:
        key = load_der_public_key(base64.b64decode(public_key))
        raw_signature = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        raise unauthorised("The signature or the configured key is not valid base64.") from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise unauthorised("The configured SendGrid key is not an elliptic-curve public key.")
    try:
        key.verify(raw_signature, timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise unauthorised("The ECDSA signature does not match the body.") from None
    check_timestamp(timestamp, tolerance)
    return Verified(parse_json(body), signed_request_key(timestamp, body))
