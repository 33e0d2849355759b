"""Make and check application secrets.

A secret reads ``pr_<lookup>_<random>``: the lookup (12 hex characters) finds its row in one
indexed query, and the random part (43 URL-safe characters, 256 bits) is what makes it secret.
Only the SHA-256 digest of the whole string is stored (see ``ApplicationSecret`` for why that
is enough), and digests are compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
from datetime import timedelta

from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, transaction
from django.utils import timezone
from django.utils.text import slugify

from postroom.applications.models import Application, ApplicationSecret
from postroom.applications.rules import clean_networks, clean_senders

PREFIX = "pr"
_SHAPE = re.compile(r"^pr_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _new_secret(application: Application) -> str:
    while True:
        lookup = secrets.token_hex(6)
        secret = f"{PREFIX}_{lookup}_{secrets.token_urlsafe(32)}"
        try:
            with transaction.atomic():
                ApplicationSecret.objects.create(
                    application=application, lookup=lookup, digest=digest(secret)
                )
            return secret
        except IntegrityError:  # a lookup collision (1 in 2^48): draw again
            continue


def username_for(name: str) -> str:
    """``app_<slug>``, with a number added when another application has it already."""
    base = "app_" + (slugify(name).replace("-", "_")[:100] or "application")
    candidate, number = base, 2
    while Application.objects.filter(username=candidate).exists():
        candidate, number = f"{base}_{number}", number + 1
    return candidate


def create_application(
    name: str,
    senders: list[str],
    *,
    client_networks: list[str] | None = None,
    trusted_network_no_login: bool = False,
    rate_limit_per_minute: int | None = None,
) -> tuple[Application, str]:
    """A new enabled application and its first secret (the only time the secret is seen).

    ValueError says what is wrong with a sender or network, or that the name is taken.
    """
    name = name.strip()
    if not name:
        raise ValueError("An application needs a name.")
    allowed = clean_senders(senders)
    if not allowed:
        raise ValueError(
            "Give at least one domain or address it may send as (--from-domain example.org)."
        )
    if rate_limit_per_minute is not None and rate_limit_per_minute < 1:
        raise ValueError(
            f"A rate limit is at least 1 message a minute, not {rate_limit_per_minute}; "
            "leave it out for no limit, or disable the application to stop it."
        )
    networks = clean_networks(client_networks or [])
    if Application.objects.filter(name__iexact=name).exists():
        raise ValueError(f"An application named {name!r} exists already.")
    with transaction.atomic():
        application = Application.objects.create(
            name=name,
            username=username_for(name),
            allowed_senders=allowed,
            client_networks=networks,
            trusted_network_no_login=trusted_network_no_login,
            rate_limit_per_minute=rate_limit_per_minute,
        )
        secret = _new_secret(application)
    return application, secret


def _secret_row(secret: str) -> ApplicationSecret | None:
    match = _SHAPE.match(secret or "")
    if not match:
        return None
    row = (
        ApplicationSecret.objects.select_related("application")
        .filter(lookup=match.group(1))
        .first()
    )
    if row is None or not hmac.compare_digest(row.digest, digest(secret)):
        return None
    if not row.is_valid() or not row.application.enabled:
        return None
    return row


def authenticate_bearer(secret: str) -> Application | None:
    """The enabled application whose valid secret this is, or None."""
    row = _secret_row(secret)
    return row.application if row else None


def authenticate(username: str, secret: str) -> Application | None:
    """The enabled application with this username and secret (SMTP AUTH), or None."""
    row = _secret_row(secret)
    if row is None or not hmac.compare_digest(row.application.username, username or ""):
        return None
    return row.application


def rotate(application: Application, grace: timedelta = timedelta(0)) -> str:
    """A new secret; the current ones stay valid for ``grace`` (zero: they stop at once)."""
    ends = timezone.now() + max(grace, timedelta(0))
    with transaction.atomic():
        current = application.secrets.filter(valid_until__isnull=True) | application.secrets.filter(
            valid_until__gt=ends
        )
        ApplicationSecret.objects.filter(pk__in=list(current.values_list("pk", flat=True))).update(
            valid_until=ends
        )
        return _new_secret(application)


def trusted_application_for(ip: str) -> Application | None:
    """The enabled application a loopback client at ``ip`` may relay for without a login.

    Only loopback counts, whatever an application's networks say: anything else could be
    spoofed upstream or shared with other users of the network.
    """
    try:
        address = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if not address.is_loopback:
        return None
    for application in Application.objects.filter(enabled=True, trusted_network_no_login=True):
        if application.allows_client(str(address)):
            return application
    return None


def answer_rows(ip: str, login: tuple[str, str] | None) -> tuple | None:
    """Every row :func:`trusted_application_for` (``login`` None) or :func:`authenticate`
    reads to answer for this client, whole, in one plain query: while they are equal, so is
    the answer. None when the answer may change without them (a secret with an end date,
    which ends with time alone) or there is nothing to compare (a malformed secret).

    Far cheaper than the answer itself: the relay re-checks a session's application at every
    message and recomputes it only when these rows changed.
    """
    db = connections[DEFAULT_DB_ALIAS]  # not the proxy, which looks it up at every use
    applications = db.ops.quote_name(Application._meta.db_table)
    if login is None:
        sql = (
            f"SELECT * FROM {applications} "  # noqa: S608 (names, not data)
            "WHERE enabled = %s AND trusted_network_no_login = %s ORDER BY id"
        )
        params: list[object] = [True, True]
    else:
        match = _SHAPE.match(login[1] or "")
        if not match:
            return None
        secrets_table = db.ops.quote_name(ApplicationSecret._meta.db_table)
        valid_until = db.ops.quote_name("valid_until")
        sql = (
            f"SELECT {valid_until} IS NULL, * FROM {secrets_table} "  # noqa: S608 (names)
            f"JOIN {applications} ON {applications}.id = {secrets_table}.application_id "
            "WHERE lookup = %s"  # unique: one row at most
        )
        params = [match.group(1)]
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        rows = tuple(tuple(row) for row in cursor.fetchall())
    if login is not None and not all(row[0] for row in rows):
        return None
    return rows
