"""Transports hand messages to the outside world; see :mod:`.base` for the interface."""

from __future__ import annotations

from postroom.mailsettings.model import SmtpSettings

from .base import DeliveryError, OutgoingMessage, SendResult, Transport
from .pickup import PickupDirectoryTransport
from .smtp import SmtpTransport

__all__ = [
    "DeliveryError",
    "OutgoingMessage",
    "PickupDirectoryTransport",
    "SendResult",
    "SmtpTransport",
    "Transport",
    "transport_for",
]


def transport_for(settings: SmtpSettings) -> Transport:
    """The transport the settings ask for: a pickup directory or an SMTP server."""
    if settings.uses_pickup_directory:
        return PickupDirectoryTransport.from_settings(settings)
    return SmtpTransport.from_settings(settings)
