"""Postroom's URLs plus views that fail, for the tests of what a 500 logs."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from postroom.config import current_smtp_settings


def smtp_login_fails(request: HttpRequest) -> HttpResponse:
    password = current_smtp_settings().password.value.reveal()  # noqa: F841 - a local
    cookie = request.headers.get("Cookie", "")
    authorization = request.headers.get("Authorization", "")
    raise RuntimeError(
        f"login refused for password {password!r}; cookie {cookie}; auth {authorization}"
        f"; webhook https://hooks.example.net/services/T000/B000/XXXXSECRETXXXX"
    )


def token_view_fails(request: HttpRequest, token: str) -> HttpResponse:
    raise ValueError(f"could not read link {request.build_absolute_uri()} ({token})")


urlpatterns = [
    path("boom/", smtp_login_fails),
    path("invite/<str:token>/boom/", token_view_fails),
    path("", include("postroom.urls")),
]
