"""Adding a check is one function and a decorator; a broken check never hides the others."""

from __future__ import annotations

import time

import pytest

from postroom.health import registry
from postroom.health.registry import SECURITY, Result, check, get_check, select, unregister
from postroom.health.runner import run_checks, summary


@pytest.fixture
def extra_checks():
    added: list[str] = []
    yield added
    for id in added:
        unregister(id)


def test_a_registered_function_is_a_check(extra_checks):
    @check("test-tls-everywhere", "TLS everywhere", SECURITY, "A check added by a test.")
    def tls_everywhere() -> list[Result]:
        return [Result.warning("Not quite everywhere.", "Add TLS.")]

    extra_checks.append("test-tls-everywhere")

    found = get_check("test-tls-everywhere")
    assert found is not None and found in select(group="security")
    [run] = run_checks([found])
    assert run.status == "warning"
    assert run.as_json()["results"] == [
        {"status": "warning", "message": "Not quite everywhere.", "fix": "Add TLS."}
    ]


def test_a_check_that_raises_is_an_error_naming_only_the_exception_type(extra_checks, caplog):
    @check("test-broken", "Broken", SECURITY, "Raises.")
    def broken() -> list[Result]:
        secret = "".join(["hun", "ter2"])  # a value at run time, as a real password is
        raise ValueError(f"the password is {secret}")

    extra_checks.append("test-broken")

    [run] = run_checks([get_check("test-broken")])

    assert run.status == "error"
    assert "ValueError" in run.results[0].message
    assert "hunter2" not in run.results[0].message
    assert "test-broken failed with ValueError" in caplog.text  # logged, with where it failed
    assert "hunter2" not in caplog.text


def test_ids_are_unique(extra_checks):
    @check("test-twice", "Once", SECURITY, "First.")
    def first() -> list[Result]:
        return []

    extra_checks.append("test-twice")

    with pytest.raises(ValueError, match="registered already"):

        @check("test-twice", "Twice", SECURITY, "Second.")
        def second() -> list[Result]:
            return []


def test_groups_are_the_four_known_ones():
    with pytest.raises(ValueError, match="Configuration, Services, Delivery, Security"):
        check("test-nogroup", "No group", "Mail", "Wrong group.")


def test_network_checks_run_in_parallel(extra_checks, db):
    for n in range(3):

        @check(f"test-slow-{n}", "Slow", SECURITY, "Sleeps.", network=True)
        def slow() -> list[Result]:
            time.sleep(0.5)
            return [Result.success("Done.")]

        extra_checks.append(f"test-slow-{n}")

    started = time.monotonic()
    runs = run_checks([get_check(f"test-slow-{n}") for n in range(3)])

    assert time.monotonic() - started < 1.2
    assert [run.status for run in runs] == ["success"] * 3
    assert summary(runs) == "3 fine"


def test_every_built_in_check_has_a_description_and_a_group():
    ids = [c.id for c in registry.all_checks()]
    assert len(ids) == len(set(ids))
    assert ids[:2] == ["password-reset", "invitations"]
    assert {
        "smtp",
        "database",
        "sender-domain",
        "delivery-worker",
        "delivery-queue",
        "delivery-failures",
        "delivery-held",
        "security-debug",
        "security-secret-key",
        "security-config-files",
        "security-cookies",
    } <= set(ids)
    assert all(c.description and c.name for c in registry.all_checks())
