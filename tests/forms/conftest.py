"""Fixtures for the forms tests; the helpers are in formhelpers.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from postroom import runtime
from postroom.forms import builder
from postroom.forms.models import Form


@pytest.fixture(autouse=True)
def upload_dir(settings, isolated_site) -> Path:
    """Each test keeps its uploads in its own data directory, as a fresh install would."""
    location = runtime.data_dir() / "uploads"
    settings.STORAGES = {
        **settings.STORAGES,
        "uploads": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(location), "file_permissions_mode": 0o600},
        },
    }
    return location


@pytest.fixture
def contact_form(administrator) -> Form:
    """The starter contact form (name, email, message; emails the administrator)."""
    return builder.create_form("Contact us", administrator)
