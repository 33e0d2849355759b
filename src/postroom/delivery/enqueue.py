"""The one way in for every email: write it to the outbox inside the caller's transaction."""

from __future__ import annotations

import email.errors
import email.policy
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parseaddr
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model

from postroom.config import current_config
from postroom.core.plainaddress import plain_address
from postroom.delivery import suppression
from postroom.delivery.echo import echo_headers, new_tracking_id
from postroom.delivery.messageid import new_message_id
from postroom.delivery.models import Channel, Kind, OutboxMessage
from postroom.delivery.wakeup import notify_on_commit

FALLBACK_FROM = "postroom@localhost"

# Only these may travel through the hosting relay: invitations, and the outbox's own alerts.
FALLBACK_KINDS = (Kind.INVITE, Kind.SYSTEM)


def notify_workers() -> None:
    """Wake the workers once the current transaction commits (at once outside of one)."""
    notify_on_commit()


def default_from(channel: str = Channel.SITE) -> str:
    """The SMTP From of the effective settings, or a local placeholder when there is none.

    Mail through the hosting relay uses ``POSTROOM_FALLBACK_FROM`` when the site has no From:
    a relay accepts only senders of its own domains.
    """
    config = current_config()
    configured = config.smtp.from_address.value
    if not configured and channel == Channel.FALLBACK:
        configured = config.hosting.fallback_from.value
    return configured or FALLBACK_FROM


def enqueue(
    message: EmailMessage,
    kind: str = Kind.SYSTEM,
    channel: str = Channel.SITE,
    application: Model | None = None,
) -> OutboxMessage:
    """Queue ``message``; it exists only if the caller's transaction commits.

    The message is rendered to bytes here, once: what the worker sends later is exactly
    what is stored, and its Message-ID stays the same across retries. ``channel`` is
    ``fallback`` only for the few kinds that may use the hosting relay (invitations, alerts).
    ``application`` is the application that handed the message in (the HTTP API).
    """
    if channel == Channel.FALLBACK and kind not in FALLBACK_KINDS:
        raise ValueError(
            f"Only invitations and alerts may use the fallback relay, not {kind} mail."
        )
    if not message.from_email or message.from_email == settings.DEFAULT_FROM_EMAIL:
        message.from_email = default_from(channel)
    headers = {name.lower() for name in message.extra_headers}
    if "message-id" not in headers:
        message.extra_headers["Message-ID"] = new_message_id(message.from_email)
    tracking_id = new_tracking_id()
    for name, value in echo_headers(tracking_id).items():
        if name.lower() not in headers:  # the caller's own value wins
            message.extra_headers[name] = value
    mime = message.message()
    recipients = message.recipients()
    if not recipients:
        raise ValueError("An email needs at least one recipient (To, Cc or Bcc).")
    with transaction.atomic():
        row = OutboxMessage.objects.create(
            kind=kind,
            channel=channel,
            sender=parseaddr(message.from_email)[1] or message.from_email,
            to=_join(message.to),
            cc=_join(message.cc),
            bcc=_join(message.bcc),
            subject=str(make_header(decode_header(mime.get("Subject", "")))),
            message_id=str(mime["Message-ID"]),
            raw=mime.as_bytes(linesep="\r\n"),
            notice=suppression.sign_in_notice(kind, recipients),
            tracking_id=tracking_id,
            application=application,
        )
        notify_on_commit()
    return row


@dataclass
class RawMail:
    """A message that arrived whole, with its envelope: one item for :func:`enqueue_raw_many`.

    ``headers`` is its parsed header block when the caller has parsed it already (the relay
    reads From before it accepts a message), so that it is not parsed twice.
    """

    raw: bytes
    sender: str
    recipients: list[str] | tuple[str, ...]
    kind: str = Kind.RELAY
    application: Model | None = None
    headers: Message | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Queued:
    """A message :func:`enqueue_raw_many` queued: its outbox id and what was worked out for it."""

    pk: int
    message_id: str
    tracking_id: str
    subject: str
    notice: str


