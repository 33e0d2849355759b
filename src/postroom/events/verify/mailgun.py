"""Mailgun webhooks: HMAC-SHA256 of timestamp + token with the webhook signing key, in the
body's ``signature`` object; each token is used once."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from postroom.events.errors import bad_request, unauthorised
from postroom.events.verify.common import Verified, check_timestamp, parse_json, same


def verify(body: bytes, headers: Mapping[str, str], signing_key: str, tolerance: int) -> Verified:
    payload = parse_json(body)
    signature = payload.get("signature") if isinstance(payload, dict) else None
    if not isinstance(signature, dict):
        raise bad_request("The body has no signature object (Mailgun sends one with each event).")
    timestamp, token, given = (
        str(signature.get(name, "")) for name in ("timestamp", "token", "signature")
    )
    if not (timestamp and token and given):
        raise unauthorised("The signature object lacks its timestamp, token or signature.")
    expected = hmac.new(
        signing_key.encode(), (timestamp + token).encode(), hashlib.sha256
    ).hexdigest()
    if not same(given.lower(), expected):
        raise unauthorised("The HMAC signature does not match the signing key.")
    check_timestamp(timestamp, tolerance)
    return Verified(payload, token)
