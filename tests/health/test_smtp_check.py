"""The SMTP check against real servers on loopback: each step, and exactly what failed."""

from __future__ import annotations

import datetime
import time

import pytest

from health.runs import run_by_step

PASSWORD = "s3cret-Pa55word!"


def all_text(run) -> str:
    return " ".join(f"{r.message} {r.fix}" for r in run.results)


@pytest.fixture
def login_server(configure_smtp, smtp_server, certificates):
    """``login_server(security, password=..., **server_options)`` starts a server over TLS
    that lets mailer in with PASSWORD, and sets the SMTP settings to log in to it as mailer
    with ``password``."""

    def start(security: str, password: str = PASSWORD, **server_options):
        tls = "ssl_context" if security == "SslOnConnect" else "tls_context"
        server = smtp_server(
            **{tls: certificates.server_context()},
            username="mailer",
            password=PASSWORD,
            **server_options,
        )
        configure_smtp(
            host=server.host,
            port=server.port,
            security=security,
            username="mailer",
            password=password,
            ca_file=certificates.ca_file,
        )
        return server

    return start


def test_good_credentials_over_starttls_pass_every_step(login_server):
    server = login_server("StartTls")

    run, steps = run_by_step("smtp")

    assert run.status == "success", all_text(run)
    assert list(steps) == [
        "settings",
        "dns",
        "connect",
        "banner",
        "ehlo",
        "tls",
        "certificate",
        "auth",
    ]
    assert "STARTTLS" in steps["ehlo"].message  # the extensions offered are listed
    assert "STARTTLS" in steps["tls"].message and "TLS" in steps["tls"].message
    assert "valid until" in steps["certificate"].message
    assert steps["auth"].message == "Logged in as mailer (no mail was sent)."
    assert all(steps[s].duration_ms is not None for s in ("dns", "connect", "banner", "tls"))
    assert server.auth_attempts == ["mailer"]
    assert server.messages == []


def test_bad_credentials_fail_with_the_servers_535_reply(login_server):
    login_server("StartTls", password="wrong-password")

    run, steps = run_by_step("smtp")

    assert run.status == "error"
    assert steps["auth"].status == "error"
    assert "rejected the login: 535" in steps["auth"].message
    assert "Authentication credentials invalid" in steps["auth"].message
    assert "user name and password" in steps["auth"].fix
    assert "wrong-password" not in all_text(run)


def test_a_refused_port_fails_at_connect(configure_smtp, refused_port):
    configure_smtp(host="127.0.0.1", port=refused_port, security="None")

    run, steps = run_by_step("smtp")

    assert run.status == "error"
    assert list(steps) == ["settings", "dns", "connect"]
    assert steps["connect"].status == "error"
    assert "connection refused" in steps["connect"].message
    assert f"127.0.0.1:{refused_port}" in steps["connect"].message
    assert "port" in steps["connect"].fix


def test_a_server_that_never_greets_times_out_within_the_bound(configure_smtp, silent_listener):
    configure_smtp(host=silent_listener.host, port=silent_listener.port, security="None", timeout=2)

    started = time.monotonic()
    run, steps = run_by_step("smtp")
    elapsed = time.monotonic() - started

    assert elapsed < 2 + 1
    assert steps["connect"].status == "success"
    assert steps["banner"].status == "error"
    assert "no greeting within 2 s" in steps["banner"].message


def test_a_host_that_drops_packets_times_out_at_connect_within_the_bound(
    configure_smtp, blackhole_listener
):
    configure_smtp(
        host=blackhole_listener.host, port=blackhole_listener.port, security="None", timeout=2
    )

    started = time.monotonic()
    run, steps = run_by_step("smtp")
    elapsed = time.monotonic() - started

    assert elapsed < 2 + 1
    assert steps["connect"].status == "error"
    assert "timed out" in steps["connect"].message
    assert "firewall" in steps["connect"].fix


def test_a_tls_port_spoken_to_in_plain_text_times_out_within_the_bound(
    configure_smtp, smtp_server, certificates
):
    server = smtp_server(ssl_context=certificates.server_context())
    configure_smtp(host=server.host, port=server.port, security="StartTls", timeout=2)

    started = time.monotonic()
    run, steps = run_by_step("smtp")

    assert time.monotonic() - started < 2 + 1
    assert steps["banner"].status == "error"
    assert "SslOnConnect" in steps["banner"].fix


