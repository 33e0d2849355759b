"""Environment variables override any key, with the .NET convention Section__Key."""

from __future__ import annotations

from pathlib import Path

import pytest
import trustme

from postroom.config import current_smtp_settings, read_setting
from postroom.mailsettings import Secret, Setting

from .conftest import PASSWORD, Site, web_config


def test_a_variable_overrides_the_file_and_names_itself_as_origin(site: Site) -> None:
    site.write(
        "web.config",
        web_config('<smtp from="a@mysite.com"><network host="mx" password="old" /></smtp>'),
    )

    settings = site.load(environ={"Umbraco__CMS__Global__Smtp__Password": PASSWORD})

    assert settings.password == Setting(
        Secret(PASSWORD), "env:Umbraco__CMS__Global__Smtp__Password"
    )
    assert settings.as_json()["smtp"]["password"] == {
        "value": "********",
        "origin": "env:Umbraco__CMS__Global__Smtp__Password",
    }


def test_variable_names_ignore_letter_case(site: Site) -> None:
    settings = site.load(
        environ={
            "UMBRACO__CMS__GLOBAL__SMTP__HOST": "smtp.mysite.com",
            "umbraco__cms__global__smtp__from": "a@mysite.com",
        }
    )

    assert settings.host == Setting("smtp.mysite.com", "env:UMBRACO__CMS__GLOBAL__SMTP__HOST")
    assert settings.from_address.value == "a@mysite.com"
    assert settings.configured


def test_postroom_extensions_can_be_set_in_the_environment(site: Site, tmp_path: Path) -> None:
    ca_file = tmp_path / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(ca_file))

    settings = site.load(
        environ={"Postroom__Smtp__CaFile": str(ca_file), "Postroom__Smtp__TimeoutSeconds": "7"}
    )

    assert settings.ca_file == Setting(str(ca_file), "env:Postroom__Smtp__CaFile")
    assert settings.timeout == Setting(7.0, "env:Postroom__Smtp__TimeoutSeconds")


def test_a_wrong_value_in_a_variable_is_an_error_naming_the_variable(site: Site) -> None:
    settings = site.load(environ={"Umbraco__CMS__Global__Smtp__Port": "five-eight-seven"})

    [error] = settings.errors
    assert (error.source, error.line, error.key) == ("env", None, "port")
    assert "Umbraco__CMS__Global__Smtp__Port is 'five-eight-seven'" in error.message
    assert "whole number from 1 to 65535" in error.message


def test_a_variable_for_a_whole_section_is_an_error(site: Site) -> None:
    settings = site.load(environ={"Umbraco__CMS__Global__Smtp": "smtp.mysite.com"})

    [error] = settings.errors
    assert error.source == "env"
    assert "Umbraco__CMS__Global__Smtp must be an object" in error.message
    assert "Umbraco__CMS__Global__Smtp__Host" in error.hint


def test_unrelated_variables_are_ignored(site: Site) -> None:
    settings = site.load(environ={"PATH": "/usr/bin", "SMTP_HOST": "mx", "UMBRACO_HOST": "mx"})

    assert settings.host == Setting()
    assert (settings.errors, settings.warnings) == ((), ())


def test_an_empty_variable_clears_the_value_and_says_what_it_hides(site: Site) -> None:
    site.write(
        "web.config",
        web_config('<smtp from="a@mysite.com"><network host="mx" userName="u" /></smtp>'),
    )

    settings = site.load(environ={"Umbraco__CMS__Global__Smtp__Username": ""})

    assert settings.username == Setting()
    [warning] = settings.warnings
    assert warning.key == "username"
    assert "is empty, which hides the value from web.config:5" in warning.message


def test_the_process_environment_is_used_by_current_settings(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("Umbraco__CMS__Global__Smtp__Host", "smtp.mysite.com")
    monkeypatch.setenv("Umbraco__CMS__Security__AllowPasswordReset", "false")

    assert current_smtp_settings().host.origin == "env:Umbraco__CMS__Global__Smtp__Host"
    assert read_setting("Umbraco:CMS:Security:AllowPasswordReset") == Setting(
        "false", "env:Umbraco__CMS__Security__AllowPasswordReset"
    )
