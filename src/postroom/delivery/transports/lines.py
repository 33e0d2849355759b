"""Line endings: SMTP and pickup files both want CRLF and nothing else."""

from __future__ import annotations

import re

_EOL = re.compile(rb"\r\n|\r|\n")


def to_crlf(data: bytes) -> bytes:
    """Turn bare LF and bare CR into CRLF; existing CRLF pairs stay as they are."""
    return _EOL.sub(b"\r\n", data)