def test_implicit_tls_is_checked_from_the_first_byte(login_server):
    login_server("SslOnConnect")

    run, steps = run_by_step("smtp")

    assert run.status == "success", all_text(run)
    assert list(steps)[:5] == ["settings", "dns", "connect", "tls", "certificate"]
    assert "implicit TLS" in steps["tls"].message


def test_an_expired_certificate_is_named_with_its_date(configure_smtp, smtp_server, certificates):
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    expired_on = now - datetime.timedelta(days=3)
    server = smtp_server(
        tls_context=certificates.server_context(
            not_before=now - datetime.timedelta(days=90), not_after=expired_on
        )
    )
    configure_smtp(
        host=server.host, port=server.port, security="StartTls", ca_file=certificates.ca_file
    )

    run, steps = run_by_step("smtp")

    assert run.status == "error"
    assert steps["certificate"].status == "error"
    assert f"expired on {expired_on:%Y-%m-%d}" in steps["certificate"].message
    assert "renew" in steps["certificate"].fix


def test_a_certificate_for_another_host_is_named(configure_smtp, smtp_server, certificates):
    server = smtp_server(tls_context=certificates.server_context("other.example"))
    configure_smtp(
        host=server.host, port=server.port, security="StartTls", ca_file=certificates.ca_file
    )

    run, steps = run_by_step("smtp")

    assert steps["certificate"].status == "error"
    assert "issued for other.example, not 127.0.0.1" in steps["certificate"].message


def test_a_certificate_from_an_unknown_ca_says_to_set_the_ca_file(
    configure_smtp, smtp_server, certificates
):
    server = smtp_server(tls_context=certificates.server_context())
    configure_smtp(host=server.host, port=server.port, security="StartTls")  # no CaFile

    run, steps = run_by_step("smtp")

    assert steps["certificate"].status == "error"
    assert "not trusted" in steps["certificate"].message
    assert "unknown CA (Postroom test CA)" in steps["certificate"].message
    assert "Postroom:Smtp:CaFile" in steps["certificate"].fix


def test_a_self_signed_certificate_is_named(configure_smtp, smtp_server, certificates, tmp_path):
    server = smtp_server(tls_context=certificates.self_signed_context())
    configure_smtp(host=server.host, port=server.port, security="StartTls")

    run, steps = run_by_step("smtp")

    assert steps["certificate"].status == "error"
    assert "not trusted: it is self-signed" in steps["certificate"].message
    assert "Postroom:Smtp:CaFile" in steps["certificate"].fix


def test_a_certificate_expiring_in_ten_days_is_a_warning(configure_smtp, smtp_server, certificates):
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    expires = now + datetime.timedelta(days=10, hours=1)
    server = smtp_server(
        tls_context=certificates.server_context(
            not_before=now - datetime.timedelta(days=80), not_after=expires
        )
    )
    configure_smtp(
        host=server.host, port=server.port, security="StartTls", ca_file=certificates.ca_file
    )

    run, steps = run_by_step("smtp")

    assert run.status == "warning", all_text(run)
    assert steps["certificate"].status == "warning"
    assert f"expires on {expires:%Y-%m-%d}, in 10 days" in steps["certificate"].message


@pytest.mark.smtpsink
def test_credentials_without_starttls_are_refused_under_auto(configure_smtp, smtp_sink):
    # Changed on purpose: Auto used to log in over plaintext with only a warning. An attacker
    # can strip STARTTLS, so the check (like delivery) now stops before sending the password.
    sink = smtp_sink()
    configure_smtp(host=sink.host, port=sink.port, username="mailer", password=PASSWORD)

    run, steps = run_by_step("smtp")

    assert run.status == "error"
    assert list(steps)[-1] == "tls"  # stopped there: no login was tried
    assert steps["tls"].status == "error"
    assert "offers no STARTTLS" in steps["tls"].message
    assert "unencrypted" in steps["tls"].message
    assert "StartTls" in steps["tls"].fix and "SecureSocketOptions to None" in steps["tls"].fix
    assert PASSWORD not in all_text(run)


def test_credentials_in_clear_by_choice_warn(configure_smtp, smtp_server):
    server = smtp_server(username="mailer", password=PASSWORD, auth_require_tls=False)
    configure_smtp(
        host=server.host, port=server.port, security="None", username="mailer", password=PASSWORD
    )

    run, steps = run_by_step("smtp")

    assert steps["tls"].status == "info"
    assert steps["security"].status == "warning"
    assert "password travels unencrypted" in steps["security"].message
    assert "StartTls" in steps["security"].fix
    assert steps["auth"].status == "success"
    assert server.auth_attempts == ["mailer"]
    assert PASSWORD not in all_text(run)


