"""The password never shows: not in repr, str, JSON, problems, logs or command output."""

from __future__ import annotations

import io
import json
import logging

import pytest
from django.core.management import call_command

from postroom.config import current_smtp_settings, read_setting
from postroom.mailsettings import Secret

from .conftest import PASSWORD, Site, web_config

BROKEN_SOURCES = {
    "xml attribute not closed": (
        "web.config",
        web_config(f'<smtp from="a@b.com"><network host="mx" password="{PASSWORD} /></smtp>'),
    ),
    "xml password in an entity": (
        "web.config",
        f'<!DOCTYPE x [<!ENTITY p "{PASSWORD}">]><configuration />',
    ),
    "json bare word": (
        "appsettings.json",
        f'{{"Umbraco":{{"CMS":{{"Global":{{"Smtp":{{"Password": {PASSWORD}}}}}}}}}}}',
    ),
    "json array": (
        "appsettings.json",
        f'{{"Umbraco":{{"CMS":{{"Global":{{"Smtp":{{"Password": ["{PASSWORD}"]}}}}}}}}}}',
    ),
    "json object": (
        "appsettings.json",
        f'{{"Umbraco":{{"CMS":{{"Global":{{"Smtp":{{"Password": {{"a": "{PASSWORD}"}}}}}}}}}}}}',
    ),
    "json control character": (
        "appsettings.json",
        f'{{"Umbraco":{{"CMS":{{"Global":{{"Smtp":{{"Password": "{PASSWORD}\t"}}}}}}}}}}',
    ),
    "json section is the password": (
        "appsettings.json",
        f'{{"Umbraco":{{"CMS":{{"Global":{{"Smtp": "{PASSWORD}"}}}}}}}}',
    ),
}


@pytest.mark.parametrize("case", BROKEN_SOURCES)
def test_a_malformed_password_is_never_echoed(
    site: Site, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    name, text = BROKEN_SOURCES[case]
    site.write(name, text)
    caplog.set_level(logging.DEBUG)

    settings = current_smtp_settings()
    plain, as_json = io.StringIO(), io.StringIO()
    for args, out in ((("show",), plain), (("show", "--json"), as_json)):
        with pytest.raises(SystemExit):
            call_command("config", *args, stdout=out)

    assert settings.errors, case
    shown = [repr(settings), str(settings.as_json()), plain.getvalue(), as_json.getvalue()]
    shown += [str(problem) for problem in settings.errors + settings.warnings]
    shown += [record.getMessage() for record in caplog.records]
    assert all(PASSWORD not in text for text in shown), case


def test_a_valid_password_is_masked_everywhere(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    site.write(
        "web.config",
        web_config(
            f'<smtp from="a@b.com"><network host="mx" userName="u" password="{PASSWORD}" /></smtp>'
        ),
    )
    caplog.set_level(logging.DEBUG)

    settings = current_smtp_settings()
    out = io.StringIO()
    call_command("config", "show", "--json", stdout=out)

    assert settings.password.value.reveal() == PASSWORD
    assert json.loads(out.getvalue())["smtp"]["password"]["value"] == "********"
    assert str(settings.password.value) == repr(settings.password.value) == "********"
    assert PASSWORD not in repr(settings) + str(settings.as_json()) + out.getvalue()
    assert all(PASSWORD not in record.getMessage() for record in caplog.records)
    # "password would travel unencrypted" is the warning; the password itself is not in it
    assert all(PASSWORD not in str(problem) for problem in settings.warnings)


def test_read_setting_gives_passwords_as_secrets(site: Site) -> None:
    site.write(
        "appsettings.json",
        f'{{"Umbraco":{{"CMS":{{"Global":{{"Smtp":{{"Password":"{PASSWORD}"}}}}}}}}}}',
    )

    setting = read_setting("Umbraco:CMS:Global:Smtp:Password")

    assert setting.value == Secret(PASSWORD)
    assert PASSWORD not in repr(setting)
