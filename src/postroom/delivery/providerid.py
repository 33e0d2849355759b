"""The provider's own id for a message, read from its ``250`` reply to DATA.

Postfix and SendGrid say ``250 Ok: queued as <id>``; SES says ``250 Ok <id>``; Exchange puts
``<id>`` in angle brackets. Events that name the provider's id are matched by it.
"""

from __future__ import annotations

import re

_PATTERNS = (
    re.compile(r"\bqueued as:?\s+<?([^\s<>]{1,200})>?", re.IGNORECASE),
    re.compile(r"^250[ -](?:\d\.\d\.\d+\s+)?Ok\s+([0-9a-f]{16}-[0-9a-f-]{8,190})\b", re.IGNORECASE),
    re.compile(r"\bid=<?([^\s<>]{1,200})>?", re.IGNORECASE),
)


def provider_id(reply: str) -> str:
    """The id in ``reply``, or "" when the server named none."""
    for pattern in _PATTERNS:
        match = pattern.search(reply or "")
        if match:
            return match.group(1)
    return ""
