"""The Users screen: list, one user, and what an administrator can change."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST

from postroom.accounts import lockout, manage
from postroom.accounts.forms import RoleForm, SearchForm
from postroom.accounts.models import Invitation, User
from postroom.core.permissions import administrator_required

PAGE_SIZE = 50
REASON = "Only administrators can manage users."


def search_query(request: HttpRequest) -> tuple[SearchForm, str]:
    form = SearchForm(request.GET or None)
    query = form.cleaned_data["q"].strip() if form.is_valid() else ""
    return form, query


def tab_counts() -> dict[str, int]:
    return {"open_invitations": Invitation.objects.open().count()}


@administrator_required(reason=REASON)
@require_GET
def user_list(request: HttpRequest) -> HttpResponse:
    form, query = search_query(request)
    users = User.objects.all()
    if query:
        users = users.filter(Q(email__icontains=query) | Q(name__icontains=query))
    page = Paginator(users, PAGE_SIZE).get_page(request.GET.get("page"))
    locks = lockout.locked_addresses([user.email for user in page])
    rows = [{"user": user, "locked_until": locks.get(user.email)} for user in page]
    return render(
        request,
        "accounts/users.html",
        {
            "form": form,
            "query": query,
            "page": page,
            "rows": rows,
            "tab": "users",
            "page_prefix": f"{urlencode({'q': query})}&" if query else "",
            **tab_counts(),
        },
    )


@administrator_required(reason=REASON)
@require_GET
def user_detail(request: HttpRequest, pk: int) -> HttpResponse:
    target = get_object_or_404(User, pk=pk)
    return render(
        request,
        "accounts/user.html",
        {
            "target": target,
            "is_self": target.pk == request.user.pk,
            "locked_until": lockout.locked_until(target.email),
            "role_form": RoleForm(initial={"role": target.role}),
            "invitation": target.invitations.select_related("invited_by").first(),
        },
    )


def _refused(request: HttpRequest, pk: int, error: manage.UserActionError) -> HttpResponse:
    messages.error(request, str(error))
    return redirect("accounts:user", pk=pk)


@administrator_required(reason=REASON)
@require_POST
def change_role(request: HttpRequest, pk: int) -> HttpResponse:
    target = get_object_or_404(User, pk=pk)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose Administrator or Editor.")
        return redirect("accounts:user", pk=pk)
    try:
        changed = manage.change_role(request.user, target, form.cleaned_data["role"])
    except manage.UserActionError as error:
        return _refused(request, pk, error)
    target.refresh_from_db()
    if changed:
        messages.success(request, f"{target.email} is now {target.get_role_display().lower()}.")
    else:
        messages.info(request, f"{target.email} was already {target.get_role_display().lower()}.")
    return redirect("accounts:user", pk=pk)


@administrator_required(reason=REASON)
@require_POST
def disable(request: HttpRequest, pk: int) -> HttpResponse:
    target = get_object_or_404(User, pk=pk)
    try:
        manage.disable(request.user, target)
    except manage.UserActionError as error:
        return _refused(request, pk, error)
    messages.success(request, f"{target.email} is disabled: they are logged out and cannot log in.")
    return redirect("accounts:user", pk=pk)


@administrator_required(reason=REASON)
@require_POST
def enable(request: HttpRequest, pk: int) -> HttpResponse:
    target = get_object_or_404(User, pk=pk)
    manage.enable(target)
    messages.success(request, f"{target.email} is enabled and can log in again.")
    return redirect("accounts:user", pk=pk)


@administrator_required(reason=REASON)
@require_POST
def unlock(request: HttpRequest, pk: int) -> HttpResponse:
    target = get_object_or_404(User, pk=pk)
    if manage.unlock(target):
        messages.success(request, f"{target.email} can log in again right away.")
    else:
        messages.info(request, f"{target.email} was not locked.")
    return redirect("accounts:user", pk=pk)


@administrator_required(reason=REASON)
def delete(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation; POST deletes."""
    target = get_object_or_404(User, pk=pk)
    if request.method != "POST":
        return render(
            request,
            "accounts/delete.html",
            {"target": target, "is_self": target.pk == request.user.pk},
        )
    try:
        manage.delete(request.user, target)
    except manage.UserActionError as error:
        return _refused(request, pk, error)
    messages.success(request, f"{target.email} was deleted.")
    return redirect("accounts:users")
