"""Hostile and broken files: each gives a clear error within a second, never a crash,
never an expanded entity, never a file read that should not be."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from postroom.mailsettings import SmtpSettings

from .conftest import PASSWORD, Site, web_config

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<configuration><system.net><mailSettings>
  <smtp from="&lol9;@mysite.com"><network host="mx" /></smtp>
</mailSettings></system.net></configuration>
"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE configuration [ <!ENTITY passwd SYSTEM "file:///etc/passwd"> ]>
<configuration><system.net><mailSettings>
  <smtp from="a@mysite.com"><network host="&passwd;" /></smtp>
</mailSettings></system.net></configuration>
"""


@pytest.fixture
def within_a_second() -> Iterator[None]:
    # This thread's CPU time, the work done: on a busy machine wall-clock time mostly measures
    # how often the scheduler preempted the test.
    started = time.thread_time()
    yield
    elapsed = time.thread_time() - started
    assert elapsed < 1.0, f"took {elapsed:.2f} s"


def everything(settings: SmtpSettings) -> str:
    return repr(settings) + str(settings.as_json())


def test_an_entity_bomb_is_refused_not_expanded(site: Site, within_a_second: None) -> None:
    site.write("web.config", BILLION_LAUGHS)

    settings = site.load()

    [error] = settings.errors
    assert (error.source, error.line) == ("web.config", 2)
    assert "DOCTYPE or entity declaration" in error.message
    assert "Remove the <!DOCTYPE" in error.hint
    assert "lollol" not in everything(settings)
    assert not settings.configured


def test_an_external_entity_is_refused_and_the_file_not_read(
    site: Site, within_a_second: None
) -> None:
    site.write("web.config", EXTERNAL_ENTITY)

    settings = site.load()

    [error] = settings.errors
    assert "DOCTYPE or entity declaration" in error.message
    assert "root:" not in everything(settings)
    assert settings.host.value is None


def test_an_undeclared_entity_is_a_well_formedness_error(site: Site, within_a_second: None) -> None:
    site.write("web.config", web_config('<smtp from="&who;@mysite.com" />'))

    [error] = site.load().errors

    assert error.line == 5 and "undefined entity" in error.message


@pytest.mark.parametrize("name", ["appsettings.json", "web.config", "appsettings.Development.json"])
def test_a_50_mb_file_is_refused_without_reading_it(
    site: Site, name: str, within_a_second: None
) -> None:
    with open(site.path / name, "wb") as handle:
        handle.write(b" " * 50_000_000)

    [error] = site.load().errors

    assert error.source == name
    assert error.message == f"{name} is 50.0 MB; Postroom reads configuration files up to 1 MiB."
    assert error.hint


def test_a_file_that_is_not_utf8_is_an_error_with_its_line(
    site: Site, within_a_second: None
) -> None:
    site.write(
        "appsettings.json",
        '{\n"Umbraco": {"CMS": {"Global": {"Smtp": {\n"From": "Ren\xe9 <r@b.com>"}}}}}'.encode(
            "latin-1"
        ),
    )

    [error] = site.load().errors

    assert (error.source, error.line) == ("appsettings.json", 3)
    assert "is not UTF-8" in error.message and "byte 0xe9" in error.message
    assert "UTF-8" in error.hint


def test_a_utf16_file_is_an_error_saying_so(site: Site, within_a_second: None) -> None:
    site.write("web.config", web_config('<smtp from="a@b.com" />').encode("utf-16"))

    [error] = site.load().errors

    assert "is saved as UTF-16" in error.message


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[" * 200_000, "nested more than 64 levels"),
        ('{"a": ' + "9" * 5000 + "}", "too many digits"),
        ('{"a": "never closed', "a string is not closed"),
        ('{"a": 1 /* never closed', "a /* comment is not closed"),
        ("{'a': 1}", "double quotes"),
        ('{"a": \x00}', "unexpected character"),
        ('{"a": 1} {"b": 2}', "end of the file"),
        ('{"a": "\\q"}', "invalid escape"),
        ('{"a": tru}', "bare word"),
        ('{"a" 1}', "expected ':' after a key"),
        ('{"a": 1,,}', "expected a key"),
        ("[1, 2" + ", 3" * 30_000, "expected ',' or ']'"),
    ],
)
def test_broken_json_gives_a_positioned_error(
    site: Site, text: str, reason: str, within_a_second: None
) -> None:
    site.write("appsettings.json", text.encode())

    [error] = site.load().errors

    assert error.source == "appsettings.json" and error.line
    assert reason in error.message
    assert ", column " in error.message


