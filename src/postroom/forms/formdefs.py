"""The public side of a form: a Django form built from its Field rows, and what templates show.

Field names in the built form are the fields' aliases. Values are stored as strings (a list
of strings for a multiple choice) and shown with :func:`display_value`.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from decimal import Decimal, InvalidOperation
from pathlib import PurePath

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile

from postroom.forms import patterns
from postroom.forms.models import Field

Kind = Field.Kind

SHORT_TEXT_MAX = 500
LONG_TEXT_MAX = 10_000
HIDDEN_MAX = 2_000
DEFAULT_FILE_TYPES = (
    "pdf", "png", "jpg", "jpeg", "gif", "webp", "txt", "csv", "rtf",
    "doc", "docx", "xls", "xlsx", "odt", "ods", "zip",
)  # fmt: skip
CHOICE_KINDS = (Kind.SINGLE_CHOICE, Kind.MULTIPLE_CHOICE)
TEXT_KINDS = (Kind.SHORT_TEXT, Kind.LONG_TEXT)
HONEYPOT = "postroom_hp"
TOKEN = "postroom_ts"  # noqa: S105 (a field name)


def file_types(field: Field) -> list[str]:
    given = [t.strip().lower().lstrip(".") for t in re.split(r"[,;\s]+", field.allowed_types)]
    return [t for t in given if t] or list(DEFAULT_FILE_TYPES)


def extension(name: str) -> str:
    return PurePath(name).suffix.lower().lstrip(".")


def as_int(text: str) -> int | None:
    try:
        return int(text.strip())
    except ValueError:
        return None


def as_decimal(text: str) -> Decimal | None:
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def as_date(text: str) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(text.strip())
    except ValueError:
        return None


class UploadCheck:
    """A file's type (by extension) and size, with messages naming what is allowed."""

    def __init__(self, types: list[str], max_mb: int) -> None:
        self.types = types
        self.max_bytes = max_mb * 1024 * 1024
        self.max_mb = max_mb

    def __call__(self, upload: UploadedFile) -> None:
        if extension(upload.name or "") not in self.types:
            allowed = ", ".join(self.types)
            raise ValidationError(f"This type of file is not accepted. Allowed: {allowed}.")
        if upload.size is not None and upload.size > self.max_bytes:
            raise ValidationError(
                f"This file is {upload.size / 1024 / 1024:.1f} MB; the limit is {self.max_mb} MB."
            )


class PatternCheck:
    """The whole answer matches the field's pattern, checked in linear time (see patterns)."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern

    def __call__(self, answer: str) -> None:
        # None: a pattern saved before RE2 checked it; skipped here, flagged in the builder.
        if patterns.matches(self.pattern, answer) is False:
            raise ValidationError("This answer is not in the expected format.")


# Every message a visitor may see, in one voice: what to do, in a short sentence (Django's
# defaults mix "This field is required." with "Ensure this value has at most 200 characters").
MESSAGES = {
    "required": "Fill this in.",
    "invalid_choice": "Choose one of the options.",
    "max_length": "Use at most %(limit_value)d characters (this has %(show_value)d).",
    "min_length": "Use at least %(limit_value)d characters (this has %(show_value)d).",
}
KIND_MESSAGES = {
    Kind.EMAIL: {"invalid": "Enter an email address, e.g. name@example.com."},
    Kind.NUMBER: {
        "invalid": "Enter a number, e.g. 42 or 3.5.",
        "min_value": "Enter %(limit_value)s or more.",
        "max_value": "Enter %(limit_value)s or less.",
        "max_digits": "Enter a shorter number.",
    },
    # The date box shows the date in the visitor's own format and sends YYYY-MM-DD.
    Kind.DATE: {"invalid": "Choose a date in the date box."},
    Kind.SINGLE_CHOICE: {"required": "Choose one."},
    Kind.MULTIPLE_CHOICE: {"required": "Choose at least one."},
    Kind.CHECKBOX: {"required": "Tick this box to go on."},
    Kind.FILE: {"required": "Choose a file.", "empty": "This file is empty."},
}


def human_date(day: datetime.date) -> str:
    """``1 May 2024``: read the same way whatever format the visitor's date box shows."""
    return f"{day.day} {day:%B %Y}"