def test_starttls_required_but_not_offered_fails_at_tls(configure_smtp, smtp_server):
    server = smtp_server()
    configure_smtp(host=server.host, port=server.port, security="StartTls")

    run, steps = run_by_step("smtp")

    assert steps["tls"].status == "error"
    assert "does not offer STARTTLS" in steps["tls"].message


def test_an_unknown_host_fails_at_dns(configure_smtp):
    configure_smtp(host="no-such-host.invalid", port=587)

    run, steps = run_by_step("smtp")

    assert list(steps) == ["settings", "dns"]
    assert steps["dns"].status == "error"
    assert "no-such-host.invalid" in steps["dns"].message


def test_settings_errors_are_quoted_with_file_line_and_hint(isolated_site):
    (isolated_site / "appsettings.json").write_text(
        '{\n  "Umbraco": { "CMS": { "Global": { "Smtp": {\n'
        '    "From": "website@postroom.test",\n    "Host": "smtp.postroom.test",\n'
        '    "Port": "lots"\n  } } } }\n}\n'
    )

    run, _ = run_by_step("smtp")

    assert run.status == "error"
    problem = next(r for r in run.results if r.step == "settings" and r.status == "error")
    assert problem.message.startswith("appsettings.json:5 (Port):")
    assert "587" in problem.fix
    assert not any(r.step == "connect" for r in run.results)  # no probe with broken settings


def test_no_smtp_in_development_is_information(db):
    run, steps = run_by_step("smtp")

    assert run.status == "info"
    assert "development inbox" in steps["settings"].message


def test_no_smtp_in_production_is_an_error(monkeypatch):
    monkeypatch.setenv("POSTROOM_ENVIRONMENT", "Production")

    run, steps = run_by_step("smtp")

    assert run.status == "error"
    assert "mail is held" in steps["settings"].message


def test_a_writable_pickup_directory_passes(isolated_site, monkeypatch, tmp_path):
    pickup = tmp_path / "pickup"
    pickup.mkdir()
    monkeypatch.setenv("Umbraco__CMS__Global__Smtp__From", "website@postroom.test")
    monkeypatch.setenv("Umbraco__CMS__Global__Smtp__DeliveryMethod", "SpecifiedPickupDirectory")
    monkeypatch.setenv("Umbraco__CMS__Global__Smtp__PickupDirectoryLocation", str(pickup))

    run, steps = run_by_step("smtp")

    assert run.status == "success"
    assert "exists and is writable" in steps["directory"].message
    assert list(pickup.iterdir()) == []  # the test file is gone again


def test_a_missing_pickup_directory_fails(monkeypatch, tmp_path):
    monkeypatch.setenv("Umbraco__CMS__Global__Smtp__From", "website@postroom.test")
    monkeypatch.setenv("Umbraco__CMS__Global__Smtp__DeliveryMethod", "SpecifiedPickupDirectory")
    monkeypatch.setenv("Umbraco__CMS__Global__Smtp__PickupDirectoryLocation", str(tmp_path / "no"))

    run, _ = run_by_step("smtp")

    assert run.status == "error"
    assert any("does not exist" in r.message and "mkdir" in r.fix for r in run.results)


def test_the_password_never_appears_even_when_the_server_echoes_it(login_server):
    login_server("StartTls", auth_reply=f"535 5.7.8 Bad password {PASSWORD}")

    run, steps = run_by_step("smtp")

    assert steps["auth"].status == "error"
    assert "535" in steps["auth"].message
    assert PASSWORD not in repr(run)
    assert "********" in steps["auth"].message


def test_an_expired_certificate_for_another_host_names_both_problems(
    configure_smtp, smtp_server, certificates
):
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    server = smtp_server(
        tls_context=certificates.server_context(
            "other.example",
            not_before=now - datetime.timedelta(days=90),
            not_after=now - datetime.timedelta(days=1),
        )
    )
    configure_smtp(
        host=server.host, port=server.port, security="StartTls", ca_file=certificates.ca_file
    )

    run, steps = run_by_step("smtp")

    message = steps["certificate"].message
    assert "issued for other.example, not 127.0.0.1" in message
    assert "also expired, on" in message
