"""`postroom config show [--json]`: the effective settings, where each comes from, and problems."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command, load_command_class

from .conftest import PASSWORD, Site, web_config

FIELDS = [
    "from",
    "host",
    "port",
    "username",
    "password",
    "secure_socket_options",
    "delivery_method",
    "pickup_directory",
]


def show(*args: str) -> tuple[str, int]:
    out = io.StringIO()
    try:
        call_command("config", "show", *args, stdout=out)
    except SystemExit as exit:
        return out.getvalue(), int(exit.code or 0)
    return out.getvalue(), 0


@pytest.fixture
def configured(site: Site, monkeypatch: pytest.MonkeyPatch) -> Site:
    site.write(
        "web.config",
        web_config(
            """
            <smtp from="noreply@mysite.com">
              <network host="smtp.mysite.com" port="587" userName="mailer" enableSsl="true" />
            </smtp>
            """
        ),
    )
    monkeypatch.setenv("Umbraco__CMS__Global__Smtp__Password", PASSWORD)
    return site


def test_show_prints_each_field_with_value_and_origin(configured: Site) -> None:
    output, code = show()

    assert code == 0
    lines = output.splitlines()
    assert any(line.split() == ["From", "noreply@mysite.com", "web.config:5"] for line in lines)
    assert any(line.split() == ["Port", "587", "web.config:6"] for line in lines)
    assert any(
        line.split() == ["SecureSocketOptions", "StartTls", "web.config:6"] for line in lines
    )
    assert any(
        line.split() == ["Password", "********", "env:Umbraco__CMS__Global__Smtp__Password"]
        for line in lines
    )
    assert any(line.split() == ["TimeoutSeconds", "30.0", "default"] for line in lines)
    assert any(line.split() == ["PickupDirectoryLocation", "(not", "set)"] for line in lines)
    assert lines[-1] == "SMTP is configured: mail goes to smtp.mysite.com:587 via STARTTLS."
    assert PASSWORD not in output


def test_show_json_has_the_documented_shape(configured: Site) -> None:
    output, code = show("--json")

    assert code == 0
    data = json.loads(output)
    assert data["configured"] is True
    assert list(data["smtp"])[: len(FIELDS)] == FIELDS
    assert data["smtp"]["from"] == {"value": "noreply@mysite.com", "origin": "web.config:5"}
    assert data["smtp"]["port"] == {"value": 587, "origin": "web.config:6"}
    assert data["smtp"]["password"] == {
        "value": "********",
        "origin": "env:Umbraco__CMS__Global__Smtp__Password",
    }
    assert data["smtp"]["pickup_directory"] == {"value": None, "origin": None}
    assert data["errors"] == [] and data["warnings"] == []
    assert PASSWORD not in output


def test_errors_are_listed_with_place_key_and_hint_and_exit_with_1(site: Site) -> None:
    site.write(
        "web.config",
        web_config(
            f"""
            <smtp from="noreply@mysite.com">

              <network host="mx" port="twenty-five" password="{PASSWORD}" />
            </smtp>
            """
        ),
    )

    output, code = show("--json")

    assert code == 1
    data = json.loads(output)
    assert data["configured"] is False
    [error] = data["errors"]
    assert {k: error[k] for k in ("source", "line", "key")} == {
        "source": "web.config",
        "line": 7,
        "key": "port",
    }
    assert "port on <network> is 'twenty-five'" in error["message"]
    assert error["hint"]

    output, code = show()

    assert code == 1
    assert "Errors (1):" in output
    assert "  web.config:7  [Port]" in output
    assert "    Fix: " in output
    assert output.splitlines()[-1] == "SMTP is not configured: fix the errors above."
    assert PASSWORD not in output


def test_warnings_are_listed_and_do_not_fail_the_command(site: Site) -> None:
    site.write(
        "web.config", web_config('<smtp from="noreply@example.com"><network host="mx" /></smtp>')
    )

    output, code = show()

    assert code == 0
    assert "Warnings (1):" in output and "placeholder value from the documentation" in output
    assert output.splitlines()[-1] == (
        "SMTP is not configured: the placeholder values from the documentation are in use."
    )


def test_nothing_configured_says_so(site: Site) -> None:
    output, code = show()

    assert code == 0
    assert output.splitlines()[-1] == "SMTP is not configured: no From address is set."


def test_help_text() -> None:
    command = load_command_class("postroom.config", "config")

    assert command.help.startswith(
        "Show the effective configuration and where each value comes from."
    )


@pytest.mark.slow  # runs the console script in a new process
def test_the_console_script_runs_it_for_the_site_given(tmp_path: Path) -> None:
    site = tmp_path / "other-site"
    site.mkdir()
    (site / "appsettings.json").write_text(
        '{"Umbraco":{"CMS":{"Global":{"Smtp":{"From":"a@mysite.com","Host":"mx","Port":"x"}}}}}'
    )
    script = Path(sys.executable).parent / "postroom"
    env = {k: v for k, v in os.environ.items() if not k.lower().startswith("umbraco__")}
    env["Umbraco__CMS__Global__Smtp__Password"] = PASSWORD
    env["POSTROOM_DATA"] = str(tmp_path / "data")

    result = subprocess.run(
        [str(script), "config", "show", "--json", "--site", str(site)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )

    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    assert data["smtp"]["host"] == {"value": "mx", "origin": "appsettings.json:1"}
    assert data["errors"][0]["key"] == "port"
    assert PASSWORD not in result.stdout + result.stderr
