"""The suppression list as CSV: export streams it, import adds the addresses of a file.

The columns are ``address,reason,created_at,source,note``. An import needs only the address
column (or, without a header row, addresses in the first column); the reason defaults to
``import``. Exported cells that spreadsheets would run as formulas are neutralised.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.db import transaction

from postroom.delivery.models import Suppression, SuppressionReason
from postroom.delivery.suppression import InvalidAddress, is_suppressed, suppress

COLUMNS = ("address", "reason", "created_at", "source", "note")
# A cell starting with one of these is a formula in Excel, LibreOffice and Google Sheets
# (the same rule as the form entries' export).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MAX_IMPORT_BYTES = 5 * 1024 * 1024
MAX_IMPORT_ROWS = 50_000
MAX_REPORTED_PROBLEMS = 20


def neutralise(value: str) -> str:
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(entries: Iterable[Suppression]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff"  # a BOM, so that Excel reads the file as UTF-8
    yield writer.writerow(COLUMNS)
    for entry in entries:
        cells = [
            entry.address,
            entry.reason,
            entry.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            entry.source,
            entry.note,
        ]
        yield writer.writerow([neutralise(cell) for cell in cells])


@dataclass
class Imported:
    added: int = 0
    already: int = 0
    problems: list[str] = field(default_factory=list)
    skipped: int = 0  # problems beyond those listed

    def summary(self) -> str:
        text = f"Added {self.added:,} address{'es' if self.added != 1 else ''}"
        if self.already:
            text += f"; {self.already:,} already on the list"
        invalid = len(self.problems) + self.skipped
        if invalid:
            text += f"; {invalid:,} row{'s' if invalid != 1 else ''} left out"
        return text + "."


class ImportRefused(ValueError):
    """The file as a whole cannot be imported; the text says why and what to do."""


def import_csv(data: bytes, source: str = "import", note: str = "") -> Imported:
    """Add every address of a CSV file; rows that are not addresses are reported, not fatal."""
    if len(data) > MAX_IMPORT_BYTES:
        raise ImportRefused(
            f"The file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB: split it."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRefused("The file is not UTF-8 text: save it as CSV UTF-8.") from None
    try:
        with transaction.atomic():  # one commit: quick, and a refused file adds nothing
            return _import_rows(csv.reader(io.StringIO(text)), source, note)
    except csv.Error as error:  # e.g. a cell longer than the csv module's field limit
        raise ImportRefused(f"The file is not CSV this import can read: {error}.") from None


def _import_rows(rows: Iterator[list[str]], source: str, note: str) -> Imported:
    result = Imported()
    first = next(rows, None)
    if first is None:
        return result
    header = [cell.strip().lower() for cell in first]
    if "address" in header or "email" in header:
        column = header.index("address") if "address" in header else header.index("email")
        reason_column = header.index("reason") if "reason" in header else None
        note_column = header.index("note") if "note" in header else None
        numbered: Iterable[tuple[int, list[str]]] = enumerate(rows, start=2)
    else:
        column, reason_column, note_column = 0, None, None
        numbered = enumerate([first, *rows], start=1)
    for line, row in numbered:
        if line > MAX_IMPORT_ROWS + 1:
            raise ImportRefused(f"The file has more than {MAX_IMPORT_ROWS:,} rows: split it.")
        if not any(cell.strip() for cell in row):
            continue
        address = _cell(row, column)
        reason = _cell(row, reason_column) or SuppressionReason.IMPORT
        if reason not in SuppressionReason.values:
            reason = SuppressionReason.IMPORT
        try:
            if is_suppressed(address):
                result.already += 1
                continue
            suppress(address, reason, source=source, note=_cell(row, note_column) or note)
        except InvalidAddress as error:
            if len(result.problems) < MAX_REPORTED_PROBLEMS:
                result.problems.append(f"Row {line}: {error}")
            else:
                result.skipped += 1
            continue
        result.added += 1
    return result


def _cell(row: list[str], index: int | None) -> str:
    if index is None or index >= len(row):
        return ""
    value = row[index].strip()
    if value.startswith("'") and value[1:].startswith(FORMULA_STARTS):
        return value[1:]  # undo the export's neutralising
    return value
