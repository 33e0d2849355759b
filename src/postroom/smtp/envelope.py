"""The envelope of one message: its MAIL options, its commands, and reading their replies."""

from __future__ import annotations

import smtplib
from collections.abc import Callable, Sequence
from typing import NamedTuple

from . import wording
from .server import INTERNATIONAL
from .wording import Endpoint

PIPELINE_MAX = 100  # recipients in one pipelined envelope: about 5 KB on the wire


def mail_options(
    delivery_format: str,
    sender: str,
    recipients: tuple[str, ...],
    raw: bytes,
    offers: Callable[[str], bool],
    where: Endpoint,
) -> tuple[list[str], str, tuple[str, ...]]:
    """(MAIL FROM options, sender, recipients) as they go on the wire.

    International: a non-ASCII address needs SMTPUTF8, and fails clearly without it.
    SevenBit (.NET's default): mailboxes must be ASCII; a non-ASCII domain goes out in its
    ASCII (xn--) form, which needs nothing of the server.
    """
    options = []
    if not raw.isascii() and offers("8bitmime"):
        options.append("BODY=8BITMIME")
    if sender.isascii() and all(rcpt.isascii() for rcpt in recipients):
        if not raw.partition(b"\r\n\r\n")[0].isascii() and offers("smtputf8"):
            options.append("SMTPUTF8")  # raw UTF-8 in headers (RFC 6532)
        return options, sender, recipients
    if delivery_format == INTERNATIONAL:
        if not offers("smtputf8"):
            first = next(a for a in (sender, *recipients) if not a.isascii())
            raise wording.needs_smtputf8(where, first)
        options.append("SMTPUTF8")
        return options, sender, recipients
    return options, _seven_bit(sender), tuple(_seven_bit(rcpt) for rcpt in recipients)


def _seven_bit(address: str) -> str:
    if address.isascii():
        return address
    local, at, domain = address.rpartition("@")
    if not at or not local.isascii():
        raise wording.seven_bit_mailbox(address)
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise wording.bad_domain(address) from None
    return f"{local}@{ascii_domain}"


def envelope_commands(
    sender: str, recipients: Sequence[str], options: Sequence[str], pipelining: bool
) -> tuple[list[str], bool]:
    """The commands up to DATA, and whether they go out in one write (RFC 2920). Beyond
    PIPELINE_MAX recipients they go one by one even when the server offers PIPELINING."""
    commands = [_command("MAIL FROM:", sender, options)]
    commands += [_command("RCPT TO:", rcpt) for rcpt in recipients]
    commands.append("DATA\r\n")
    return commands, pipelining and len(recipients) <= PIPELINE_MAX


def _command(verb: str, address: str, options: Sequence[str] = ()) -> str:
    """``MAIL FROM:<a@b> BODY=8BITMIME``: envelope addresses are bare addr-specs by now."""
    line = f"{verb}<{address}>{''.join(' ' + option for option in options)}"
    if "\r" in line or "\n" in line:
        raise wording.line_break(address)
    return line + "\r\n"


class Mail(NamedTuple):
    """One message as a session sends it: envelope and content (CRLF line endings)."""

    sender: str
    recipients: tuple[str, ...]
    raw: bytes


def envelope(
    mail: Mail, delivery_format: str, offers: Callable[[str], bool], where: Endpoint
) -> tuple[list[str], bool, str]:
    """``mail``'s commands up to DATA, whether they go out in one write (envelope_commands),
    and the encoding they go out in."""
    options, sender, recipients = mail_options(
        delivery_format, mail.sender, mail.recipients, mail.raw, offers, where
    )
    commands, pipelined = envelope_commands(sender, recipients, options, offers("pipelining"))
    return commands, pipelined, "utf-8" if "SMTPUTF8" in options else "ascii"


def envelope_ahead(
    mail: Mail, delivery_format: str, offers: Callable[[str], bool], where: Endpoint
) -> tuple[bytes, list[str]] | None:
    """The next message's envelope, to go out right behind this message's content, or None
    when it has to wait for its own turn (no PIPELINING, or too many recipients). An address
    the server cannot take raises, as it does on the message's own turn.

    RFC 2920 lets a pipelined group begin with message content, so the content's final reply
    and the next envelope's replies come back together: one round trip a message, not two.
    """
    commands, pipelined, encoding = envelope(mail, delivery_format, offers, where)
    return ("".join(commands).encode(encoding), commands) if pipelined else None


class Replies:
    """Reads the envelope's replies in order: as they come (PIPELINING) or command by command."""

    def __init__(self, client: smtplib.SMTP, commands: list[str], pipelined: bool) -> None:
        self._client = client
        self._commands = iter(commands)
        self._pipelined = pipelined
        self._unread = len(commands)

    def next(self) -> tuple[int, bytes]:
        if not self._pipelined:
            self._client.send(next(self._commands))
        self._unread -= 1
        return self._client.getreply()

    def drain(self) -> bool:
        """Read the replies to commands already sent; False if the session cannot go on.

        With PIPELINING the commands after a refusal were sent anyway. A server that then
        answers DATA with 354 waits for a message we will not send, so the session is lost.
        """
        try:
            while self._pipelined and self._unread:
                code, _text = self.next()
                if code == 421 or (code == 354 and not self._unread):
                    return False
        except (smtplib.SMTPException, OSError):
            return False
        return True