def enqueue_raw(
    raw: bytes,
    sender: str,
    recipients: list[str] | tuple[str, ...],
    kind: str = Kind.RELAY,
    application: Model | None = None,
) -> OutboxMessage:
    """Queue a message that arrived whole (the SMTP relay), stored as received.

    ``sender`` and ``recipients`` are the envelope (MAIL FROM, RCPT TO); the worker sends to
    exactly these. For the log they are split by the headers: envelope recipients named in To
    or Cc are listed there, every other one (Bcc, or a list's members) as Bcc. The only changes
    to the bytes are headers put in front: a Message-ID when there is none, as Postfix's cleanup
    does, so that the log, the status API and the recipients' replies can all name it; and the
    headers providers echo in their events (:mod:`postroom.delivery.echo`), as :func:`enqueue`
    adds them, unless the message has its own.
    """
    item = RawMail(raw, sender, recipients, kind, application)
    row = OutboxMessage(**_raw_values(item, bool(echo_headers("-"))), application=application)
    with transaction.atomic():
        row.save(force_insert=True)
        notify_on_commit()
    return row


def enqueue_raw_many(items: Sequence[RawMail]) -> list[Queued]:
    """Queue several whole messages, each as :func:`enqueue_raw` would, with one INSERT.

    All or none: one bad item (no recipient, a value the database refuses) fails them all,
    and the caller may then queue each on its own to learn which. The workers are woken once.
    The relay's group commit calls this hundreds of times a second, so the rows are written
    with one plain statement rather than through model instances (several times the cost).
    """
    if not items:
        return []
    echoing = bool(echo_headers("-"))  # the configuration is read once for all of them
    rows = [_raw_values(item, echoing) for item in items]
    for row, item in zip(rows, items, strict=True):
        row["application_id"] = item.application.pk if item.application is not None else None
    with transaction.atomic():
        ids = _insert_rows(rows)
        notify_on_commit()
    return [
        Queued(pk, row["message_id"], row["tracking_id"], row["subject"], row["notice"])
        for pk, row in zip(ids, rows, strict=True)
    ]


