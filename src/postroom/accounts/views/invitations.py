"""Invitations: the administrator's side (invite, list, resend, revoke) and the invitee's."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from postroom.accounts import config, invitations
from postroom.accounts.emails import describe_duration, role_phrase
from postroom.accounts.forms import AcceptForm, InviteForm
from postroom.accounts.models import Invitation, User
from postroom.accounts.views.public import render_public
from postroom.accounts.views.users import PAGE_SIZE, REASON, search_query, tab_counts
from postroom.core.permissions import administrator_required

# Invitee pages: (title, what happened, what to do), and the HTTP status.
LINK_PROBLEMS = {
    invitations.EXPIRED: (
        "This invitation has expired",
        "Invitation links work for {expiry} after the email is sent, and this one is older.",
        "Ask {inviter} to send the invitation again: the new email has a fresh link.",
        410,
    ),
    Invitation.Status.REVOKED: (
        "This invitation was withdrawn",
        "An administrator revoked it, so the link no longer works.",
        "If you think this is a mistake, ask {inviter} to invite you again.",
        410,
    ),
    Invitation.Status.REPLACED: (
        "A newer invitation replaced this one",
        "The invitation was sent again, with a new link; this older link no longer works.",
        "Use the link in the most recent invitation email. If you cannot find it, "
        "ask {inviter} to send the invitation again.",
        410,
    ),
    Invitation.Status.ACCEPTED: (
        "This invitation was already used",
        "The account was set up with this link, which works only once.",
        "Log in with your email address and the password you chose.",
        410,
    ),
    "exists": (
        "This address already has an account",
        "Someone set up an account for this email address in the meantime.",
        "Log in with your email address, or ask an administrator for help.",
        409,
    ),
    invitations.UNKNOWN: (
        "This invitation link is not valid",
        "No invitation has this link. Perhaps only part of it was copied from the email.",
        "Open the link straight from the email. If it still fails, ask the administrator "
        "who invited you to send the invitation again.",
        404,
    ),
}


def _inviter(invitation: Invitation | None) -> str:
    user = invitation.invited_by if invitation is not None else None
    if user is None:
        return "the administrator who invited you"
    return user.name or user.email


def _way_banner() -> dict[str, object]:
    way = invitations.way_for_invitations()
    return {"way": way}


# Administrator ------------------------------------------------------------------------------


@administrator_required(reason=REASON)
@require_GET
def invitation_list(request: HttpRequest) -> HttpResponse:
    form, query = search_query(request)
    rows = Invitation.objects.open().select_related("invited_by", "outbox").defer("outbox__raw")
    if query:
        rows = rows.filter(Q(email__icontains=query) | Q(name__icontains=query))
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    items = [
        {
            "invitation": item,
            "state": invitations.state(item),
            "valid_until": invitations.valid_until(item),
            "sent": bool(item.outbox and item.outbox.sent_at),
        }
        for item in page
    ]
    return render(
        request,
        "accounts/invitations.html",
        {
            "form": form,
            "query": query,
            "page": page,
            "items": items,
            "tab": "invitations",
            "page_prefix": f"{urlencode({'q': query})}&" if query else "",
            **tab_counts(),
            **_way_banner(),
        },
    )


def _after_sending(request: HttpRequest, sent: invitations.Sent, verb: str) -> HttpResponse:
    outbox = sent.invitation.outbox
    if outbox is not None and outbox.notice:  # the address is on the suppression list
        messages.warning(request, outbox.notice)
    if sent.way.held:
        response = render(request, "accounts/invite_link.html", {"sent": sent, "verb": verb})
        response["Cache-Control"] = "no-store"
        return response
    text = (
        f"Invitation {verb} to {sent.invitation.email}; it goes out through {sent.way.description}."
    )
    if sent.replaced and verb == "sent":
        text += " The earlier invitation to this address was replaced: its link no longer works."
    messages.success(request, text)
    return redirect("accounts:invitations")


@administrator_required(reason=REASON)
def invite(request: HttpRequest) -> HttpResponse:
    form = InviteForm(request.POST or None)
    pending = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        pending = Invitation.objects.open().filter(email=data["email"]).first()
        if pending is not None and not data["replace"]:
            form = _confirm_replacing(data, pending)
        else:
            pending = None
    if request.method == "POST" and form.is_bound and form.is_valid():
        data = form.cleaned_data
        try:
            sent = invitations.invite(
                email=data["email"],
                name=data["name"],
                role=data["role"],
                message=data["message"],
                invited_by=request.user,
                request=request,
            )
        except invitations.InvitationError as error:
            form.add_error(error.field, str(error))
        else:
            return _after_sending(request, sent, "sent")
    expiry, _ = config.invite_expiry()
    context = {
        "form": form,
        "pending": pending,
        "expiry_text": describe_duration(expiry),
        **_way_banner(),
    }
    return render(request, "accounts/invite.html", context)


def _confirm_replacing(data: dict, pending: Invitation) -> InviteForm:
    """The form again, to confirm: the waiting invitation's name and message fill the
    boxes left empty, so sending again never silently drops what was written before."""
    return InviteForm(
        initial={
            **data,
            "name": data["name"] or pending.name,
            "message": data["message"] or pending.message,
            "replace": True,
        }
    )


@administrator_required(reason=REASON)
@require_POST
def resend(request: HttpRequest, pk: int) -> HttpResponse:
    invitation = get_object_or_404(Invitation, pk=pk)
    try:
        sent = invitations.resend(invitation, request.user, request)
    except invitations.InvitationError as error:
        messages.error(request, str(error))
        return redirect("accounts:invitations")
    return _after_sending(request, sent, "sent again")


@administrator_required(reason=REASON)
@require_POST
def revoke(request: HttpRequest, pk: int) -> HttpResponse:
    invitation = get_object_or_404(Invitation, pk=pk)
    if invitations.revoke(invitation):
        messages.success(
            request,
            f"The invitation to {invitation.email} is revoked: its link no longer works.",
        )
    else:
        messages.info(request, f"The invitation to {invitation.email} was already closed.")
    return redirect("accounts:invitations")


# Invitee ------------------------------------------------------------------------------------


def _problem(request: HttpRequest, key: str, invitation: Invitation | None) -> HttpResponse:
    title, what, todo, status = LINK_PROBLEMS.get(key, LINK_PROBLEMS[invitations.UNKNOWN])
    expiry, _ = config.invite_expiry()
    values = {"expiry": describe_duration(expiry), "inviter": _inviter(invitation)}
    context = {"what": what.format(**values), "todo": todo.format(**values)}
    return render_public(request, "link_problem", title, context, status=status, private=True)


@never_cache
def accept(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows the form and uses nothing up (link scanners open links); POST accepts."""
    invitation = invitations.find(token)
    current = invitations.state(invitation)
    if invitation is None or current != invitations.VALID:
        return _problem(request, current, invitation)
    candidate = User(email=invitation.email, name=invitation.name)
    form = AcceptForm(request.POST or None, user=candidate, initial={"name": invitation.name})
    if request.method == "POST" and form.is_valid():
        try:
            data = form.cleaned_data
            user = invitations.accept(token, data["name"], data["password"])
        except invitations.InvitationError as error:
            return _problem(request, str(error), invitation)
        messages.success(
            request, "Your account is ready. Log in with your email address and new password."
        )
        return redirect(f"{reverse('accounts:login')}?{urlencode({'email': user.email})}")
    context = {
        "form": form,
        "invitation": invitation,
        "inviter": _inviter(invitation),
        "role": role_phrase(invitation.get_role_display()),
    }
    return render_public(request, "accept", "Accept the invitation", context, private=True)
