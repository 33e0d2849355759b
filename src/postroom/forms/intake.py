"""Receiving one submission: anti-spam checks, validation, then the entry and its emails.

The uploads are written first; the entry, its upload rows and its queued emails are saved
in one transaction. If that transaction fails, the written files are removed again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from django.db import transaction

from postroom.forms import spam, uploads, workflows, writes
from postroom.forms.formdefs import (
    HONEYPOT,
    TOKEN,
    PublicForm,
    build_form,
    display_value,
    stored_value,
)
from postroom.forms.models import Entry, Field, Form, Upload

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
SEARCH_TEXT_LIMIT = 50_000


@dataclass(frozen=True)
class Visitor:
    ip: str = ""
    user_agent: str = ""
    referrer: str = ""

    def cleaned(self) -> Visitor:
        return Visitor(
            ip=_CONTROL.sub("", self.ip)[:45],
            user_agent=_CONTROL.sub(" ", self.user_agent)[:500],
            referrer=_CONTROL.sub("", self.referrer)[:1000],
        )


@dataclass
class Result:
    form: PublicForm
    entry: Entry | None = None
    refusal: spam.Refusal | None = None
    pretend: bool = False  # a robot filled the honeypot: answer as if it worked

    @property
    def ok(self) -> bool:
        return self.entry is not None or self.pretend


def receive(
    form: Form,
    data: Mapping,
    files: Mapping,
    visitor: Visitor,
    base_url: str = "",
) -> Result:
    """Anti-spam and rate checks first, then the answers: robots never cost a validation."""
    fields = list(form.fields.all())
    bound = build_form(fields, data=data, files=files)
    if str(data.get(HONEYPOT, "")).strip():
        spam.count_rejection(form, spam.Reason.HONEYPOT)
        return Result(bound, pretend=True)
    # The rate limit first: past it nothing else is checked, so a robot's requests (with a
    # token or without) cost one counter update each, never a validation.
    refusal = spam.take_rate_slot(form, visitor.ip or "unknown")
    if refusal:
        spam.count_rejection(form, refusal.reason)
        return Result(bound, refusal=refusal)
    token = str(data.get(TOKEN, ""))
    refusal = spam.check_token(form, token)
    if refusal:
        spam.count_rejection(form, refusal.reason)
        bound.is_valid()  # show the answers' own errors too, so one round trip fixes all
        return Result(bound, refusal=refusal)
    if not bound.is_valid():
        return Result(bound)  # the token is not used up: the corrected page sends it again
    try:
        entry = store(form, fields, bound, visitor.cleaned(), base_url, token)
    except TokenUsed:
        spam.count_rejection(form, spam.Reason.REUSED)
        return Result(bound, refusal=spam.ALREADY_USED)
    return Result(bound, entry=entry)


class TokenUsed(Exception):
    """Another submission with the same page token was stored first."""


def store(
    form: Form,
    fields: list[Field],
    bound: PublicForm,
    visitor: Visitor,
    base_url: str,
    token: str | None = None,
) -> Entry:
    """Save the entry, its uploads and emails; with ``token``, only if it carried none before."""
    values: dict[str, str | list[str]] = {}
    saved: list[tuple[str, dict]] = []
    try:
        for field in fields:
            cleaned = bound.cleaned_data.get(field.alias)
            values[field.alias] = stored_value(field, cleaned)
            if field.kind == Field.Kind.FILE and cleaned:
                saved.append((field.alias, uploads.save(cleaned)))
        with writes.one_writer(), transaction.atomic():
            if token is not None and not spam.use_token(token):
                raise TokenUsed
            entry = Entry.objects.create(
                form=form,
                values=values,
                search_text=search_text(values),
                ip=visitor.ip,
                user_agent=visitor.user_agent,
                referrer=visitor.referrer,
            )
            Upload.objects.bulk_create(
                [Upload(entry=entry, alias=alias, **info) for alias, info in saved]
            )
            workflows.run_workflows(entry, base_url)
    except BaseException:
        uploads.remove([str(info["stored_name"]) for _, info in saved])
        raise
    return entry


def search_text(values: Mapping[str, object]) -> str:
    return " ".join(display_value(v) for v in values.values()).casefold()[:SEARCH_TEXT_LIMIT]
