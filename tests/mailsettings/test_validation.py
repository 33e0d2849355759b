"""Validation: every problem says where it is, what is wrong and how to fix it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from postroom.mailsettings import Setting, SmtpSettings
from postroom.mailsettings import validate as validate_module
from postroom.mailsettings.model import NONE

from .conftest import PASSWORD, Site, messages, web_config


def smtp(site: Site, **keys: object) -> SmtpSettings:
    site.write("appsettings.json", json.dumps({"Umbraco": {"CMS": {"Global": {"Smtp": keys}}}}))
    return site.load()


@pytest.mark.parametrize(
    "address",
    ["noreply@mysite.com", "Site <noreply@mysite.com>", '"Site, Inc." <noreply@mysite.com>'],
)
def test_from_may_be_an_address_or_name_and_address(site: Site, address: str) -> None:
    settings = smtp(site, From=address, Host="mx")

    assert settings.errors == ()
    assert settings.from_address.value == address


@pytest.mark.parametrize(
    "address", ["noreply", "noreply@", "Site <>", "a@b.com\r\nBcc: x@y.com", "@mysite.com"]
)
def test_an_invalid_from_address_is_an_error(site: Site, address: str) -> None:
    settings = smtp(site, From=address, Host="mx")

    [error] = settings.errors
    assert (error.source, error.line, error.key) == ("appsettings.json", 1, "from")
    assert "expected an email address" in error.message
    assert error.hint
    assert not settings.configured


def test_the_documentation_from_address_counts_as_not_configured(site: Site) -> None:
    site.write(
        "web.config",
        web_config('<smtp from="noreply@example.com"><network host="smtp.mysite.com" /></smtp>'),
    )

    settings = site.load()

    assert settings.placeholder and not settings.configured
    [warning] = settings.warnings
    assert (warning.source, warning.line, warning.key) == ("web.config", 5, "from")
    assert "is the placeholder value from the documentation" in warning.message


def test_the_documentation_user_name_counts_as_not_configured(site: Site) -> None:
    site.write(
        "web.config",
        web_config(
            '<smtp from="noreply@mysite.com">'
            f'<network host="mx" userName="username" password="{PASSWORD}" enableSsl="true" />'
            "</smtp>"
        ),
    )

    settings = site.load()

    assert settings.placeholder and not settings.configured
    [warning] = settings.warnings
    assert warning.key == "username"
    assert "is the placeholder value from the documentation" in warning.message


def test_a_host_without_a_from_address_is_an_error(site: Site) -> None:
    settings = smtp(site, Host="mx")

    [error] = settings.errors
    assert error.key == "from" and "no From address" in error.message
    assert "From" in error.hint


def test_a_from_address_without_a_host_is_a_warning(site: Site) -> None:
    settings = smtp(site, From="a@mysite.com")

    assert settings.errors == ()
    [warning] = settings.warnings
    assert warning.key == "from" and "no Host" in warning.message  # on the From line
    assert not settings.configured


def test_a_password_without_tls_is_a_warning(site: Site) -> None:
    settings = smtp(
        site,
        From="a@mysite.com",
        Host="mx",
        Username="u",
        Password=PASSWORD,
        SecureSocketOptions="None",
    )

    assert settings.secure_socket_options.value == NONE
    [warning] = settings.warnings
    assert warning.key == "secure_socket_options"
    assert "would travel unencrypted" in warning.message
    assert settings.configured  # a warning, not an error


@pytest.mark.parametrize(
    ("keys", "missing"), [({"Username": "u"}, "password"), ({"Password": PASSWORD}, "username")]
)
def test_only_one_of_user_name_and_password_is_a_warning(
    site: Site, keys: dict[str, str], missing: str
) -> None:
    settings = smtp(site, From="a@mysite.com", Host="mx", **keys)

    [warning] = settings.warnings
    present = next(iter(keys)).lower()
    assert warning.key == present  # the key of the line the warning points at
    assert f"Set the {missing} too" in warning.hint
    assert "logs in only when both" in warning.message


def test_a_tls_mode_that_does_not_fit_the_port_is_a_warning(site: Site) -> None:
    settings = smtp(site, From="a@b.com", Host="mx", Port=465, SecureSocketOptions="StartTls")

    [warning] = settings.warnings
    assert "StartTls with port 465 rarely works" in warning.message


def test_an_unknown_enum_value_lists_the_allowed_ones(site: Site) -> None:
    settings = smtp(site, From="a@b.com", Host="mx", SecureSocketOptions="Tls")

    [error] = settings.errors
    assert error.key == "secure_socket_options"
    assert error.message == (
        "Umbraco:CMS:Global:Smtp:SecureSocketOptions is 'Tls'; expected one of"
        " None, Auto, SslOnConnect, StartTls, StartTlsWhenAvailable."
    )


@pytest.mark.parametrize("host", ["smtp://mx.mysite.com", "mx.mysite.com:587", "mx mysite"])
def test_a_host_must_be_a_bare_host_name(site: Site, host: str) -> None:
    [error] = smtp(site, From="a@b.com", Host=host).errors

    assert error.key == "host" and "without scheme or port" in error.message


def test_an_ipv6_host_is_fine(site: Site) -> None:
    assert smtp(site, From="a@b.com", Host="::1").errors == ()


def test_the_pickup_directory_must_exist(site: Site, tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    settings = smtp(
        site,
        From="a@b.com",
        DeliveryMethod="SpecifiedPickupDirectory",
        PickupDirectoryLocation=str(missing),
    )

    [error] = settings.errors
    assert error.key == "pickup_directory"
    assert f"The pickup directory {missing} does not exist" in error.message
    assert "mkdir" in error.hint


def test_a_relative_pickup_directory_is_inside_the_site(site: Site) -> None:
    (site.path / "App_Data" / "Mail").mkdir(parents=True)
    settings = smtp(
        site,
        From="a@b.com",
        DeliveryMethod="SpecifiedPickupDirectory",
        PickupDirectoryLocation="App_Data\\Mail",
    )

    assert settings.errors == ()
    assert settings.pickup_directory.value == str(site.path / "App_Data" / "Mail")
    assert settings.configured and settings.uses_pickup_directory


def test_a_windows_pickup_directory_is_an_error_on_this_machine(site: Site) -> None:
    site.write(
        "web.config",
        web_config(
            '<smtp from="a@b.com" deliveryMethod="SpecifiedPickupDirectory">\n'
            '  <specifiedPickupDirectory pickupDirectoryLocation="c:\\temp\\mail\\" />\n'
            "</smtp>"
        ),
    )

    [error] = site.load().errors

    assert (error.line, error.key) == (6, "pickup_directory")
    assert "c:\\temp\\mail\\ is a Windows path" in error.message


def test_a_pickup_directory_that_is_a_file_is_an_error(site: Site) -> None:
    site.write("not-a-dir", "x")
    settings = smtp(
        site,
        From="a@b.com",
        DeliveryMethod="SpecifiedPickupDirectory",
        PickupDirectoryLocation="not-a-dir",
    )

    assert "is not a directory" in messages(settings.errors)[0]


def test_an_unwritable_pickup_directory_is_an_error(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The tests may run as root, for whom every directory is writable.
    monkeypatch.setattr(validate_module.os, "access", lambda path, mode: False)
    settings = smtp(
        site,
        From="a@b.com",
        DeliveryMethod="SpecifiedPickupDirectory",
        PickupDirectoryLocation=str(tmp_path),
    )

    [error] = settings.errors
    assert "is not writable by the user Postroom runs as" in error.message


def test_pickup_delivery_without_a_directory_is_an_error(site: Site) -> None:
    settings = smtp(site, From="a@b.com", DeliveryMethod="SpecifiedPickupDirectory")

    [error] = settings.errors
    assert error.key == "pickup_directory" and "no pickup directory is set" in error.message


def test_a_timeout_out_of_range_is_an_error(site: Site) -> None:
    site.write("appsettings.json", '{"Postroom": {"Smtp": {"TimeoutSeconds": 0}}}')

    [error] = site.load().errors
    assert error.key == "timeout" and "a number of seconds from 1 to 3600" in error.message


def test_no_configuration_at_all_is_quietly_not_configured(site: Site) -> None:
    settings = site.load()

    assert (settings.errors, settings.warnings) == ((), ())
    assert not settings.configured
    assert settings.host == Setting() and settings.port == Setting(25, "default")


def test_a_missing_site_directory_is_an_error(tmp_path: Path) -> None:
    from postroom.mailsettings import load_smtp_settings

    settings = load_smtp_settings(tmp_path / "nowhere", "Development", {})

    [error] = settings.errors
    assert "does not exist" in error.message and "--site" in error.hint


def test_nothing_raises_out_of_the_loader(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError(f"boom {PASSWORD}")

    monkeypatch.setattr("postroom.mailsettings.loader.build_settings", broken)

    settings = site.load()

    [error] = settings.errors
    assert "failed unexpectedly (RuntimeError)" in error.message
    assert PASSWORD not in str(error)


BROKEN = {
    "web.config": web_config('<smtp from="x"><network port="0" enableSsl="maybe" /></smtp>'),
    "appsettings.json": (
        '{"Umbraco":{"CMS":{"Global":{"Smtp":{"Port":"x","DeliveryMethod":"Fax"}}}}}'
    ),
}


def test_every_problem_has_source_message_and_hint(site: Site) -> None:
    for name, text in BROKEN.items():
        site.write(name, text)

    settings = site.load(environ={"Postroom__Smtp__TimeoutSeconds": "soon"})

    assert len(settings.errors) >= 5
    for problem in settings.errors + settings.warnings:
        assert problem.source and problem.message and problem.hint, problem
        assert problem.message.endswith("."), problem
        if problem.source != "env":
            assert problem.line, problem
