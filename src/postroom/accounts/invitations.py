"""Inviting people: the link, the email, how it travels, and accepting it.

- A link works for the configured time (72 hours) counted from when its email actually
  left, not from when it was queued: an invitation held until SMTP settings appear does not
  arrive expired.
- Opening a link never uses it up (link scanners open links); only setting the password does.
- Resending makes a new link with a new time limit; the old link then says it was replaced.
- The email goes through the site's SMTP when that is configured, else through the fallback
  relay (in Development: the development inbox); with neither it is held, and the
  administrator gets the link to pass on by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import password_validation
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from postroom.accounts import config, emails
from postroom.accounts.models import Invitation, User
from postroom.accounts.tokens import MAX_TOKEN_LENGTH, digest, new_token
from postroom.config import current_smtp_settings
from postroom.core.links import MissingBaseUrl, absolute_link
from postroom.delivery.actions import cancel
from postroom.delivery.enqueue import enqueue
from postroom.delivery.models import Channel, Kind, OutboxMessage
from postroom.delivery.routing import current_route, fallback_route

VALID = "valid"
EXPIRED = "expired"
UNKNOWN = "unknown"


class InvitationError(Exception):
    """Something the administrator or invitee must be told; the text says what and why."""

    field: str | None = "email"  # the form field it concerns (None: the whole form)


class NoLinkAddress(InvitationError):
    """The link cannot be built: no POSTROOM_BASE_URL where one is needed."""

    field = None


@dataclass(frozen=True)
class Way:
    """How an invitation email travels now."""

    channel: str
    description: str | None  # None: held, nothing can send it yet
    development_inbox: bool = False

    @property
    def held(self) -> bool:
        return self.description is None


def way_for_invitations() -> Way:
    smtp = current_smtp_settings()
    if smtp.configured:
        route = current_route(smtp)
        return Way(Channel.SITE, route.description if route else None)
    fallback = fallback_route()
    if fallback is not None:
        return Way(Channel.FALLBACK, fallback.description, fallback.development_inbox)
    return Way(Channel.SITE, None)  # held; released when the site's SMTP settings appear


@dataclass(frozen=True)
class Sent:
    invitation: Invitation
    link: str
    way: Way
    replaced: int  # how many earlier open invitations to this address stopped working


def valid_until(invitation: Invitation) -> datetime:
    expiry, _ = config.invite_expiry()
    outbox = invitation.outbox
    sent_at = outbox.sent_at if outbox is not None else None
    return max(invitation.created_at, sent_at or invitation.created_at) + expiry


def state(invitation: Invitation | None, now: datetime | None = None) -> str:
    """``valid``, ``expired``, ``unknown`` or the closed status (accepted, revoked, replaced)."""
    if invitation is None:
        return UNKNOWN
    if invitation.status != Invitation.Status.OPEN:
        return invitation.status
    return VALID if (now or timezone.now()) < valid_until(invitation) else EXPIRED


def find(token: str) -> Invitation | None:
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return (
        Invitation.objects.select_related("outbox", "invited_by")
        .filter(token_hash=digest(token))
        .first()
    )


def link_for(token: str, request: HttpRequest | None) -> str:
    try:
        return absolute_link(request, reverse("accounts:accept", args=[token]))
    except MissingBaseUrl as error:
        raise NoLinkAddress(f"The invitation was not sent. {error}") from None


def _inviter_name(user: User | None) -> str:
    if user is None:
        return "An administrator"
    return f"{user.name} ({user.email})" if user.name else user.email


def _close_open(email: str, status: str) -> int:
    """Close the open invitations to ``email``; their queued or held emails are cancelled."""
    rows = list(Invitation.objects.select_for_update().open().filter(email=email))
    now = timezone.now()
    for row in rows:
        row.status, row.closed_at = status, now
        row.save(update_fields=["status", "closed_at"])
    outbox_ids = [row.outbox_id for row in rows if row.outbox_id]
    if outbox_ids:
        cancel(OutboxMessage.objects.filter(pk__in=outbox_ids))
    return len(rows)


def invite(
    *,
    email: str,
    name: str,
    role: str,
    message: str,
    invited_by: User | None,
    request: HttpRequest | None,
) -> Sent:
    """Create the invitation and queue its email, in one transaction."""
    email = email.strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        raise InvitationError(f"{email} already has an account; there is nobody to invite.")
    token, token_hash = new_token()
    link = link_for(token, request)
    way = way_for_invitations()
    expiry, _ = config.invite_expiry()
    with transaction.atomic():
        replaced = _close_open(email, Invitation.Status.REPLACED)
        invitation = Invitation.objects.create(
            email=email,
            name=" ".join(name.split()),
            role=role,
            message=message.strip(),
            token_hash=token_hash,
            invited_by=invited_by,
        )
        rendered = emails.render_invitation(
            name=invitation.name,
            email=email,
            role_label=invitation.get_role_display(),
            inviter=_inviter_name(invited_by),
            message=invitation.message,
            link=link,
            expiry=expiry,
        )
        message = emails.to_message(rendered, invitation.name, email)
        invitation.outbox = enqueue(message, kind=Kind.INVITE, channel=way.channel)
        invitation.save(update_fields=["outbox"])
    return Sent(invitation, link, way, replaced)


def resend(invitation: Invitation, by: User | None, request: HttpRequest | None) -> Sent:
    """A new link with a new time limit; the old link stops working."""
    if invitation.status != Invitation.Status.OPEN:
        raise InvitationError(
            f"The invitation to {invitation.email} is {invitation.get_status_display().lower()}"
            "; only a waiting or expired invitation can be sent again."
        )
    return invite(
        email=invitation.email,
        name=invitation.name,
        role=invitation.role,
        message=invitation.message,
        invited_by=by,
        request=request,
    )


def revoke(invitation: Invitation) -> bool:
    """Close the invitation (its link stops working); False if it was already closed."""
    with transaction.atomic():
        row = Invitation.objects.select_for_update().filter(pk=invitation.pk).first()
        if row is None or row.status != Invitation.Status.OPEN:
            return False
        _close_open(row.email, Invitation.Status.REVOKED)
    return True


def check_password(password: str, email: str, name: str) -> None:
    """Raises ValidationError when the password is too short, too common or like the name."""
    password_validation.validate_password(password, User(email=email, name=name))


def accept(token: str, name: str, password: str) -> User:
    """Create the account from a valid link; the link is used up."""
    with transaction.atomic():
        invitation = find(token)
        if invitation is not None:
            invitation = (
                Invitation.objects.select_for_update(of=("self",))
                .select_related("outbox")
                .get(pk=invitation.pk)
            )
        current = state(invitation)
        if invitation is None or current != VALID:
            raise InvitationError(current)
        if User.objects.filter(email__iexact=invitation.email).exists():
            raise InvitationError("exists")
        try:
            with transaction.atomic():
                user = User.objects.create_user(
                    invitation.email,
                    password,
                    name=" ".join(name.split()) or invitation.name,
                    role=invitation.role,
                )
        except IntegrityError:
            raise InvitationError("exists") from None
        invitation.status = Invitation.Status.ACCEPTED
        invitation.closed_at = timezone.now()
        invitation.user = user
        invitation.save(update_fields=["status", "closed_at", "user"])
    return user
