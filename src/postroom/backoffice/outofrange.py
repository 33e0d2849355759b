"""A number in the address or a form that no database column can hold is a bad request.

``<int:pk>`` in a URL matches any run of digits, and SQLite refuses a Python int beyond 64 bits
with OverflowError (PostgreSQL with "numeric value out of range"). Views look rows up by such
ids in many places; rather than a 500 for each, this answers 400 and says what was wrong.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import DataError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest

logger = logging.getLogger("postroom.requests")

MESSAGE = (
    "A number in this address or form is larger than Postroom can store (ids go up to"
    " 9223372036854775807). Check the link, or go back and try again."
)


def is_out_of_range(error: BaseException) -> bool:
    """True for the errors a too-large number causes in the database layer."""
    if isinstance(error, OverflowError):
        return True
    if isinstance(error, DataError):
        cause = error.__cause__
        return type(cause).__name__ == "NumericValueOutOfRange"
    return False


class OutOfRangeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_out_of_range(exception):
            return None
        logger.warning("Bad request %s %s: %s", request.method, request.path, exception)
        return HttpResponseBadRequest(MESSAGE, content_type="text/plain; charset=utf-8")
