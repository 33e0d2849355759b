"""The email log's filters: which outbox rows a list URL (or a bulk action) is about.

Bad input never fails the page: a filter value that does not make sense is left out, and
the form carries an error saying what was wrong, shown next to that filter.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django import forms
from django.db.models import BinaryField, Exists, Lookup, OuterRef, Q, QuerySet
from django.http import QueryDict
from django.utils import timezone

from postroom.delivery.models import EventKind, Kind, OutboxMessage, RecipientEvent, Status

PAGE_SIZE = 50
SEARCH_MAX_CHARS = 200
SEARCH_MAX_TERMS = 10
# What the list needs of a row: the raw bytes and per-recipient outcomes stay in the database.
LIST_FIELDS = (
    "id",
    "created_at",
    "sender",
    "to",
    "cc",
    "bcc",
    "subject",
    "kind",
    "status",
    "attempt_count",
    "last_reply",
    "application__name",
)
PERIODS: dict[str, tuple[str, timedelta | None]] = {
    "": ("All time", None),
    "24h": ("Last 24 hours", timedelta(hours=24)),
    "7d": ("Last 7 days", timedelta(days=7)),
    "30d": ("Last 30 days", timedelta(days=30)),
}
FILTER_NAMES = ("q", "status", "kind", "event", "application", "period", "from", "to")
# What providers reported after the 250, for at least one recipient.
EVENT_FILTERS = (
    (EventKind.DELIVERED, "Delivered"),
    (EventKind.BOUNCED, "Bounced"),
    (EventKind.COMPLAINED, "Complained"),
)
MAX_ID = 2**63 - 1  # the largest id a BigAutoField (SQLite and PostgreSQL bigint) can hold
ID_MAX_CHARS = len(str(MAX_ID))


def parse_id(text: object) -> int | None:
    """``text`` as a message id, or None when it cannot be one (not digits, 0, beyond bigint)."""
    if not isinstance(text, str) or not 0 < len(text) <= ID_MAX_CHARS:
        return None
    if not text.isascii() or not text.isdigit():
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None


def _unknown(what: str) -> dict[str, str]:
    return {"invalid_choice": f"Unknown {what} “%(value)s”: showing every {what}."}


# The browser's date picker; it submits YYYY-MM-DD whatever format it shows the date in.
_DATE_WIDGET = forms.DateInput(attrs={"type": "date", "autocomplete": "off"}, format="%Y-%m-%d")
_BAD_DATE = {
    "invalid": "Pick a date in the date box (or type it as YYYY-MM-DD); this one was left out."
}


class LogFilterForm(forms.Form):
    q = forms.CharField(
        required=False,
        label="Search",
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "Sender, recipient, subject or text"}
        ),
    )
    status = forms.ChoiceField(
        required=False,
        choices=[("", "Any status"), *Status.choices],
        error_messages=_unknown("status"),
    )
    kind = forms.ChoiceField(
        required=False, choices=[("", "Any kind"), *Kind.choices], error_messages=_unknown("kind")
    )
    event = forms.ChoiceField(
        required=False,
        label="Provider event",
        choices=[("", "Any event"), *EVENT_FILTERS],
        error_messages=_unknown("event"),
    )
    application = forms.ChoiceField(required=False, error_messages=_unknown("application"))
    period = forms.ChoiceField(
        required=False,
        label="Created",
        choices=[(key, label) for key, (label, _) in PERIODS.items()],
        error_messages=_unknown("period"),
    )
    date_from = forms.DateField(
        required=False,
        label="Created on or after (UTC)",
        input_formats=["%Y-%m-%d"],
        widget=_DATE_WIDGET,
        error_messages=_BAD_DATE,
    )
    date_to = forms.DateField(
        required=False,
        label="Created on or before (UTC)",
        input_formats=["%Y-%m-%d"],
        widget=_DATE_WIDGET,
        error_messages=_BAD_DATE,
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # The applications that hand in mail (relay, API); delivery knows them only through
        # the outbox's foreign key, so it never imports the package above it.
        applications = OutboxMessage._meta.get_field("application").related_model
        choices = [(str(pk), name) for pk, name in applications.objects.values_list("pk", "name")]
        if choices or self.data.get("application"):
            self.fields["application"].choices = [("", "Any application"), *choices]
        else:
            del self.fields["application"]  # none exist: no filter to offer

    def add_prefix(self, field_name: str) -> str:
        # Short, readable URL parameters: ?from=2024-05-01&to=2024-05-31
        return {"date_from": "from", "date_to": "to"}.get(field_name, field_name)

    def clean_q(self) -> str:
        return self.cleaned_data["q"][:SEARCH_MAX_CHARS]

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error(
                "date_to", "This date is before the “Created on or after” date; it was left out."
            )
        return data


@dataclass(frozen=True)
class LogQuery:
    """The filter form, bound to the request's parameters, and the rows it selects."""

    form: LogFilterForm
    messages: QuerySet[OutboxMessage]
    params: QueryDict  # the filter parameters as given (no page), to carry across requests

    @property
    def is_filtered(self) -> bool:
        return any(self.params.get(name) for name in FILTER_NAMES)

    @property
    def has_errors(self) -> bool:
        return bool(self.form.errors)

    @property
    def querystring(self) -> str:
        return self.params.urlencode()


