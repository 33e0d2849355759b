"""The invitation and password reset emails: a text and an HTML part from templates.

Every value is escaped in the HTML part; the administrator's message is plain text and
stays plain text (line breaks kept, never interpreted as HTML).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime, formataddr

from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from postroom.accounts import config


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def describe_duration(span: timedelta) -> str:
    """How long a link works, in words: ``one hour``, ``72 hours``, ``7 days``."""
    minutes = int(span.total_seconds() // 60)
    if minutes % (24 * 60) == 0 and minutes > 3 * 24 * 60:
        days = minutes // (24 * 60)
        return f"{days} days"
    if minutes % 60 == 0:
        hours = minutes // 60
        return "one hour" if hours == 1 else f"{hours} hours"
    return f"{minutes} minutes"


def _one_line(value: str) -> str:
    return " ".join(value.split())


def role_phrase(role_label: str) -> str:
    article = "an" if role_label[:1].lower() in "aeiou" else "a"
    return f"{article} {role_label}"


def render_invitation(
    *,
    name: str,
    email: str,
    role_label: str,
    inviter: str,
    message: str,
    link: str,
    expiry: timedelta,
) -> RenderedEmail:
    site = config.site_name()
    context = {
        "site_name": site,
        "name": _one_line(name),
        "email": email,
        "role": role_phrase(role_label),
        "inviter": _one_line(inviter),
        "message": message.strip(),
        "link": link,
        "expiry": describe_duration(expiry),
    }
    return RenderedEmail(
        subject=_one_line(f"You are invited to {site}"),
        text=render_to_string("accounts/email/invitation.txt", context),
        html=render_to_string("accounts/email/invitation.html", context),
    )


def render_password_reset(*, name: str, email: str, link: str) -> RenderedEmail:
    site = config.site_name()
    context = {
        "site_name": site,
        "name": _one_line(name),
        "email": email,
        "link": link,
        "expiry": describe_duration(config.RESET_EXPIRY),
    }
    return RenderedEmail(
        subject=_one_line(f"Reset your {site} password"),
        text=render_to_string("accounts/email/password_reset.txt", context),
        html=render_to_string("accounts/email/password_reset.html", context),
    )


def to_message(
    rendered: RenderedEmail, name: str, email: str, expires: datetime | None = None
) -> EmailMultiAlternatives:
    headers = {"Auto-Submitted": "auto-generated"}
    if expires is not None:
        headers["Expires"] = format_datetime(expires)  # RFC 5322 date, e.g. ... +0000
    message = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        to=[formataddr((_one_line(name), email)) if name.strip() else email],
        headers=headers,
    )
    message.attach_alternative(rendered.html, "text/html")
    return message
