"""Messages for the transport tests."""

from __future__ import annotations

from postroom.delivery.transports.base import OutgoingMessage

SENDER = "site@example.test"
RECIPIENT = "ada@example.test"
PASSWORD = "Zebra-Quokka-7731-never-show-me"


def raw_message(number: int = 1, *, to: str = RECIPIENT, body: str = "") -> bytes:
    body = body or f"Hello number {number}.\r\n.leading dot survives\r\n"
    return (
        f"From: Site <{SENDER}>\r\n"
        f"To: {to}\r\n"
        f"Subject: Test {number}\r\n"
        f"Message-ID: <{number}@postroom.test>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        f"{body}"
    ).encode()


def message(
    number: int = 1, *, sender: str = SENDER, recipients: tuple[str, ...] = (RECIPIENT,)
) -> OutgoingMessage:
    return OutgoingMessage(sender, recipients, raw_message(number, to=", ".join(recipients)))
