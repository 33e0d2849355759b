"""The SMTP fields: where each is found in the layered map, how it is typed, how to fix it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from postroom.mailsettings import convert
from postroom.mailsettings.layers import POSTROOM_SMTP, SMTP
from postroom.mailsettings.model import DELIVERY_METHODS, SECURE_SOCKET_OPTIONS, Secret

DELIVERY_FORMATS = ("SevenBit", "International")


# Taken exactly as written, as .NET's NetworkCredential takes them; other values are trimmed,
# as .NET trims a host or parses a port.
EXACT_FIELDS = ("username", "password")


@dataclass(frozen=True)
class Field:
    name: str  # JSON field name, as in SmtpSettings.JSON_FIELDS
    key: str  # key in the layered map
    convert: Callable[[Any], Any]
    hint: str


def sender_address(value: Any) -> str:
    text = convert.to_string(value)
    expected = 'an email address such as noreply@yoursite.com or "Your site <noreply@yoursite.com>"'
    mailbox = parseaddr(text)[1]
    if not mailbox or any(ord(char) < 32 for char in text):
        raise convert.Invalid(expected)
    try:
        validate_email(mailbox)
    except ValidationError:
        raise convert.Invalid(expected) from None
    return text


def host_name(value: Any) -> str:
    text = convert.to_string(value)
    if "://" in text or text.count(":") == 1 or any(char.isspace() for char in text):
        raise convert.Invalid("a host name such as smtp.example.com, without scheme or port")
    return text


FIELDS = (
    Field(
        "from",
        f"{SMTP}:from",
        sender_address,
        "Use the sender address your mail provider allows, e.g. noreply@yoursite.com.",
    ),
    Field("host", f"{SMTP}:host", host_name, "Use the SMTP server name your mail provider gives."),
    Field(
        "port",
        f"{SMTP}:port",
        lambda v: convert.to_int(v, 1, 65535),
        "Use the port your mail provider gives: usually 587 (STARTTLS) or 465 (TLS).",
    ),
    Field(
        "username", f"{SMTP}:username", convert.to_exact_string, "Write the user name as a string."
    ),
    Field(
        "password",
        f"{SMTP}:password",
        lambda v: Secret(convert.to_exact_string(v)),
        "Write the password as a string, best in the environment variable"
        " Umbraco__CMS__Global__Smtp__Password.",
    ),
    Field(
        "secure_socket_options",
        f"{SMTP}:securesocketoptions",
        lambda v: convert.to_enum(v, SECURE_SOCKET_OPTIONS),
        "Auto suits most servers; use SslOnConnect for port 465 and StartTls for 587.",
    ),
    Field(
        "delivery_method",
        f"{SMTP}:deliverymethod",
        lambda v: convert.to_enum(v, DELIVERY_METHODS),
        "Use Network to send through the SMTP server, SpecifiedPickupDirectory to write files.",
    ),
    Field(
        "pickup_directory",
        f"{SMTP}:pickupdirectorylocation",
        convert.to_string,
        "Write the directory as a string.",
    ),
    Field(
        "client_domain",
        f"{POSTROOM_SMTP}:clientdomain",
        host_name,
        "Use this machine's host name as the mail server should see it in EHLO.",
    ),
    Field(
        "delivery_format",
        f"{POSTROOM_SMTP}:deliveryformat",
        lambda v: convert.to_enum(v, DELIVERY_FORMATS),
        "International allows non-ASCII addresses (SMTPUTF8); SevenBit is the default.",
    ),
    Field("ca_file", f"{POSTROOM_SMTP}:cafile", convert.to_string, "Write the path as a string."),
    Field(
        "timeout",
        f"{POSTROOM_SMTP}:timeoutseconds",
        lambda v: convert.to_float(v, 1, 3600),
        "Write a number of seconds such as 30.",
    ),
)
SMTP_KEYS = ("From", "Host", "Port", "SecureSocketOptions", "Username", "Password")
SMTP_KEYS += ("DeliveryMethod", "PickupDirectoryLocation", "EmailExpiration")
POSTROOM_KEYS = ("CaFile", "TimeoutSeconds", "ClientDomain", "DeliveryFormat", "Backup")
