"""`postroom config show [--json]`: every section, each value's origin, one list of problems."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

from django.core.management import call_command

from processes import postroom_env

SECRET = "s3cr3t-value"
SECTIONS = ["smtp", "delivery", "alerts", "security", "health", "hosting"]


def show(*args: str) -> tuple[str, int]:
    out = io.StringIO()
    try:
        call_command("config", "show", *args, stdout=out)
    except SystemExit as exit:
        return out.getvalue(), int(exit.code or 0)
    return out.getvalue(), 0


def test_json_lists_every_section_with_values_and_origins(isolated_site, monkeypatch):
    (isolated_site / "appsettings.json").write_text(
        '{"Postroom": {"Alerts": {"EveryMinutes": 15}}}'
    )
    monkeypatch.setenv("POSTROOM_SECRET_KEY", SECRET)
    monkeypatch.setenv("Postroom__Alerts__WebhookUrl", f"https://hooks.example.com/{SECRET}")

    output, code = show("--json")

    assert code == 0
    data = json.loads(output)
    assert [name for name in data if name in SECTIONS] == SECTIONS
    assert data["alerts"]["Postroom:Alerts:EveryMinutes"] == {
        "value": 15,
        "origin": "appsettings.json:1",
    }
    assert data["delivery"]["Postroom:Delivery:GiveUpAfterHours"] == {
        "value": 72,
        "origin": "default",
    }
    assert data["hosting"]["POSTROOM_SECRET_KEY"] == {
        "value": "********",
        "origin": "env:POSTROOM_SECRET_KEY",
    }
    assert data["hosting"]["POSTROOM_SITE"]["value"] == str(isolated_site)
    assert data["errors"] == [] and data["warnings"] == []
    assert SECRET not in output


def test_json_problems_name_section_place_key_and_fix_and_exit_1(monkeypatch):
    monkeypatch.setenv("Postroom__Delivery__GiveUpAfterHours", "3d")
    monkeypatch.setenv("POSTROOM_LEASE_SECONDS", "5m")

    output, code = show("--json")

    assert code == 1
    data = json.loads(output)
    by_key = {error["key"]: error for error in data["errors"]}
    give_up = by_key["Postroom:Delivery:GiveUpAfterHours"]
    assert (give_up["section"], give_up["source"], give_up["level"]) == ("delivery", "env", "error")
    assert "'3d'" in give_up["message"] and give_up["hint"]
    assert by_key["POSTROOM_LEASE_SECONDS"]["blocks"] == ["worker", "serve"]
    assert data["delivery"]["Postroom:Delivery:GiveUpAfterHours"]["origin"] == (
        "default (env:Postroom__Delivery__GiveUpAfterHours is invalid)"
    )


def test_text_output_lists_the_sections_and_the_problems(monkeypatch):
    monkeypatch.setenv("POSTROOM_BASE_URL", "example.com")

    output, code = show()

    assert code == 1
    for title in ("Delivery (Postroom:Delivery)", "Alerts", "Security", "Hosting"):
        assert title in output
    assert "Errors (1):" in output
    assert "  env  [POSTROOM_BASE_URL]" in output
    assert "    Fix: " in output


def test_unusable_hosting_values_are_reported_not_crashed(tmp_path: Path):
    """Django's settings take the hosting values: a bad port or log level is a problem."""
    env = postroom_env(
        tmp_path, None, POSTROOM_PORT="eighty", POSTROOM_LOG_LEVEL="LOUD", POSTROOM_DEBUG="maybe"
    )
    script = Path(sys.executable).parent / "postroom"

    result = subprocess.run(
        [str(script), "config", "show", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )

    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    keys = {error["key"] for error in json.loads(result.stdout)["errors"]}
    assert keys == {"POSTROOM_PORT", "POSTROOM_LOG_LEVEL", "POSTROOM_DEBUG"}


def test_the_invitation_expiry_is_shown_in_the_hours_its_key_names(isolated_site):
    (isolated_site / "appsettings.json").write_text(
        '{"Umbraco": {"CMS": {"Security": {"UserInviteEmailExpiry": "1.12:30:00"}}}}'
    )
    text, _ = show()
    assert "Postroom:Security:UserInviteExpiryHours" in text
    assert "36.5" in text and "day" not in text.split("UserInviteExpiryHours")[1].split("\n")[0]
    data = json.loads(show("--json")[0])
    assert data["security"]["Postroom:Security:UserInviteExpiryHours"]["value"] == 36.5
    (isolated_site / "appsettings.json").write_text("{}")
    assert (
        json.loads(show("--json")[0])["security"]["Postroom:Security:UserInviteExpiryHours"][
            "value"
        ]
        == 72
    )
