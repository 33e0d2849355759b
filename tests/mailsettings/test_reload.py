"""current_smtp_settings() and read_setting() see changed files and variables without a restart."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from postroom.config import current_smtp_settings, read_setting
from postroom.mailsettings import Setting

from .conftest import Site, web_config


def age(path: Path, seconds: float = 60) -> None:
    """Make the file look written a while ago, as a site's files are between edits."""
    past = time.time_ns() - int(seconds * 1e9)
    os.utime(path, ns=(past, past))


def test_a_changed_file_takes_effect_without_a_restart(site: Site) -> None:
    site.write(
        "web.config", web_config('<smtp from="a@mysite.com"><network host="old-host" /></smtp>')
    )
    assert current_smtp_settings().host.value == "old-host"

    site.write(
        "web.config", web_config('<smtp from="a@mysite.com"><network host="new-host" /></smtp>')
    )

    assert current_smtp_settings().host.value == "new-host"


def test_an_edit_within_the_same_clock_tick_is_seen(site: Site) -> None:
    path = site.write("appsettings.json", '{"Umbraco":{"CMS":{"Global":{"Smtp":{"Host":"aaa"}}}}}')
    stamp = path.stat().st_mtime_ns
    assert current_smtp_settings().host.value == "aaa"

    path.write_text('{"Umbraco":{"CMS":{"Global":{"Smtp":{"Host":"bbb"}}}}}')
    os.utime(path, ns=(stamp, stamp))  # same size, same modification time

    assert current_smtp_settings().host.value == "bbb"


def test_unchanged_files_are_not_read_again(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    path = site.write("appsettings.json", '{"Umbraco":{"CMS":{"Global":{"Smtp":{"Host":"mx"}}}}}')
    age(path)
    age(site.path)
    first = current_smtp_settings()

    assert current_smtp_settings() is first

    path.write_text('{"Umbraco":{"CMS":{"Global":{"Smtp":{"Host":"other"}}}}}')
    assert current_smtp_settings().host.value == "other"


def test_a_new_and_a_removed_file_are_noticed(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTROOM_ENVIRONMENT", "Production")
    site.write("appsettings.json", '{"Umbraco":{"CMS":{"Global":{"Smtp":{"Port":2525}}}}}')
    assert current_smtp_settings().port.value == 2525

    production = site.write(
        "appsettings.Production.json", '{"Umbraco":{"CMS":{"Global":{"Smtp":{"Port":587}}}}}'
    )
    assert current_smtp_settings().port == Setting(587, "appsettings.Production.json:1")

    production.unlink()
    assert current_smtp_settings().port.value == 2525


def test_a_changed_config_source_file_is_noticed(site: Site) -> None:
    site.write("web.config", web_config(r'<smtp configSource="Config\smtp.config" />'))
    site.write("Config/smtp.config", '<smtp from="a@mysite.com"><network host="one" /></smtp>')
    assert current_smtp_settings().host.value == "one"

    site.write("Config/smtp.config", '<smtp from="a@mysite.com"><network host="two" /></smtp>')

    assert current_smtp_settings().host.value == "two"


def test_a_changed_variable_is_noticed(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("Umbraco__CMS__Global__Smtp__Host", "one")
    assert current_smtp_settings().host.value == "one"

    monkeypatch.setenv("Umbraco__CMS__Global__Smtp__Host", "two")
    assert current_smtp_settings().host.value == "two"

    monkeypatch.delenv("Umbraco__CMS__Global__Smtp__Host")
    assert current_smtp_settings().host == Setting()


def test_a_created_pickup_directory_clears_the_error(site: Site, tmp_path: Path) -> None:
    pickup = tmp_path / "pickup"
    site.write(
        "appsettings.json",
        '{"Umbraco":{"CMS":{"Global":{"Smtp":{"From":"a@mysite.com",'
        f'"DeliveryMethod":"SpecifiedPickupDirectory","PickupDirectoryLocation":"{pickup}"}}}}}}}}}}',
    )
    assert current_smtp_settings().errors

    pickup.mkdir()

    assert current_smtp_settings().configured


def test_read_setting_sees_changes_too(site: Site) -> None:
    site.write("appsettings.json", '{"Umbraco":{"CMS":{"Security":{"AllowPasswordReset":true}}}}')
    assert read_setting("Umbraco:CMS:Security:AllowPasswordReset").value is True

    site.write("appsettings.json", '{"Umbraco":{"CMS":{"Security":{"AllowPasswordReset":false}}}}')

    assert read_setting("Umbraco:CMS:Security:AllowPasswordReset").value is False


def test_concurrent_callers_get_consistent_settings(site: Site) -> None:
    site.write("web.config", web_config('<smtp from="a@mysite.com"><network host="mx" /></smtp>'))
    seen: list[object] = []
    failures: list[BaseException] = []

    def call() -> None:
        try:
            for _ in range(50):
                seen.append(current_smtp_settings().host.value)
        except BaseException as error:  # noqa: BLE001 - reported below
            failures.append(error)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert failures == []
    assert set(seen) == {"mx"} and len(seen) == 400
