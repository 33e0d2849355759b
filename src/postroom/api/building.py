"""Turn a checked request into an email and queue it through delivery."""

from __future__ import annotations

from django.core.mail import EmailMultiAlternatives

from postroom.api.models import ApiMessage
from postroom.api.validation import Draft
from postroom.applications.models import Application
from postroom.delivery.enqueue import enqueue
from postroom.delivery.models import Kind, OutboxMessage


def build_email(draft: Draft) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=draft.subject,
        body=draft.text or draft.html,
        from_email=draft.sender,
        to=draft.to,
        cc=draft.cc,
        bcc=draft.bcc,
        reply_to=draft.reply_to,
        headers=dict(draft.headers),
    )
    if draft.html and draft.text:
        message.attach_alternative(draft.html, "text/html")
    elif draft.html:
        message.content_subtype = "html"
    for attachment in draft.attachments:
        message.attach(attachment.filename, attachment.content, attachment.content_type)
    return message


def queue(
    draft: Draft, application: Application, idempotency_key: str, body_digest: str
) -> OutboxMessage:
    """Queue the email and remember the request, in the caller's transaction."""
    row = enqueue(build_email(draft), kind=Kind.API, application=application)
    ApiMessage.objects.create(
        outbox=row,
        application=application,
        tag=draft.tag,
        metadata=draft.metadata,
        idempotency_key=idempotency_key,
        body_digest=body_digest,
    )
    return row