@pytest.mark.parametrize(
    "text",
    [
        "[" + "0," * 500_000 + "0]",
        "{" + ",".join(f'"k{i}":0' for i in range(90_000)) + "}",
        "[" + '"a",' * 250_000 + "]",
    ],
)
def test_a_file_of_hundreds_of_thousands_of_tokens_is_refused_quickly(
    site: Site, text: str, within_a_second: None
) -> None:
    site.write("appsettings.json", text.encode())
    assert len(text) < 1024 * 1024

    [error] = site.load().errors

    assert "holds more than 100,000 JSON values" in error.message


@pytest.mark.parametrize(
    "text",
    [
        "<configuration>" + "<a/>" * 250_000 + "</configuration>",
        "<configuration>" + "<a>" * 100_000 + "</a>" * 100_000 + "</configuration>",
        "<configuration><a " + " ".join(f'a{i}="1"' for i in range(80_000)) + "/></configuration>",
    ],
)
def test_a_1_mib_web_config_of_many_elements_is_read_quickly(
    site: Site, text: str, within_a_second: None
) -> None:
    site.write("web.config", text)
    assert len(text) < 1024 * 1024

    assert site.load().errors == ()


def test_deeply_nested_xml_does_not_crash(site: Site, within_a_second: None) -> None:
    site.write(
        "web.config", "<configuration>" + "<a>" * 50_000 + "</a>" * 50_000 + "</configuration>"
    )

    settings = site.load()

    assert settings.errors == ()


def test_binary_garbage_is_an_error(site: Site, within_a_second: None) -> None:
    site.write("web.config", bytes(range(256)) * 100)
    site.write("appsettings.json", b"\x00\x01\x02PK\x03\x04")

    settings = site.load()

    assert {error.source for error in settings.errors} == {"web.config", "appsettings.json"}


def test_a_directory_where_a_file_is_expected_is_an_error(site: Site) -> None:
    (site.path / "appsettings.json").mkdir()

    [error] = site.load().errors

    assert "is a directory" in error.message


def test_a_password_in_a_broken_xml_line_is_not_echoed(site: Site) -> None:
    site.write(
        "web.config",
        web_config(f'<smtp from="a@b.com"><network host="mx" password="{PASSWORD} /></smtp>'),
    )

    settings = site.load()

    assert settings.errors
    assert PASSWORD not in everything(settings)
    assert all(PASSWORD not in str(problem) for problem in settings.errors)


def test_a_password_in_broken_json_is_not_echoed(site: Site) -> None:
    for text in (
        f'{{"Umbraco":{{"CMS":{{"Global":{{"Smtp":{{"Password": {PASSWORD}}}}}}}}}}}',
        f'{{"Umbraco":{{"CMS":{{"Global":{{"Smtp":{{"Password": "{PASSWORD}" "Host": 1}}}}}}}}}}',
        f'{{"Umbraco":{{"CMS":{{"Global":{{"Smtp":{{"Password": ["{PASSWORD}"]}}}}}}}}}}',
        f'{{"Umbraco":{{"CMS":{{"Global":{{"Smtp":{{"Password": "{PASSWORD}\x01"}}}}}}}}}}',
    ):
        site.write("appsettings.json", text)

        settings = site.load()

        assert settings.errors, text
        assert PASSWORD not in everything(settings), text
