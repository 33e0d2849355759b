"""Messages caught by the development mail catcher."""

from __future__ import annotations

from collections.abc import Sequence
from email.utils import getaddresses

from django.db import connections, models, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.functions import Substr
from django.utils import timezone

from postroom.emailview import parsing
from postroom.emailview.parsing import Outline
from postroom.inbox import fulltext
from postroom.inbox.search import search


class CaughtMessageQuerySet(models.QuerySet["CaughtMessage"]):
    def search(self, query: str) -> CaughtMessageQuerySet:
        return search(self, query)

    def unread(self) -> CaughtMessageQuerySet:
        return self.filter(read_at__isnull=True)

    def summaries(self) -> CaughtMessageQuerySet:
        """Without the raw bytes (megabytes per message) or the outline: what the list shows."""
        return self.defer("raw", "summary", "body_text")


class CaughtMessage(models.Model):
    received_at = models.DateTimeField(default=timezone.now)
    envelope_sender = models.CharField(max_length=998, blank=True)
    envelope_recipients = models.TextField(blank=True, help_text="Comma-separated RCPT TO.")
    from_header = models.TextField("From", blank=True)
    to_header = models.TextField("To", blank=True)
    subject = models.TextField(blank=True)
    message_id = models.CharField("Message-ID", max_length=998, blank=True)
    size = models.PositiveIntegerField(default=0)
    has_attachments = models.BooleanField(default=False)
    preview = models.CharField(max_length=200, blank=True)
    # What the detail page shows, found once when the message is caught (see parsing.outline).
    summary = models.JSONField(default=dict, blank=True)
    raw = models.BinaryField()  # the bytes as received, stored as-is
    # The body's words for the full-text index (postroom.inbox.fulltext), found once at intake.
    body_text = models.TextField(blank=True, default="")
    read_at = models.DateTimeField(null=True, blank=True)

    objects = CaughtMessageQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = "caught message"
        indexes = [
            # Every list is newest first, filtered perhaps by flag or date: walking this index
            # in order answers it (and its count) without reading a row, whose raw bytes and
            # body would be read too (SQLite keeps read_at after them, in overflow pages).
            models.Index(
                fields=["received_at", "id", "has_attachments", "read_at"], name="inbox_caught_list"
            ),
        ]

    def __str__(self) -> str:
        return self.subject or "(no subject)"

    @classmethod
    def from_envelope(cls, sender: str, recipients: list[str], raw: bytes) -> CaughtMessage:
        """An unsaved message with its summary fields filled in from ``raw``, read once."""
        raw = bytes(raw)
        found = parsing.outline(raw, recipients)
        limit = parsing.SUMMARY_FIELD_LIMIT
        return cls(
            envelope_sender=(sender or "")[:998],
            envelope_recipients=", ".join(recipients),
            from_header=found.from_header[:limit],
            to_header=found.to_header[:limit],
            subject=found.subject[:limit],
            message_id=found.message_id[:limit],
            size=len(raw),
            has_attachments=found.has_attachments,
            preview=found.preview,
            summary=found.to_json(),
            raw=raw,
            body_text=fulltext.body_text(raw, found),
        )

    def insert(self) -> None:
        """Save this new message with one plain INSERT, as ``save()`` would store it.

        The catcher stores every message so: the ORM's building of the statement cost more
        than the insert itself. Each value is still prepared by its field, as the ORM does;
        the full-text index (a trigger on SQLite, a generated column on PostgreSQL) and the
        totals (triggers) are kept either way. No model signals are sent (none are connected
        to caught messages).
        """
        database = connections[self._state.db or router.db_for_write(CaughtMessage)]
        sql, fields = _insert_statement(database)
        values = [field.get_db_prep_save(field.pre_save(self, True), database) for field in fields]
        with database.cursor() as cursor:
            cursor.execute(sql, values)
            self.pk = cursor.fetchone()[0]  # RETURNING: PostgreSQL, and SQLite 3.35 on
        self._state.adding, self._state.db = False, database.alias

    def insert_within(self, messages: int, size: int) -> bool:
        """:meth:`insert` if the inbox, with this message, stays within ``messages`` and
        ``size`` bytes; False (nothing stored) if not, or if its totals row is missing.

        The totals are read by the insert itself: in autocommit (as the catcher's store
        threads are), reading, inserting and committing are one statement (on PostgreSQL, one
        round trip to the server); inside a transaction the caller commits.
        """
        database = connections[self._state.db or router.db_for_write(CaughtMessage)]
        sql, fields = _insert_within_statement(database)
        values = [field.get_db_prep_save(field.pre_save(self, True), database) for field in fields]
        with database.cursor() as cursor:
            cursor.execute(sql, [*values, messages, self.size, size])
            found = cursor.fetchone()
        if found is None:
            return False
        self.pk = found[0]
        self._state.adding, self._state.db = False, database.alias
        return True

    def outline(self) -> Outline:
        """The stored outline; read from the raw bytes once (and saved) when it is missing."""
        found = Outline.from_json(self.summary)
        if found is not None:
            return found
        raw = CaughtMessage.objects.filter(pk=self.pk).values_list("raw", flat=True).first()
        found = parsing.outline(bytes(raw or b""), self.recipients_list)
        self.summary, self.preview = found.to_json(), found.preview
        self.has_attachments = found.has_attachments
        CaughtMessage.objects.filter(pk=self.pk).update(
            summary=self.summary, preview=self.preview, has_attachments=self.has_attachments
        )
        return found

    def raw_slices(self, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        """Byte ranges of the raw message, read in one query without loading the rest."""
        wanted = [(start, end) for start, end in ranges if end > start]
        values: list[object] = []
        if wanted:
            expressions = [
                Substr("raw", start + 1, end - start, output_field=models.BinaryField())
                for start, end in wanted
            ]
            row = CaughtMessage.objects.filter(pk=self.pk).values_list(*expressions).first()
            values = list(row) if row else []  # a message deleted meanwhile reads as empty
        found = iter(bytes(value or b"") for value in values)
        return [next(found, b"") if end > start else b"" for start, end in ranges]

    @property
    def unread(self) -> bool:
        return self.read_at is None

    @property
    def recipients_list(self) -> list[str]:
        return [r.strip() for r in self.envelope_recipients.split(",") if r.strip()]

    @property
    def display_from(self) -> str:
        return self.from_header or self.envelope_sender or "(no sender)"

    @property
    def display_to(self) -> str:
        return self.to_header or self.envelope_recipients or "(no recipients)"

    @property
    def short_from(self) -> str:
        """The sender's name, or address, as a mail client's list shows it."""
        return _short(self.display_from, prefer_name=True)

    @property
    def short_to(self) -> str:
        """The first recipient's address, and how many more there are."""
        return _short(self.display_to, prefer_name=False)


def _short(value: str, *, prefer_name: bool) -> str:
    try:
        pairs = getaddresses([value])
    except Exception:
        return value
    entries = [(name if prefer_name and name else address) or name for name, address in pairs]
    entries = [entry for entry in entries if entry]
    if not entries:
        return value
    return entries[0] if len(entries) == 1 else f"{entries[0]} +{len(entries) - 1}"


_inserts: dict[str, tuple[str, list[models.Field]]] = {}


def _stored_fields() -> list[models.Field]:
    """The columns an INSERT writes, as the ORM's: no primary key, nothing generated."""
    return [
        field
        for field in CaughtMessage._meta.concrete_fields
        if not field.primary_key and not getattr(field, "generated", False)
    ]


def _insert_statement(database: BaseDatabaseWrapper) -> tuple[str, list[models.Field]]:
    """The INSERT of a message on this kind of database, and the fields of its values."""
    found = _inserts.get(database.vendor)
    if found is None:
        fields = _stored_fields()
        meta, quote = CaughtMessage._meta, database.ops.quote_name
        columns = ", ".join(quote(field.column) for field in fields)
        places = ", ".join(["%s"] * len(fields))
        sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({places})"  # noqa: S608
        sql += f" RETURNING {quote(meta.pk.column)}"
        found = _inserts[database.vendor] = (sql, fields)
    return found


def _insert_within_statement(database: BaseDatabaseWrapper) -> tuple[str, list[models.Field]]:
    """The INSERT of a message that selects its row only while the totals have room.

    On PostgreSQL each value is cast to its column's type: a value selected, not listed in
    VALUES, gets no type from its column (a NULL would be text). Strings are cast to text, not
    to varchar(n), which would cut a longer one short instead of refusing it. SQLite takes
    values as they come.
    """
    found = _inserts.get(f"within-{database.vendor}")
    if found is None:
        fields = _stored_fields()
        meta, quote = CaughtMessage._meta, database.ops.quote_name
        columns = ", ".join(quote(field.column) for field in fields)
        if database.vendor == "postgresql":
            casts = [
                "::text" if isinstance(field, models.CharField) else f"::{field.db_type(database)}"
                for field in fields
            ]
        else:
            casts = [""] * len(fields)
        values = ", ".join(f"%s{cast}" for cast in casts)
        sql = (
            f"INSERT INTO {quote(meta.db_table)} ({columns}) SELECT {values} "  # noqa: S608
            f"FROM {quote(CaughtTotals._meta.db_table)} "
            "WHERE id = 1 AND messages + 1 <= %s AND bytes + %s <= %s "
            f"RETURNING {quote(meta.pk.column)}"
        )
        found = _inserts[f"within-{database.vendor}"] = (sql, fields)
    return found


class CaughtTotals(models.Model):
    """One row (id 1): how many messages, how many unread, and their bytes.

    Kept by database triggers, see postroom.inbox.totals; never written by Django.
    """

    messages = models.BigIntegerField(default=0)
    unread = models.BigIntegerField(default=0)
    bytes = models.BigIntegerField(default=0)

    class Meta:
        verbose_name_plural = "caught totals"

    def __str__(self) -> str:
        return f"{self.messages} messages, {self.unread} unread, {self.bytes} bytes"


class InboxToken(models.Model):
    """A bearer token for the inbox API, made by an administrator (see inbox.tokens).

    Only the SHA-256 digest is kept: the token is 256 random bits, so a digest is as good as a
    slow hash and lets one indexed query find it by its lookup part.
    """

    name = models.CharField(max_length=100, unique=True)
    lookup = models.CharField(max_length=12, unique=True)
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