def django_field(field: Field) -> forms.Field:
    """The Django form field that validates answers to ``field``."""
    common = {
        "label": field.label,
        "required": field.required,
        "help_text": field.help_text,
        "error_messages": {**MESSAGES, **KIND_MESSAGES.get(field.kind, {})},
    }
    low, high = field.min_value, field.max_value
    if field.kind in TEXT_KINDS:
        ceiling = SHORT_TEXT_MAX if field.kind == Kind.SHORT_TEXT else LONG_TEXT_MAX
        maximum = as_int(high)
        validators = [PatternCheck(field.pattern)] if field.pattern else []
        return forms.CharField(
            max_length=min(maximum, ceiling) if maximum else ceiling,
            min_length=as_int(low),
            validators=validators,
            **common,
        )
    if field.kind == Kind.EMAIL:
        return forms.EmailField(max_length=254, **common)
    if field.kind == Kind.NUMBER:
        return forms.DecimalField(
            min_value=as_decimal(low), max_value=as_decimal(high), max_digits=30, **common
        )
    if field.kind == Kind.DATE:
        return forms.DateField(
            input_formats=["%Y-%m-%d"],
            validators=_date_bounds(as_date(low), as_date(high)),
            **common,
        )
    if field.kind == Kind.SINGLE_CHOICE:
        return forms.ChoiceField(choices=[(c, c) for c in field.choice_list], **common)
    if field.kind == Kind.MULTIPLE_CHOICE:
        return forms.MultipleChoiceField(
            choices=[(c, c) for c in field.choice_list],
            validators=_count_bounds(as_int(low), as_int(high)),
            **common,
        )
    if field.kind == Kind.CHECKBOX:
        return forms.BooleanField(**common)
    if field.kind == Kind.FILE:
        return forms.FileField(
            max_length=255,
            validators=[UploadCheck(file_types(field), field.max_file_mb)],
            **common,
        )
    return forms.CharField(max_length=HIDDEN_MAX, required=False, label=field.label)


def _date_bounds(low: datetime.date | None, high: datetime.date | None) -> list:
    def check(value: datetime.date) -> None:
        if low and value < low:
            raise ValidationError(f"Choose {human_date(low)} or later.")
        if high and value > high:
            raise ValidationError(f"Choose {human_date(high)} or earlier.")

    return [check]


def _count_bounds(low: int | None, high: int | None) -> list:
    def check(value: list[str]) -> None:
        if low and len(value) < low:
            raise ValidationError(f"Choose at least {low}.")
        if high and len(value) > high:
            raise ValidationError(f"Choose at most {high}.")

    return [check]


class PublicForm(forms.Form):
    def __init__(self, fields: Iterable[Field], *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.definitions = list(fields)
        for definition in self.definitions:
            self.fields[definition.alias] = django_field(definition)


def build_form(
    fields: Iterable[Field],
    data: Mapping | None = None,
    files: Mapping | None = None,
    initial: Mapping | None = None,
) -> PublicForm:
    return PublicForm(fields, data=data, files=files, initial=initial, auto_id="f-%s")


def stored_value(field: Field, cleaned: object) -> str | list[str]:
    """What an Entry keeps for one answer."""
    if field.kind == Kind.MULTIPLE_CHOICE:
        return [str(item) for item in (cleaned or [])]
    if field.kind == Kind.CHECKBOX:
        return "Yes" if cleaned else "No"
    if field.kind == Kind.FILE:
        return clean_filename(cleaned.name) if cleaned else ""
    if cleaned is None:
        return ""
    if isinstance(cleaned, datetime.date):
        return cleaned.isoformat()
    if isinstance(cleaned, Decimal):
        return format(cleaned, "f") if cleaned == cleaned.to_integral() else str(cleaned)
    return normalise_newlines(str(cleaned))


def display_value(value: object) -> str:
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return "" if value is None else str(value)


def normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029/\\:*?\"<>|]+")


