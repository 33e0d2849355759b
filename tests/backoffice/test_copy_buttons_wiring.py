"""Every Copy button in the templates points at an element of the same template (postroom.js
copies #data-copy and reports in #data-copy-status, else #<data-copy>-copied), has a status
line to report in, and is on a page that loads postroom.js: else it would fail silently."""

import re
from pathlib import Path

import postroom

TEMPLATES = Path(postroom.__file__).parent
BUTTON = re.compile(r"<button\b[^>]*\bdata-copy=\"([^\"]+)\"[^>]*>")
STATUS = re.compile(r"\bdata-copy-status=\"([^\"]+)\"")


def _copy_buttons():
    for path in sorted(TEMPLATES.glob("*/templates/**/*.html")):
        text = path.read_text()
        for button in BUTTON.finditer(text):
            yield path, text, button


def test_the_copy_buttons_are_found():
    pages = {path.name for path, _, _ in _copy_buttons()}
    assert {"invite_link.html", "secret.html", "embed.html", "try_settings.html"} <= pages


def test_each_copy_button_points_at_an_element_of_its_template():
    for path, text, button in _copy_buttons():
        source = button.group(1)
        status = (STATUS.findall(button.group(0)) or [f"{source}-copied"])[0]
        for target in (source, status):
            assert f'id="{target}"' in text, f"{path.name}: no element with id {target}"
        [tag] = re.findall(rf'<[^>]*\bid="{status}"[^>]*>', text)
        assert 'role="status"' in tag, f"{path.name}: {status} is not announced"
        assert text.startswith('{% extends "backoffice/base.html" %}'), path.name
