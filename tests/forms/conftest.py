"""Fixtures for the forms tests; the helpers are in formhelpers.py."""

from __future__ import annotations

import pytest

from postroom.forms import builder
from postroom.forms.models import Form


@pytest.fixture
def contact_form(administrator) -> Form:
    """The starter contact form (name, email, message; emails the administrator)."""
    return builder.create_form("Contact us", administrator)
