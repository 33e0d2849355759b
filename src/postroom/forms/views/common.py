"""What every backoffice forms screen shares: who may use it, and the form's tabs."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from postroom.forms.models import Form, Rejection

TABS = (
    ("build", "Fields"),
    ("workflows", "Workflows"),
    ("entries", "Entries"),
    ("settings", "Settings"),
    ("embed", "Embed"),
)


def editors(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Administrators and editors manage forms and entries; anonymous visitors log in first."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        user = request.user
        if not (getattr(user, "is_administrator", False) or getattr(user, "role", "") == "editor"):
            raise PermissionDenied("Only administrators and editors can manage forms.")
        return view(request, *args, **kwargs)

    return wrapper


def form_or_404(pk: int) -> Form:
    return get_object_or_404(Form.objects.annotate(entry_count=Count("entries")), pk=pk)


def form_context(form: Form, tab: str, **extra: object) -> dict[str, object]:
    rejections = list(Rejection.objects.filter(form=form, count__gt=0))
    return {
        "form": form,
        "tab": tab,
        "tabs": TABS,
        "rejections": rejections,
        "rejected_total": sum(r.count for r in rejections),
        **extra,
    }
