"""What an application's allowed senders and client networks may be, checked in one place
for the screen and the command line."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from postroom.applications.models import ANY_SENDER

_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")


def _entries(values: Iterable[str]) -> list[str]:
    found: list[str] = []
    for value in values:
        for entry in re.split(r"[\s,]+", value.strip()):
            if entry and entry not in found:
                found.append(entry)
    return found


def clean_senders(values: Iterable[str]) -> list[str]:
    """Lower-cased domains and addresses; ValueError names the first that is neither."""
    senders = []
    for entry in _entries(v.lower() for v in values):
        if entry == ANY_SENDER:
            senders.append(entry)
            continue
        if "@" in entry:
            try:
                validate_email(entry)
            except ValidationError:
                raise ValueError(f"{entry!r} is not an email address.") from None
        else:
            try:
                ascii_domain = entry.encode("idna").decode("ascii")
            except UnicodeError:
                ascii_domain = ""
            if not _DOMAIN.match(ascii_domain):
                raise ValueError(
                    f"{entry!r} is neither a domain (example.org) nor an address "
                    "(news@example.org)."
                )
        senders.append(entry)
    return senders


def clean_networks(values: Iterable[str]) -> list[str]:
    """Networks in CIDR form (a bare address is its own /32 or /128)."""
    networks = []
    for entry in _entries(values):
        try:
            networks.append(str(ipaddress.ip_network(entry, strict=False)))
        except ValueError:
            raise ValueError(
                f"{entry!r} is not an IP address or network (e.g. 192.0.2.0/24, ::1)."
            ) from None
    return networks
