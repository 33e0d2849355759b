"""Server-side permission checks for every app's views, and the shared 403.

- ``@administrator_required``: anonymous visitors go to the login page; signed-in users who
  are not administrators get the 403 page (core/templates/403.html) with a plain explanation.
- ``@editor_required``: any signed-in, active backoffice user (editors and administrators).
- ``AdministratorRequiredMixin``: the same as the first for class-based views.

Roles are read from the user object (``is_administrator``), so core imports no app's model.

Usage::

    @administrator_required
    def view(request): ...

    @administrator_required(reason="Only administrators can run health check actions.")
    def action(request): ...
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, overload

from django.contrib.auth import get_user_model
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

DEFAULT_REASON = "Only administrators can open this page or do this."

View = Callable[..., HttpResponse]


def is_administrator(user: Any) -> bool:
    signed_in = getattr(user, "is_authenticated", False)
    return bool(signed_in and getattr(user, "is_administrator", False))


def administrator_emails() -> list[str]:
    """The addresses of the active administrators, for alerts (no app's model imported)."""
    users = get_user_model().objects.filter(is_active=True).order_by("pk")
    return [user.email for user in users if is_administrator(user)]


def is_editor(user: Any) -> bool:
    """Signed in and active: every backoffice user may do what editors may."""
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "is_active", False))


def check_administrator(request: HttpRequest, reason: str = DEFAULT_REASON) -> HttpResponse | None:
    """A login redirect or a raised 403 when ``request.user`` is not an administrator."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not is_administrator(request.user):
        raise PermissionDenied(reason)
    return None


def _guard(check: Callable[[HttpRequest, str], HttpResponse | None], reason: str) -> Any:
    def decorate(function: View) -> View:
        @wraps(function)
        def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
            refusal = check(request, reason)
            if refusal is not None:
                return refusal
            return function(request, *args, **kwargs)

        return wrapper

    return decorate


@overload
def administrator_required(view: View) -> View: ...
@overload
def administrator_required(*, reason: str = DEFAULT_REASON) -> Callable[[View], View]: ...


def administrator_required(view: View | None = None, *, reason: str = DEFAULT_REASON) -> Any:
    decorate = _guard(check_administrator, reason)
    return decorate(view) if view is not None else decorate


def check_editor(request: HttpRequest, reason: str = "") -> HttpResponse | None:
    """A login redirect when nobody (or a disabled user) is signed in."""
    if not is_editor(request.user):
        return redirect_to_login(request.get_full_path())
    return None


def editor_required(view: View) -> View:
    """For pages every backoffice user may open."""
    return _guard(check_editor, "")(view)


class AdministratorRequiredMixin:
    """For class-based views; put it first among the bases. Set ``permission_reason``."""

    permission_reason = DEFAULT_REASON

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        refusal = check_administrator(request, self.permission_reason)
        if refusal is not None:
            return refusal
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
