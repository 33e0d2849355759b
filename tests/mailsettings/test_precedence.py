"""Precedence: environment > appsettings.{Environment}.json > appsettings.json > web.config,
field by field."""

from __future__ import annotations

import json

import pytest

from postroom.config import current_smtp_settings
from postroom.mailsettings import Setting

from .conftest import PASSWORD, Site, web_config


def smtp_json(**keys: object) -> str:
    return json.dumps({"Umbraco": {"CMS": {"Global": {"Smtp": keys}}}}, indent=2)


@pytest.fixture
def four_sources(site: Site) -> Site:
    site.write(
        "web.config",
        web_config(
            '<smtp from="web@mysite.com">\n'
            '  <network host="web-host" port="25" userName="web-user" password="web-pass" />\n'
            "</smtp>"
        ),
    )
    site.write("appsettings.json", smtp_json(Host="json-host", Port=2525, Username="json-user"))
    site.write("appsettings.Production.json", smtp_json(Port=587, Username="production-user"))
    site.write("appsettings.Development.json", smtp_json(Port=1025))
    return site


def test_each_field_comes_from_the_highest_source_that_sets_it(four_sources: Site) -> None:
    settings = four_sources.load(
        "Production", environ={"Umbraco__CMS__Global__Smtp__Username": "env-user"}
    )

    assert settings.from_address == Setting("web@mysite.com", "web.config:5")
    assert settings.password.origin == "web.config:6"
    assert settings.host == Setting("json-host", "appsettings.json:6")
    assert settings.port == Setting(587, "appsettings.Production.json:6")
    assert settings.username == Setting("env-user", "env:Umbraco__CMS__Global__Smtp__Username")


def test_the_environment_name_picks_the_environment_file(four_sources: Site) -> None:
    assert four_sources.load("Development").port == Setting(1025, "appsettings.Development.json:6")
    assert four_sources.load("Staging").port == Setting(2525, "appsettings.json:7")


def test_postroom_environment_selects_appsettings_production_json(
    four_sources: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSTROOM_ENVIRONMENT", "Production")

    assert current_smtp_settings().port == Setting(587, "appsettings.Production.json:6")


def test_development_is_the_default_environment(four_sources: Site) -> None:
    assert current_smtp_settings().port.origin == "appsettings.Development.json:6"


def test_web_config_host_and_environment_password_combine(site: Site) -> None:
    site.write(
        "web.config",
        web_config('<smtp from="a@mysite.com">\n  <network host="mx" userName="u" />\n</smtp>'),
    )

    settings = site.load(environ={"Umbraco__CMS__Global__Smtp__Password": PASSWORD})

    assert settings.host.origin == "web.config:6"
    assert settings.password.origin == "env:Umbraco__CMS__Global__Smtp__Password"
    assert settings.errors == ()
    assert not any("Only the" in warning.message for warning in settings.warnings)
