"""Helpers to write a site's configuration files and load its settings."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path

import pytest

from postroom.mailsettings import SmtpSettings, load_smtp_settings

PASSWORD = "s3cret-Pa55"


def web_config(smtp: str, before: str = "", after: str = "") -> str:
    """A web.config holding the given <smtp> element; <smtp> starts on line 5."""
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        "<configuration>\n"
        "  <system.net>\n"
        "    <mailSettings>\n"
        + textwrap.indent(textwrap.dedent(smtp).strip("\n"), "      ")
        + "\n    </mailSettings>\n"
        "  </system.net>\n" + after + "</configuration>\n"
    )


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the first occurrence of needle in text."""
    index = text.index(needle)
    return text.count("\n", 0, index) + 1


class Site:
    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, name: str, text: str | bytes) -> Path:
        target = self.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            target.write_bytes(text)
        else:
            target.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return target

    def load(
        self, environment: str = "Development", environ: Mapping[str, str] | None = None
    ) -> SmtpSettings:
        return load_smtp_settings(self.path, environment, environ or {})


@pytest.fixture
def site(isolated_site: Path) -> Site:
    """The test's site directory (tests/conftest.py points POSTROOM_SITE at it, with no
    POSTROOM_ENVIRONMENT and no Umbraco__*/Postroom__* variables)."""
    return Site(isolated_site)


def messages(problems) -> list[str]:
    return [problem.message for problem in problems]
