"""The README's curl example is a request the API accepts."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"

pytestmark = pytest.mark.django_db


def test_the_readme_curl_example_is_accepted(post):
    section = README.read_text().split("### The HTTP API", 1)[1]
    body = re.search(r"-d '(.*?)'\n", section, re.S).group(1)
    key = re.search(r'Idempotency-Key: ([^"]+)"', section).group(1)
    data = json.loads(body)
    data["from"] = "Shop <noreply@example.org>"  # the fixture's application sends as example.org
    response = post(data, **{"Idempotency-Key": key})
    assert response.status_code == 202, response.content
