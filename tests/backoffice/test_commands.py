"""The `postroom` console script and the administrator command."""

import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from postroom.accounts.models import User


@pytest.mark.slow  # runs the console script in a new process
def test_postroom_help_lists_postroom_commands(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "postroom.cli", "help"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "POSTROOM_DATA": str(tmp_path / "data")},
    )
    assert result.returncode == 0, result.stderr
    listed = {line.split()[0] for line in result.stdout.splitlines() if line.startswith("  ")}
    expected = {"serve", "web", "worker", "inbox", "config", "sendtest", "createadmin", "check"}
    assert expected | {"outbox"} <= listed
    assert "migrate" not in listed


@pytest.mark.django_db
def test_createadmin_creates_an_administrator(monkeypatch, capsys):
    monkeypatch.setenv("NEW_ADMIN_PASSWORD", "a-long-passphrase")
    call_command(
        "createadmin", "--email", "Root@Example.com", "--password-from-env", "NEW_ADMIN_PASSWORD"
    )
    user = User.objects.get()
    assert user.email == "root@example.com"
    assert user.is_administrator
    assert user.check_password("a-long-passphrase")
    assert "a-long-passphrase" not in capsys.readouterr().out


@pytest.mark.django_db
def test_createadmin_refuses_a_short_password(monkeypatch):
    monkeypatch.setenv("NEW_ADMIN_PASSWORD", "short")
    with pytest.raises(CommandError, match="at least 10 characters"):
        call_command(
            "createadmin", "--email", "a@example.com", "--password-from-env", "NEW_ADMIN_PASSWORD"
        )
    assert not User.objects.exists()


@pytest.mark.django_db
def test_passwords_are_hashed_with_argon2(administrator):
    assert administrator.password.startswith("argon2")
