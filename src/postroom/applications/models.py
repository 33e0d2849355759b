"""Applications allowed to send through Postroom, and their hashed secrets."""

from __future__ import annotations

import ipaddress
from email.errors import HeaderParseError
from email.headerregistry import HeaderRegistry
from email.utils import getaddresses, parseaddr

from django.db import models
from django.utils import timezone

# An allowed-senders entry that lets an application use any From (an administrator's choice).
ANY_SENDER = "*"


def address_domain(address: str) -> str:
    """The lower-case domain of an address (``"Ann <ann@Example.org>"`` → ``example.org``)."""
    return parseaddr(address)[1].rpartition("@")[2].strip().lower()


_HEADERS = HeaderRegistry()


# Headers that tell a provider which events to echo or whom else to send to (SendGrid's
# X-SMTPAPI can add recipients): Postroom sets them itself (delivery.echo), so a message's
# events stay its own and every recipient is in the envelope Postroom checks and logs.
PROVIDER_HEADERS = {
    "x-postroom-id", "x-smtpapi", "x-mailgun-variables", "x-pm-metadata-postroom-id",
    "x-ses-message-tags", "x-mailin-custom",
}  # fmt: skip


def single_mailbox(value: str) -> str | None:
    """The one address in ``value`` (``ann@example.org`` or ``Ann <ann@example.org>``), or
    None when it holds none, several, or is ambiguous.

    ``parseaddr`` alone reads ``ok@allowed.org <evil@other.org>`` or ``ok@allowed.org,
    evil@other.org`` as ``ok@allowed.org``, while a mail program shows the other address, so
    a sender check on its answer could be passed by an address it never saw. Python's strict
    header parser and the lenient one must both find exactly this one address, without defects.
    """
    if not isinstance(value, str) or any(c in value for c in "\r\n\0"):
        return None
    lenient = [address for _name, address in getaddresses([value])]
    try:
        header = _HEADERS("from", value)
    except (HeaderParseError, IndexError, ValueError, TypeError):
        return None
    strict = [mailbox.addr_spec for mailbox in header.addresses]
    if header.defects or len(lenient) != 1 or len(strict) != 1:
        return None
    if lenient[0].strip().lower() != strict[0].strip().lower() or "@" not in strict[0]:
        return None
    return strict[0].strip()


class Application(models.Model):
    name = models.CharField(max_length=100, unique=True)
    username = models.CharField(
        max_length=120, unique=True, help_text="The SMTP login, e.g. app_shop."
    )
    enabled = models.BooleanField(default=True)
    allowed_senders = models.JSONField(
        default=list, blank=True, help_text="Domains (example.org) or addresses it may send as."
    )
    client_networks = models.JSONField(
        default=list, blank=True, help_text="CIDR networks it may connect from; empty: any."
    )
    trusted_network_no_login = models.BooleanField(
        default=False,
        help_text="Loopback clients in its networks may relay without logging in.",
    )
    rate_limit_per_minute = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def may_send_from(self, address: str) -> bool:
        """Whether ``address`` (a bare address or ``Name <address>``) is one of its senders.

        An entry with ``@`` allows that address exactly; any other entry allows addresses at
        that domain exactly (not its subdomains); ``*`` allows every sender. A value that is
        not exactly one address (see :func:`single_mailbox`) is never allowed, not even by ``*``.
        """
        bare = (single_mailbox(address) or "").lower()
        if "@" not in bare:
            return False
        domain = bare.rpartition("@")[2]
        for entry in (e.strip().lower() for e in self.allowed_senders):
            if entry in (ANY_SENDER, bare) or ("@" not in entry and entry == domain):
                return True
        return False

    def allows_client(self, ip: str) -> bool:
        """Whether a client at ``ip`` may use it: any address when it names no networks."""
        if not self.client_networks:
            return True
        try:
            client = ipaddress.ip_address(ip.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(client, ipaddress.IPv6Address) and client.ipv4_mapped:
            client = client.ipv4_mapped
        for network in self.client_networks:
            try:
                if client in ipaddress.ip_network(network, strict=False):
                    return True
            except ValueError:  # validated on save; an old bad entry allows nothing
                continue
        return False


class ApplicationSecret(models.Model):
    """One secret of an application, stored only as a SHA-256 digest.

    The secret is 256 random bits, so a fast digest is as safe as a slow password hash (there is
    nothing to guess), and it keeps a login cheap enough for hundreds of relayed messages a
    second; a slow hash would make every AUTH a denial-of-service lever. Unkeyed on purpose:
    changing the site's SECRET_KEY must not lock every application out.
    """

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="secrets")
    lookup = models.CharField(max_length=32, unique=True, help_text="The secret's public prefix.")
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    valid_until = models.DateTimeField(
        null=True, blank=True, help_text="Set when it is rotated out; empty: valid."
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.application} secret {self.lookup}"

    def is_valid(self, now=None) -> bool:  # noqa: ANN001
        return self.valid_until is None or self.valid_until > (now or timezone.now())
