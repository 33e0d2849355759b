"""The relay's hosting settings: off unless a port is set, each bad value a reported problem."""

from __future__ import annotations

import pytest

from postroom.config import current_config

pytestmark = pytest.mark.django_db


def problems(key: str):
    return [p for p in current_config().problems if p.key == key]


def test_the_relay_is_off_by_default_and_listens_on_loopback() -> None:
    hosting = current_config().hosting
    assert hosting.relay_port.value is None and hosting.relay_tls_port.value is None
    assert hosting.relay_host.value == "127.0.0.1"


def test_a_port_that_is_no_number_stops_the_relay_and_serve(monkeypatch) -> None:
    monkeypatch.setenv("POSTROOM_RELAY_PORT", "submission")
    [found] = problems("POSTROOM_RELAY_PORT")
    assert "POSTROOM_RELAY_PORT is 'submission'" in found.message
    assert "587" in found.hint
    assert current_config().blocking_problems("relay") == (found,)
    assert found in current_config().blocking_problems("serve")
    assert current_config().blocking_problems("web") == ()


def test_a_certificate_without_its_key_is_a_problem(monkeypatch, tmp_path) -> None:
    cert = tmp_path / "cert.pem"
    cert.write_text("not checked here")
    monkeypatch.setenv("POSTROOM_RELAY_PORT", "2587")
    monkeypatch.setenv("POSTROOM_RELAY_CERT", str(cert))
    [found] = problems("POSTROOM_RELAY_KEY")
    assert "POSTROOM_RELAY_CERT is set but POSTROOM_RELAY_KEY is not" in found.message
    assert found in current_config().blocking_problems("serve")


def test_a_missing_certificate_file_is_named(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("POSTROOM_RELAY_CERT", str(tmp_path / "absent.pem"))
    monkeypatch.setenv("POSTROOM_RELAY_KEY", str(tmp_path / "absent.key"))
    assert "absent.pem" in problems("POSTROOM_RELAY_CERT")[0].message
    assert "absent.key" in problems("POSTROOM_RELAY_KEY")[0].message


def test_in_production_a_relay_without_certificate_is_a_warning(monkeypatch) -> None:
    monkeypatch.setenv("POSTROOM_ENVIRONMENT", "Production")
    monkeypatch.setenv("POSTROOM_RELAY_PORT", "2587")
    [found] = problems("POSTROOM_RELAY_CERT")
    assert found.level == "warning"
    assert "applications cannot log in" in found.message
