"""The generic format, for any other sender: HMAC-SHA256 over ``<timestamp>.<body>``.

Headers: ``X-Postroom-Timestamp`` (Unix seconds) and ``X-Postroom-Signature: v1=<hex>``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from postroom.events.errors import unauthorised
from postroom.events.verify.common import (
    Verified,
    check_timestamp,
    header,
    parse_json,
    same,
    signed_request_key,
)

SIGNATURE = "X-Postroom-Signature"
TIMESTAMP = "X-Postroom-Timestamp"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "v1=" + digest.hexdigest()


def verify(body: bytes, headers: Mapping[str, str], secret: str, tolerance: int) -> Verified:
    signature, timestamp = header(headers, SIGNATURE), header(headers, TIMESTAMP)
    if not signature or not timestamp:
        raise unauthorised(f"The {SIGNATURE} and {TIMESTAMP} headers are required.")
    if not same(signature.lower(), sign(secret, timestamp, body)):
        raise unauthorised("The HMAC signature does not match the body and timestamp.")
    check_timestamp(timestamp, tolerance)
    return Verified(parse_json(body), signed_request_key(timestamp, body))
