"""What core's permission helpers let through (the rules per URL: tests/accounts)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse

from postroom.accounts.models import User
from postroom.core.permissions import administrator_emails, editor_required

pytestmark = pytest.mark.django_db


def test_editor_required_lets_in_every_signed_in_user_and_sends_others_to_log_in(rf, editor):
    @editor_required
    def page(request):
        return HttpResponse("done")

    request = rf.get("/forms/")
    request.user = AnonymousUser()
    assert page(request)["Location"] == "/login/?next=/forms/"
    request.user = editor
    assert page(request).content == b"done"


def test_the_administrators_addresses_are_those_of_active_administrators():
    User.objects.create_superuser("ada@example.com", "a-long-password-1")
    User.objects.create_superuser("old@example.com", "a-long-password-1", is_active=False)
    User.objects.create_user("ed@example.com", "a-long-password-1", role="editor")
    assert administrator_emails() == ["ada@example.com"]