def clean_filename(name: str) -> str:
    """An uploaded file's name made safe to show and to put in a header: no path, no controls."""
    base = PurePath(name.replace("\\", "/")).name
    cleaned = _UNSAFE_NAME.sub("_", base).strip(" .") or "file"
    if len(cleaned) > 150:
        suffix = PurePath(cleaned).suffix[:20]
        cleaned = cleaned[: 150 - len(suffix)] + suffix
    return cleaned


# -- what the templates show ------------------------------------------------------------------


INPUT_TYPES = {
    Kind.SHORT_TEXT: "text",
    Kind.EMAIL: "email",
    Kind.NUMBER: "number",
    Kind.DATE: "date",
    Kind.FILE: "file",
    Kind.HIDDEN: "hidden",
}


@dataclass
class Option:
    value: str
    id: str
    checked: bool


@dataclass
class FieldView:
    definition: Field
    name: str
    id: str
    value: str = ""
    checked: bool = False
    errors: list[str] = dataclass_field(default_factory=list)
    options: list[Option] = dataclass_field(default_factory=list)
    attrs: list[tuple[str, str]] = dataclass_field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.definition.kind

    @property
    def input_type(self) -> str:
        return INPUT_TYPES.get(self.kind, "text")

    @property
    def is_group(self) -> bool:
        return self.kind in CHOICE_KINDS

    @property
    def help_id(self) -> str:
        return f"{self.id}-help" if self.definition.help_text else ""

    @property
    def error_id(self) -> str:
        return f"{self.id}-errors" if self.errors else ""

    @property
    def describedby(self) -> str:
        return " ".join(part for part in (self.help_id, self.error_id) if part)


def field_views(form: PublicForm) -> list[FieldView]:
    """Each field with its current value, errors and HTML attributes, in order."""
    views = []
    for definition in form.definitions:
        bound = form[definition.alias]
        raw = bound.value()
        view = FieldView(
            definition=definition,
            name=definition.alias,
            id=f"f-{definition.alias}",
            errors=[str(error) for error in bound.errors],
            attrs=_attrs(definition),
        )
        if definition.kind in CHOICE_KINDS:
            chosen = raw if isinstance(raw, list) else ([raw] if raw else [])
            chosen = [str(c) for c in chosen]
            view.options = [
                Option(choice, f"{view.id}-{index}", choice in chosen)
                for index, choice in enumerate(definition.choice_list)
            ]
        elif definition.kind == Kind.CHECKBOX:
            view.checked = bool(raw) and raw not in ("false", "False", "0", "off")
        elif definition.kind != Kind.FILE:
            view.value = "" if raw is None else str(raw)
        views.append(view)
    return views


def _attrs(field: Field) -> list[tuple[str, str]]:
    attrs: list[tuple[str, str]] = []
    low, high = field.min_value, field.max_value
    if field.kind in TEXT_KINDS:
        ceiling = SHORT_TEXT_MAX if field.kind == Kind.SHORT_TEXT else LONG_TEXT_MAX
        maximum = as_int(high)
        attrs.append(("maxlength", str(min(maximum, ceiling) if maximum else ceiling)))
        if as_int(low):
            attrs.append(("minlength", str(as_int(low))))
        browser = patterns.browser_pattern(field.pattern) if field.kind == Kind.SHORT_TEXT else None
        if browser:
            attrs.append(("pattern", browser))
    elif field.kind == Kind.NUMBER:
        attrs.append(("step", "any"))
        if as_decimal(low) is not None:
            attrs.append(("min", low.strip()))
        if as_decimal(high) is not None:
            attrs.append(("max", high.strip()))
    elif field.kind == Kind.DATE:
        if as_date(low):
            attrs.append(("min", low.strip()))
        if as_date(high):
            attrs.append(("max", high.strip()))
    elif field.kind == Kind.FILE:
        attrs.append(("accept", ",".join(f".{t}" for t in file_types(field))))
    elif field.kind == Kind.EMAIL:
        attrs.append(("autocomplete", "email"))
    return attrs
