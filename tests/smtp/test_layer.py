"""The SMTP session is the only code that talks smtplib, and it sits just above the settings."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "postroom"
PACKAGE = SRC / "smtp"


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def test_smtplib_is_imported_by_the_smtp_package_only():
    outside = []
    for path in SRC.rglob("*.py"):
        text = path.read_text()
        if ("import smtplib" in text or "from smtplib" in text) and PACKAGE not in path.parents:
            outside.append(str(path.relative_to(SRC)))
    assert outside == [], f"smtplib is used outside postroom/smtp: {outside}"


def test_the_smtp_package_imports_only_the_settings_of_postroom():
    higher = {}
    for path in PACKAGE.rglob("*.py"):
        wrong = {
            name
            for name in imported_modules(path)
            if name.startswith("postroom")
            and not name.startswith(("postroom.smtp", "postroom.mailsettings"))
        }
        if wrong:
            higher[path.name] = sorted(wrong)
    assert higher == {}, f"postroom.smtp must not import higher layers: {higher}"
