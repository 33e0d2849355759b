"""Entries as CSV, streamed row by row, with values that spreadsheets would run neutralised."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator

from postroom.forms.formdefs import display_value
from postroom.forms.models import Entry, Field

# A cell starting with one of these is a formula in Excel, LibreOffice and Google Sheets
# (the OWASP "CSV Injection" list: = + - @ tab and carriage return).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A signed number or phone number ("-12.5", "+44 20 7946 0000", "+1 (555) 010-9999"): only
# digits, spaces and ( ) . / -, so no function, cell reference or link a formula could use.
# It stays as typed: a visible apostrophe would only spoil it.
PLAIN_NUMBER = re.compile(r"[+-]?[0-9][0-9 ().\-/]*\Z")
CHUNK_SIZE = 500


def neutralise(value: str) -> str:
    """Prefix a would-be formula with ' so that it is shown as text, never run."""
    if not value.startswith(FORMULA_STARTS) or PLAIN_NUMBER.match(value):
        return value
    return f"'{value}"


class _Echo:
    def write(self, value: str) -> str:
        return value


def header(fields: list[Field]) -> list[str]:
    return [
        "Entry", "Submitted (UTC)", *[f.label for f in fields],
        "Other answers", "IP address", "User agent", "Referrer",
    ]  # fmt: skip


def row(entry: Entry, fields: list[Field]) -> list[str]:
    aliases = {f.alias for f in fields}
    others = "; ".join(
        f"{alias}: {display_value(value)}"
        for alias, value in entry.values.items()
        if alias not in aliases
    )
    return [
        str(entry.pk),
        entry.created_at.strftime("%Y-%m-%d %H:%M:%S"),
        *[display_value(entry.values.get(f.alias, "")) for f in fields],
        others,
        entry.ip,
        entry.user_agent,
        entry.referrer,
    ]


def csv_lines(fields: list[Field], entries: Iterable[Entry]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff"  # a BOM, so that Excel reads the file as UTF-8
    yield writer.writerow([neutralise(cell) for cell in header(fields)])
    for entry in entries:
        yield writer.writerow([neutralise(cell) for cell in row(entry, fields)])
