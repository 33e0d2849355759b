"""Outbox rows read by hand-written SQL, turned into OutboxMessage objects cheaply.

A worker claims its batches with one ``UPDATE ... RETURNING`` (see queue). Letting Django
build the objects (``QuerySet.raw``) cost more than the statement itself: it compiles the
query, looks up each column's converters and runs them on every value of every row. Here each
column's conversion is chosen once, by field type, and does only what the database's value
still needs (SQLite's driver already returns datetimes, naive; JSON comes as text).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from postroom.delivery.models import OutboxMessage

_FIELDS = OutboxMessage._meta.concrete_fields
COLUMNS = ", ".join(f'"{field.column}"' for field in _FIELDS)


def as_messages(rows: Sequence[Sequence[Any]], connection: Any) -> list[OutboxMessage]:
    """``rows`` of ``SELECT {COLUMNS}`` (or ``RETURNING {COLUMNS}``) as model objects."""
    converters = _converters(connection.vendor, connection.timezone_name)
    alias = connection.alias
    messages = []
    for row in rows:
        values = [
            value if value is None or convert is None else convert(value)
            for convert, value in zip(converters, row, strict=True)
        ]
        messages.append(OutboxMessage.from_db(alias, None, values))
    return messages


@functools.cache
def _converters(vendor: str, timezone_name: str) -> list[Callable[[Any], Any] | None]:
    """Per column: how a value from ``vendor``'s driver becomes the field's Python value."""
    return [_converter(field.get_internal_type(), vendor, timezone_name) for field in _FIELDS]


def _converter(kind: str, vendor: str, timezone_name: str) -> Callable[[Any], Any] | None:
    if kind == "JSONField":  # both drivers hand JSON back as text, as Django asks them to
        return _json
    if kind == "DateTimeField" and vendor == "sqlite":
        zone = UTC if timezone_name == "UTC" else ZoneInfo(timezone_name)
        return functools.partial(_sqlite_datetime, zone=zone)
    return None  # psycopg returns aware datetimes, and both return ints, text and bytes as is


assert all(
    getattr(field, "decoder", None) is None
    for field in _FIELDS
    if field.get_internal_type() == "JSONField"
), "a JSONField with its own decoder needs it in _json"


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def _sqlite_datetime(value: Any, zone: tzinfo) -> Any:
    """SQLite keeps a datetime as text in the database's time zone, without the offset
    (``2026-12-02 18:00:00.123456``), as Django's SQLite backend writes it."""
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)
