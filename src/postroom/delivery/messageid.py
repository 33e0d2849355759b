"""Message-IDs: one rule for every message Postroom queues, first sends and resends alike."""

from __future__ import annotations

from email.utils import make_msgid, parseaddr

from postroom.core.plainaddress import is_plain


def new_message_id(sender: str) -> str:
    """``<random@domain>`` with the sender's domain in ASCII (IDNA), as header values must be.

    A domain that cannot be written in ASCII (or no sender at all) gives ``localhost``: an id
    only has to be unique, and a non-ASCII one would be RFC 2047-encoded by the email package,
    which makes it no Message-ID at all.
    """
    address = sender if is_plain(sender) else parseaddr(sender)[1]  # the same, sooner
    domain = address.rpartition("@")[2].strip().strip("[]")
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        ascii_domain = ""
    return make_msgid(domain=ascii_domain or "localhost")
