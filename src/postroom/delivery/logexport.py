"""The email log's filtered rows as CSV, streamed, with would-be formulas neutralised."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from postroom.delivery.models import OutboxMessage
from postroom.delivery.suppression_csv import neutralise

COLUMNS = (
    "id", "created_at", "from", "to", "cc", "bcc", "subject", "kind", "status",
    "attempts", "sent_at", "last_reply", "message_id",
)  # fmt: skip
FIELDS = (
    "id", "created_at", "sender", "to", "cc", "bcc", "subject", "kind", "status",
    "attempt_count", "sent_at", "last_reply", "message_id",
)  # fmt: skip
CHUNK_SIZE = 500


class _Echo:
    def write(self, value: str) -> str:
        return value


def _when(value: object) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""  # type: ignore[attr-defined]


def csv_lines(rows: Iterable[OutboxMessage]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff"  # a BOM, so that Excel reads the file as UTF-8
    yield writer.writerow(COLUMNS)
    for row in rows:
        cells = [
            str(row.pk), _when(row.created_at), row.sender, row.to, row.cc, row.bcc,
            row.subject, row.kind, row.status, str(row.attempt_count), _when(row.sent_at),
            row.last_reply, row.message_id,
        ]  # fmt: skip
        yield writer.writerow([neutralise(cell) for cell in cells])
