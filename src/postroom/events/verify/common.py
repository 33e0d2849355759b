"""What the providers' checks share: timestamps within a tolerance, constant-time comparison,
shared secrets in basic or bearer authorisation, and JSON parsing with clear refusals."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import time
from collections.abc import Mapping
from typing import Any

from postroom.events.errors import bad_request, unauthorised


def header(headers: Mapping[str, str], name: str) -> str:
    """A request header (Django's ``request.headers`` is case-insensitive already)."""
    return (headers.get(name) or "").strip()


def check_timestamp(
    value: str | float | int, tolerance: int, now: float | None = None, max_age: int = 0
) -> None:
    """Within ``tolerance`` seconds of the clock either way; or, for a provider that resends
    the first signed body for hours, up to ``max_age`` seconds old (never that far ahead)."""
    try:
        stamp = float(value)
    except (TypeError, ValueError):
        raise bad_request("The timestamp is missing or not a number of seconds.") from None
    oldest = max(tolerance, max_age)
    age = (time.time() if now is None else now) - stamp
    if not math.isfinite(stamp) or age > oldest or -age > tolerance:
        raise bad_request(
            f"The timestamp is more than {oldest if age > 0 else tolerance} seconds away from"
            " this server's clock: an old request is refused (check the clocks if this is a"
            " fresh one)."
        )


def same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def shared_secret(headers: Mapping[str, str], secret: str) -> None:
    """The secret as the password of basic auth (any user name) or as a bearer token."""
    authorisation = header(headers, "Authorization")
    scheme, _, credentials = authorisation.partition(" ")
    given = ""
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise unauthorised("The basic authorisation header is not valid base64.") from None
        given = decoded.partition(":")[2]
    elif scheme.lower() == "bearer":
        given = credentials.strip()
    if not given:
        raise unauthorised("No credentials: put the secret in the URL's basic auth.")
    if not same(given, secret):
        raise unauthorised("The credentials do not match the configured secret.")


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise bad_request(f"The body is not valid JSON: {error}.") from None
    except RecursionError:
        raise bad_request("The body's JSON is nested too deeply.") from None


def signed_request_key(timestamp: str, body: bytes) -> str:
    """What marks a signed request as seen: its timestamp and body, not the signature's
    spelling (hex case, base64 padding bits and ECDSA's (r, n - s) all vary for one request)."""
    return hashlib.sha256(timestamp.encode() + b"." + body).hexdigest()


class Verified:
    """A request whose signature holds: its parsed payload and the id that marks a replay."""

    __slots__ = ("payload", "replay_key")

    def __init__(self, payload: Any, replay_key: str) -> None:
        self.payload = payload
        self.replay_key = replay_key