def _insert_rows(rows: list[dict[str, Any]]) -> list[int]:
    """INSERT ``rows`` (field attname to value; every other field gets its default) and
    return their ids, in order. One statement, unless SQLite's parameter limit needs more.

    The values given are strings, bytes, ids and None, which both databases take as they are;
    the defaults are prepared by their fields, once for all the rows (created_at: they are
    queued together).
    """
    db = connections[DEFAULT_DB_ALIAS]  # not the proxy, which looks it up at every use
    meta = OutboxMessage._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    given = [field.attname for field in fields if field.attname in rows[0]]
    defaulted = [field for field in fields if field.attname not in rows[0]]
    defaults = [_prepared_default(field, db) for field in defaulted]
    quote = db.ops.quote_name
    columns = ", ".join(quote(meta.get_field(name).column) for name in given)
    columns += "".join(", " + quote(field.column) for field in defaulted)
    placeholders = "(" + ", ".join(["%s"] * (len(given) + len(defaulted))) + ")"
    limit = db.features.max_query_params  # None: no limit (PostgreSQL)
    per_statement = max(1, limit // len(fields)) if limit else len(rows)
    ids: list[int] = []
    with db.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            params: list[Any] = []
            for row in chunk:
                params += [row[name] for name in given]
                params += defaults
            cursor.execute(
                f"INSERT INTO {quote(meta.db_table)} ({columns}) "  # noqa: S608 (names)
                f"VALUES {', '.join([placeholders] * len(chunk))} "
                f"RETURNING {quote(meta.pk.column)}, {quote('tracking_id')}",
                params,
            )
            # Matched by tracking id (random, one per row): no reliance on the rows' order.
            returned = dict((tracking, pk) for pk, tracking in cursor.fetchall())
            ids.extend(returned[row["tracking_id"]] for row in chunk)
    return ids


_constant_defaults: dict[tuple[str, str], Any] = {}  # (vendor, field): prepared, once


def _prepared_default(field: Field, db: BaseDatabaseWrapper) -> Any:
    """``field``'s default as the database takes it; a constant one is prepared only once."""
    if callable(field.default):  # e.g. timezone.now: a new value each time
        return field.get_db_prep_save(field.get_default(), db)
    key = (db.vendor, field.attname)
    if key not in _constant_defaults:
        _constant_defaults[key] = field.get_db_prep_save(field.get_default(), db)
    return _constant_defaults[key]


def _raw_values(item: RawMail, echoing: bool) -> dict[str, Any]:
    """The outbox fields for ``item``: its log fields from the headers, its bytes with the
    headers Postroom puts in front (the application is left to the caller)."""
    envelope = _unique(item.recipients)
    if not envelope:
        raise ValueError("An email needs at least one envelope recipient (RCPT TO).")
    headers = item.headers if item.headers is not None else parse_head(item.raw)
    added: list[bytes] = []
    message_id = str(headers.get("Message-ID", "") or "").strip()
    if not message_id:
        message_id = new_message_id(item.sender or _first_address(headers.get("From", "")))
        added.append(b"Message-ID: " + message_id.encode("ascii") + b"\r\n")
    tracking_id = new_tracking_id()
    if echoing:
        for name, value in echo_headers(tracking_id).items():
            if name not in headers:  # the sender's own value wins, as in enqueue()
                added.append(f"{name}: {value}\r\n".encode("ascii"))
    named_to = {a.lower() for a in _addresses(headers.get_all("To", []))}
    named_cc = {a.lower() for a in _addresses(headers.get_all("Cc", []))} - named_to
    named = named_to | named_cc
    return {
        "kind": item.kind,
        "channel": Channel.SITE,
        "sender": item.sender,
        "to": ", ".join(r for r in envelope if r.lower() in named_to),
        "cc": ", ".join(r for r in envelope if r.lower() in named_cc),
        "bcc": ", ".join(r for r in envelope if r.lower() not in named),
        "subject": _decoded(headers.get("Subject", ""))[:998],
        "message_id": message_id[:255],
        "raw": b"".join(added) + bytes(item.raw),
        "notice": suppression.sign_in_notice(item.kind, envelope),
        "tracking_id": tracking_id,
    }


def parse_head(raw: bytes) -> Message:
    """The header block of ``raw`` (up to its first empty line), parsed leniently: only
    the headers are read, however long the body."""
    end = raw.find(b"\r\n\r\n")
    if end < 0:
        end = raw.find(b"\n\n")
    head = raw if end < 0 else raw[: end + 2]
    return BytesHeaderParser(policy=email.policy.compat32).parsebytes(head)


def _unique(addresses: list[str] | tuple[str, ...]) -> list[str]:
    seen: set[str] = set()
    kept = []
    for address in (a.strip() for a in addresses):
        if address and address.lower() not in seen:
            seen.add(address.lower())
            kept.append(address)
    return kept


def _addresses(values: list[str]) -> list[str]:
    # A plain address, bare or in angle brackets, is what getaddresses finds, far sooner.
    texts = [plain_address(str(v).strip(" \t")) for v in values]
    if all(texts):
        return texts  # type: ignore[return-value]
    return [address for _name, address in getaddresses([str(v) for v in values]) if address]


def _first_address(value: str) -> str:
    found = _addresses([value])
    return found[0] if found else ""


def _decoded(value: str) -> str:
    try:
        return str(make_header(decode_header(str(value))))
    except (UnicodeError, LookupError, ValueError, email.errors.HeaderParseError):
        return str(value)


def _join(addresses: list[str]) -> str:
    return ", ".join(address for _name, address in getaddresses(addresses) if address)
