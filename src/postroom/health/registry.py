"""Health checks: what a check is, what it reports, and the registry that lists them.

A check is one function registered with :func:`check`::

    @check("security-debug", "DEBUG is off in Production", SECURITY,
           "Django's debug pages show settings and code to anyone.", docs="README.md#set-up")
    def debug_off() -> list[Result]:
        return [Result.success("DEBUG is off.")]

It returns one or more :class:`Result`. A check that raises is reported as an error naming
the exception's type only (its text might quote a secret).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

SUCCESS, WARNING, ERROR, INFO = "success", "warning", "error", "info"
STATUSES = (SUCCESS, INFO, WARNING, ERROR)  # from best to worst

CONFIGURATION, SERVICES, DELIVERY, SECURITY = "Configuration", "Services", "Delivery", "Security"
GROUPS = (CONFIGURATION, SERVICES, DELIVERY, SECURITY)


@dataclass(frozen=True)
class Result:
    """One finding of a check. ``step`` and ``duration_ms`` are set for the SMTP steps."""

    status: str
    message: str
    fix: str = ""
    step: str = ""
    duration_ms: int | None = None
    link: str = ""  # a backoffice URL that shows more, e.g. the failed messages
    link_text: str = ""

    @classmethod
    def success(cls, message: str, **kw: Any) -> Result:
        return cls(SUCCESS, message, **kw)

    @classmethod
    def warning(cls, message: str, fix: str = "", **kw: Any) -> Result:
        return cls(WARNING, message, fix, **kw)

    @classmethod
    def error(cls, message: str, fix: str = "", **kw: Any) -> Result:
        return cls(ERROR, message, fix, **kw)

    @classmethod
    def info(cls, message: str, fix: str = "", **kw: Any) -> Result:
        return cls(INFO, message, fix, **kw)

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"status": self.status, "message": self.message, "fix": self.fix}
        if self.step:
            data["step"] = self.step
        if self.duration_ms is not None:
            data["duration_ms"] = self.duration_ms
        if self.link:
            data["link"] = self.link
        return data


@dataclass(frozen=True)
class Action:
    """Something an administrator may do from a check's card, e.g. send a test email.

    ``run(user, data)`` gets the POSTed fields and returns the URL to go to next; it raises
    :class:`ActionRefused` with a message for the user when the input is not acceptable.
    """

    id: str
    label: str
    run: Callable[[Any, Any], str]
    field: str = ""  # the name of one input the action needs, shown next to its button
    field_label: str = ""


class ActionRefused(Exception):
    pass


@dataclass(frozen=True)
class Check:
    id: str
    name: str
    group: str
    description: str
    run: Callable[[], Sequence[Result]]
    docs: str = ""  # a README section, e.g. "README.md#configuring-smtp"
    network: bool = False  # talks to other machines: run it in a thread, bounded
    actions: tuple[Action, ...] = field(default_factory=tuple)
    position: int = 100  # order within the group; then the order of registration


_registry: dict[str, Check] = {}


def check(
    id: str,
    name: str,
    group: str,
    description: str,
    *,
    docs: str = "",
    network: bool = False,
    actions: Sequence[Action] = (),
    position: int = 100,
) -> Callable[[Callable[[], Sequence[Result]]], Callable[[], Sequence[Result]]]:
    """Register the decorated function as the check ``id``."""
    if group not in GROUPS:
        raise ValueError(f"group must be one of {', '.join(GROUPS)}, not {group!r}")

    def register(function: Callable[[], Sequence[Result]]) -> Callable[[], Sequence[Result]]:
        if id in _registry and _registry[id].run is not function:
            raise ValueError(f"a health check with the id {id!r} is registered already")
        _registry[id] = Check(
            id, name, group, description, function, docs, network, tuple(actions), position
        )
        return function

    return register


def unregister(id: str) -> None:
    _registry.pop(id, None)


def all_checks() -> list[Check]:
    """Every registered check, by group (in GROUPS order), position, then registration."""
    order = {group: index for index, group in enumerate(GROUPS)}
    return sorted(_registry.values(), key=lambda c: (order[c.group], c.position))


def get_check(id: str) -> Check | None:
    return _registry.get(id)


def select(group: str | None = None, id: str | None = None) -> list[Check]:
    """The checks of one group (any letter case) or the one check ``id``; all by default."""
    checks = all_checks()
    if id:
        checks = [c for c in checks if c.id == id]
    if group:
        checks = [c for c in checks if c.group.lower() == group.lower()]
    return checks


def group_name(text: str) -> str | None:
    """The group spelled as ``text`` in any letter case, or None."""
    return next((g for g in GROUPS if g.lower() == text.strip().lower()), None)


def worst(statuses: Sequence[str]) -> str:
    """The worst of the statuses (error > warning > info > success); success when empty."""
    return max(statuses, key=STATUSES.index, default=SUCCESS)


def with_step(result: Result, step: str, duration_ms: int | None) -> Result:
    return replace(result, step=step, duration_ms=duration_ms)
