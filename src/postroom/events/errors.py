"""Why a webhook request is refused: a status and words that never hold a secret."""

from __future__ import annotations


class Refused(Exception):  # noqa: N818 (it reads as what happened to the request)
    """The request is answered with ``status`` and ``reason``; nothing is recorded."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def unauthorised(reason: str) -> Refused:
    return Refused(401, reason)


def bad_request(reason: str) -> Refused:
    return Refused(400, reason)
