"""Security checks: DEBUG, the secret key, files that hold a password, secure cookies."""

from __future__ import annotations

import pytest

from health.runs import results


def test_debug_on_in_production_is_an_error(settings, production):
    settings.DEBUG = True

    status, found = results("security-debug")

    assert status == "error"
    assert "POSTROOM_DEBUG" in found[0].fix


def test_debug_on_in_development_is_information(settings):
    settings.DEBUG = True

    assert results("security-debug")[0] == "info"


def test_debug_off_passes(settings, production):
    settings.DEBUG = False

    assert results("security-debug")[0] == "success"


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("django-insecure-" + "x" * 60, "insecure development key"),
        ("changeme", "placeholder"),
        ("a-short-but-random-looking-key-9f8e7d", "only 37 characters"),
        ("ab" * 30, "fewer than 5 different characters"),
    ],
)
def test_a_weak_secret_key_is_an_error_in_production(settings, production, key, problem):
    settings.SECRET_KEY = key

    status, found = results("security-secret-key")

    assert status == "error"
    assert problem in found[0].message
    assert key not in found[0].message + found[0].fix  # the key itself is never shown
    assert "POSTROOM_SECRET_KEY" in found[0].fix


def test_a_weak_secret_key_is_a_warning_in_development(settings):
    settings.SECRET_KEY = "changeme"

    assert results("security-secret-key")[0] == "warning"


def test_the_generated_secret_key_passes(settings):
    settings.SECRET_KEY = "Q3v" + "x7-Kp2_mZ9aLr4TbWc8YhE1uNd6Gs0Jf5VqXoRiMkPeHlAzSyBnD" + "t"

    assert results("security-secret-key")[0] == "success"


WEB_CONFIG = """<?xml version="1.0"?>
<configuration><system.net><mailSettings>
  <smtp from="website@postroom.test">
    <network host="smtp.postroom.test" port="587" userName="mailer" password="in-the-file" />
  </smtp>
</mailSettings></system.net></configuration>
"""


def test_a_world_readable_file_with_a_password_is_a_warning(isolated_site):
    web_config = isolated_site / "web.config"
    web_config.write_text(WEB_CONFIG)
    web_config.chmod(0o644)

    status, found = results("security-config-files")

    assert status == "warning"
    assert str(web_config) in found[0].message
    assert found[0].fix.startswith(f"chmod 640 {web_config}")
    assert "in-the-file" not in found[0].message + found[0].fix


def test_a_private_file_with_a_password_passes(isolated_site):
    web_config = isolated_site / "web.config"
    web_config.write_text(WEB_CONFIG)
    web_config.chmod(0o640)

    status, found = results("security-config-files")

    assert status == "success"
    assert "web.config" in found[0].message


def test_a_config_source_file_with_a_password_is_checked_too(isolated_site):
    (isolated_site / "web.config").write_text(
        "<configuration><system.net><mailSettings>\n"
        '  <smtp configSource="Config\\smtp.config" />\n'
        "</mailSettings></system.net></configuration>\n"
    )
    (isolated_site / "web.config").chmod(0o644)
    included = isolated_site / "Config" / "smtp.config"
    included.parent.mkdir()
    included.write_text(
        '<smtp from="website@postroom.test">\n'
        '  <network host="smtp.postroom.test" userName="mailer" password="in-the-file" />\n'
        "</smtp>\n"
    )
    included.chmod(0o604)

    status, found = results("security-config-files")

    assert status == "warning"
    assert [r.message.split(" ")[0] for r in found] == [str(included)]


def test_appsettings_with_a_password_is_checked(isolated_site):
    appsettings = isolated_site / "appsettings.Production.json"
    appsettings.write_text('{"Umbraco": {"CMS": {"Global": {"Smtp": {"Password": "x1"}}}}}')
    appsettings.chmod(0o644)
    harmless = isolated_site / "appsettings.json"
    harmless.write_text(
        '{"Umbraco": {"CMS": {"Global": {"Smtp": {"Host": "smtp.postroom.test"}}}}}'
    )
    harmless.chmod(0o644)

    status, found = results("security-config-files")

    assert status == "warning"
    assert len(found) == 1 and str(appsettings) in found[0].message


def test_no_password_in_files_passes(isolated_site, monkeypatch):
    monkeypatch.setenv("Umbraco__CMS__Global__Smtp__Password", "from-the-environment")

    status, found = results("security-config-files")

    assert status == "success"
    assert "No configuration file" in found[0].message


def test_insecure_cookies_in_production_are_a_warning(settings, production):
    settings.SESSION_COOKIE_SECURE = False

    status, found = results("security-cookies")

    assert status == "warning"
    assert "HTTPS" in found[0].fix


def test_secure_cookies_pass(settings, production):
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True

    assert results("security-cookies")[0] == "success"
