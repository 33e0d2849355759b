"""Entries as CSV, streamed row by row, with values that spreadsheets would run neutralised."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from postroom.forms.formdefs import display_value
from postroom.forms.models import Entry, Field

# A cell starting with one of these is a formula in Excel, LibreOffice and Google Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK_SIZE = 500


def neutralise(value: str) -> str:
    """Prefix a would-be formula with ' so that it is shown as text, never run."""
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


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
