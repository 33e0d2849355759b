"""Helpers for the forms tests: submitting a form and reading the queued emails."""

from __future__ import annotations

import time
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from postroom.delivery.models import OutboxMessage
from postroom.forms import builder, spam
from postroom.forms.models import Field, Form


def old_token(form: Form, seconds: float = 60.0) -> str:
    """A page token as if the page had been shown ``seconds`` ago."""
    return spam.issue_token(form, now=time.time() - seconds)


def add_field(form: Form, kind: str, label: str, alias: str, **options) -> Field:
    position = builder.next_position(form.fields)
    return Field.objects.create(
        form=form, kind=kind, label=label, alias=alias, position=position, **options
    )


def post(client, form: Form, data: dict, *, token: str | None = None, **extra):
    """Submit ``data`` to the public page as a browser would (multipart), with a valid token."""
    payload = {"postroom_ts": old_token(form) if token is None else token, **data}
    return client.post(f"/f/{form.slug}/", payload, **extra)


def parsed(message: OutboxMessage) -> EmailMessage:
    return BytesParser(policy=policy.default).parsebytes(bytes(message.raw))


def text_part(mail: EmailMessage) -> str:
    return mail.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")


def html_part(mail: EmailMessage) -> str | None:
    body = mail.get_body(preferencelist=("html",))
    return body.get_content().replace("\r\n", "\n") if body is not None else None


def form_emails() -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(kind="form").order_by("id"))
