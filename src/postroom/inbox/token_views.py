"""The inbox API tokens screen: administrators create and revoke them."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from postroom.inbox.models import InboxToken
from postroom.inbox.tokens import create_token
from postroom.inbox.views import inbox_access


@inbox_access
@require_http_methods(["GET", "POST"])
@never_cache
def tokens(request: HttpRequest) -> HttpResponse:
    """The tokens; after a POST, the new one, shown this once."""
    context: dict[str, object] = {"name": ""}
    if request.method == "POST":
        context["name"] = request.POST.get("name", "")[:200]
        try:
            row, token = create_token(str(context["name"]))
        except ValueError as problem:
            context["error"] = str(problem)
        else:
            context.update(created=row, token=token, name="")
    context["rows"] = InboxToken.objects.all()
    context["api_url"] = request.build_absolute_uri("/api/v1/inbox/")
    status = 400 if "error" in context else 200
    return render(request, "inbox/tokens.html", context, status=status)


@inbox_access
@require_POST
def revoke(request: HttpRequest, pk: int) -> HttpResponse:
    deleted, _ = InboxToken.objects.filter(pk=pk).delete()
    if deleted:
        messages.success(request, "Token revoked: callers using it now get 401.")
    return redirect("inbox:tokens")
