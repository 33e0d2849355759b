"""Building test emails."""

from __future__ import annotations

from email.message import EmailMessage


def make_email(
    subject: str = "Hello",
    sender: str = "app@example.com",
    to: str = "user@example.com",
    text: str = "Plain body",
    html: str | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = "<test@example.com>"
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message
