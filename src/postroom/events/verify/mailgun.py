"""Mailgun webhooks: HMAC-SHA256 of timestamp + token with the webhook signing key, in the
body's ``signature`` object; each token is used once.

Mailgun retries a webhook that failed for about 8 hours, always with the first signed body, so
a short tolerance would lose every retry after a brief outage. Its tokens may therefore be up
to :data:`RETRY_WINDOW` old: the token is single-use and the replay record keeps it longer
than that (:data:`postroom.events.replay.KEEP`), so an old body still cannot be replayed.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from postroom.events.errors import bad_request, unauthorised
from postroom.events.verify.common import Verified, check_timestamp, parse_json, same

RETRY_WINDOW = 8 * 60 * 60  # seconds: how long Mailgun goes on retrying one webhook


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
    check_timestamp(timestamp, tolerance, max_age=RETRY_WINDOW)
    return Verified(payload, token)
