"""Turning raw entries (JSON values, environment strings, XML attributes) into typed values.

The rules follow .NET's configuration binder: a number may be written as a JSON number or a
numeric string, enum names and booleans ignore letter case.
"""

from __future__ import annotations

import math
import re
from typing import Any

from postroom.mailsettings.layers import Container


class Invalid(Exception):
    """The value cannot be used; ``expected`` says what would be accepted."""

    def __init__(self, expected: str) -> None:
        super().__init__(expected)
        self.expected = expected


def describe(value: Any, secret: bool = False) -> str:
    """How a wrong value is named in a message; a secret's text is never shown."""
    if isinstance(value, Container):
        return f"an {value.kind}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return "a number"
    if value is None:
        return "null"
    if secret:
        return "a string"
    text = str(value)
    return repr(text if len(text) <= 60 else text[:57] + "...")


def to_string(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)  # .NET binds a JSON number to a string property too
    raise Invalid("a string")


def to_exact_string(value: Any) -> str:
    """A string exactly as written, spaces included: .NET takes a user name or password so."""
    if isinstance(value, str):
        return value
    return to_string(value)


# Deployment tools replace these tokens with the real value; left as they are, they are not
# settings: Octopus #{Name}#, Azure DevOps/Replace Tokens __Name__, MSBuild $(Name), ${NAME}.
_DEPLOYMENT_TOKEN = re.compile(
    r"#\{[\w.:\- ]{1,100}\}#|__[A-Za-z][\w.]{0,100}__|\$\([A-Za-z_][\w.]{0,100}\)"
    r"|\$\{[A-Za-z_][\w.:\-]{0,100}\}"
)


def is_deployment_token(value: Any) -> bool:
    """True for a value that is a whole, unreplaced deployment token such as ``#{SmtpHost}#``."""
    return isinstance(value, str) and _DEPLOYMENT_TOKEN.fullmatch(value.strip()) is not None


def to_int(value: Any, low: int, high: int) -> int:
    expected = f"a whole number from {low} to {high}"
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise Invalid(expected)
    text = str(value).strip()
    if not re.fullmatch(r"[+-]?[0-9]{1,12}", text):
        raise Invalid(expected)
    number = int(text)
    if not low <= number <= high:
        raise Invalid(expected)
    return number


def to_float(value: Any, low: float, high: float) -> float:
    expected = f"a number of seconds from {low:g} to {high:g}"
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise Invalid(expected)
    try:
        number = float(str(value).strip()) if isinstance(value, str) else float(value)
    except ValueError:
        raise Invalid(expected) from None
    if math.isnan(number) or not low <= number <= high:
        raise Invalid(expected)
    return number


def to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise Invalid("true or false")


def to_enum(value: Any, choices: tuple[str, ...]) -> str:
    if isinstance(value, str):
        for choice in choices:
            if value.strip().lower() == choice.lower():
                return choice
    raise Invalid("one of " + ", ".join(choices))