def filter_params(data: Mapping[str, str] | QueryDict) -> QueryDict:
    """Only the non-empty filter parameters of ``data``, in a fixed order."""
    params = QueryDict(mutable=True)
    for name in FILTER_NAMES:
        value = data.get(name, "")
        if isinstance(value, str) and value.strip():
            params[name] = value.strip()
    return params


def log_query(data: Mapping[str, str] | QueryDict, now: datetime | None = None) -> LogQuery:
    """Parse filter parameters (e.g. ``request.GET``) into the selected outbox rows."""
    params = filter_params(data)
    form = LogFilterForm(params)
    form.is_valid()  # fills cleaned_data with the fields that are valid, errors for the rest
    selected = apply(OutboxMessage.objects.all(), form.cleaned_data, now or timezone.now())
    return LogQuery(form=form, messages=selected, params=params)


def apply(
    queryset: QuerySet[OutboxMessage], filters: Mapping[str, object], now: datetime
) -> QuerySet[OutboxMessage]:
    """Narrow ``queryset`` by the valid filters in ``filters`` (a form's cleaned data)."""
    if filters.get("status") == Status.SUPPRESSED:  # also the messages some recipients skipped
        queryset = queryset.filter(
            Q(status=Status.SUPPRESSED) | Q(recipient_status__icontains='"suppressed: ')
        )
    elif filters.get("status"):
        queryset = queryset.filter(status=filters["status"])
    if filters.get("kind"):
        queryset = queryset.filter(kind=filters["kind"])
    if filters.get("event"):
        reported = RecipientEvent.objects.filter(message=OuterRef("pk"), kind=filters["event"])
        queryset = queryset.filter(Exists(reported))
    if filters.get("application"):
        queryset = queryset.filter(application_id=int(str(filters["application"])))
    window = PERIODS.get(str(filters.get("period") or ""), ("", None))[1]
    if window is not None:
        queryset = queryset.filter(created_at__gte=now - window)
    start, end = filters.get("date_from"), filters.get("date_to")
    if isinstance(start, date):
        queryset = queryset.filter(created_at__gte=_utc_midnight(start))
    if isinstance(end, date) and end < date.max:
        queryset = queryset.filter(created_at__lt=_utc_midnight(end + timedelta(days=1)))
    for term in str(filters.get("q") or "").split()[:SEARCH_MAX_TERMS]:
        queryset = queryset.filter(
            Q(sender__icontains=term)
            | Q(to__icontains=term)
            | Q(cc__icontains=term)
            | Q(bcc__icontains=term)
            | Q(subject__icontains=term)
            | Q(raw__text_contains=term)
        )
    return queryset


@BinaryField.register_lookup
class RawTextContains(Lookup):
    """``raw__text_contains="word"``: the stored message holds ``word``. One SQL condition over
    the bytes as they are stored (no row is parsed in Python): bodies Django and most sites send
    are 8-bit text, so their words are found; a base64 or quoted-printable body is searched as
    encoded.

    SQLite's LIKE ignores the case of ASCII letters. On PostgreSQL, ILIKE over text decoded from
    bytes is ten times slower than ``position()`` over the bytes, so the word is looked for as
    typed, in lower case, upper case and capitalised (``Shipped``, ``shipped``, ``SHIPPED``).
    """

    lookup_name = "text_contains"
    prepare_rhs = False

    def as_sql(self, compiler, connection):  # noqa: ANN001, ANN201
        column, params = self.process_lhs(compiler, connection)
        term = str(self.rhs)
        if connection.vendor == "postgresql":
            spellings = list(dict.fromkeys([term, term.lower(), term.upper(), term.capitalize()]))
            checks = " OR ".join(f"position(%s::bytea in {column}) > 0" for _ in spellings)
            values = [spelling.encode("utf-8") for spelling in spellings]
            return f"({checks})", _interleave(params, values)
        return f"CAST({column} AS TEXT) LIKE %s ESCAPE '!'", [*params, _like_pattern(term)]


def _interleave(column_params: list, values: list[bytes]) -> list:
    """The parameters of ``position(%s in column)`` repeated for each value, in order."""
    out: list = []
    for value in values:
        out += [value, *column_params]
    return out


def _like_pattern(term: object) -> str:
    escaped = str(term).replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return f"%{escaped}%"


def rows_version(rows: Iterable[OutboxMessage], total: int, max_id: int) -> str:
    """A short fingerprint of what a page of the list shows: the live update swaps the rows
    in only when it changes."""
    seen = [(row.pk, row.status, row.attempt_count, row.last_reply) for row in rows]
    return hashlib.sha256(repr((seen, total, max_id)).encode()).hexdigest()[:16]


def _utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)
