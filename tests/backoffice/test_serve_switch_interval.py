"""`postroom serve` lets the threads of its parts take turns often (parts.SWITCH_INTERVAL)."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from postroom.backoffice import parts
from postroom.backoffice.management.commands import serve


@pytest.fixture
def switch_interval() -> Iterator[None]:
    before = sys.getswitchinterval()
    yield
    sys.setswitchinterval(before)


def test_serve_sets_the_switch_interval_before_starting_its_parts(
    monkeypatch: pytest.MonkeyPatch, switch_interval: None
) -> None:
    sys.setswitchinterval(0.005)
    seen: list[float] = []

    def start_parts(*args: object, **kwargs: object) -> None:
        seen.append(sys.getswitchinterval())
        raise KeyboardInterrupt  # as Ctrl-C during start-up: serve stops cleanly

    monkeypatch.setattr(serve, "prepare_database", lambda: None)
    monkeypatch.setattr(serve.config, "ensure_can_start", lambda command: None)
    monkeypatch.setattr(serve.Command, "start_parts", start_parts)
    serve.Command().handle(host="127.0.0.1", port=0, inbox_port=0, no_inbox=True)
    assert seen == [pytest.approx(parts.SWITCH_INTERVAL)]
    assert parts.SWITCH_INTERVAL < 0.005  # shorter than Python's default
